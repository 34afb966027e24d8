/**
 * Jobs that survive a database outage. A job whose handler fails because PostgreSQL went away has
 * done nothing wrong: it waits until the database answers again and runs once more (handlers are
 * idempotent: jobs run at least once), instead of failing or sitting locked until its lock expires.
 *
 * The wait ends when the process stops (`signal`, aborted by the composition root at shutdown): a
 * job left waiting would ping a pool that is being closed for ever. It then rejects with
 * `ShutdownDuringOutage`; the job's lock is left to expire or to be released when its worker goes
 * OFFLINE, and another worker runs it.
 */
import { isConnectionError } from './db-errors.js';
import type { Logger } from './logger.js';
import { sleep } from './sleep.js';

/** The process stopped while a job waited for the database. */
export class ShutdownDuringOutage extends Error {
  constructor() {
    super('the process is stopping: no longer waiting for the database');
    this.name = 'ShutdownDuringOutage';
  }
}

/**
 * Resolves once `ping` succeeds, trying with backoff (1 s doubling up to 10 s), then keeps the
 * job's lock alive once (`touch`; its failure is ignored, the next touch renews it). Rejects with
 * ShutdownDuringOutage as soon as `signal` aborts (at once if it already has).
 */
export async function untilDatabaseReachable(
  ping: () => Promise<unknown>,
  options: { touch?: () => Promise<unknown>; signal?: AbortSignal } = {},
): Promise<void> {
  const stopped = () => new ShutdownDuringOutage();
  for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 10_000)) {
    if (options.signal?.aborted) throw stopped();
    try {
      await ping();
    } catch {
      await sleep(delayMs, options.signal, stopped);
      continue;
    }
    await options.touch?.().catch(() => undefined);
    return;
  }
}

/**
 * Runs `run`; when it fails on a lost database connection, waits for the database (untilDatabaseReachable)
 * and runs it again, as often as that happens. Any other failure is thrown, and so is
 * ShutdownDuringOutage when `signal` aborts during a wait.
 */
export async function resumingAfterOutage<T>(
  run: () => Promise<T>,
  o: {
    ping: () => Promise<unknown>;
    touch?: () => Promise<unknown>;
    signal?: AbortSignal;
    logger: Logger;
    job: string;
  },
): Promise<T> {
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (!isConnectionError(error) || o.signal?.aborted) throw error;
      o.logger.warn({ job: o.job }, `database lost during a job: it starts again when the database is back (${o.job})`);
      try {
        await untilDatabaseReachable(o.ping, { touch: o.touch, signal: o.signal });
      } catch (stopped) {
        o.logger.info(
          { job: o.job },
          `process stopping while a job waited for the database: left for another worker (${o.job})`,
        );
        throw stopped;
      }
      o.logger.info({ job: o.job }, `database back: job resumed (${o.job})`);
    }
  }
}
