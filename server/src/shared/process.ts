import { isConnectionError } from './db-errors.js';
import type { Logger } from './logger.js';

/** How long an ordered shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 30_000;

/**
 * Starts a service and stops it, in order, on the first SIGINT/SIGTERM; a second signal exits at
 * once, and so does a shutdown that takes longer than SHUTDOWN_GRACE_MS. The process exits
 * explicitly after shutdown (timers such as Agenda's watchdog would keep it alive otherwise).
 */
export async function runUntilSignal(logger: Logger, start: () => Promise<() => Promise<void>>): Promise<void> {
  let stop: (() => Promise<void>) | null = null;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing shutdown');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A shutdown step that never finishes (a pool waiting for a client nobody returns) must not
    // leave a process that neither works nor exits: a supervisor would wait on it for ever.
    setTimeout(() => {
      logger.error({ graceMs: SHUTDOWN_GRACE_MS }, 'shutdown did not finish in time: exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    void (stop ? stop() : Promise.resolve()).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A long-running service must not die of one forgotten promise (a lost database connection
  // rejects the promises of libraries such as Agenda's job touch): log it and go on.
  process.on('unhandledRejection', (reason: unknown) => {
    // A lost database connection is reported once by the database watch (db/database-watch.ts).
    if (isConnectionError(reason))
      logger.debug({ err: reason }, 'database call failed while the database is unreachable');
    else logger.error({ err: reason }, 'unhandled rejection (ignored, the process goes on)');
  });
  try {
    stop = await start();
    if (stopping) await stop();
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
}
