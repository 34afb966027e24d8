/** Durations of the steps of one unit of work (a repository backup, a snapshot restore), for the log line that ends it. */
export class StepTimer {
  private last = performance.now();
  private readonly started = this.last;
  private readonly steps: Record<string, number> = {};

  mark(step: string): void {
    const now = performance.now();
    this.steps[step] = (this.steps[step] ?? 0) + Math.round(now - this.last);
    this.last = now;
  }

  done(): Record<string, number> {
    return { ...this.steps, total: Math.round(performance.now() - this.started) };
  }
}
