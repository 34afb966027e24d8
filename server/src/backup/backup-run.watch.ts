/**
 * When the items of a run running in this process must stop: a user canceled the run, or its
 * backup window closed. Either may come from another process, so the items of a run running here
 * share one look at the run row a second (one query, not one per item) and are aborted when it
 * says stop. An item that starts while others of its run run here takes the row from that look
 * when it is less than a second old (`recent`), instead of reading it again: a stop it misses is
 * the next look's, as for the items already running.
 */
import type { Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import type { BackupRunEntity, BackupRunItemEntity } from './backup.entity.js';

interface Watch {
  timer: NodeJS.Timeout;
  items: Map<string, { run: BackupRunEntity; controller: AbortController }>;
  /** The run row as last read in this process (an item's start, or the look), and when (performance.now()). */
  seen: { run: BackupRunEntity; at: number };
}

/** How old a run row read here may be for an item's start (the look's period). */
const LOOK_EVERY_MS = 1000;

export class RunWatches {
  /** Per run with items running in this process: the shared look at its row. */
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly runs: Repository<BackupRunEntity>,
    private readonly clock: Clock,
  ) {}

  /**
   * Aborts `controller` (and copies the cancellation onto `run`) once the run row says stop.
   * Returns the function that stops watching this item.
   */
  watch(run: BackupRunEntity, itemId: string, controller: AbortController): () => void {
    let watch = this.watches.get(run.id);
    if (!watch) {
      const items = new Map<string, { run: BackupRunEntity; controller: AbortController }>();
      const timer = setInterval(() => {
        void this.runs.findOneBy({ id: run.id }).then(
          (current) => {
            const look = this.watches.get(run.id);
            if (current && look) look.seen = { run: current, at: performance.now() };
            if (!current || !(current.cancelRequestedAt || this.windowClosed(current))) return;
            for (const entry of items.values()) {
              Object.assign(entry.run, { cancelRequestedAt: current.cancelRequestedAt });
              entry.controller.abort();
            }
          },
          () => undefined,
        );
      }, LOOK_EVERY_MS);
      timer.unref();
      watch = { timer, items, seen: { run, at: performance.now() } };
      this.watches.set(run.id, watch);
    } else if (watch.seen.run !== run) watch.seen = { run, at: performance.now() }; // read just now
    const current = watch;
    current.items.set(itemId, { run, controller });
    return () => {
      current.items.delete(itemId);
      if (current.items.size > 0) return;
      clearInterval(current.timer);
      if (this.watches.get(run.id) === current) this.watches.delete(run.id);
    };
  }

  /** The run row read in this process less than a second ago, while items of the run run here; else null. */
  recent(runId: string): BackupRunEntity | null {
    const seen = this.watches.get(runId)?.seen;
    return seen && performance.now() - seen.at < LOOK_EVERY_MS ? seen.run : null;
  }

  /** A scheduled run's backup window has closed (Run now has none). */
  windowClosed(run: BackupRunEntity): boolean {
    return run.windowEndsAt !== null && this.clock.now() >= run.windowEndsAt;
  }
}

/** How an item that was stopped before it ended ends: canceled by a user, or cut by the window. */
export function stopReason(run: BackupRunEntity): Partial<BackupRunItemEntity> {
  return run.cancelRequestedAt
    ? { status: 'CANCELED', errorCode: 'CANCELED', errorMessage: 'canceled by a user' }
    : {
        status: 'CANCELED',
        errorCode: 'TIMED_OUT',
        errorMessage: 'the backup window closed before this repository was backed up',
      };
}
