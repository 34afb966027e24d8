/**
 * The phase an item's row shows, written once a phase has lasted PHASE_ROW_DELAY_MS. Progress
 * events carry every phase change as it happens (backup-run.progress.ts); the row is for whoever
 * loads a run later, so a phase that lasts a few milliseconds (BUNDLING and WRITING of a bundle
 * that streamed straight into storage) never costs an UPDATE, and the row is at most that delay
 * behind. Writes are chained, and `settle` ends them before the item's final update, so a late
 * phase write never lands after DONE.
 */
import type { ItemPhase } from './backup.entity.js';

export const PHASE_ROW_DELAY_MS = 1000;

export class PhaseRow {
  private wanted: ItemPhase;
  private written: ItemPhase;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<unknown> = Promise.resolve();
  private settled = false;

  constructor(
    /** The row's phase as last written. */
    initial: ItemPhase,
    private readonly write: (phase: ItemPhase) => Promise<unknown>,
    private readonly delayMs = PHASE_ROW_DELAY_MS,
  ) {
    this.wanted = initial;
    this.written = initial;
  }

  set(phase: ItemPhase): void {
    if (this.settled) return; // a late progress report of an item that has ended
    this.wanted = phase;
    if (this.timer || phase === this.written) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const next = this.wanted;
      if (next === this.written) return;
      this.written = next;
      this.writing = this.writing.then(() => this.write(next)).catch(() => undefined);
    }, this.delayMs);
    this.timer.unref();
  }

  /**
   * Drops a pending write, takes no more, and waits for one on its way: the caller writes the
   * row's last phase.
   */
  async settle(): Promise<void> {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
  }
}
