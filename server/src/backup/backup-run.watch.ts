/**
 * When the items of a run running in this process must stop: a user canceled the run, or its
 * backup window closed. Either may come from another process, so the items of a run running here
 * share one look at the run row a second (one query, not one per item) and are aborted when it
 * says stop.
 */
import type { Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import type { BackupRunEntity, BackupRunItemEntity } from './backup.entity.js';

interface Watch {
  timer: NodeJS.Timeout;
  items: Map<string, { run: BackupRunEntity; controller: AbortController }>;
}

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
            if (!current || !(current.cancelRequestedAt || this.windowClosed(current))) return;
            for (const entry of items.values()) {
              Object.assign(entry.run, { cancelRequestedAt: current.cancelRequestedAt });
              entry.controller.abort();
            }
          },
          () => undefined,
        );
      }, 1000);
      timer.unref();
      watch = { timer, items };
      this.watches.set(run.id, watch);
    }
    const current = watch;
    current.items.set(itemId, { run, controller });
    return () => {
      current.items.delete(itemId);
      if (current.items.size > 0) return;
      clearInterval(current.timer);
      if (this.watches.get(run.id) === current) this.watches.delete(run.id);
    };
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
