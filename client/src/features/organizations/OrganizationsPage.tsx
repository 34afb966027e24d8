/**
 * Organizations: every protected GitLab namespace with the connection it is reached through, its
 * repository counts, when its repositories were last and will next be synced, and its last backup.
 */
import { useQuery } from 'urql';
import { Link } from '../../app/router';
import {
  OrganizationsOverviewDocument,
  type OrganizationOverviewFragment,
  type OrganizationsOverviewQuery,
} from '../../graphql/generated/graphql';
import { formatDateTime, formatRelative } from '../../ui/format';
import { Empty, ErrorNotice, Loading } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { LatestRunSummary } from './LatestRunSummary';
import { Reason } from '../../ui/Reason';

type ConnectionRow = OrganizationsOverviewQuery['connections'][number];

export function OrganizationsPage() {
  const [result] = useQuery({ query: OrganizationsOverviewDocument });
  const organizations = result.data?.organizations ?? [];
  const connections = new Map((result.data?.connections ?? []).map((c) => [c.id, c]));
  return (
    <section aria-labelledby="organizations-title">
      <div className="page-header">
        <h1 id="organizations-title">Organizations</h1>
        <Link to="/devops" className="button">
          Protect another organization
        </Link>
      </div>
      {result.fetching && !result.data ? <Loading label="Loading organizations…" /> : null}
      <ErrorNotice error={result.error} />
      {result.data && organizations.length === 0 ? (
        <Empty title="No organization is protected yet.">
          Connect GitLab and protect a group on the <Link to="/devops">DevOps</Link> tab.
        </Empty>
      ) : null}
      {organizations.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Protected organizations">
            <thead>
              <tr>
                <th scope="col">Organization</th>
                <th scope="col">Connection</th>
                <th scope="col" className="num">
                  Protected
                </th>
                <th scope="col" className="num">
                  Unprotected
                </th>
                <th scope="col" className="num">
                  Deleted upstream
                </th>
                <th scope="col">Last sync</th>
                <th scope="col">Next sync</th>
                <th scope="col">Last backup</th>
              </tr>
            </thead>
            <tbody>
              {organizations.map((org) => (
                <OrganizationRow key={org.id} organization={org} connection={connections.get(org.connectionId)} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function OrganizationRow({
  organization: org,
  connection,
}: {
  organization: OrganizationOverviewFragment;
  connection: ConnectionRow | undefined;
}) {
  return (
    <tr>
      <td>
        <Link to={`/organizations/${org.id}`}>
          <strong>{org.name}</strong>
        </Link>
        <div className="muted">{org.fullPath}</div>
      </td>
      <td>
        {connection ? (
          <>
            <div>
              {connection.gitlabUser ? `@${connection.gitlabUser.username}` : (connection.login ?? 'GitLab user')}
            </div>
            <div className="muted">{connection.instanceUrl}</div>
            <StatusBadge status={connection.status} />
          </>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td className="num">{org.repositoryCounts.protected}</td>
      <td className="num">{org.repositoryCounts.unprotected}</td>
      <td className="num">{org.repositoryCounts.deletedUpstream}</td>
      <td>
        <SyncSummary organization={org} />
      </td>
      <td title={formatDateTime(org.nextSyncAt)}>{org.nextSyncAt ? formatRelative(org.nextSyncAt) : '—'}</td>
      <td>
        <LatestRunSummary organizationId={org.id} />
      </td>
    </tr>
  );
}

/**
 * The organization's last repository sync. `live` (the page's syncProgress event, when one came)
 * wins over the query's row: it is newer, so the summary never says Running beside a banner that
 * says the sync succeeded.
 */
export function SyncSummary({
  organization: org,
  live,
}: {
  organization: OrganizationOverviewFragment;
  live?: { syncRunId: string; status: string; errorMessage?: string | null; at: string } | null;
}) {
  const fromLive = live && (!org.lastSync || live.syncRunId === org.lastSync.id || live.status !== org.lastSync.status);
  const sync = fromLive
    ? { status: live.status, errorMessage: live.errorMessage ?? null }
    : org.lastSync && { status: org.lastSync.status, errorMessage: org.lastSync.errorMessage };
  if (!sync) return <span className="muted">never</span>;
  const syncedAt = fromLive && live.status === 'SUCCEEDED' ? live.at : org.lastSyncedAt;
  return (
    <span title={formatDateTime(syncedAt ?? org.lastSync?.finishedAt)} data-testid="last-sync">
      <StatusBadge status={sync.status} /> {syncedAt ? formatRelative(syncedAt) : null}
      {sync.errorMessage ? (
        <div className="field-error">
          <Reason message={sync.errorMessage} />
        </div>
      ) : null}
    </span>
  );
}
