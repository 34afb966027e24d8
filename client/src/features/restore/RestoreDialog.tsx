/**
 * "Restore…" on a snapshot: every target the API offers (ORIGINAL with its ref mode, NEW_PROJECT
 * through any connection, DOWNLOAD), a dry run that shows the plan the API reports, and Restore,
 * which opens the run's live progress page. Field errors (BAD_USER_INPUT) show beside the inputs.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { problemOf, type ProblemReport } from '../../api/errors';
import { WriteAuthorizationPrompt } from './WriteAuthorization';
import { useRouter } from '../../app/router';
import {
  RestoreTargetConnectionsDocument,
  StartRestoreDocument,
  type RefRestoreMode,
  type RestoreSnapshotInput,
  type RestoreTarget,
} from '../../graphql/generated/graphql';
import { Dialog } from '../../ui/Dialog';
import { Checkbox, Field } from '../../ui/Field';
import { formatDateTime, humanize } from '../../ui/format';
import { ErrorNotice, Loading, Notice } from '../../ui/States';
import { RestoreReport } from './RestoreReport';
import { RestoreLiveStatus, RestoreOutcome } from './RestoreProgress';
import { useLiveRestoreRun } from './useLiveRestoreRun';

export interface RestorableSnapshot {
  id: string;
  createdAt: string;
  copyType: string;
}

export interface RestorableRepository {
  name: string;
  pathWithNamespace: string;
}

export function RestoreDialog({
  snapshot,
  repository,
  onClose,
}: {
  snapshot: RestorableSnapshot | null;
  repository: RestorableRepository;
  onClose: () => void;
}) {
  return (
    <Dialog title="Restore snapshot" open={snapshot !== null} onClose={onClose}>
      {snapshot ? <RestoreForm key={snapshot.id} snapshot={snapshot} repository={repository} /> : null}
    </Dialog>
  );
}

const TARGETS: { value: RestoreTarget; label: string; hint: string }[] = [
  { value: 'ORIGINAL', label: 'Original project', hint: 'Put the refs back into the project they came from.' },
  {
    value: 'NEW_PROJECT',
    label: 'New project',
    hint: 'Create a new GitLab project (on this or another instance) with every ref, the wiki, LFS objects and metadata.',
  },
  {
    value: 'DOWNLOAD',
    label: 'Download',
    hint: 'An archive of the snapshot and the chain it needs (bundles, metadata, manifests, LFS), behind a link valid for one hour.',
  },
];

const REF_MODES: { value: RefRestoreMode; label: string; hint: string }[] = [
  {
    value: 'PREFIX',
    label: 'Under a prefix',
    hint: 'Every branch and tag goes under a prefix; nothing existing changes.',
  },
  { value: 'MISSING_ONLY', label: 'Missing refs only', hint: 'Only branches and tags the project lacks are restored.' },
  { value: 'OVERWRITE', label: 'Overwrite', hint: 'Branches and tags are made equal to the snapshot.' },
];

function RestoreForm({ snapshot, repository }: { snapshot: RestorableSnapshot; repository: RestorableRepository }) {
  const { navigate } = useRouter();
  const [target, setTarget] = useState<RestoreTarget>('NEW_PROJECT');
  const [refMode, setRefMode] = useState<RefRestoreMode>('PREFIX');
  const [refPrefix, setRefPrefix] = useState('');
  const [targetConnectionId, setTargetConnectionId] = useState('');
  const [namespacePath, setNamespacePath] = useState('');
  const [projectPath, setProjectPath] = useState('');
  const [includeMetadata, setIncludeMetadata] = useState(true);
  const [problem, setProblem] = useState<ProblemReport>(problemOf(null));
  const [dryRunId, setDryRunId] = useState<string | null>(null);
  const [starting, start] = useMutation(StartRestoreDocument);
  const [connections] = useQuery({ query: RestoreTargetConnectionsDocument, pause: target !== 'NEW_PROJECT' });

  const input = (dryRun: boolean): RestoreSnapshotInput => {
    const base: RestoreSnapshotInput = { target, snapshotIds: [snapshot.id], dryRun };
    if (target === 'ORIGINAL')
      return { ...base, refMode, ...(refMode === 'PREFIX' && refPrefix.trim() ? { refPrefix: refPrefix.trim() } : {}) };
    if (target === 'NEW_PROJECT') {
      return {
        ...base,
        namespacePath,
        includeMetadata,
        ...(projectPath.trim() ? { projectPath: projectPath.trim() } : {}),
        ...(targetConnectionId ? { targetConnectionId } : {}),
      };
    }
    return base;
  };

  const submit = async (dryRun: boolean) => {
    setProblem(problemOf(null));
    if (dryRun) setDryRunId(null);
    const result = await start({ input: input(dryRun) });
    const run = result.data?.restoreSnapshot;
    if (!run) {
      setProblem(problemOf(result.error));
      return;
    }
    if (dryRun) setDryRunId(run.id);
    else navigate(`/restores/${run.id}`);
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit(false);
  };
  // A changed form makes the last dry run's plan stale.
  const changed =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setDryRunId(null);
    };

  const fields = problem.fields;
  const writeAuthorizationFor =
    problem.reason === 'WRITE_AUTHORIZATION_REQUIRED' && typeof problem.details.connectionId === 'string'
      ? problem.details.connectionId
      : null;
  const otherFieldErrors = writeAuthorizationFor
    ? []
    : Object.entries(fields).filter(
        ([path]) => !['namespacePath', 'projectPath', 'refPrefix', 'targetConnectionId'].includes(path),
      );

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Restore options">
      <p>
        <strong>{repository.pathWithNamespace}</strong> as it was on {formatDateTime(snapshot.createdAt)}{' '}
        <span className="muted">({humanize(snapshot.copyType)} snapshot)</span>
      </p>

      <fieldset>
        <legend>Restore to</legend>
        {TARGETS.map((t) => (
          <div key={t.value} className="radio-choice">
            <label>
              <input
                type="radio"
                name="target"
                value={t.value}
                checked={target === t.value}
                onChange={() => changed(setTarget)(t.value)}
              />{' '}
              {t.label}
            </label>
            <p className="field-hint">{t.hint}</p>
          </div>
        ))}
      </fieldset>

      {target === 'ORIGINAL' ? (
        <fieldset>
          <legend>Refs in {repository.pathWithNamespace}</legend>
          {REF_MODES.map((m) => (
            <div key={m.value} className="radio-choice">
              <label>
                <input
                  type="radio"
                  name="refMode"
                  value={m.value}
                  checked={refMode === m.value}
                  onChange={() => changed(setRefMode)(m.value)}
                />{' '}
                {m.label}
              </label>
              <p className="field-hint">{m.hint}</p>
            </div>
          ))}
          {refMode === 'PREFIX' ? (
            <Field
              label="Prefix"
              hint="Default: restored/<snapshot time>, e.g. refs/heads/restored/2026-11-24-18-00/main."
              error={fields.refPrefix}
            >
              <input
                value={refPrefix}
                onChange={(e) => changed(setRefPrefix)(e.target.value)}
                placeholder="restored/<snapshot time>"
              />
            </Field>
          ) : null}
          {refMode === 'OVERWRITE' ? (
            <Notice kind="warning">
              <strong>Overwrite changes the project.</strong> Branches and tags that moved since this snapshot are reset
              to it, and commits made after it are no longer reachable from them. Protected branches are never forced
              (they are reported), and refs the snapshot does not have are listed, not deleted. Run a dry run first.
            </Notice>
          ) : null}
        </fieldset>
      ) : null}

      {target === 'NEW_PROJECT' ? (
        <fieldset>
          <legend>New project</legend>
          <Field
            label="Target connection"
            hint="Whose GitLab (and token) creates the project; it needs the api scope."
            error={fields.targetConnectionId}
          >
            <select value={targetConnectionId} onChange={(e) => changed(setTargetConnectionId)(e.target.value)}>
              <option value="">The organization's connection</option>
              {targetLabels(connections.data?.connections ?? []).map(({ connection: c, label }) => (
                <option key={c.id} value={c.id} disabled={c.status !== 'CONNECTED'}>
                  {label}
                  {c.scopes.includes('api') ? '' : ' (no api scope)'}
                  {c.status !== 'CONNECTED' ? ` (${humanize(c.status)})` : ''}
                </option>
              ))}
            </select>
          </Field>
          {connections.fetching && !connections.data ? <Loading label="Loading connections…" /> : null}
          <Field
            label="Namespace"
            hint="The group (or user namespace) that receives the project, e.g. acme/restored."
            error={fields.namespacePath}
          >
            <input
              value={namespacePath}
              onChange={(e) => changed(setNamespacePath)(e.target.value)}
              placeholder="group/subgroup"
              autoComplete="off"
            />
          </Field>
          <Field
            label="Project path"
            hint={`Default: ${repository.pathWithNamespace.split('/').at(-1)}`}
            error={fields.projectPath}
          >
            <input
              value={projectPath}
              onChange={(e) => changed(setProjectPath)(e.target.value)}
              placeholder={repository.pathWithNamespace.split('/').at(-1)}
              autoComplete="off"
            />
          </Field>
          <Checkbox
            label="Include metadata"
            hint="Issues, merge requests, labels, milestones, releases… with cross-references rewritten."
            checked={includeMetadata}
            onChange={changed(setIncludeMetadata)}
          />
        </fieldset>
      ) : null}

      {writeAuthorizationFor ? (
        <WriteAuthorizationPrompt connectionId={writeAuthorizationFor} />
      ) : problem.message && otherFieldErrors.length === 0 ? (
        <ErrorNotice message={problem.message} />
      ) : null}
      {otherFieldErrors.map(([path, message]) => (
        <ErrorNotice key={path} message={`${humanize(path)}: ${message}`} />
      ))}

      <div className="row">
        <button type="button" disabled={starting.fetching} onClick={() => void submit(true)}>
          Dry run
        </button>
        <button
          type="submit"
          className={
            target === 'ORIGINAL' && refMode === 'OVERWRITE' ? 'button-primary button-primary-danger' : 'button-primary'
          }
          disabled={starting.fetching}
        >
          {target === 'DOWNLOAD' ? 'Prepare download' : 'Restore'}
        </button>
        {starting.fetching ? <span className="muted">Sending…</span> : null}
      </div>

      {dryRunId ? <DryRunPlan runId={dryRunId} /> : null}
    </form>
  );
}

/**
 * The dry run's plan, below the form: it is brought into view when it starts and again, with focus
 * on its heading (read out by screen readers), when the plan arrives — it would be below the fold.
 */
function DryRunPlan({ runId }: { runId: string }) {
  const live = useLiveRestoreRun(runId);
  const heading = useRef<HTMLHeadingElement>(null);
  const arrived = !!live.run && live.terminal;
  useEffect(() => {
    heading.current?.scrollIntoView({ block: 'start' });
  }, [runId]);
  useEffect(() => {
    if (!arrived) return;
    heading.current?.focus({ preventScroll: true });
    heading.current?.scrollIntoView({ block: 'start' });
  }, [arrived]);
  return (
    <section className="dry-run" aria-label="Dry run">
      <h3 ref={heading} tabIndex={-1}>
        Dry run
      </h3>
      <p className="muted">Nothing is written: this is what a restore with these options would do.</p>
      {live.fetching && !live.run ? <Loading label="Starting the dry run…" /> : null}
      <ErrorNotice error={live.error} />
      {live.run && !live.terminal ? <RestoreLiveStatus live={live} /> : null}
      <RestoreOutcome live={live} />
      {live.run && live.terminal ? <RestoreReport run={live.run} /> : null}
    </section>
  );
}

const METHOD_NAMES: Record<string, string> = {
  OAUTH: 'OAuth',
  OAUTH_APP: 'own OAuth app',
  PERSONAL_ACCESS_TOKEN: 'access token',
};

/**
 * "@alice on https://gitlab.example.com" for each connection; two that would read the same (one
 * user connected twice) also say how and when each was added, so they can be told apart.
 */
function targetLabels<
  C extends { id: string; instanceUrl: string; login?: string | null; gitlabUser?: { username: string } | null },
>(list: (C & { method: string; createdAt: string })[]) {
  const base = (c: C) => `${c.gitlabUser ? `@${c.gitlabUser.username}` : (c.login ?? c.id)} on ${c.instanceUrl}`;
  const seen = new Map<string, number>();
  for (const c of list) seen.set(base(c), (seen.get(base(c)) ?? 0) + 1);
  const named = list.map((connection) => {
    const label = base(connection);
    if ((seen.get(label) ?? 0) < 2) return { connection, label };
    const how = METHOD_NAMES[connection.method] ?? humanize(connection.method);
    return { connection, label: `${label} (${how}, added ${formatDateTime(connection.createdAt)})` };
  });
  // Added the same minute the same way: number them in the order they were added.
  const again = new Map<string, number>();
  for (const n of named) again.set(n.label, (again.get(n.label) ?? 0) + 1);
  const counted = new Map<string, number>();
  return [...named]
    .sort((a, b) => a.connection.createdAt.localeCompare(b.connection.createdAt))
    .map((n) => {
      if ((again.get(n.label) ?? 0) < 2) return n;
      const index = (counted.get(n.label) ?? 0) + 1;
      counted.set(n.label, index);
      return { ...n, label: `${n.label.replace(/\)$/, '')}, no. ${index})` };
    });
}
