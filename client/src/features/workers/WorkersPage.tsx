/**
 * Workers: each process that runs syncs, backups and restores, whether it is online (it
 * heartbeats), its load (jobs running at its last heartbeat, of its concurrency), version and host, and the organizations that name it as their
 * default worker. The API has no live worker events, so the list is re-read on demand.
 */
import { useQuery, useSubscription } from 'urql';
import { Link } from '../../app/router';
import { WorkerChangedDocument, WorkersOverviewDocument } from '../../graphql/generated/graphql';
import { formatDateTime, formatRelative } from '../../ui/format';
import { ProgressBar } from '../../ui/ProgressBar';
import { Empty, ErrorNotice, Loading } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';

export function WorkersPage() {
  const [result, refetch] = useQuery({ query: WorkersOverviewDocument });
  // Live: a worker starting, stopping or changing its load re-reads the list (heartbeats alone do not).
  useSubscription({ query: WorkerChangedDocument }, (_previous, event) => {
    refetch({ requestPolicy: 'network-only' });
    return event;
  });
  const workers = result.data?.workers ?? [];
  const organizations = result.data?.organizations ?? [];
  const withoutDefault = organizations.filter((o) => !o.defaultWorkerId);
  const online = workers.filter((w) => w.status === 'ONLINE').length;

  return (
    <section aria-labelledby="workers-title">
      <div className="page-header">
        <h1 id="workers-title">Workers</h1>
        <span className="spacer" />
        <button type="button" disabled={result.fetching} onClick={() => refetch({ requestPolicy: 'network-only' })}>
          {result.fetching && result.data ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <p className="muted">
        Processes that execute repository syncs, backups and restores. A worker is online while it sends heartbeats.
        {result.data ? ` ${online} of ${workers.length} online.` : null}
      </p>
      {result.fetching && !result.data ? <Loading /> : null}
      <ErrorNotice error={result.error} />
      {result.data && workers.length === 0 ? (
        <Empty title="No worker has registered yet.">
          Start one with <code>npm run worker</code>, or run <code>npm start</code>, which includes one.
        </Empty>
      ) : null}
      {workers.length > 0 ? (
        <div className="table-wrap">
          <table className="data-table" aria-label="Workers">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col" className="num">
                  Concurrency <span className="muted">(jobs at a time)</span>
                </th>
                <th scope="col">Load</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Version</th>
                <th scope="col">Host</th>
                <th scope="col">Started</th>
                <th scope="col">Default worker of</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((w) => {
                const orgs = organizations.filter((o) => o.defaultWorkerId === w.id);
                return (
                  <tr key={w.id}>
                    <th scope="row">
                      {w.name}
                      {w.isInProcess ? <span className="muted"> (in the API process)</span> : null}
                    </th>
                    <td>
                      <StatusBadge status={w.status} />
                    </td>
                    <td className="num">{w.concurrency}</td>
                    <td>
                      <ProgressBar
                        value={w.status === 'ONLINE' ? w.runningJobs : 0}
                        max={w.concurrency}
                        label={`Load of ${w.name}`}
                      />
                      <span className="muted">
                        {w.status === 'ONLINE' ? `${w.runningJobs} of ${w.concurrency} running` : 'not running'}
                      </span>
                    </td>
                    <td>
                      <time dateTime={w.lastHeartbeatAt} title={formatDateTime(w.lastHeartbeatAt)}>
                        {formatRelative(w.lastHeartbeatAt)}
                      </time>
                    </td>
                    <td>
                      <code>{w.version}</code>
                    </td>
                    <td>
                      {w.host}
                      {w.pid ? <span className="muted"> · pid {w.pid}</span> : null}
                    </td>
                    <td>{w.stoppedAt ? `stopped ${formatDateTime(w.stoppedAt)}` : formatDateTime(w.startedAt)}</td>
                    <td>
                      {orgs.length === 0 ? (
                        <span className="muted">—</span>
                      ) : (
                        <ul className="inline-list">
                          {orgs.map((o) => (
                            <li key={o.id}>
                              <Link to={`/organizations/${o.id}`}>{o.fullPath}</Link>
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {withoutDefault.length > 0 ? (
        <p className="muted">
          Run by any online worker (no default): {withoutDefault.map((o) => o.fullPath).join(', ')}.
        </p>
      ) : null}
    </section>
  );
}
