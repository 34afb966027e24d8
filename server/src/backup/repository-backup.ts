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
import type { GitProgress } from '../git/git.js';
import { defaultGitLabHttp, gitAuthOf, type GitAuth, type GitLabHttp } from '../gitlab/gitlab-http.js';
import { bundleHeader, createBundle, headRef, listRefs, singlePackBundle, syncMirror } from '../git/mirror.js';
import { discoverUploadPack, fetchPack, lsRefs, ProtocolV2UnsupportedError } from '../git/upload-pack.js';
import { OrganizationEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { BackupRunEntity, BackupRunItemEntity, type ItemPhase } from './backup.entity.js';
import type { MetadataSource } from './backup.ports.js';
import type { CopyType } from './policy.types.js';
import { writeMetadataArtifacts } from './metadata-artifacts.js';
import { downloadLfsObjects, findLfsPointers } from './lfs.js';
import { isDomainError } from '../shared/errors.js';
import { repositoryLockName, withRepositoryLock } from './repository-lock.js';
import type { Semaphore } from '../shared/semaphore.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { StorageBackend, StorageRoots } from '../storage/storage.port.js';
import { type GitState, MANIFEST_FILE, type Manifest, type ManifestArtifact, serializeManifest } from '../snapshot/manifest.js';
import { snapshotPrefix } from '../snapshot/artifact-keys.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import { lfsKey } from '../snapshot/lfs-layout.js';

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
  stores: StorageRoots;
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
  /**
   * The worker's transfer slots (its concurrency), shared by all its backup jobs: held while a job
   * talks to GitLab (git, LFS, metadata), not while it writes the snapshot.
   */
  transfers: Semaphore;
  /** The application's GitLab transport: git and LFS transfers use its retry policy (the API's). */
  http?: GitLabHttp;
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
    if (item.groupId) return this.deps.transfers.use(() => this.deps.groupBackup(run, item, ctx), ctx.signal);
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
      const auth = gitAuthOf(access); // renewed (OAuth refresh) when GitLab refuses the token
      const artifacts: ManifestArtifact[] = [];
      const warnings: string[] = [];

      steps.mark('prepare');
      const mirror = join(this.deps.workDir, 'mirrors', `${repository.id}.git`);
      const wikiMirror = join(this.deps.workDir, 'mirrors', `${repository.id}.wiki.git`);
      let repositoryGit: Fetched | null = null;
      let wikiGit: Fetched | null = null;
      let lfs: Manifest['lfs'] = null;
      const metadata: Manifest['metadata'] = {};
      const metadataArtifacts: ManifestArtifact[] = []; // listed after the bundles

      // Everything that talks to GitLab holds one of the worker's transfer slots (its
      // concurrency); finishing the snapshot below does not, so the next repository's transfer
      // starts while this one's manifest is written.
      // The biggest waiting repository goes first, as the run ordered them.
      const releaseTransfer = await this.deps.transfers.acquire(ctx.signal, Number(item.sizeHint ?? 0));
      steps.mark('slot');
      try {
        // Git
        ctx.progress({ phase: 'FETCHING' });
        let lastTouch = 0;
        const onProgress = (p: GitProgress) => {
          ctx.progress({ phase: 'FETCHING', git: p });
          if (Date.now() - lastTouch > 10_000) {
            lastTouch = Date.now();
            void ctx.touch();
          }
        };
        const common = { store, prefix, auth, ctx, onProgress, prepared: preparing, artifacts };
        if (run.policy.include.repository) {
          // LFS pointers are found in a local repository: the mirror is kept when LFS is included
          // and GitLab may hold LFS objects of the project (its statistics do not say 0 bytes).
          const viaMirror = run.policy.include.lfs && repository.hasLfs && repository.lfsObjectsSize !== '0';
          repositoryGit = await this.fetchGit({ ...common, url: repository.httpUrlToRepo, mirror, viaMirror, what: repository.pathWithNamespace, path: 'repository.bundle', kind: 'GIT_BUNDLE', parentOf: (m) => m?.git ?? null });
          steps.mark('fetch');
        }
        if (run.policy.include.wiki && repository.hasWiki) {
          const wikiUrl = repository.httpUrlToRepo.replace(/\.git$/, '.wiki.git');
          try {
            ctx.progress({ phase: 'FETCHING' });
            wikiGit = await this.fetchGit({ ...common, url: wikiUrl, mirror: wikiMirror, viaMirror: false, what: `${repository.pathWithNamespace} (wiki)`, path: 'wiki.bundle', kind: 'WIKI_BUNDLE', parentOf: (m) => m?.wiki ?? null });
          } catch (error) {
            // GitLab answers 404 for a wiki that has no page yet.
            if (!/not found|404|does not appear to be a git repository/i.test(String((error as Error).message))) throw error;
            warnings.push('wiki: enabled but empty (GitLab has no wiki repository yet)');
          }
        }
        const { encryption, parentManifest } = await preparing;

        // LFS objects (content-addressed, shared by the repository's snapshots)
        if (run.policy.include.lfs && repository.hasLfs && repositoryGit?.via === 'mirror') {
          lfs = await this.lfsObjects({ store, organizationId: organization.id, repositoryId: repository.id, repoHttpUrl: repository.httpUrlToRepo, mirror, gitState: repositoryGit.state, parent: parentManifest, auth, encryption, ctx, warnings });
        }

        // Metadata
        const types = run.policy.include.metadata;
        if (types.length > 0) {
          ctx.progress({ phase: 'METADATA', metadataRecords: 0 });
          const source = await this.deps.metadataFor(organization.connectionId);
          const written = await writeMetadataArtifacts({
            store,
            codec: this.deps.codec,
            logger: this.deps.logger,
            types,
            records: (type, onCount) => source.projectRecords(repository.gitlabProjectId, type, onCount),
            compression: run.policy.compression,
            keyFor: (type) => (type === 'ci_variables' ? encryption?.key ?? this.deps.installationKey(organization.id) : encryption?.key ?? null),
            prefix,
            beforeType: () => ctx.touch(),
            onRecords: (total) => ctx.progress({ phase: 'METADATA', metadataRecords: total }),
          });
          Object.assign(metadata, written.metadata);
          metadataArtifacts.push(...written.artifacts);
          warnings.push(...written.warnings);
        }
      } finally {
        releaseTransfer();
      }

      // Bundles of what came through a local mirror (this job still has it locked); a bundle
      // streamed straight from GitLab is stored already.
      const { encryption } = await preparing;
      ctx.progress({ phase: 'BUNDLING' });
      const finish = async (fetched: Fetched | null, dir: string, path: string, kind: 'GIT_BUNDLE' | 'WIKI_BUNDLE'): Promise<GitState | null> => {
        if (!fetched) return null;
        if (fetched.via === 'direct') return fetched.state;
        return { ...fetched.state, bundle: await this.bundle(store, dir, path, kind, fetched.state, prefix, scratch, encryption, artifacts) };
      };
      const gitState = await finish(repositoryGit, mirror, 'repository.bundle', 'GIT_BUNDLE');
      steps.mark('bundle');
      const wikiState = await finish(wikiGit, wikiMirror, 'wiki.bundle', 'WIKI_BUNDLE');

      artifacts.push(...metadataArtifacts);

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
  private async lfsObjects(o: {
    store: StorageBackend;
    organizationId: string;
    repositoryId: string;
    repoHttpUrl: string;
    mirror: string;
    gitState: Omit<GitState, 'bundle'>;
    parent: Manifest | null;
    auth: GitAuth;
    encryption: { key: Buffer; keyId: string } | null;
    ctx: ItemContext;
    warnings: string[];
  }): Promise<NonNullable<Manifest['lfs']>> {
    const { store, organizationId, repositoryId, repoHttpUrl, mirror, gitState, parent, auth, encryption, ctx, warnings } = o;
    // A parent that recorded no LFS (taken without a mirror while GitLab reported no LFS storage,
    // which it updates asynchronously) leaves its range unscanned: scan the whole history then.
    const since = parent?.lfs ? gitState.prerequisites : [];
    const pointers = await findLfsPointers(mirror, Object.values(gitState.refs), since, { signal: ctx.signal });
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
        caCertificate: auth.caCertificate,
        http: this.deps.http,
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

  /**
   * A repository's (or wiki's) refs and, when anything is new since the parent snapshot, its
   * bundle. Straight from GitLab by default: the pack GitLab sends (everything for a FULL; a thin
   * pack against the parent's tips otherwise) is stored behind the bundle header as it arrives.
   * Through a local bare mirror (`git clone --mirror`, then `git fetch --prune`) when asked (LFS
   * needs a local repository to find pointers in) or when GitLab does not offer protocol v2; that
   * path's bundle is written afterwards by `bundle()`.
   */
  private async fetchGit(o: {
    url: string;
    mirror: string;
    viaMirror: boolean;
    what: string;
    path: string;
    kind: 'GIT_BUNDLE' | 'WIKI_BUNDLE';
    store: StorageBackend;
    prefix: string;
    auth: GitAuth;
    ctx: ItemContext;
    onProgress: (p: GitProgress) => void;
    prepared: Promise<{ encryption: { key: Buffer; keyId: string } | null; parentManifest: Manifest | null }>;
    parentOf: (manifest: Manifest | null) => GitState | null;
    artifacts: ManifestArtifact[];
  }): Promise<Fetched> {
    if (!o.viaMirror) {
      try {
        return { via: 'direct', state: await this.direct(o) };
      } catch (error) {
        if (!(error instanceof ProtocolV2UnsupportedError)) throw error;
        this.deps.logger.warn({ repository: o.what }, 'GitLab does not offer git protocol v2 here: backing up through a local mirror');
      }
    }
    await this.fetch(() => syncMirror(o.mirror, o.url, { auth: o.auth, onProgress: o.onProgress, signal: o.ctx.signal }), o.ctx, o.what);
    const { parentManifest } = await o.prepared;
    return { via: 'mirror', state: await refsOf(o.mirror, o.parentOf(parentManifest)) };
  }

  private async direct(o: Parameters<RepositoryBackup['fetchGit']>[0]): Promise<GitState> {
    const { ctx, auth } = o;
    const http = { auth, caCertificate: auth.caCertificate, signal: ctx.signal, http: this.deps.http };
    const [{ service, remote }, { encryption, parentManifest }] = await Promise.all([
      this.fetch(async () => {
        const found = await discoverUploadPack(o.url, http); // once: ls-refs and the fetch both use it
        return { service: found, remote: await lsRefs(found, http) };
      }, ctx, o.what),
      o.prepared,
    ]);
    const parent = o.parentOf(parentManifest);
    const parentTips = parent ? [...new Set(Object.values(parent.refs))] : [];
    const state: GitState = { refs: remote.refs, head: remote.head, prerequisites: parentTips, bundle: null };
    const wants = [...new Set(Object.values(remote.refs))];
    const present = new Set(parentTips);
    if (wants.every((oid) => present.has(oid))) return state; // no ref, or nothing new: no transfer
    const header = bundleHeader(remote.refs, parent ? prerequisiteCommits(parent) : []);
    const stored = await this.fetch(async () => {
      const { pack, objects } = await fetchPack(service, wants, parentTips, { ...http, onProgress: o.onProgress });
      if (objects === 0) {
        pack.destroy(); // refs moved to objects the parent has: nothing to bundle
        return null;
      }
      // Packs are already compressed: bundles are only encrypted, never compressed again.
      const encoded = this.deps.codec.encode({ compression: 'NONE', key: encryption?.key ?? null });
      encoded.on('error', () => undefined); // observed by put(), which rejects with it
      encoded.write(header);
      const source = pack.on('error', (error) => encoded.destroy(error)).pipe(encoded);
      return o.store.put(`${o.prefix}/${o.path}`, source).catch((error: unknown) => {
        pack.destroy(); // a failed put (storage) must not leave GitLab's response parked
        throw error;
      });
    }, ctx, o.what);
    if (!stored) return state;
    o.artifacts.push({ path: o.path, kind: o.kind, size: stored.size, sha256: stored.sha256, compression: 'NONE', encrypted: !!encryption });
    return { ...state, bundle: o.path };
  }

  /**
   * A git transfer under the GitLab transport's retry policy, with the API's budget: retried after
   * GitLab's Retry-After (429, 503) or a backoff with jitter (5xx, cut connections, damaged packs).
   */
  private fetch<T>(operation: () => Promise<T>, ctx: ItemContext, what: string): Promise<T> {
    return (this.deps.http ?? defaultGitLabHttp()).retrying(`git transfer of ${what}`, operation, {
      signal: ctx.signal,
      onRetry: (event, error) => {
        this.deps.logger.warn({ repository: what, attempt: event.attempt, delayMs: event.delayMs, status: event.status, reason: (error as Error | null)?.message }, 'git transfer failed, retrying');
        void ctx.touch();
      },
    });
  }

  /** Writes a mirror's bundle (FULL, or against `state.prerequisites`); null when nothing is new. */
  private async bundle(
    store: StorageBackend,
    mirror: string,
    path: string,
    kind: 'GIT_BUNDLE' | 'WIKI_BUNDLE',
    state: Omit<GitState, 'bundle'>,
    prefix: string,
    scratch: () => Promise<string>,
    encryption: { key: Buffer; keyId: string } | null,
    artifacts: ManifestArtifact[],
  ): Promise<string | null> {
    const { refs, prerequisites } = state;
    // A FULL straight from a freshly cloned mirror's single pack; otherwise `git bundle create`.
    const direct = prerequisites.length === 0 ? await singlePackBundle(mirror, refs) : null;
    // A worker thread costs tens of ms to start: worth it for big packs only.
    if (direct && !encryption && store.putConcat && (await stat(direct.pack)).size >= COPY_IN_WORKER_MIN_BYTES) {
      const stored = await store.putConcat(`${prefix}/${path}`, [direct.header, { file: direct.pack }]);
      artifacts.push({ path, kind, size: stored.size, sha256: stored.sha256, compression: 'NONE', encrypted: false });
      return path;
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
      if (!(await createBundle(mirror, file, prerequisites, refs))) return null;
      bytes = createReadStream(file, { highWaterMark: 1024 * 1024 });
    }
    // Packs are already compressed: bundles are only encrypted, never compressed again.
    const encoded = this.deps.codec.encode({ compression: 'NONE', key: encryption?.key ?? null });
    encoded.on('error', () => undefined); // observed by put(), which rejects with it
    const source = bytes.on('error', (error) => encoded.destroy(error)).pipe(encoded);
    const stored = await store.put(`${prefix}/${path}`, source);
    artifacts.push({ path, kind, size: stored.size, sha256: stored.sha256, compression: 'NONE', encrypted: !!encryption });
    return path;
  }

}

/** How a repository's git data came: streamed into its bundle already, or into a local mirror. */
type Fetched = { via: 'direct'; state: GitState } | { via: 'mirror'; state: Omit<GitState, 'bundle'> };

/**
 * The bundle header's prerequisites for a pack built against `parent`'s tips: the tips of its refs
 * outside refs/tags/. A header lists commits (git 2.39's `bundle unbundle` refuses a tree or blob
 * there), and only tags point elsewhere: an annotated tag may peel to a tree or a blob, a
 * lightweight one may name one. Leaving tags out loses nothing: the objects are in the parent's
 * bundles either way, the list only lets git say early what is missing.
 */
export function prerequisiteCommits(parent: Pick<GitState, 'refs'>): string[] {
  return [...new Set(Object.entries(parent.refs).filter(([ref]) => !ref.startsWith('refs/tags/')).map(([, oid]) => oid))];
}

/** A mirror's refs and HEAD, and the tips of the parent snapshot its bundle builds on. */
async function refsOf(mirror: string, parent: GitState | null): Promise<Omit<GitState, 'bundle'>> {
  const [refs, head] = await Promise.all([listRefs(mirror), headRef(mirror)]);
  return { refs, head, prerequisites: parent ? [...new Set(Object.values(parent.refs))] : [] };
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
