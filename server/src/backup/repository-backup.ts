/**
 * Backing up one repository within a run (the `backup.repository` job). Runs at least once, so
 * every step is idempotent:
 *
 * 1. Only one job works on a repository at a time: a PostgreSQL advisory lock, held on its own
 *    connection, so a killed worker's lock dies with its connection (repository-lock.ts). Retention's
 *    LFS sweep takes the same lock, so it never deletes an object a backup is about to list.
 * 2. Choose the copy: FULL when asked or when no snapshot of the same chain exists; INCREMENTAL
 *    against the newest snapshot; DIFFERENTIAL against the newest FULL.
 * 3. Skip without touching git when GitLab's data proves nothing changed (see `isProvablyUnchanged`).
 * 4. Fetch the bare mirror (and the wiki's), write the bundle(s) and the metadata files, then the
 *    manifest, and only then the snapshot row. The snapshot id is fixed on the item before any
 *    artifact is written: a retry deletes that id's leftovers (they have no manifest, so they were
 *    never a snapshot) and starts the snapshot again.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import { retryTransient, type GitProgress } from '../git/git.js';
import { createBundle, headRef, listRefs, singlePackBundle, syncMirror } from '../git/mirror.js';
import { OrganizationEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { BackupRunEntity, BackupRunItemEntity, SnapshotEntity, type ItemPhase } from './backup.entity.js';
import type { ArtifactCodec, ArtifactStore, ArtifactStores, MetadataSource } from './backup.ports.js';
import { MANIFEST_FILE, serializeManifest, snapshotPrefix, type GitState, type Manifest, type ManifestArtifact } from './manifest.js';
import type { CopyType } from './policy.types.js';
import type { SnapshotReader } from './snapshot-chain.js';
import { writeMetadataArtifact } from './metadata-artifacts.js';
import { downloadLfsObjects, findLfsPointers, lfsKey } from './lfs.js';
import { isDomainError } from '../shared/errors.js';
import { repositoryLockName, withRepositoryLock } from './repository-lock.js';

/** Packs from this size on are copied into storage by `putConcat` (a worker thread), not streamed. */
const COPY_IN_WORKER_MIN_BYTES = 16 * 1024 * 1024;

/** GitLab updates a project's last_activity_at at most once an hour (Project#update_last_activity_at). */
export const ACTIVITY_GRANULARITY_MS = 60 * 60_000;

/**
 * True when GitLab's data proves the repository has not changed since `since` (the parent
 * snapshot's time). GitLab writes last_activity_at for pushes and project events, but skips the
 * write when the stored value is less than an hour old. So a change at time P > since is hidden
 * only if the stored value L ≥ P − 1h, i.e. L > since − 1h. With L ≤ since − 1h nothing can
 * have happened after `since` without moving L: skip. Otherwise fetch.
 */
export function isProvablyUnchanged(lastActivityAt: Date | null, since: Date): boolean {
  return lastActivityAt !== null && lastActivityAt.getTime() <= since.getTime() - ACTIVITY_GRANULARITY_MS;
}

export interface ItemProgress {
  phase: ItemPhase;
  git?: GitProgress;
  metadataRecords?: number;
}

export interface RepositoryBackupDeps {
  dataSource: DataSource;
  stores: ArtifactStores;
  codec: ArtifactCodec;
  sessions: GitLabSessions;
  reader: SnapshotReader;
  metadataFor(connectionId: string): Promise<MetadataSource>;
  encryptionKey(run: BackupRunEntity): Promise<{ key: Buffer; keyId: string } | null>;
  /** Key for artifacts that must be encrypted even without a policy key (CI/CD variables). */
  installationKey(organizationId: string): Buffer;
  clock: Clock;
  logger: Logger;
  workDir: string;
  /** Verification after backup (policy.verifyAfterBackup). */
  verify(snapshotId: string): Promise<{ result: { ok: boolean; problems: string[] } }>;
  /** A group's metadata snapshot (group-backup.ts). */
  groupBackup(run: BackupRunEntity, item: BackupRunItemEntity, ctx: ItemContext): Promise<ItemOutcome>;
  /** First backoff step of git retries (default 1 s). */
  gitRetryDelayMs?: number;
}

export interface ItemContext {
  signal: AbortSignal;
  /** Keeps the job's lock alive during long steps. */
  touch(): Promise<void>;
  progress(progress: ItemProgress): void;
}

export type ItemOutcome =
  | { status: 'SUCCEEDED' | 'PARTIAL'; snapshot: SnapshotEntity; warnings: string[] }
  | { status: 'UNCHANGED'; snapshot: SnapshotEntity | null; warnings: string[] };

export class RepositoryBackup {
  constructor(private readonly deps: RepositoryBackupDeps) {}

  async run(run: BackupRunEntity, item: BackupRunItemEntity, ctx: ItemContext): Promise<ItemOutcome> {
    if (item.groupId) return this.deps.groupBackup(run, item, ctx);
    const steps = new StepTimer();
    return withRepositoryLock(this.deps.dataSource, repositoryLockName(item), async () => {
      steps.mark('lock');
      const outcome = await this.locked(run, item, ctx, steps);
      this.deps.logger.info({ runId: run.id, itemId: item.id, path: item.pathWithNamespace, status: outcome.status, stepsMs: steps.done() }, 'repository backed up');
      return outcome;
    });
  }

  private async locked(run: BackupRunEntity, item: BackupRunItemEntity, ctx: ItemContext, steps: StepTimer): Promise<ItemOutcome> {
    const { dataSource, clock } = this.deps;
    const snapshots = dataSource.getRepository(SnapshotEntity);
    // Lookups that do not depend on each other go together: on a busy machine every round trip
    // to the database waits for a core, and these came before git could start.
    const [repository, organization, done] = await Promise.all([
      dataSource.getRepository(RepositoryEntity).findOneByOrFail({ id: item.repositoryId! }),
      dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: run.organizationId }),
      // A snapshot this item already completed (job re-run after the row was written): done.
      item.snapshotId ? snapshots.findOneBy({ id: item.snapshotId }) : Promise.resolve(null),
    ]);
    if (done) return { status: 'SUCCEEDED', snapshot: done, warnings: item.warnings };

    const accessing = this.deps.sessions.access(organization.connectionId); // git's token, looked up meanwhile
    accessing.catch(() => undefined); // awaited (or settled) below
    const latest = await snapshots.findOne({ where: { repositoryId: repository.id, chainKey: run.chainKey }, order: { createdAt: 'DESC' } });
    // The newest FULL is the newest snapshot more often than not (and there is none without one).
    const latestFull =
      !latest || latest.copyType === 'FULL'
        ? latest
        : await snapshots.findOne({ where: { repositoryId: repository.id, chainKey: run.chainKey, copyType: 'FULL' }, order: { createdAt: 'DESC' } });
    const copyType: CopyType = run.copyType === 'FULL' || !latestFull ? 'FULL' : run.copyType;
    const parent = copyType === 'FULL' ? null : copyType === 'DIFFERENTIAL' ? latestFull : latest;

    if (latest && copyType !== 'FULL' && isProvablyUnchanged(repository.lastActivityAt, latest.createdAt)) {
      await accessing.catch(() => undefined);
      return { status: 'UNCHANGED', snapshot: latest, warnings: [] };
    }

    steps.mark('lookups');
    const snapshotId = item.snapshotId ?? newId();
    const prefix = snapshotPrefix(organization.id, repository.id, snapshotId);
    const storageRoot = this.deps.stores.rootFor(run.policy);
    const store = await this.deps.stores.at(storageRoot);
    // Prepared while git fetches: the snapshot id fixed on the item and what an earlier attempt
    // left cleared (both before anything is written, as the bundle comes after the fetch), the
    // key and the parent's manifest read. Always settled before this method ends, so nothing of
    // it runs after the repository's lock is released.
    const preparing = (async () => {
      if (!item.snapshotId) await dataSource.getRepository(BackupRunItemEntity).update({ id: item.id }, { snapshotId });
      for await (const key of store.list(`${prefix}/`)) await store.delete(key);
      const encryption = await this.deps.encryptionKey(run);
      const parentManifest = parent ? await this.deps.reader.manifest(parent) : null;
      return { encryption, parentManifest };
    })();
    preparing.catch(() => undefined); // awaited below; a fetch failing first must not leave it unhandled

    // A scratch directory, made when first needed (a FULL from a fresh clone needs none).
    let tmp: string | null = null;
    const scratch = async () =>
      (tmp ??= await mkdtemp(join(this.deps.workDir, 'tmp', `snap-`)).catch(async () => {
        await mkdir(join(this.deps.workDir, 'tmp'), { recursive: true });
        return mkdtemp(join(this.deps.workDir, 'tmp', `snap-`));
      }));
    try {
      const access = await accessing;
      const auth = { username: 'oauth2', password: access.token };
      const artifacts: ManifestArtifact[] = [];
      const warnings: string[] = [];

      steps.mark('prepare');
      // Git
      ctx.progress({ phase: 'FETCHING' });
      const mirror = join(this.deps.workDir, 'mirrors', `${repository.id}.git`);
      let lastTouch = 0;
      const onProgress = (p: GitProgress) => {
        ctx.progress({ phase: 'FETCHING', git: p });
        if (Date.now() - lastTouch > 10_000) {
          lastTouch = Date.now();
          void ctx.touch();
        }
      };
      if (run.policy.include.repository) {
        await this.fetch(() => syncMirror(mirror, repository.httpUrlToRepo, { auth, onProgress, signal: ctx.signal }), ctx, repository.pathWithNamespace);
        steps.mark('fetch');
      }
      const { encryption, parentManifest } = await preparing;
      let gitState: GitState | null = null;
      if (run.policy.include.repository) {
        ctx.progress({ phase: 'BUNDLING' });
        gitState = await this.bundle(store, mirror, 'repository.bundle', 'GIT_BUNDLE', parentManifest?.git ?? null, prefix, scratch, encryption, artifacts);
        steps.mark('bundle');
      }
      let wikiState: GitState | null = null;
      if (run.policy.include.wiki && repository.hasWiki) {
        const wikiMirror = join(this.deps.workDir, 'mirrors', `${repository.id}.wiki.git`);
        const wikiUrl = repository.httpUrlToRepo.replace(/\.git$/, '.wiki.git');
        try {
          ctx.progress({ phase: 'FETCHING' });
          await this.fetch(() => syncMirror(wikiMirror, wikiUrl, { auth, onProgress, signal: ctx.signal }), ctx, `${repository.pathWithNamespace} (wiki)`);
          wikiState = await this.bundle(store, wikiMirror, 'wiki.bundle', 'WIKI_BUNDLE', parentManifest?.wiki ?? null, prefix, scratch, encryption, artifacts);
        } catch (error) {
          // GitLab answers 404 for a wiki that has no page yet.
          if (!/not found|404|does not appear to be a git repository/i.test(String((error as Error).message))) throw error;
          warnings.push('wiki: enabled but empty (GitLab has no wiki repository yet)');
        }
      }

      // LFS objects (content-addressed, shared by the repository's snapshots)
      let lfs: Manifest['lfs'] = null;
      if (run.policy.include.lfs && gitState && repository.hasLfs) {
        lfs = await this.lfsObjects(store, organization.id, repository.id, repository.httpUrlToRepo, mirror, gitState, parentManifest, auth, encryption, ctx, warnings);
      }

      // Metadata
      const metadata: Manifest['metadata'] = {};
      const types = run.policy.include.metadata;
      if (types.length > 0) {
        ctx.progress({ phase: 'METADATA', metadataRecords: 0 });
        const source = await this.deps.metadataFor(organization.connectionId);
        let total = 0;
        for (const type of types) {
          await ctx.touch();
          const result = await writeMetadataArtifact({
            store,
            codec: this.deps.codec,
            logger: this.deps.logger,
            type,
            records: (onCount) => source.projectRecords(repository.gitlabProjectId, type, onCount),
            compression: run.policy.compression,
            key: type === 'ci_variables' ? encryption?.key ?? this.deps.installationKey(organization.id) : encryption?.key ?? null,
            prefix,
            onCount: (n) => ctx.progress({ phase: 'METADATA', metadataRecords: total + n }),
          });
          metadata[type] = result.entry;
          if (result.artifact) artifacts.push(result.artifact);
          total += result.entry.records;
          if (result.entry.status !== 'OK') warnings.push(`${type}: ${result.entry.status.toLowerCase()} (${result.entry.reason})`);
        }
      }

      // Manifest last, then the row
      ctx.progress({ phase: 'WRITING' });
      const createdAt = clock.now();
      const manifest: Manifest = {
        format: 'labkeeper-snapshot',
        version: 1,
        snapshotId,
        createdAt: createdAt.toISOString(),
        copyType,
        parent: parent ? { snapshotId: parent.id, manifestSha256: parent.manifestSha256 } : null,
        instanceUrl: access.instanceUrl,
        organization: { id: organization.id, fullPath: organization.fullPath },
        repository: {
          id: repository.id,
          gitlabProjectId: repository.gitlabProjectId,
          pathWithNamespace: repository.pathWithNamespace,
          webUrl: repository.webUrl,
          defaultBranch: repository.defaultBranch,
          visibility: repository.visibility,
          isArchived: repository.isArchived,
        },
        git: gitState,
        wiki: wikiState,
        metadata,
        lfs,
        encryption: encryption ? { algorithm: 'LKENC1-AES-256-GCM', keyId: encryption.keyId } : null,
        artifacts,
      };
      steps.mark('other');
      const stored = await store.put(`${prefix}/${MANIFEST_FILE}`, serializeManifest(manifest));
      steps.mark('manifest');
      const failedMetadata = Object.values(metadata).some((m) => m.status === 'FAILED');
      const snapshot = snapshots.create({
        id: snapshotId,
        repositoryId: repository.id,
        groupId: null,
        organizationId: organization.id,
        runId: run.id,
        copyType,
        parentId: parent?.id ?? null,
        chainKey: run.chainKey,
        storageRoot,
        storagePrefix: prefix,
        manifestSha256: stored.sha256,
        encryptionCredentialId: encryption ? run.policy.encryption!.credentialId : null,
        sizeBytes: String(artifacts.reduce((n, a) => n + a.size, 0) + stored.size + (lfs?.storedBytes ?? 0)),
        artifactCount: artifacts.length + 1,
        refCount: Object.keys(gitState?.refs ?? {}).length,
        metadataCounts: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, v.records])),
        verificationStatus: 'UNVERIFIED',
        verifiedAt: null,
        verificationError: null,
        createdAt,
      });
      await snapshots.insert(snapshot); // one statement: the id is new (a retry that finds its row returned above)
      steps.mark('row');
      let verified = true;
      if (run.policy.verifyAfterBackup) {
        ctx.progress({ phase: 'VERIFYING' });
        const { result } = await this.deps.verify(snapshotId);
        if (!result.ok) {
          verified = false;
          warnings.push(`verification failed: ${result.problems.join('; ')}`);
        }
      }
      const fresh = run.policy.verifyAfterBackup ? await snapshots.findOneByOrFail({ id: snapshotId }) : snapshot;
      return { status: failedMetadata || !verified ? 'PARTIAL' : 'SUCCEEDED', snapshot: fresh, warnings };
    } finally {
      await preparing.catch(() => undefined);
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * The LFS objects a snapshot's range references, plus any its parent could not get: stored once
   * per repository (write-once, content-addressed), downloaded through GitLab's LFS batch API. A
   * missing or damaged object is listed in the manifest and a warning, not a failed repository.
   */
  private async lfsObjects(
    store: ArtifactStore,
    organizationId: string,
    repositoryId: string,
    repoHttpUrl: string,
    mirror: string,
    gitState: GitState,
    parent: Manifest | null,
    auth: { username: string; password: string },
    encryption: { key: Buffer; keyId: string } | null,
    ctx: ItemContext,
    warnings: string[],
  ): Promise<NonNullable<Manifest['lfs']>> {
    const pointers = await findLfsPointers(mirror, Object.values(gitState.refs), gitState.prerequisites, { signal: ctx.signal });
    const retry = [...(parent?.lfs?.missing ?? []), ...(parent?.lfs?.failed ?? []).map(({ oid, size }) => ({ oid, size }))];
    const wanted = new Map([...pointers, ...retry].map((p) => [p.oid, p]));
    const keyOf = (oid: string) => lfsKey(organizationId, repositoryId, oid, { keyId: encryption?.keyId ?? null });
    const toFetch = [];
    for (const pointer of wanted.values()) if (!(await store.stat(keyOf(pointer.oid)))) toFetch.push(pointer);
    let storedBytes = 0;
    const result = { objects: [...wanted.values()], missing: [] as { oid: string; size: number }[], failed: [] as { oid: string; size: number; reason: string }[], storedBytes: 0 };
    if (toFetch.length === 0) return result;
    let lastTouch = Date.now();
    try {
      const outcome = await downloadLfsObjects({
        repoHttpUrl,
        auth,
        objects: toFetch,
        signal: ctx.signal,
        logger: this.deps.logger,
        onProgress: () => {
          if (Date.now() - lastTouch > 10_000) {
            lastTouch = Date.now();
            void ctx.touch();
          }
        },
        sink: async (oid, _size, body) => {
          const encoded = this.deps.codec.encode({ compression: 'NONE', key: encryption?.key ?? null });
          try {
            const put = await store.put(keyOf(oid), pipeline(body, encoded, () => undefined));
            storedBytes += put.size;
          } catch (error) {
            if (!isDomainError(error, 'ARTIFACT_EXISTS')) throw error;
          }
        },
      });
      const sizeOf = (oid: string) => wanted.get(oid)?.size ?? 0;
      result.missing = outcome.missing.map((oid) => ({ oid, size: sizeOf(oid) }));
      result.failed = outcome.failed.map((f) => ({ oid: f.oid, size: sizeOf(f.oid), reason: f.reason }));
      if (result.missing.length + result.failed.length > 0) {
        warnings.push(`lfs: ${result.missing.length} object(s) missing on GitLab, ${result.failed.length} failed (listed in the manifest; retried next backup)`);
      }
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      warnings.push(`lfs: skipped (${(error as Error).message})`);
      result.failed = toFetch.map((p) => ({ ...p, reason: (error as Error).message }));
    }
    result.storedBytes = storedBytes;
    return result;
  }

  private fetch(operation: () => Promise<unknown>, ctx: ItemContext, what: string) {
    return retryTransient(operation, {
      signal: ctx.signal,
      baseDelayMs: this.deps.gitRetryDelayMs ?? 1000,
      onRetry: (error, attempt) => {
        this.deps.logger.warn({ repository: what, attempt, reason: (error as Error).message }, 'git transfer failed, retrying');
        void ctx.touch();
      },
    });
  }

  private async bundle(
    store: ArtifactStore,
    mirror: string,
    path: string,
    kind: 'GIT_BUNDLE' | 'WIKI_BUNDLE',
    parent: GitState | null,
    prefix: string,
    scratch: () => Promise<string>,
    encryption: { key: Buffer; keyId: string } | null,
    artifacts: ManifestArtifact[],
  ): Promise<GitState> {
    const refs = await listRefs(mirror);
    const head = await headRef(mirror);
    const prerequisites = parent ? [...new Set(Object.values(parent.refs))] : [];
    // A FULL straight from a freshly cloned mirror's single pack; otherwise `git bundle create`.
    const direct = prerequisites.length === 0 ? await singlePackBundle(mirror, refs) : null;
    // A worker thread costs tens of ms to start: worth it for big packs only.
    if (direct && !encryption && store.putConcat && (await stat(direct.pack)).size >= COPY_IN_WORKER_MIN_BYTES) {
      const stored = await store.putConcat(`${prefix}/${path}`, [direct.header, { file: direct.pack }]);
      artifacts.push({ path, kind, size: stored.size, sha256: stored.sha256, compression: 'NONE', encrypted: false });
      return { refs, head, prerequisites, bundle: path };
    }
    let bytes: Readable;
    if (direct) {
      bytes = Readable.from(
        (async function* () {
          yield direct.header;
          yield* createReadStream(direct.pack, { highWaterMark: 1024 * 1024 });
        })(),
      );
    } else {
      const file = join(await scratch(), path);
      if (!(await createBundle(mirror, file, prerequisites, refs))) return { refs, head, prerequisites, bundle: null };
      bytes = createReadStream(file, { highWaterMark: 1024 * 1024 });
    }
    // Packs are already compressed: bundles are only encrypted, never compressed again.
    const encoded = this.deps.codec.encode({ compression: 'NONE', key: encryption?.key ?? null });
    encoded.on('error', () => undefined); // observed by put(), which rejects with it
    const source = bytes.on('error', (error) => encoded.destroy(error)).pipe(encoded);
    const stored = await store.put(`${prefix}/${path}`, source);
    artifacts.push({ path, kind, size: stored.size, sha256: stored.sha256, compression: 'NONE', encrypted: !!encryption });
    return { refs, head, prerequisites, bundle: path };
  }

}

/** Durations of a repository backup's steps, for the log line that ends it. */
class StepTimer {
  private last = performance.now();
  private readonly started = this.last;
  private readonly steps: Record<string, number> = {};

  mark(step: string): void {
    const now = performance.now();
    this.steps[step] = (this.steps[step] ?? 0) + Math.round(now - this.last);
    this.last = now;
  }

  done(): Record<string, number> {
    return { ...this.steps, total: Math.round(performance.now() - this.started) };
  }
}
