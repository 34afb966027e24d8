/**
 * Snapshots as the API shows them, deletion (refused while a later snapshot depends on one) and
 * verification on demand. Artifacts are deleted before the row, manifest last-but-one: a crash in
 * between leaves a row whose verification fails, never a half-deleted snapshot that looks whole.
 */
import { In, LessThanOrEqual, type DataSource, type FindOptionsWhere, type Repository } from 'typeorm';
import type { Logger } from '../shared/logger.js';
import { repositoryLockName, tryRepositoryLock } from './repository-lock.js';
import type { SnapshotVerifier } from '../snapshot/snapshot-verifier.js';
import { lfsKey } from '../snapshot/lfs-layout.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { snapshotLocked, snapshotHasDependents, snapshotPinned } from '../snapshot/snapshot.errors.js';
import type { StorageRoots } from '../storage/storage.port.js';
import { LocalStorage } from '../storage/local-storage.js';
import { BackupRunEntity } from './backup.entity.js';
import { MANIFEST_FILE, parseManifest } from '../snapshot/manifest.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import type { SnapshotReplicator } from '../snapshot/snapshot-replicator.js';
import { findPage, type PageRequest } from '../shared/page.js';

const SWEEP_AFTER_MS = 60 * 60 * 1000;

export interface SnapshotFilter {
  organizationId?: string | null;
  repositoryId?: string | null;
  groupId?: string | null;
  before?: Date | null;
}

export interface SnapshotServiceDeps {
  dataSource: DataSource;
  stores: StorageRoots;
  reader: SnapshotReader;
  verifier: SnapshotVerifier;
  logger: Logger;
  /** The snapshot's replicas: deleted with it. */
  replicator?: SnapshotReplicator;
  /** Now, for Object Lock dates. Default: the system clock. */
  now?: () => Date;
  /** The pin on a snapshot, if any (pins live with the anomaly rules); a pinned snapshot is not deleted. */
  pinOf?: (snapshotId: string) => Promise<{ reason: string; anomalyId: string | null } | null>;
}

export class SnapshotService {
  private readonly repo: Repository<SnapshotEntity>;
  private readonly dataSource: DataSource;
  private readonly stores: StorageRoots;
  readonly reader: SnapshotReader;
  private readonly verifier: SnapshotVerifier;
  private readonly logger: Logger;
  private readonly replicator: SnapshotReplicator | null;
  private readonly now: () => Date;
  private readonly pinOf: NonNullable<SnapshotServiceDeps['pinOf']>;

  constructor(deps: SnapshotServiceDeps) {
    this.replicator = deps.replicator ?? null;
    this.now = deps.now ?? (() => new Date());
    this.dataSource = deps.dataSource;
    this.stores = deps.stores;
    this.reader = deps.reader;
    this.verifier = deps.verifier;
    this.logger = deps.logger;
    this.pinOf = deps.pinOf ?? (async () => null);
    this.repo = deps.dataSource.getRepository(SnapshotEntity);
  }

  get(id: string) {
    return this.reader.snapshot(id);
  }

  /**
   * Removes what a failed or killed backup left in a local storage root and no later step will:
   * snapshot folders without a manifest (none of their artifacts is ever read) and `.tmp-` files,
   * once nothing changed in them for an hour. A folder with a snapshot row (a snapshot whose
   * verification will fail) or of an organization with a backup run still going is left alone.
   */
  async sweepUnpublished(root: string): Promise<void> {
    const store = await this.stores.at(root);
    if (!(store instanceof LocalStorage)) return;
    const runs = this.dataSource.getRepository(BackupRunEntity);
    const swept = await store.sweep({
      olderThanMs: SWEEP_AFTER_MS,
      unit: /^orgs\/[^/]+\/(repos|groups)\/[^/]+\/snapshots\/[^/]+$/,
      marker: MANIFEST_FILE,
      inUse: async (key) => {
        const [, organizationId, , , , snapshotId] = key.split('/');
        return (
          (await this.repo.existsBy({ id: snapshotId })) ||
          (await runs.existsBy({ organizationId, status: In(['QUEUED', 'RUNNING']) }))
        );
      },
    });
    if (swept.temps > 0 || swept.folders.length > 0) {
      this.logger.info(
        { root, tempFiles: swept.temps, folders: swept.folders },
        'storage swept: unpublished snapshot folders and stale temp files removed',
      );
    }
  }

  list(filter: SnapshotFilter, page: PageRequest) {
    const where: FindOptionsWhere<SnapshotEntity> = {};
    if (filter.organizationId) where.organizationId = filter.organizationId;
    if (filter.repositoryId) where.repositoryId = filter.repositoryId;
    if (filter.groupId) where.groupId = filter.groupId;
    if (filter.before) where.createdAt = LessThanOrEqual(filter.before);
    return findPage(this.repo, { where, order: { createdAt: 'DESC', id: 'DESC' } }, page);
  }

  /** The snapshots with these ids that still exist (any order). */
  byIds(ids: readonly string[]) {
    return ids.length === 0 ? Promise.resolve([]) : this.repo.findBy({ id: In([...ids]) });
  }

  latestOf(repositoryIds: string[]) {
    return repositoryIds.length === 0
      ? Promise.resolve([])
      : this.repo
          .createQueryBuilder('s')
          .distinctOn(['s.repository_id'])
          .where({ repositoryId: In(repositoryIds) })
          // Descending throughout, so the (repository_id, created_at, id) index serves it backwards.
          .orderBy('s.repository_id', 'DESC')
          .addOrderBy('s.created_at', 'DESC')
          .addOrderBy('s.id', 'DESC')
          .getMany();
  }

  verify(id: string) {
    return this.verifier.verify(id);
  }

  /** The storage root a policy writes to. */
  rootFor(policy: { storage: { path: string | null } }): string {
    return this.stores.rootFor(policy);
  }

  /**
   * Deletes a repository's LFS objects that no manifest in storage lists any more (LFS objects are
   * shared by the repository's snapshots, so deleting a snapshot leaves them behind). Every
   * manifest below the repository's `snapshots/` counts, with or without a row, so an object stays
   * while anything a user could restore from lists it; an unreadable manifest stops the sweep of
   * that repository. Runs under the repository's lock, taken without waiting: a backup holding it
   * may have found an object present and be about to list it in a manifest not yet written, so
   * such a repository is left for the next sweep (null). Idempotent. Returns how many were deleted.
   */
  async pruneLfsObjects(organizationId: string, repositoryId: string, roots: string[]): Promise<number | null> {
    const outcome = await tryRepositoryLock(this.dataSource, repositoryLockName({ repositoryId }), async () => {
      let deleted = 0;
      const prefix = `orgs/${organizationId}/repos/${repositoryId}`;
      for (const root of new Set(roots)) {
        const store = await this.stores.at(root);
        const objects: string[] = [];
        for await (const key of store.list(`${prefix}/lfs/`)) objects.push(key);
        if (objects.length === 0) continue;
        const listed = new Set<string>();
        for await (const key of store.list(`${prefix}/snapshots/`)) {
          if (!key.endsWith(`/${MANIFEST_FILE}`)) continue;
          const chunks: Buffer[] = [];
          for await (const chunk of await store.open(key)) chunks.push(chunk as Buffer);
          const manifest = parseManifest(Buffer.concat(chunks));
          const keyId = manifest.encryption?.keyId ?? null;
          for (const object of manifest.lfs?.objects ?? [])
            listed.add(lfsKey(organizationId, repositoryId, object.oid, { keyId }));
        }
        for (const key of objects) {
          if (listed.has(key)) continue;
          await store.delete(key);
          deleted += 1;
        }
      }
      return deleted;
    });
    if (!outcome.acquired) {
      this.logger.info(
        { organizationId, repositoryId },
        'LFS sweep skipped: the repository is being backed up (next retention pass)',
      );
      return null;
    }
    if (outcome.value > 0)
      this.logger.info({ organizationId, repositoryId, deleted: outcome.value }, 'unreferenced LFS objects deleted');
    return outcome.value;
  }

  /** For each of these snapshots with a replica copy locked after `now`: when the last copy's lock ends. */
  replicaLocks(snapshotIds: readonly string[], now: Date): Promise<Map<string, Date>> {
    return this.replicator?.lockedCopiesUntil(snapshotIds, now) ?? Promise.resolve(new Map<string, Date>());
  }

  /**
   * Deletes a snapshot and its artifacts, on its replicas first, then on its primary. Refused
   * (CONFLICT) while it is pinned (SNAPSHOT_PINNED, naming the pin's reason and anomaly), under
   * Object Lock on its primary or on a replica (SNAPSHOT_LOCKED, naming the date the lock ends and
   * the replica's storage) or while another snapshot builds on it.
   */
  async delete(id: string, options: { reason?: string } = {}): Promise<void> {
    const snapshot = await this.reader.snapshot(id);
    const pin = await this.pinOf(id);
    if (pin) throw snapshotPinned(id, pin);
    if (snapshot.lockedUntil && snapshot.lockedUntil > this.now()) throw snapshotLocked(id, snapshot.lockedUntil);
    const replicaLock = await this.replicator?.lockOf(id, this.now());
    if (replicaLock) throw snapshotLocked(id, replicaLock.until, replicaLock);
    const dependents = await this.repo.find({ select: { id: true }, where: { parentId: id } });
    if (dependents.length > 0)
      throw snapshotHasDependents(
        id,
        dependents.map((d) => d.id),
      );
    await this.replicator?.deleteCopies(snapshot);
    const store = await this.stores.at(snapshot.storageRoot);
    const keys: string[] = [];
    for await (const key of store.list(`${snapshot.storagePrefix}/`)) keys.push(key);
    const manifest = `${snapshot.storagePrefix}/${MANIFEST_FILE}`;
    for (const key of keys.filter((k) => k !== manifest)) await store.delete(key);
    await store.delete(manifest);
    await this.repo.delete({ id });
    this.logger.info({ snapshotId: id, reason: options.reason ?? 'requested' }, 'snapshot deleted');
  }
}
