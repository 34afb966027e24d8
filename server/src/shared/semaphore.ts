/**
 * A counting semaphore: at most `permits` holders at once. Waiters are served by priority (higher
 * first), first come first served among equals. A waiter whose signal aborts leaves the queue and
 * rejects with the signal's reason.
 */
export class Semaphore {
  private held = 0;
  private readonly waiting: { grant: () => void; priority: number }[] = [];

  constructor(readonly permits: number) {
    if (!Number.isInteger(permits) || permits < 1)
      throw new RangeError(`permits must be a positive integer, got ${permits}`);
  }

  /** Holders now. */
  get inUse(): number {
    return this.held;
  }

  /** Resolves with a release function (idempotent) once a permit is free. */
  acquire(signal?: AbortSignal, priority = 0): Promise<() => void> {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an aborted wait rejects with the signal's reason, as the platform's own APIs do (fetch, timers/promises)
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.held < this.permits) {
      this.held += 1;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        priority,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.held += 1;
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- as above: the signal's reason
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const behind = this.waiting.findIndex((w) => w.priority < priority);
      if (behind < 0) this.waiting.push(waiter);
      else this.waiting.splice(behind, 0, waiter);
    });
  }

  /** Runs `work` holding a permit. */
  async use<T>(work: () => Promise<T>, signal?: AbortSignal, priority = 0): Promise<T> {
    const release = await this.acquire(signal, priority);
    try {
      return await work();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= 1;
      this.waiting.shift()?.grant();
    };
  }
}
