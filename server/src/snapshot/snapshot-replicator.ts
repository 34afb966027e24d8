/**
 * Replicas (3-2-1): after a snapshot is committed to its primary storage, a `snapshot.replicate`
 * job per replica storage copies its files there under the same keys, with the snapshot format's
 * own rule: artifacts and LFS objects first, each written once and checked against the manifest's
 * sha256, the manifest last — so a replica without its manifest is not a copy yet, whatever a
 * killed job left. The copy is idempotent and resumable: what an earlier attempt published whole
 * is kept (same size; LFS objects are content-addressed), the rest is written again. A primary
 * whose bytes no longer match its manifest is never replicated: the copy fails and says which file.
 * Any other failure (replica unreachable, bucket missing, throttled beyond the SDK's retries) is
 * retried by itself with exponential backoff, a bounded number of times (`retry`).
 *
 * Reading from a healthy copy: `readableRoot` gives the first copy — the primary, then each
 * COPIED replica — whose manifest is the one the database recorded and whose artifacts have their
 * size and sha256, LFS objects present. Restores and drills read through it (a damaged or
 * unreachable primary is skipped); `verifySnapshot` checks every copy in its own name. Without
 * replicas nothing is read twice. The answer is kept for ten minutes per snapshot, so one restore
 * hashes a snapshot once.
 *
 * Object Lock on a replica: a replica storage that writes under S3 Object Lock locks each object
 * it receives; the copy records when the lock of its last object (the manifest) ends
 * (`lockedUntil`), and `lockOf` names the copy whose lock ends last, so deleting the snapshot is
 * refused and retention keeps it until then, as for a locked primary.
 *
 * Retention applies on every copy: `deleteCopies` removes a snapshot's files from each replica
 * (artifacts, then the manifest) before its primary and its row go.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { In, type DataSource, type Repository } from 'typeorm';
import { DomainError } from '../shared/errors.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { NAMED_ROOT } from '../storage/storage-roots.js';
import type { StorageBackend, StorageRoots } from '../storage/storage.port.js';
import { manifestKey, storedArtifactKey } from './artifact-keys.js';
import { lfsKey } from './lfs-layout.js';
import { parseManifest, storedLfsObjects, type Manifest } from './manifest.js';
import { SnapshotCopyEntity } from './snapshot-copy.entity.js';
import { SnapshotEntity } from './snapshot.entity.js';

const HEALTH_TTL_MS = 10 * 60 * 1000;

export const replicaRoot = (storageId: string) => `${NAMED_ROOT}${storageId}`;

export interface SnapshotReplicatorDeps {
  dataSource: DataSource;
  stores: StorageRoots;
  queue: JobQueue;
  logger: Logger;
  now?: () => Date;
  /**
   * A FAILED copy is retried by itself: after `baseDelayMs` × 2^(attempts − 1), up to
   * `maxAttempts` attempts in all. Default 60 s and 5 (retries after 1, 2, 4 and 8 minutes).
   */
  retry?: { baseDelayMs?: number; maxAttempts?: number };
}

export class SnapshotReplicator {
  private readonly copies: Repository<SnapshotCopyEntity>;
  private readonly snapshots: Repository<SnapshotEntity>;
  private readonly health = new Map<string, { root: Promise<string>; until: number }>();
  private readonly now: () => Date;

  constructor(private readonly deps: SnapshotReplicatorDeps) {
    this.copies = deps.dataSource.getRepository(SnapshotCopyEntity);
    this.snapshots = deps.dataSource.getRepository(SnapshotEntity);
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Records a PENDING copy of `snapshot` on each replica storage and enqueues its job; a copy
   * already COPIED is left alone. Safe to call again (a retried backup item does).
   */
  async plan(snapshot: SnapshotEntity, storageIds: readonly string[]): Promise<void> {
    const targets = [...new Set(storageIds)].filter((id) => replicaRoot(id) !== snapshot.storageRoot);
    if (targets.length === 0) return;
    await this.copies
      .createQueryBuilder()
      .insert()
      .values(
        targets.map((storageId) => ({
          snapshotId: snapshot.id,
          storageId,
          storageRoot: replicaRoot(storageId),
          status: 'PENDING' as const,
          createdAt: this.now(),
        })),
      )
      .orIgnore()
      .execute();
    const open = await this.copies.findBy({ snapshotId: snapshot.id, storageId: In(targets) });
    for (const copy of open.filter((c) => c.status !== 'COPIED'))
      await this.deps.queue.enqueue('snapshot.replicate', { snapshotId: snapshot.id, storageId: copy.storageId });
  }

  /** The copies of these snapshots (replicas only; the primary is the snapshot's own row). */
  copiesOf(snapshotIds: readonly string[]): Promise<SnapshotCopyEntity[]> {
    return snapshotIds.length === 0
      ? Promise.resolve([])
      : this.copies.find({
          where: { snapshotId: In([...snapshotIds]) },
          order: { createdAt: 'ASC', storageId: 'ASC' },
        });
  }

  /** The `snapshot.replicate` job: copies one snapshot to one replica. Never throws: a failure is the copy's status. */
  async replicate(snapshotId: string, storageId: string): Promise<SnapshotCopyEntity | null> {
    const copy = await this.copies.findOneBy({ snapshotId, storageId });
    const snapshot = await this.snapshots.findOneBy({ id: snapshotId });
    if (!copy || !snapshot || copy.status === 'COPIED') return copy;
    const log = { snapshotId, storageId };
    await this.copies.update(
      { snapshotId, storageId },
      { status: 'COPYING', attempts: copy.attempts + 1, error: null },
    );
    try {
      const { written: files, lockedUntil } = await this.copyFiles(snapshot, copy.storageRoot);
      await this.copies.update(
        { snapshotId, storageId },
        { status: 'COPIED', copiedAt: this.now(), error: null, lockedUntil: latest(copy.lockedUntil, lockedUntil) },
      );
      this.deps.logger.info({ ...log, files, lockedUntil }, 'snapshot replicated');
    } catch (error) {
      const message =
        error instanceof DomainError ? error.message : 'unexpected error while copying (see the worker log)';
      await this.copies.update({ snapshotId, storageId }, { status: 'FAILED', error: message.slice(0, 2000) });
      const attempts = copy.attempts + 1;
      const retryInMs = this.retryDelay(attempts, error);
      this.deps.logger.warn({ ...log, err: error, attempts, retryInMs }, 'snapshot replication failed');
      if (retryInMs !== null)
        await this.deps.queue.enqueue('snapshot.replicate', { snapshotId, storageId }, { delayMs: retryInMs });
    }
    return this.copies.findOneBy({ snapshotId, storageId });
  }

  /**
   * When to try a failed copy again, or null: never after the last attempt, nor when the primary
   * itself no longer matches its manifest (copying again cannot help; verification reports it).
   */
  private retryDelay(attempts: number, error: unknown): number | null {
    const { baseDelayMs = 60_000, maxAttempts = 5 } = this.deps.retry ?? {};
    if (attempts >= maxAttempts) return null;
    if (error instanceof DomainError && error.code === 'MANIFEST_CHECKSUM_MISMATCH') return null;
    return baseDelayMs * 2 ** (attempts - 1);
  }

  /**
   * Artifacts and LFS objects, then the manifest; returns how many files were written and the
   * latest lock date the replica gave them (null without Object Lock, or when an earlier attempt
   * had written everything; that attempt's objects are locked for no longer than its manifest).
   */
  private async copyFiles(
    snapshot: SnapshotEntity,
    root: string,
  ): Promise<{ written: number; lockedUntil: Date | null }> {
    const source = await this.deps.stores.at(snapshot.storageRoot);
    const target = await this.deps.stores.at(root);
    const manifestBytes = await readAll(await source.open(manifestKey(snapshot.storagePrefix)));
    if (sha256(manifestBytes) !== snapshot.manifestSha256)
      throw damaged(snapshot, 'manifest.json is not the manifest recorded when the snapshot was made');
    const manifest = parseManifest(manifestBytes);
    let written = 0;
    let lockedUntil: Date | null = null;
    for (const artifact of manifest.artifacts) {
      const key = storedArtifactKey(snapshot.storagePrefix, artifact);
      const present = await target.stat(key);
      if (present?.size === artifact.size) continue; // published whole by an earlier attempt
      if (present) await target.delete(key); // not this snapshot's bytes: a replica without a manifest is no copy yet
      const stored = await target.put(key, await source.open(key));
      written++;
      lockedUntil = latest(lockedUntil, stored.retainUntil ?? null);
      if (stored.sha256 !== artifact.sha256 || stored.size !== artifact.size) {
        await target.delete(key);
        throw damaged(snapshot, `${artifact.path} does not match its manifest entry (sha256 or size)`);
      }
    }
    written += await this.copyLfsObjects(snapshot, manifest, source, target);
    const key = manifestKey(snapshot.storagePrefix);
    const present = await target.stat(key);
    if (present) {
      if (sha256(await readAll(await target.open(key))) !== snapshot.manifestSha256)
        throw new DomainError(
          'STORAGE_UNAVAILABLE',
          `the replica holds another manifest.json for snapshot ${snapshot.id}`,
        );
      return { written, lockedUntil };
    }
    const stored = await target.put(key, manifestBytes);
    return { written: written + 1, lockedUntil: latest(lockedUntil, stored.retainUntil ?? null) };
  }

  /**
   * The replica copy of `snapshotId` whose Object Lock ends last, if it ends after `now`: its
   * storage (id and name) and the date. Null when no copy is locked any more.
   */
  async lockOf(snapshotId: string, now: Date): Promise<{ storageId: string; storageName: string; until: Date } | null> {
    const rows = await this.deps.dataSource.query<{ storage_id: string; name: string | null; locked_until: Date }[]>(
      `SELECT c.storage_id, s.name, c.locked_until FROM snapshot_copies c LEFT JOIN storages s ON s.id = c.storage_id
        WHERE c.snapshot_id = $1 AND c.locked_until > $2 ORDER BY c.locked_until DESC LIMIT 1`,
      [snapshotId, now],
    );
    if (rows.length === 0) return null;
    const [row] = rows;
    return { storageId: row.storage_id, storageName: row.name ?? row.storage_id, until: new Date(row.locked_until) };
  }

  /** For each snapshot with a replica copy still locked at `now`: when the last of its copies' locks ends. */
  async lockedCopiesUntil(snapshotIds: readonly string[], now: Date): Promise<Map<string, Date>> {
    if (snapshotIds.length === 0) return new Map();
    const rows = await this.deps.dataSource.query<{ snapshot_id: string; until: Date }[]>(
      `SELECT snapshot_id, max(locked_until) AS until FROM snapshot_copies
        WHERE snapshot_id = ANY($1) AND locked_until > $2 GROUP BY snapshot_id`,
      [[...snapshotIds], now],
    );
    return new Map(rows.map((r) => [r.snapshot_id, new Date(r.until)]));
  }

  private async copyLfsObjects(
    snapshot: SnapshotEntity,
    manifest: Manifest,
    source: StorageBackend,
    target: StorageBackend,
  ): Promise<number> {
    if (!snapshot.repositoryId) return 0;
    const keyId = manifest.encryption?.keyId ?? null;
    let written = 0;
    for (const object of storedLfsObjects(manifest)) {
      const key = lfsKey(snapshot.organizationId, snapshot.repositoryId, object.oid, { keyId });
      if (await target.stat(key)) continue; // content-addressed: present is the same object
      await target.put(key, await source.open(key));
      written++;
    }
    return written;
  }

  /**
   * Where a restore or drill should read `snapshot` from: the primary, or the first COPIED
   * replica that is sound when the primary is not (see the overview). Falls back to the primary
   * when no copy is sound, so the reader's own errors say what is wrong.
   */
  readableRoot(snapshot: SnapshotEntity): Promise<string> {
    const cached = this.health.get(snapshot.id);
    const now = Date.now();
    if (cached && cached.until > now) return cached.root;
    const root = this.pickRoot(snapshot);
    this.health.set(snapshot.id, { root, until: now + HEALTH_TTL_MS });
    root.catch(() => this.health.delete(snapshot.id));
    for (const [id, entry] of this.health) if (entry.until <= now) this.health.delete(id);
    return root;
  }

  private async pickRoot(snapshot: SnapshotEntity): Promise<string> {
    const replicas = await this.copies.find({
      where: { snapshotId: snapshot.id, status: 'COPIED' },
      order: { copiedAt: 'ASC' },
    });
    if (replicas.length === 0) return snapshot.storageRoot;
    for (const root of [snapshot.storageRoot, ...replicas.map((r) => r.storageRoot)]) {
      const problem = await this.problemAt(snapshot, root);
      if (!problem) {
        if (root !== snapshot.storageRoot)
          this.deps.logger.warn(
            { snapshotId: snapshot.id, storageRoot: root },
            'primary copy of a snapshot is damaged or unreachable: reading a replica',
          );
        return root;
      }
    }
    return snapshot.storageRoot;
  }

  /** The first thing wrong with the copy of `snapshot` at `root`, or null when it is sound. */
  private async problemAt(snapshot: SnapshotEntity, root: string): Promise<string | null> {
    try {
      const store = await this.deps.stores.at(root);
      const manifestBytes = await readAll(await store.open(manifestKey(snapshot.storagePrefix)));
      if (sha256(manifestBytes) !== snapshot.manifestSha256) return 'manifest.json differs';
      const manifest = parseManifest(manifestBytes);
      for (const artifact of manifest.artifacts) {
        const key = storedArtifactKey(snapshot.storagePrefix, artifact);
        if ((await store.stat(key))?.size !== artifact.size) return `${artifact.path}: missing or of another size`;
        if ((await sha256Of(await store.open(key))) !== artifact.sha256) return `${artifact.path}: sha256 mismatch`;
      }
      const keyId = manifest.encryption?.keyId ?? null;
      for (const object of snapshot.repositoryId ? storedLfsObjects(manifest) : []) {
        if (!(await store.stat(lfsKey(snapshot.organizationId, snapshot.repositoryId!, object.oid, { keyId }))))
          return `LFS object ${object.oid} missing`;
      }
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** Records what verifying one replica found. */
  async recordVerification(snapshotId: string, storageId: string, problems: string[]): Promise<void> {
    await this.copies.update(
      { snapshotId, storageId },
      {
        verificationStatus: problems.length ? 'FAILED' : 'VERIFIED',
        verifiedAt: this.now(),
        error: problems.length ? problems.join('; ').slice(0, 2000) : null,
      },
    );
  }

  /** Removes a snapshot's files from every replica (artifacts, then the manifest); its rows go with the snapshot's. */
  async deleteCopies(snapshot: SnapshotEntity): Promise<void> {
    for (const copy of await this.copies.findBy({ snapshotId: snapshot.id })) {
      const store = await this.deps.stores.at(copy.storageRoot);
      const manifest = manifestKey(snapshot.storagePrefix);
      for await (const key of store.list(`${snapshot.storagePrefix}/`)) if (key !== manifest) await store.delete(key);
      await store.delete(manifest);
    }
    this.health.delete(snapshot.id);
  }

  /** The replica roots of a repository's snapshots (where its LFS objects also live). */
  async replicaRootsOf(snapshotIds: readonly string[]): Promise<string[]> {
    return [...new Set((await this.copiesOf(snapshotIds)).map((c) => c.storageRoot))];
  }
}

function damaged(snapshot: SnapshotEntity, what: string): DomainError {
  return new DomainError(
    'MANIFEST_CHECKSUM_MISMATCH',
    `snapshot ${snapshot.id} cannot be replicated from its primary: ${what}`,
    { details: { snapshotId: snapshot.id } },
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const latest = (a: Date | null, b: Date | null): Date | null => (!a ? b : !b ? a : a > b ? a : b);

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
