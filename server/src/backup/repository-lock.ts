/**
 * One writer per repository (or group) at a time, across every worker process: a PostgreSQL
 * session advisory lock, held on a connection of its own, so the lock of a killed worker dies with
 * its connection. A backup of a repository waits for it; retention's LFS sweep only tries it and
 * leaves a repository that is being backed up for its next pass, because the backup may be about
 * to list (in a manifest not yet written) objects the sweep would see as unreferenced.
 */
import type { DataSource } from 'typeorm';

export const repositoryLockName = (owner: { repositoryId?: string | null; groupId?: string | null }) =>
  `labkeeper:${owner.groupId ? `group:${owner.groupId}` : `repository:${owner.repositoryId}`}`;

/** Runs `work` holding the lock, waiting for it as long as it takes. */
export async function withRepositoryLock<T>(dataSource: DataSource, name: string, work: () => Promise<T>): Promise<T> {
  const result = await locked(dataSource, name, true, work);
  return (result as { value: T }).value;
}

/** Runs `work` holding the lock when it is free now; `{ acquired: false }` when another holds it. */
export function tryRepositoryLock<T>(
  dataSource: DataSource,
  name: string,
  work: () => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  return locked(dataSource, name, false, work);
}

async function locked<T>(
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
