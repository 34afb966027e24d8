/**
 * Folding `backupProgress` events into what the run view shows: the run's counts and status, and
 * per item the latest numbers plus recent (time, bytes) samples from which throughput is computed.
 */
import type { BackupRunProgressSubscription } from '../../graphql/generated/graphql';

type ProgressEvent = BackupRunProgressSubscription['backupProgress'];
export type LiveItem = NonNullable<ProgressEvent['item']> & { samples: { at: number; bytes: number }[] };

export interface LiveRun {
  runStatus: ProgressEvent['runStatus'];
  isTerminal: boolean;
  itemsTotal: number;
  itemsDone: number;
  itemsFailed: number;
  items: Record<string, LiveItem>;
  events: number;
}

/** Throughput is measured over this much recent time, so it follows the transfer as it changes. */
const WINDOW_MS = 10_000;

export function foldProgress(previous: LiveRun | undefined, event: ProgressEvent): LiveRun {
  const items = { ...(previous?.items ?? {}) };
  if (event.item) {
    const at = Date.parse(event.at) || Date.now();
    const before = items[event.item.itemId]?.samples ?? [];
    const samples = [...before.filter((s) => at - s.at <= WINDOW_MS), { at, bytes: event.item.bytesReceived }];
    items[event.item.itemId] = { ...event.item, samples };
  }
  return {
    runStatus: event.runStatus,
    // Events of one run arrive in order, but never let a late non-terminal event undo the end.
    isTerminal: event.isTerminal || (previous?.isTerminal ?? false),
    itemsTotal: event.itemsTotal,
    itemsDone: Math.max(event.itemsDone, previous?.isTerminal ? previous.itemsDone : 0),
    itemsFailed: event.itemsFailed,
    items,
    events: (previous?.events ?? 0) + 1,
  };
}

/** Bytes per second over the recent samples, or null until two samples span some time. */
export function throughputOf(samples: { at: number; bytes: number }[]): number | null {
  if (samples.length < 2) return null;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const seconds = (last.at - first.at) / 1000;
  return seconds > 0 ? Math.max(0, (last.bytes - first.bytes) / seconds) : null;
}

export const TERMINAL_RUN = ['SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELED', 'TIMED_OUT'];
export const TERMINAL_ITEM = ['SUCCEEDED', 'PARTIAL', 'UNCHANGED', 'FAILED', 'CANCELED'];

/** An item's progress when GitLab did not say how many objects to expect: by phase. */
const PHASE_PERCENT: Record<string, number> = {
  QUEUED: 0,
  FETCHING: 20,
  BUNDLING: 50,
  METADATA: 65,
  WRITING: 80,
  VERIFYING: 90,
  DONE: 100,
};

export function itemPercent(item: {
  status: string;
  phase: string;
  objectsReceived: number;
  totalObjects?: number | null;
}): number {
  if (TERMINAL_ITEM.includes(item.status))
    return item.status === 'FAILED' || item.status === 'CANCELED' ? (PHASE_PERCENT[item.phase] ?? 0) : 100;
  if (item.phase === 'FETCHING' && item.totalObjects)
    return Math.round((item.objectsReceived / item.totalObjects) * 50);
  return PHASE_PERCENT[item.phase] ?? 0;
}
