/**
 * A counting semaphore: at most `permits` holders at once. Waiters are served by priority (higher
 * first), first come first served among equals. A waiter whose signal aborts leaves the queue and
 * rejects with the signal's reason.
 *
 * A place can be taken before it is needed (`reserve`): a reservation ranks with the waiters by
 * its priority, and a permit its rank entitles it to is kept for it, not given to a lower waiter
 * that asks first. The worker's transfer slots use it so that the biggest repository of a run —
 * whose job starts first but looks things up before it transfers — is not overtaken by smaller
 * ones whose lookups were quicker, and then kept waiting for one of their transfers to end: the
 * biggest repository's transfer is the run's longest, the one its end waits for.
 */
export interface Reservation {
  /** Resolves with a release function (idempotent) once a permit is this reservation's; once only. */
  acquire(signal?: AbortSignal): Promise<() => void>;
  /** Gives the place up (when it will not be needed after all); does nothing once acquiring. */
  cancel(): void;
}

interface Place {
  priority: number;
  /** Set once the holder of the place asks for its permit; until then the place only reserves one. */
  grant: (() => void) | null;
}

export class Semaphore {
  private held = 0;
  /** Reserved and waiting places, by priority (higher first), first come first served among equals. */
  private readonly places: Place[] = [];

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
    return this.reserve(priority).acquire(signal);
  }

  /** Takes a place in the queue now, for a permit asked for later (see the class's comment). */
  reserve(priority = 0): Reservation {
    const place: Place = { priority, grant: null };
    const behind = this.places.findIndex((p) => p.priority < priority);
    if (behind < 0) this.places.push(place);
    else this.places.splice(behind, 0, place);
    let state: 'reserved' | 'acquiring' | 'done' = 'reserved';
    const leave = () => {
      const at = this.places.indexOf(place);
      if (at >= 0) this.places.splice(at, 1);
      state = 'done';
      this.dispatch();
    };
    return {
      acquire: (signal) => {
        if (state !== 'reserved') return Promise.reject(new Error('a reservation is acquired once'));
        if (signal?.aborted) {
          leave();
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an aborted wait rejects with the signal's reason, as the platform's own APIs do (fetch, timers/promises)
          return Promise.reject(signal.reason);
        }
        state = 'acquiring';
        return new Promise((resolve, reject) => {
          const onAbort = () => {
            leave();
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- as above: the signal's reason
            reject(signal!.reason);
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          place.grant = () => {
            signal?.removeEventListener('abort', onAbort);
            state = 'done';
            resolve(this.releaser());
          };
          this.dispatch();
        });
      },
      cancel: () => {
        if (state === 'reserved') leave();
      },
    };
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

  /** Free permits to the places in order: a waiting one gets it, a reserved one keeps it. */
  private dispatch(): void {
    let free = this.permits - this.held;
    for (let i = 0; i < this.places.length && free > 0; free--) {
      const place = this.places[i];
      if (!place.grant) {
        i++;
        continue;
      }
      this.places.splice(i, 1);
      this.held += 1;
      place.grant();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= 1;
      this.dispatch();
    };
  }
}
