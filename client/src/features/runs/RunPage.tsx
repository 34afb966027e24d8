/**
 * A backup run live: the `backupRun` query gives the state when the page opens, the
 * `backupProgress(runId)` subscription everything after (no polling). The first event and the
 * terminal one make the page re-read the run, so what happened before the subscription was
 * listening, and the final numbers, are never missed.
 */
import { useEffect } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { Link } from '../../app/router';
import {
  BackupRunDetailDocument,
  BackupRunProgressDocument,
  CancelBackupRunDocument,
  type BackupRunDetailQuery,
  type BackupRunProgressSubscription,
} from '../../graphql/generated/graphql';
import { formatBytes, formatDateTime, humanize, metadataTypeName, plainWarning } from '../../ui/format';
import { ProgressBar } from '../../ui/ProgressBar';
import { ErrorNotice, Loading, Empty } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { formatDuration } from './duration';
import {
  foldProgress,
  itemPercent,
  TERMINAL_ITEM,
  TERMINAL_RUN,
  throughputOf,
  type LiveItem,
  type LiveRun,
} from './live-run';
import { Reason } from '../../ui/Reason';
import { OrganizationLink } from '../organizations/OrganizationLink';

type RunItem = BackupRunDetailQuery['backupRun']['items'][number];

export function RunPage({ id }: { id: string }) {
  const [result, refetch] = useQuery({ query: BackupRunDetailDocument, variables: { id } });
  const [progress] = useSubscription<BackupRunProgressSubscription, LiveRun>(
    { query: BackupRunProgressDocument, variables: { runId: id } },
    (previous, event) => foldProgress(previous, event.backupProgress),
  );
  const [canceling, cancel] = useMutation(CancelBackupRunDocument);
  const live = progress.data;

  const isFirstEvent = live?.events === 1;
  const isTerminal = live?.isTerminal ?? false;
  // Each finished item re-reads the run too: its snapshot (copy type, metadata records) is the API's.
  const itemsFinished = Object.values(live?.items ?? {}).filter((i) => TERMINAL_ITEM.includes(i.status)).length;
  useEffect(() => {
    if (isFirstEvent || isTerminal || itemsFinished > 0) refetch({ requestPolicy: 'network-only' });
  }, [isFirstEvent, isTerminal, itemsFinished, refetch]);

  // Coming back to a background tab: re-read once (events may have been throttled meanwhile).
  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible') refetch({ requestPolicy: 'network-only' });
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [refetch]);

  const run = result.data?.backupRun;
  if (result.fetching && !run) return <Loading label="Loading the backup run…" />;
  if (!run)
    return <ErrorNotice error={result.error} message={result.error ? null : 'This backup run does not exist.'} />;

  // The query is the truth once the run ended; before that, the newest event wins.
  const queryIsFinal = TERMINAL_RUN.includes(run.status);
  const status = queryIsFinal ? run.status : (live?.runStatus ?? run.status);
  const isActive = !TERMINAL_RUN.includes(status);
  const total = live && !queryIsFinal ? live.itemsTotal : run.itemsTotal;
  const rows = mergeItems(run.items, live?.items ?? {}, queryIsFinal);
  // Items done never go back: the run's own count (events), or the finished rows the page knows
  // of (the query overlaid with events), whichever is further along.
  const rowsDone = rows.filter((r) => TERMINAL_ITEM.includes(r.status)).length;
  const rowsFailed = rows.filter((r) => r.status === 'FAILED').length;
  const done = live && !queryIsFinal ? Math.max(live.itemsDone, rowsDone) : rowsDone;
  const failed = live && !queryIsFinal ? Math.max(live.itemsFailed, rowsFailed) : rowsFailed;
  // Finished items count whole, running ones by their own progress; a run that succeeded is 100 %.
  const progressUnits = Math.max(total, rows.length) * 100;
  const unitsDone =
    status === 'SUCCEEDED'
      ? progressUnits
      : Math.max(
          done * 100,
          rows.reduce((sum, row) => sum + row.percent, 0),
        );
  const totalThroughput = rows.reduce((sum, row) => sum + (row.isRunning ? (row.throughput ?? 0) : 0), 0);

  return (
    <section aria-labelledby="run-title">
      <p className="muted breadcrumb">
        <OrganizationLink organizationId={run.organizationId} /> /{' '}
        <Link to={`/organizations/${run.organizationId}/runs`}>Run history</Link> / Run
      </p>
      <div className="page-header">
        <h1 id="run-title">Backup run</h1>
        {isActive ? (
          <button
            type="button"
            className="button-danger"
            disabled={canceling.fetching || !!run.cancelRequestedAt}
            onClick={() => void cancel({ id })}
          >
            {run.cancelRequestedAt || canceling.data ? 'Canceling…' : 'Cancel run'}
          </button>
        ) : null}
      </div>
      <ErrorNotice error={canceling.error} />
      {progress.error ? <ErrorNotice message={`Live progress is unavailable: ${progress.error.message}`} /> : null}

      <div className="card run-summary">
        <div className="row">
          <span aria-live="polite" className="run-status" data-testid="run-status">
            Status: <StatusBadge status={status} />
          </span>
          <span className="muted" data-testid="run-copy-type">
            {humanize(run.trigger)} · {copyTypeLabel(run.copyType, rows)}
          </span>
          <span className="spacer" />
          <span className="muted">
            Started {formatDateTime(run.startedAt ?? run.createdAt)}
            {run.finishedAt
              ? ` · finished ${formatDateTime(run.finishedAt)} · took ${formatDuration(run.startedAt ?? run.createdAt, run.finishedAt)}`
              : ''}
          </span>
        </div>
        <ProgressBar label="Overall progress" value={unitsDone} max={progressUnits || 1} />
        <p className="muted" aria-live="polite">
          {done} of {total} items done{failed ? `, ${failed} failed` : ''}
          {isActive && totalThroughput > 0 ? ` · ${formatBytes(totalThroughput)}/s` : ''}
          {run.bytesWritten ? ` · ${formatBytes(run.bytesWritten)} written` : ''}
        </p>
        {run.cancelRequestedAt && isActive ? (
          <p className="muted">
            Cancel requested {formatDateTime(run.cancelRequestedAt)}; running items stop at their next step.
          </p>
        ) : null}
        {run.errorMessage ? (
          <div className="field-error">
            <Reason message={run.errorMessage} />
          </div>
        ) : null}
      </div>

      <h2>Repositories</h2>
      {rows.length === 0 ? (
        <Empty title={isActive ? 'Waiting for the worker to start the run…' : 'This run backed up nothing.'} />
      ) : (
        <div className="table-wrap">
          <table aria-label="Repositories in this run">
            <thead>
              <tr>
                <th scope="col">Repository</th>
                <th scope="col">Status</th>
                <th scope="col">Copy</th>
                <th scope="col">Progress</th>
                <th scope="col" className="num">
                  Received
                </th>
                <th scope="col" className="num">
                  Objects
                </th>
                <th scope="col" className="num">
                  Throughput
                </th>
                <th scope="col" className="num">
                  Metadata records
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} data-testid="run-item">
                  <th scope="row">
                    {row.repositoryId ? (
                      <Link to={`/repositories/${row.repositoryId}/snapshots`}>{row.path}</Link>
                    ) : (
                      row.path
                    )}
                    {row.groupId ? <span className="muted small"> (group)</span> : null}
                    {row.errorMessage ? (
                      <div className="field-error small">
                        <Reason message={row.errorMessage} />
                      </div>
                    ) : null}
                    {row.warnings.map((w) => (
                      <div key={w} className="muted small">
                        ⚠ {plainWarning(w)}
                      </div>
                    ))}
                    {row.notes.map((n) => (
                      <div key={n} className="muted small" data-testid="run-item-note">
                        ℹ {plainWarning(n)}
                      </div>
                    ))}
                  </th>
                  <td>
                    <StatusBadge status={row.status} />
                    <div className="muted small">{humanize(row.phase)}</div>
                    {row.attempts > 1 ? <div className="muted small">attempt {row.attempts}</div> : null}
                  </td>
                  <td>
                    {row.status === 'UNCHANGED' ? <span className="muted">unchanged</span> : (row.copyType ?? '—')}
                  </td>
                  <td>
                    <ProgressBar label={`Progress of ${row.path}`} value={row.percent} />
                  </td>
                  <td className="num">{formatBytes(row.bytesReceived)}</td>
                  <td className="num">
                    {row.objectsReceived}
                    {row.totalObjects ? ` / ${row.totalObjects}` : ''}
                  </td>
                  <td className="num">
                    {row.throughput !== null && row.bytesReceived > 0 ? `${formatBytes(row.throughput)}/s` : '—'}
                  </td>
                  <td className="num" title={row.metadataByType ?? undefined}>
                    {row.metadataRecords ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface Row {
  id: string;
  path: string;
  repositoryId: string | null;
  groupId: string | null;
  status: string;
  phase: string;
  attempts: number;
  bytesReceived: number;
  objectsReceived: number;
  totalObjects: number | null;
  metadataRecords: number | null;
  /** "issues 3, labels 2…" from the snapshot, for the tooltip. */
  metadataByType: string | null;
  /** The copy type of the snapshot the item made (FULL, INCREMENTAL…), as the API says. */
  copyType: string | null;
  throughput: number | null;
  errorMessage: string | null;
  warnings: string[];
  /** Facts that are not problems (a metadata type the GitLab tier does not offer). */
  notes: string[];
  percent: number;
  isRunning: boolean;
}

/** The query's items, overlaid with the newer numbers of live events (and items only events know). */
function mergeItems(items: RunItem[], live: Record<string, LiveItem>, queryIsFinal: boolean): Row[] {
  const rows: Row[] = items.map((item) => {
    const event = queryIsFinal ? undefined : live[item.id];
    const status = event?.status ?? item.status;
    const phase = event?.phase ?? item.phase;
    const finishedThroughput =
      item.startedAt && item.finishedAt
        ? item.bytesReceived / Math.max(0.001, (Date.parse(item.finishedAt) - Date.parse(item.startedAt)) / 1000)
        : null;
    const base = {
      id: item.id,
      path: item.pathWithNamespace,
      repositoryId: item.repositoryId ?? null,
      groupId: item.groupId ?? null,
      status,
      phase,
      attempts: item.attempts,
      bytesReceived: Math.max(event?.bytesReceived ?? 0, item.bytesReceived),
      objectsReceived: Math.max(event?.objectsReceived ?? 0, item.objectsReceived),
      totalObjects: event?.totalObjects ?? null,
      // A committed snapshot's counts are the truth; while the item runs, the live count.
      metadataRecords: item.snapshot
        ? item.snapshot.metadataRecords.reduce((sum, m) => sum + m.records, 0)
        : TERMINAL_ITEM.includes(status)
          ? null
          : (live[item.id]?.metadataRecords ?? null),
      metadataByType: item.snapshot
        ? item.snapshot.metadataRecords.map((m) => `${metadataTypeName(m.type)} ${m.records}`).join(', ')
        : null,
      copyType: item.snapshot?.copyType ?? null,
      errorMessage: event?.errorMessage ?? item.errorMessage ?? null,
      warnings: item.warnings,
      notes: item.notes,
      isRunning: status === 'RUNNING',
    };
    const throughput = base.isRunning
      ? event
        ? throughputOf(event.samples)
        : null
      : TERMINAL_ITEM.includes(status)
        ? finishedThroughput
        : null;
    return {
      ...base,
      throughput,
      percent: itemPercent({ status, phase, objectsReceived: base.objectsReceived, totalObjects: base.totalObjects }),
    };
  });
  const known = new Set(items.map((i) => i.id));
  for (const event of Object.values(live)) {
    if (known.has(event.itemId)) continue;
    rows.push({
      id: event.itemId,
      path: event.pathWithNamespace,
      repositoryId: event.repositoryId ?? null,
      groupId: event.groupId ?? null,
      status: event.status,
      phase: event.phase,
      attempts: 1,
      bytesReceived: event.bytesReceived,
      objectsReceived: event.objectsReceived,
      totalObjects: event.totalObjects ?? null,
      metadataRecords: TERMINAL_ITEM.includes(event.status) ? null : event.metadataRecords,
      metadataByType: null,
      copyType: null,
      throughput: throughputOf(event.samples),
      errorMessage: event.errorMessage ?? null,
      warnings: [],
      notes: [],
      percent: itemPercent(event),
      isRunning: event.status === 'RUNNING',
    });
  }
  return rows;
}

/**
 * The run's copy type as its snapshots have it: the policy asks for one (run.copyType), but a
 * repository without a usable chain gets a FULL, so once snapshots exist their types are shown.
 */
function copyTypeLabel(requested: string, rows: Row[]): string {
  const made = new Map<string, number>();
  for (const row of rows)
    if (row.copyType && row.status !== 'UNCHANGED') made.set(row.copyType, (made.get(row.copyType) ?? 0) + 1);
  if (made.size === 0) return `${requested} requested`;
  if (made.size === 1) return `${[...made.keys()][0]} copy`;
  return [...made.entries()].map(([type, n]) => `${n} ${type}`).join(', ');
}
