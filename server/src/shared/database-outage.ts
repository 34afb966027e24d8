/**
 * Jobs that survive a database outage. A job whose handler fails because PostgreSQL went away has
 * done nothing wrong: it waits until the database answers again and runs once more (handlers are
 * idempotent: jobs run at least once), instead of failing or sitting locked until its lock expires.
 */
import { isConnectionError } from './db-errors.js';
import type { Logger } from './logger.js';

/**
 * Resolves once `ping` succeeds, trying with backoff (1 s doubling up to 10 s), then keeps the
 * job's lock alive once (`touch`; its failure is ignored, the next touch renews it).
 */
export async function untilDatabaseReachable(
  ping: () => Promise<unknown>,
  touch: () => Promise<unknown> = async () => undefined,
): Promise<void> {
  for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 10_000)) {
    try {
      await ping();
      await touch().catch(() => undefined);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Runs `run`; when it fails on a lost database connection, waits for the database (untilDatabaseReachable)
 * and runs it again, as often as that happens. Any other failure is thrown.
 */
export async function resumingAfterOutage<T>(
  run: () => Promise<T>,
  o: { ping: () => Promise<unknown>; touch?: () => Promise<unknown>; logger: Logger; job: string },
): Promise<T> {
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      o.logger.warn({ job: o.job }, `database lost during a job: it starts again when the database is back (${o.job})`);
      await untilDatabaseReachable(o.ping, o.touch);
      o.logger.info({ job: o.job }, `database back: job resumed (${o.job})`);
    }
  }
}
