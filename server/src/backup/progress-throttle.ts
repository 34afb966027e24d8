/**
 * Limits progress events to about two per second per run item, while never dropping phase
 * changes or terminal events (those are sent at once). The last suppressed event of an item is
 * sent when its interval ends, so subscribers always end on the latest numbers.
 */
export class ProgressThrottle<T> {
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, { event: T; timer: NodeJS.Timeout }>();

  constructor(
    private readonly send: (event: T) => void,
    private readonly intervalMs = 500,
    private readonly now: () => number = Date.now,
  ) {}

  /** `force` for phase changes and terminal events. */
  push(key: string, event: T, force = false): void {
    const since = this.now() - (this.last.get(key) ?? 0);
    const queued = this.pending.get(key);
    if (force || since >= this.intervalMs) {
      if (queued) {
        clearTimeout(queued.timer);
        this.pending.delete(key);
      }
      this.last.set(key, this.now());
      this.send(event);
      return;
    }
    if (queued) {
      queued.event = event;
      return;
    }
    const timer = setTimeout(() => {
      const entry = this.pending.get(key);
      this.pending.delete(key);
      if (!entry) return;
      this.last.set(key, this.now());
      this.send(entry.event);
    }, this.intervalMs - since);
    timer.unref();
    this.pending.set(key, { event, timer });
  }

  /** Drops what is pending for a key (its terminal event was sent). */
  clear(key: string): void {
    const queued = this.pending.get(key);
    if (queued) clearTimeout(queued.timer);
    this.pending.delete(key);
    this.last.delete(key);
  }
}
