/**
 * Per-request batching (DataLoader): field resolvers that run once per row — a page of 50
 * repositories each asking for its latest snapshot, every organization asking for its counts and
 * last sync — ask a loader, and the loader answers all rows of the request with one statement.
 * A fresh set is made for every HTTP request and every WebSocket operation (context.ts), so
 * nothing is cached across requests and one user's rows never reach another's answer.
 *
 * Subscriptions resolve their payload from the event itself; an operation that lives long (a
 * subscription) gets loaders that batch but do not cache, so a later event never sees stale rows.
 */
import DataLoader from 'dataloader';
import type { BackupRunItemEntity } from '../backup/backup.entity.js';
import type { ConnectionEntity } from '../connections/connection.entity.js';
import type { SyncRunEntity } from '../organizations/organization.entity.js';
import type { RepositoryCountsValue } from '../organizations/organization.service.js';
import type { Services } from '../services.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { SnapshotCopyEntity } from '../snapshot/snapshot-copy.entity.js';

export interface Loaders {
  /** Repository id → its newest snapshot, or null before its first backup. */
  latestSnapshot: DataLoader<string, SnapshotEntity | null>;
  /** Organization id → its repository counts. */
  repositoryCounts: DataLoader<string, RepositoryCountsValue>;
  /** Organization id → its latest repository sync, or null. */
  lastSync: DataLoader<string, SyncRunEntity | null>;
  /** Backup run id → its items. */
  backupRunItems: DataLoader<string, BackupRunItemEntity[]>;
  /** Connection id → the connection, or null when it is gone. */
  connection: DataLoader<string, ConnectionEntity | null>;
  /** Snapshot id → the snapshot, or null when retention deleted it. */
  snapshot: DataLoader<string, SnapshotEntity | null>;
  /** Snapshot id → its replicas. */
  snapshotCopies: DataLoader<string, SnapshotCopyEntity[]>;
}

/** One row per key, or null: `rows` may come in any order and miss keys. */
const oneEach =
  <T>(rows: T[], keyOf: (row: T) => string | null) =>
  (keys: readonly string[]): (T | null)[] => {
    const byKey = new Map(rows.map((row) => [keyOf(row), row]));
    return keys.map((key) => byKey.get(key) ?? null);
  };

export function createLoaders(services: Services, options: { cache?: boolean } = {}): Loaders {
  const cache = options.cache ?? true;
  return {
    latestSnapshot: new DataLoader(
      async (ids) => oneEach(await services.snapshots.latestOf([...ids]), (s) => s.repositoryId)(ids),
      { cache },
    ),
    repositoryCounts: new DataLoader((ids) => services.organizations.repositoryCountsOf(ids), { cache }),
    lastSync: new DataLoader(
      async (ids) => oneEach(await services.sync.latestRunsOf(ids), (r) => r.organizationId)(ids),
      { cache },
    ),
    backupRunItems: new DataLoader(
      async (ids) => {
        const byRun = new Map<string, BackupRunItemEntity[]>(ids.map((id) => [id, []]));
        for (const item of await services.backupRuns.itemsOfRuns(ids)) byRun.get(item.runId)?.push(item);
        return ids.map((id) => byRun.get(id)!);
      },
      { cache },
    ),
    connection: new DataLoader(async (ids) => oneEach(await services.connections.byIds(ids), (c) => c.id)(ids), {
      cache,
    }),
    snapshot: new DataLoader(async (ids) => oneEach(await services.snapshots.byIds(ids), (s) => s.id)(ids), { cache }),
    snapshotCopies: new DataLoader(
      async (ids) => {
        const bySnapshot = new Map<string, SnapshotCopyEntity[]>(ids.map((id) => [id, []]));
        for (const copy of await services.replicator.copiesOf(ids)) bySnapshot.get(copy.snapshotId)?.push(copy);
        return ids.map((id) => bySnapshot.get(id)!);
      },
      { cache },
    ),
  };
}
