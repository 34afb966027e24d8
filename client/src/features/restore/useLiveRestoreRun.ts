/**
 * One restore run, live: `restoreRun(id)` for the state, and the `restoreProgress(runId)`
 * subscription for what happens next. Every event re-reads the run (no polling), so the report
 * and the download link appear as soon as the worker writes them.
 */
import { useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import {
  RestoreRunByIdDocument,
  RestoreRunProgressDocument,
  type RestoreRunDetailsFragment,
  type RestoreRunProgressSubscription,
} from '../../graphql/generated/graphql';

export type RestoreProgressEvent = RestoreRunProgressSubscription['restoreProgress'];

export const TERMINAL_STATUSES = ['SUCCEEDED', 'PARTIAL', 'FAILED'];

export function isTerminal(status: string | null | undefined): boolean {
  return !!status && TERMINAL_STATUSES.includes(status);
}

/**
 * How many snapshots a finished run restored: all of them when it succeeded or ended PARTIAL (each
 * was written, some with problems), and for a FAILED run only those its report shows without a
 * problem — a failure is never drawn as a full bar.
 */
function restoredCount(run: RestoreRunDetailsFragment, total: number): number {
  if (run.status !== 'FAILED') return total;
  return (run.report?.snapshots ?? []).filter((s) => s.problems.length === 0 && s.chainLength > 0).length;
}

export interface LiveRestoreRun {
  run: RestoreRunDetailsFragment | null;
  /** The latest progress event, if any arrived since the screen opened. */
  event: RestoreProgressEvent | null;
  /** What to show: the run once it is terminal, else the freshest of run and event. */
  status: string | null;
  phase: string | null;
  done: number;
  total: number;
  terminal: boolean;
  fetching: boolean;
  error: ReturnType<typeof useQuery>[0]['error'];
  refetch(): void;
}

export function useLiveRestoreRun(runId: string): LiveRestoreRun {
  const [result, refetch] = useQuery({ query: RestoreRunByIdDocument, variables: { id: runId } });
  const [event, setEvent] = useState<RestoreProgressEvent | null>(null);

  useSubscription({ query: RestoreRunProgressDocument, variables: { runId } }, (_prev, data) => {
    const next = data.restoreProgress;
    setEvent(next);
    refetch({ requestPolicy: 'network-only' });
    return data;
  });

  const run = result.data?.restoreRun ?? null;
  const runIsTerminal = isTerminal(run?.status);
  const useEvent = !runIsTerminal && event !== null;
  const total = useEvent && event.total > 0 ? event.total : (run?.snapshotIds.length ?? 0);
  const done =
    runIsTerminal && run ? restoredCount(run, total) : useEvent ? Math.max(0, Math.min(event.done, total)) : 0;
  const status = useEvent ? event.status : (run?.status ?? null);
  return {
    run,
    event,
    status,
    phase: useEvent ? event.phase : (run?.phase ?? null),
    done,
    total,
    terminal: isTerminal(status) && runIsTerminal,
    fetching: result.fetching,
    error: result.error,
    refetch: () => refetch({ requestPolicy: 'network-only' }),
  };
}
