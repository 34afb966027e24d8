/**
 * The dashboard: protected and unprotected repositories across organizations, what needs
 * attention (each problem with what to do), each organization's last backup run (kept current by
 * its backupProgress subscription), the connections that need attention, and storage growth over
 * the last 30 days.
 */
import { useQuery, useSubscription } from 'urql';
import { Link } from '../../app/router';
import {
  DashboardBackupProgressDocument,
  DashboardDocument,
  LastBackupRunDocument,
} from '../../graphql/generated/graphql';
import { formatBytes, formatDateTime, formatRelative } from '../../ui/format';
import { Empty, ErrorNotice, Loading } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { METHOD_LABELS } from '../connections/ConnectionsPage';
import { NeedsAttention } from './NeedsAttention';
import { StorageChart } from './StorageChart';

export function DashboardPage() {
  const [result, refetch] = useQuery({ query: DashboardDocument });
  const organizations = result.data?.organizations ?? [];
  const totals = organizations.reduce(
    (sum, o) => ({
      total: sum.total + o.repositoryCounts.total,
      protected: sum.protected + o.repositoryCounts.protected,
      unprotected: sum.unprotected + o.repositoryCounts.unprotected,
    }),
    { total: 0, protected: 0, unprotected: 0 },
  );
  const attention = (result.data?.connections ?? []).filter(
    (c) => ['ERROR', 'EXPIRED'].includes(c.status) || c.warnings.length > 0,
  );
  // A connection shown in its own card below is not listed twice.
  const shownConnections = new Set(attention.map((c) => c.id));
  const problems = (result.data?.needsAttention ?? []).filter(
    (item) => !item.connectionId || !shownConnections.has(item.connectionId),
  );
  const history = result.data?.storageHistory ?? [];
  const stored = history.length > 0 ? history[history.length - 1].storedBytes : 0;
  const onRunFinished = () => refetch({ requestPolicy: 'network-only' });

  return (
    <section aria-labelledby="dashboard-title">
      <div className="page-header">
        <h1 id="dashboard-title">Dashboard</h1>
      </div>
      {result.fetching && !result.data ? <Loading /> : null}
      <ErrorNotice error={result.error} />
      {result.data && organizations.length === 0 ? (
        <Empty title="Nothing is protected yet.">
          Go to <Link to="/devops">DevOps</Link> to connect a GitLab organization.
        </Empty>
      ) : null}

      {result.data && organizations.length > 0 ? (
        <>
          <div className="grid" role="list" aria-label="Repositories">
            <div className="card" role="listitem">
              <div className="stat" aria-describedby="stat-protected">
                {totals.protected}
              </div>
              <div className="stat-label" id="stat-protected">
                Protected repositories
              </div>
            </div>
            <div className="card" role="listitem">
              <div className={`stat${totals.unprotected > 0 ? ' stat-warn' : ''}`} aria-describedby="stat-unprotected">
                {totals.unprotected}
              </div>
              <div className="stat-label" id="stat-unprotected">
                Unprotected repositories
              </div>
            </div>
            <div className="card" role="listitem">
              <div className="stat" aria-describedby="stat-orgs">
                {organizations.length}
              </div>
              <div className="stat-label" id="stat-orgs">
                Organizations · {totals.total} repositories
              </div>
            </div>
            <div className="card" role="listitem">
              <div className="stat" aria-describedby="stat-stored">
                {formatBytes(stored)}
              </div>
              <div className="stat-label" id="stat-stored">
                Stored in snapshots
              </div>
            </div>
          </div>

          <NeedsAttention items={problems} />

          {attention.length > 0 ? (
            <section aria-labelledby="attention-title" className="card card-attention">
              <h2 id="attention-title">Connections needing attention</h2>
              <ul className="plain-list">
                {attention.map((c) => (
                  <li key={c.id}>
                    <div className="row">
                      <strong>{c.gitlabUser ? `@${c.gitlabUser.username}` : (c.login ?? c.instanceUrl)}</strong>
                      <span className="muted">
                        {METHOD_LABELS[c.method] ?? c.method} · {c.instanceUrl}
                      </span>
                      <StatusBadge status={c.status} />
                    </div>
                    {c.statusReason ? <p className="muted">{c.statusReason}</p> : null}
                    {c.warnings.map((w) => (
                      <p key={w} className="text-warn">
                        <strong>Warning:</strong> {w}
                      </p>
                    ))}
                  </li>
                ))}
              </ul>
              <Link to="/connections">Open Connections</Link>
            </section>
          ) : null}

          <h2>Organizations</h2>
          <div className="table-wrap">
            <table className="data-table" aria-label="Organizations">
              <thead>
                <tr>
                  <th scope="col">Organization</th>
                  <th scope="col" className="num">
                    Protected
                  </th>
                  <th scope="col" className="num">
                    Unprotected
                  </th>
                  <th scope="col">Last backup run</th>
                </tr>
              </thead>
              <tbody>
                {organizations.map((o) => (
                  <tr key={o.id}>
                    <th scope="row">
                      <Link to={`/organizations/${o.id}`}>{o.fullPath}</Link>
                    </th>
                    <td className="num">{o.repositoryCounts.protected}</td>
                    <td className="num">{o.repositoryCounts.unprotected}</td>
                    <td>
                      <LastRun organizationId={o.id} onFinished={onRunFinished} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          <h2>Storage growth</h2>
          {history.every((p) => p.snapshotCount === 0) ? (
            <Empty title="No snapshot stored yet.">The chart appears after the first backup.</Empty>
          ) : (
            <StorageChart points={fromFirstSnapshot(history)} />
          )}
        </>
      ) : null}
    </section>
  );
}

function LastRun({ organizationId, onFinished }: { organizationId: string; onFinished: () => void }) {
  const [result, refetch] = useQuery({ query: LastBackupRunDocument, variables: { organizationId } });
  useSubscription({ query: DashboardBackupProgressDocument, variables: { organizationId } }, (_prev, event) => {
    const progress = event.backupProgress;
    // A new run appears, or one ends: re-read this row (and, at the end, the totals and chart).
    if (progress.isTerminal || progress.runStatus === 'QUEUED' || progress.runStatus === 'RUNNING') {
      if (progress.runId !== result.data?.backupRuns.nodes[0]?.id || progress.isTerminal)
        refetch({ requestPolicy: 'network-only' });
      if (progress.isTerminal) onFinished();
    }
    return event;
  });
  if (result.fetching && !result.data) return <span className="muted">Loading…</span>;
  if (result.error) return <span className="text-bad">Could not load the last run.</span>;
  const run = result.data?.backupRuns.nodes[0];
  if (!run) return <span className="muted">No backup yet</span>;
  const when = run.finishedAt ?? run.createdAt;
  return (
    <span className="row">
      <StatusBadge status={run.status} />
      <Link to={`/runs/${run.id}`}>
        <time dateTime={when} title={formatDateTime(when)}>
          {formatRelative(when)}
        </time>
      </Link>
      {run.bytesWritten > 0 ? <span className="muted">{formatBytes(run.bytesWritten)} written</span> : null}
    </span>
  );
}

/** The window from the day before the first kept snapshot (at least the last 7 days), so the line is not mostly zeros. */
function fromFirstSnapshot<T extends { snapshotCount: number }>(points: T[]): T[] {
  const first = points.findIndex((p) => p.snapshotCount > 0);
  if (first < 0) return points;
  return points.slice(Math.max(0, Math.min(first - 1, points.length - 7)));
}
