/**
 * Customize policy: the whole BackupPolicy of one organization as a form of fieldsets (scope,
 * content, schedule, time zone and window, retention, storage, protection, restore drills). Saving sends
 * `customizePolicy`; the server validates everything at once and names each bad field
 * (BAD_USER_INPUT `extensions.fields`), which is shown beside its input while nothing is saved.
 */
import { useEffect, useRef, useState, type ReactElement } from 'react';
import { useMutation, useQuery } from 'urql';
import { problemOf } from '../../api/errors';
import { Link, useRouter } from '../../app/router';
import {
  CustomizePolicyDocument,
  PolicyFormDocument,
  type PolicyFieldsFragment,
} from '../../graphql/generated/graphql';
import { formatDateTime, humanize } from '../../ui/format';
import { ErrorNotice, Loading, Notice } from '../../ui/States';
import { fromPolicy, toInput, type PolicyDraft } from './policy-draft';
import {
  IncludeFieldset,
  ProtectionFieldset,
  RetentionFieldset,
  ScopeFieldset,
  StorageFieldset,
  TimingFieldset,
} from './PolicyFieldsets';
import { DrillFieldset } from './DrillFieldset';
import { ScheduleFieldset } from './ScheduleFieldset';
import type { SectionProps } from './section';

/** Field paths some section shows beside an input; any other problem is listed above the form. */
const SHOWN = [
  'scope',
  'include',
  'schedule',
  'timeZone',
  'window',
  'retention',
  'storage',
  'compression',
  'encryption',
  'encryptionCredentialId',
  'verifyAfterBackup',
  'drill',
];

export function PolicyPage({ organizationId }: { organizationId: string }) {
  const [result] = useQuery({ query: PolicyFormDocument, variables: { organizationId } });
  const [saving, save] = useMutation(CustomizePolicyDocument);
  const [draft, setDraft] = useState<PolicyDraft | null>(null);
  const [saved, setSaved] = useState<PolicyFieldsFragment | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const { navigate } = useRouter();

  const policy = result.data?.policy;
  useEffect(() => {
    if (policy && !draft) setDraft(fromPolicy(policy.settings));
  }, [policy, draft]);

  const problem = problemOf(saving.error);
  useEffect(() => {
    // After a refused save, take keyboard users to the first input that needs attention.
    if (saving.error) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [saving.error]);

  if (result.fetching && !result.data) return <Loading label="Loading the policy…" />;
  if (!result.data || !draft)
    return <ErrorNotice error={result.error} message={result.error ? null : 'Preparing the form…'} />;
  const { organization, metadataTypes, credentials, connections, storages } = result.data;

  const update: SectionProps['update'] = (recipe) => {
    setSaved(null);
    setDraft((previous) => {
      const next = structuredClone(previous ?? draft);
      recipe(next);
      return next;
    });
  };
  const props: SectionProps = { draft, update, fields: saving.error ? problem.fields : {} };
  const leftover = Object.entries(props.fields).filter(
    ([path]) => !SHOWN.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)),
  );

  // The form's sections in order; a new policy section is one more entry here.
  const sections: ReactElement[] = [
    <ScopeFieldset
      key="scope"
      {...props}
      repositories={organization.repositories.nodes}
      protectedCount={organization.repositories.totalCount}
    />,
    <IncludeFieldset
      key="include"
      {...props}
      metadataTypes={metadataTypes}
      includeGroups={organization.includeGroups}
    />,
    <ScheduleFieldset key="schedule" {...props} />,
    <TimingFieldset key="timing" {...props} />,
    <RetentionFieldset key="retention" {...props} />,
    <StorageFieldset key="storage" {...props} storages={storages} />,
    <ProtectionFieldset
      key="protection"
      {...props}
      encryptionKeys={credentials.filter((c) => c.kind === 'ENCRYPTION_KEY')}
    />,
    <DrillFieldset key="drill" {...props} connections={connections} />,
  ];

  return (
    <section aria-labelledby="policy-title">
      <p className="muted breadcrumb">
        <Link to="/organizations">Organizations</Link> /{' '}
        <Link to={`/organizations/${organizationId}`}>{organization.name}</Link> / Policy
      </p>
      <div className="page-header">
        <h1 id="policy-title">Customize policy</h1>
      </div>
      <p className="muted">
        What Labkeeper backs up for <strong>{organization.fullPath}</strong>, when, for how long, where and how.{' '}
        {policy?.nextBackupAt
          ? `Next backup: ${formatDateTime(policy.nextBackupAt)} (${humanize(policy.nextCopyType)}).`
          : 'No backup is scheduled.'}
      </p>
      <div aria-live="polite">
        {saved ? (
          <Notice kind="success">
            Policy saved.{' '}
            {saved.nextBackupAt
              ? `The next backup starts ${formatDateTime(saved.nextBackupAt)} (${humanize(saved.nextCopyType)}).`
              : 'Backups now start only from Run now.'}
          </Notice>
        ) : null}
        {saving.error ? (
          <div className="notice notice-error" role="alert">
            {problem.message}
            {leftover.length > 0 ? (
              <ul>
                {leftover.map(([path, message]) => (
                  <li key={path}>
                    {path}: {message}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        ) : null}
      </div>
      <form
        ref={formRef}
        className="policy-form"
        noValidate
        aria-labelledby="policy-title"
        onSubmit={async (event) => {
          event.preventDefault();
          setSaved(null);
          const done = await save({ organizationId, input: toInput(draft) });
          if (done.data) {
            setSaved(done.data.customizePolicy);
            setDraft(fromPolicy(done.data.customizePolicy.settings));
          }
        }}
      >
        {/* Sections flow into as many columns as the width holds (one on a phone), in reading order. */}
        <div className="form-sections">{sections}</div>
        <div className="row form-actions">
          <button type="submit" className="button-primary" disabled={saving.fetching}>
            {saving.fetching ? 'Saving…' : 'Save policy'}
          </button>
          <button type="button" onClick={() => navigate(`/organizations/${organizationId}`)}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
