/**
 * Run history of one organization: every backup run, newest first, a page at a time, filtered by
 * status; each links to its run view. A run starting or ending while the page is open (from the
 * `backupProgress` subscription) makes it re-read the list.
 */
import { useEffect, useId, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { Link } from '../../app/router';
import {
  BackupRunHistoryDocument,
  OrganizationBackupProgressDocument,
  type BackupRunStatus,
  type OrganizationBackupProgressSubscription,
} from '../../graphql/generated/graphql';
import { formatBytes, formatDateTime, humanize } from '../../ui/format';
import { Empty, ErrorNotice, Loading } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { formatDuration } from './duration';

const PAGE_SIZE = 20;
const STATUSES: BackupRunStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELED', 'TIMED_OUT'];

export function RunHistoryPage({ organizationId }: { organizationId: string }) {
  const [status, setStatus] = useState<BackupRunStatus | ''>('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [result, refetch] = useQuery({
    query: BackupRunHistoryDocument,
    variables: { organizationId, status: status || null, first: PAGE_SIZE, after },
  });
  const [progress] = useSubscription<OrganizationBackupProgressSubscription, OrganizationBackupProgressSubscription>(
    { query: OrganizationBackupProgressDocument, variables: { organizationId } },
    (_prev, event) => event,
  );
  const event = progress.data?.backupProgress;
  const eventKey = event ? `${event.runId}:${event.runStatus}:${event.isTerminal}` : null;
  useEffect(() => {
    if (eventKey) refetch({ requestPolicy: 'network-only' });
  }, [eventKey, refetch]);
  const filterId = useId();

  const runs = result.data?.backupRuns;
  const organization = result.data?.organization;
  return (
    <section aria-labelledby="history-title">
      <p className="muted breadcrumb">
        <Link to="/organizations">Organizations</Link> /{' '}
        {organization ? <Link to={`/organizations/${organizationId}`}>{organization.name}</Link> : '…'} / Run history
      </p>
      <div className="page-header">
        <h1 id="history-title">Run history</h1>
        <div className="field inline-field">
          <label htmlFor={filterId}>Status</label>
          <select
            id={filterId}
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as BackupRunStatus | '');
              setCursors([null]);
            }}
          >
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {result.fetching && !result.data ? <Loading label="Loading runs…" /> : null}
      <ErrorNotice error={result.error} />
      {runs && runs.nodes.length === 0 ? (
        <Empty title={status ? `No ${humanize(status).toLowerCase()} run.` : 'No backup has run yet.'}>
          {status ? null : (
            <>
              Start one with <strong>Run now</strong> on the{' '}
              <Link to={`/organizations/${organizationId}`}>organization</Link>, or let the policy’s schedule do it.
            </>
          )}
        </Empty>
      ) : null}
      {runs && runs.nodes.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Backup runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">Duration</th>
                <th scope="col" className="num">
                  Items
                </th>
                <th scope="col" className="num">
                  Succeeded
                </th>
                <th scope="col" className="num">
                  Failed
                </th>
                <th scope="col" className="num">
                  Written
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.nodes.map((run) => {
                const succeeded = run.items.filter((i) => i.status === 'SUCCEEDED' || i.status === 'UNCHANGED').length;
                const failedItems = run.items.filter((i) => i.status === 'FAILED').length;
                return (
                  <tr key={run.id} data-testid="run-row">
                    <td>
                      <Link to={`/runs/${run.id}`} aria-label={`Run of ${formatDateTime(run.createdAt)}`}>
                        {formatDateTime(run.createdAt)}
                      </Link>
                      <div className="muted small">{humanize(run.copyType)} copy</div>
                    </td>
                    <td>
                      <StatusBadge status={run.status} />
                      {run.errorMessage ? <div className="field-error small">{run.errorMessage}</div> : null}
                    </td>
                    <td>{humanize(run.trigger)}</td>
                    <td>{formatDateTime(run.startedAt)}</td>
                    <td>{formatDateTime(run.finishedAt)}</td>
                    <td>
                      {run.finishedAt
                        ? formatDuration(run.startedAt ?? run.createdAt, run.finishedAt)
                        : run.startedAt
                          ? 'running'
                          : '—'}
                    </td>
                    <td className="num">{run.itemsTotal}</td>
                    <td className="num">{succeeded}</td>
                    <td className="num">{failedItems}</td>
                    <td className="num">{formatBytes(run.bytesWritten)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {runs && (cursors.length > 1 || runs.pageInfo.hasNextPage) ? (
        <nav className="row pager" aria-label="Run pages">
          <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Newer runs
          </button>
          <span className="muted">
            Page {cursors.length} · {runs.totalCount} runs
          </span>
          <button
            type="button"
            disabled={!runs.pageInfo.hasNextPage}
            onClick={() => setCursors((c) => [...c, runs.pageInfo.endCursor ?? null])}
          >
            Older runs
          </button>
        </nav>
      ) : null}
    </section>
  );
}
