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

export function SyncSummary({ organization: org }: { organization: OrganizationOverviewFragment }) {
  if (!org.lastSync) return <span className="muted">never</span>;
  return (
    <span title={formatDateTime(org.lastSyncedAt ?? org.lastSync.finishedAt)}>
      <StatusBadge status={org.lastSync.status} /> {org.lastSyncedAt ? formatRelative(org.lastSyncedAt) : null}
      {org.lastSync.errorMessage ? (
        <div className="field-error">
          <Reason message={org.lastSync.errorMessage} />
        </div>
      ) : null}
    </span>
  );
}
