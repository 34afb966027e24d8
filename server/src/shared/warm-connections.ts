import type { DataSource } from 'typeorm';

/**
 * Opens up to `connections` of the pool's connections now (the caller need not wait): a backup run
 * about to start its repositories' jobs calls it, so that the first jobs — the biggest
 * repositories, which the run's end waits for — do not each open theirs first. The pool closes
 * connections idle for 10 s, so after any pause a run started cold: its first job's lookups took
 * 50–215 ms (a new PostgreSQL backend per connection, its authentication and catalog caches)
 * instead of about 20. Resolves once they are open; failures are left to the queries that follow.
 */
export async function warmConnections(dataSource: DataSource, connections: number): Promise<void> {
  // The pool opens at most its size; queries beyond it wait for one of them.
  const opening = Array.from({ length: connections }, () =>
    dataSource.query('SELECT pg_sleep(0)').catch(() => undefined),
  );
  await Promise.all(opening);
}
