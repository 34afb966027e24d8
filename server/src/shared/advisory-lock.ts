/**
 * One holder at a time across every process: a PostgreSQL session advisory lock, held on a
 * connection of its own, so the lock of a killed process dies with its connection.
 */
import type { DataSource } from 'typeorm';

/**
 * Runs `work` holding the lock named `name`: waiting for it as long as it takes (`wait`), or only
 * when it is free now (`{ acquired: false }` when another holds it).
 */
export async function withAdvisoryLock<T>(
  dataSource: DataSource,
  name: string,
  wait: boolean,
  work: () => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  const connection = dataSource.createQueryRunner();
  await connection.connect();
  try {
    if (wait) {
      await connection.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    } else {
      const [row] = (await connection.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [name])) as {
        ok: boolean;
      }[];
      if (!row?.ok) return { acquired: false };
    }
    try {
      return { acquired: true, value: await work() };
    } finally {
      await connection.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => undefined);
    }
  } finally {
    await connection.release();
  }
}
