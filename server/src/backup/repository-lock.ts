/**
 * One writer per repository (or group) at a time, across every worker process: a PostgreSQL
 * session advisory lock, held on a connection of its own, so the lock of a killed worker dies with
 * its connection. A backup of a repository waits for it; retention's LFS sweep only tries it and
 * leaves a repository that is being backed up for its next pass, because the backup may be about
 * to list (in a manifest not yet written) objects the sweep would see as unreferenced.
 */
import type { DataSource } from 'typeorm';
import { withAdvisoryLock } from '../shared/advisory-lock.js';

export const repositoryLockName = (owner: { repositoryId?: string | null; groupId?: string | null }) =>
  `labkeeper:${owner.groupId ? `group:${owner.groupId}` : `repository:${owner.repositoryId}`}`;

/** Runs `work` holding the lock, waiting for it as long as it takes. */
export async function withRepositoryLock<T>(dataSource: DataSource, name: string, work: () => Promise<T>): Promise<T> {
  const result = await withAdvisoryLock(dataSource, name, true, work);
  return (result as { value: T }).value;
}

/** Runs `work` holding the lock when it is free now; `{ acquired: false }` when another holds it. */
export function tryRepositoryLock<T>(
  dataSource: DataSource,
  name: string,
  work: () => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  return withAdvisoryLock(dataSource, name, false, work);
}
