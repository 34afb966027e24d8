/**
 * One organization: its header with Customize policy, Run now, Sync now and the run history; the
 * live progress of a repository sync; its repositories (search, pages, protection, last backup and
 * size, bulk selection) and its groups. Everything that changes while the page is open arrives by
 * subscription (syncProgress, backupProgress) and makes the page re-query what it shows.
 */
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { useRefetchAfter } from '../../api/refetch';
import { Link, useRouter } from '../../app/router';
import {
  LatestBackupRunDocument,
  OrganizationBackupProgressDocument,
  OrganizationDetailDocument,
  RunNowDocument,
  type OrganizationBackupProgressSubscription,
} from '../../graphql/generated/graphql';
import { formatDateTime, formatRelative } from '../../ui/format';
import { ErrorNotice, Loading } from '../../ui/States';
import { DrillsPanel } from './DrillsPanel';
import { GroupsSection } from './GroupsSection';
import { LatestRunSummary } from './LatestRunSummary';
import { SyncSummary } from './OrganizationsPage';
import { RepositoriesSection } from './RepositoriesSection';
import { SyncNowButton, SyncStatus, useSyncNow } from './SyncNow';

export function OrganizationPage({ id }: { id: string }) {
  const [header, refetchHeader] = useQuery({ query: OrganizationDetailDocument, variables: { id, first: 1 } });
  const [latestRun, refetchLatestRun] = useQuery({ query: LatestBackupRunDocument, variables: { organizationId: id } });
  // After a live event, re-read once the first load (which may predate the event) has landed.
  const rereadHeader = useRefetchAfter(header.fetching, refetchHeader);
  const rereadLatestRun = useRefetchAfter(latestRun.fetching, refetchLatestRun);
  const [running, runNow] = useMutation(RunNowDocument);
  const [refreshKey, setRefreshKey] = useState(0);
  const { navigate } = useRouter();
  const sync = useSyncNow(id, () => {
    rereadHeader();
    setRefreshKey((k) => k + 1);
  });

  // A run of this organization ended (from here, another tab or the scheduler): re-read the last backup.
  const [progress] = useSubscription<OrganizationBackupProgressSubscription, OrganizationBackupProgressSubscription>(
    { query: OrganizationBackupProgressDocument, variables: { organizationId: id } },
    (_prev, event) => event,
  );
  const backupEvent = progress.data?.backupProgress;
  useEffect(() => {
    if (backupEvent?.isTerminal) {
      rereadLatestRun();
      setRefreshKey((k) => k + 1);
    }
  }, [backupEvent, rereadLatestRun]);

  const org = header.data?.organization;
  if (header.fetching && !header.data) return <Loading label="Loading the organization…" />;
  if (!org)
    return <ErrorNotice error={header.error} message={header.error ? null : 'This organization does not exist.'} />;

  return (
    <section aria-labelledby="organization-title">
      <p className="muted breadcrumb">
        <Link to="/organizations">Organizations</Link> / {org.name}
      </p>
      <div className="page-header">
        <h1 id="organization-title">
          {org.name}{' '}
          <a className="muted org-path" href={org.webUrl} target="_blank" rel="noreferrer">
            {org.fullPath}
          </a>
        </h1>
        <Link to={`/organizations/${id}/policy`} className="button">
          Customize policy
        </Link>
        <Link to={`/organizations/${id}/runs`} className="button">
          Run history
        </Link>
        <Link to={`/organizations/${id}/changes`} className="button">
          What changed
        </Link>
        <SyncNowButton sync={sync} />
        <button
          type="button"
          className="button-primary"
          disabled={running.fetching || org.repositoryCounts.protected === 0}
          title={org.repositoryCounts.protected === 0 ? 'Protect at least one repository first' : undefined}
          onClick={async () => {
            const done = await runNow({ input: { organizationId: id } });
            if (done.data) navigate(`/runs/${done.data.runNow.id}`);
          }}
        >
          {running.fetching ? 'Starting…' : 'Run now'}
        </button>
      </div>
      <ErrorNotice error={running.error} />
      <SyncStatus sync={sync} />

      <dl className="facts">
        <div>
          <dt>Repositories</dt>
          <dd data-testid="repository-counts">
            {org.repositoryCounts.protected} protected · {org.repositoryCounts.unprotected} unprotected ·{' '}
            {org.repositoryCounts.deletedUpstream} deleted upstream
          </dd>
        </div>
        <div>
          <dt>Last sync</dt>
          <dd>
            <SyncSummary organization={org} live={sync.event} />
          </dd>
        </div>
        <div>
          <dt>Next sync</dt>
          <dd title={formatDateTime(org.nextSyncAt)}>{org.nextSyncAt ? formatRelative(org.nextSyncAt) : '—'}</dd>
        </div>
        <div>
          <dt>Last backup</dt>
          <dd>
            <LatestRunSummary organizationId={id} />
          </dd>
        </div>
      </dl>
      {backupEvent && !backupEvent.isTerminal ? (
        <p className="muted" role="status">
          A backup is running: {backupEvent.itemsDone} of {backupEvent.itemsTotal} done.{' '}
          <Link to={`/runs/${backupEvent.runId}`}>Watch it</Link>
        </p>
      ) : null}

      <DrillsPanel organizationId={id} />

      <RepositoriesSection organizationId={id} refreshKey={refreshKey} onProtectionChanged={rereadHeader} />
      <GroupsSection organizationId={id} includeGroups={org.includeGroups} refreshKey={refreshKey} />
    </section>
  );
}
