import type { DataSource } from 'typeorm';

/**
 * What the database holds, as one comparable value: PostgreSQL's current snapshot
 * (`pg_current_snapshot()`, "xmin:xmax:xip,…"). A transaction that wrote anything has an id, and
 * when it ends it either moves xmax on (it was the newest to end) or leaves the in-progress list,
 * so two equal values mean that no writer committed in between: an answer computed from the
 * database after the first value was read is still exactly the answer at the second. Readers
 * never change it; any committed write anywhere (including job bookkeeping) does.
 *
 * Concurrent callers share a query only if it is sent after they asked (a value read before a
 * caller arrived could predate a commit that caller already saw), so the value is never older
 * than the call.
 */
export function databaseVersion(dataSource: DataSource): () => Promise<string> {
  const read = async () =>
    (await dataSource.query<{ version: string }[]>('SELECT pg_current_snapshot()::text AS version'))[0].version;
  let inFlight: Promise<string> | null = null;
  let next: Promise<string> | null = null;
  return () => {
    if (!inFlight) {
      inFlight = read().finally(() => (inFlight = null));
      return inFlight;
    }
    // A query is already out (sent before this call): wait for it, then send one more for every
    // caller that arrived meanwhile.
    next ??= inFlight
      .catch(() => undefined)
      .then(() => {
        next = null;
        inFlight = read().finally(() => (inFlight = null));
        return inFlight;
      });
    return next;
  };
}
