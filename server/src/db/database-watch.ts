/**
 * Watches the database connection so an outage is one clear pair of log lines instead of a crash
 * or a stack trace per query: "database unreachable" when a ping first fails, "database
 * reachable again" when one succeeds after. The pools (TypeORM's, the job store's) reconnect by
 * themselves on their next query; this only observes, backing off while the database is away.
 * `/readyz` asks the database itself, so it is not ready for exactly as long as queries fail.
 */
import type { Logger } from '../shared/logger.js';
export { isConnectionError } from '../shared/db-errors.js';

export interface DatabaseWatch {
  /** false from the first failed ping until one succeeds again. */
  isReachable(): boolean;
  stop(): void;
}

export function watchDatabase(options: {
  ping: () => Promise<unknown>;
  logger: Logger;
  intervalMs?: number;
  maxIntervalMs?: number;
}): DatabaseWatch {
  const intervalMs = options.intervalMs ?? 2000;
  const maxIntervalMs = options.maxIntervalMs ?? 10_000;
  let reachable = true;
  let delay = intervalMs;
  let since = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const check = async () => {
    try {
      await options.ping();
      if (!reachable) options.logger.info({ downMs: Date.now() - since }, 'database reachable again: resuming');
      reachable = true;
      delay = intervalMs;
    } catch (error) {
      if (reachable) {
        since = Date.now();
        options.logger.warn(
          { err: { code: (error as { code?: string }).code, message: (error as Error).message } },
          'database unreachable: API not ready and jobs paused until it returns (reconnecting with backoff)',
        );
      }
      reachable = false;
      delay = Math.min(delay * 2, maxIntervalMs);
    }
    if (!stopped) (timer = setTimeout(() => void check(), reachable ? intervalMs : delay)).unref();
  };
  (timer = setTimeout(() => void check(), intervalMs)).unref();
  return {
    isReachable: () => reachable,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
