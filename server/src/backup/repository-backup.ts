/**
 * Backing up one repository within a run (the `backup.repository` job). Runs at least once, so
 * every step is idempotent:
 *
 * 1. Only one job works on a repository at a time: a PostgreSQL advisory lock, held on its own
 *    connection, so a killed worker's lock dies with its connection (repository-lock.ts). Retention's
 *    LFS sweep takes the same lock, so it never deletes an object a backup is about to list.
 * 2. Choose the copy: FULL when asked or when no snapshot of the same chain exists; INCREMENTAL
 *    against the newest snapshot; DIFFERENTIAL against the newest FULL.
 * 3. Skip without touching git when GitLab's data proves nothing changed (skip-unchanged.ts) and
 *    the latest snapshot is complete and sound (backup-item.ts `canStandForUnchanged`); an
 *    incomplete one is fetched again, so missing data is never skipped for good.
 * 4. Transfer: fetch the repository (and the wiki) with git-transfer.ts, its LFS objects
 *    (repository-lfs.ts) and its metadata, holding one of the worker's transfer slots.
 * 5. Write the bundle(s) of what came through a local mirror, then commit: the manifest, and only
 *    then the snapshot row (snapshot/snapshot-writer.ts). The snapshot id is fixed on the item
 *    before any artifact is written: a retry deletes that id's leftovers (they have no manifest,
 *    so they were never a snapshot) and starts the snapshot again.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { GitProgress } from '../git/git.js';
import { OrganizationEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Semaphore } from '../shared/semaphore.js';
import { snapshotPrefix } from '../snapshot/artifact-keys.js';
import type { CopyType, Manifest, ManifestArtifact } from '../snapshot/manifest.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import { buildManifest, clearLeftovers, commitSnapshot } from '../snapshot/snapshot-writer.js';
import type { StorageBackend, StorageRoots } from '../storage/storage.port.js';
import { BackupRunEntity, BackupRunItemEntity } from './backup.entity.js';
import {
  canStandForUnchanged,
  finishItem,
  type ItemContext,
  type ItemOutcome,
  type ReplicateSnapshot,
  type VerifySnapshot,
} from './backup-item.js';
import type { MetadataSource } from './backup.ports.js';
import { GitTransfer, type Fetched } from './git-transfer.js';
import { writeMetadataArtifacts } from './metadata-artifacts.js';
import { repositoryLockName, withRepositoryLock } from './repository-lock.js';
import { backupLfsObjects } from './repository-lfs.js';
import { gitAuthOf, type GitAuth, type GitLabHttp } from '../gitlab/gitlab-http.js';
import { isProvablyUnchanged } from './skip-unchanged.js';
import { StepTimer } from '../shared/step-timer.js';

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
  verify: VerifySnapshot;
  /** Copies to the policy's replica storages. */
  replicate?: ReplicateSnapshot;
  /** A group's metadata snapshot (group-backup.ts). */
  groupBackup(run: BackupRunEntity, item: BackupRunItemEntity, ctx: ItemContext): Promise<ItemOutcome>;
  /**
   * The worker's transfer slots (its concurrency), shared by all its backup jobs: held while a job
   * talks to GitLab (git, LFS, metadata), not while it writes the snapshot.
   */
  transfers: Semaphore;
  /** The application's GitLab transport: git and LFS transfers use its retry policy (the API's). */
  http?: GitLabHttp;
  /** Told the duration of each step (lock, lookups, prepare, transfer…, total) of a finished repository backup: metrics. */
  onStepsTimed?: (stepsMs: Record<string, number>, status: ItemOutcome['status']) => void;
}

type Encryption = { key: Buffer; keyId: string } | null;
type Access = Awaited<ReturnType<GitLabSessions['access']>>;

/** What one attempt at a repository's snapshot works with, from the lookups to the commit. */
interface Attempt {
  run: BackupRunEntity;
  item: BackupRunItemEntity;
  ctx: ItemContext;
  steps: StepTimer;
  repository: RepositoryEntity;
  organization: OrganizationEntity;
  copyType: CopyType;
  parent: SnapshotEntity | null;
  snapshotId: string;
  prefix: string;
  storageRoot: string;
  store: StorageBackend;
  /** The snapshot id fixed on the item, leftovers cleared, the key and the parent's manifest read. */
  preparing: Promise<{ encryption: Encryption; parentManifest: Manifest | null }>;
  /** A scratch directory, made when first needed (a FULL from a fresh clone needs none). */
  scratch: () => Promise<string>;
  artifacts: ManifestArtifact[];
  warnings: string[];
}

/** What the transfer brought: git through git-transfer.ts, LFS, metadata. */
interface Transferred {
  repositoryGit: Fetched | null;
  wikiGit: Fetched | null;
  lfs: Manifest['lfs'];
  metadata: Manifest['metadata'];
  metadataArtifacts: ManifestArtifact[];
}

export class RepositoryBackup {
  private readonly git: GitTransfer;

  constructor(private readonly deps: RepositoryBackupDeps) {
    this.git = new GitTransfer({ codec: deps.codec, logger: deps.logger, http: deps.http });
  }

  async run(run: BackupRunEntity, item: BackupRunItemEntity, ctx: ItemContext): Promise<ItemOutcome> {
    // A group's snapshot is written under the same one-writer lock as a repository's: a job taken over
    // while its first run is still going (a lock that expired on a busy machine) must not clear the
    // artifacts the first run is about to commit.
    if (item.groupId)
      return withRepositoryLock(this.deps.dataSource, repositoryLockName(item), async () => {
        await this.refreshSnapshotId(item);
        return this.deps.transfers.use(() => this.deps.groupBackup(run, item, ctx), ctx.signal);
      });
    const steps = new StepTimer();
    return withRepositoryLock(this.deps.dataSource, repositoryLockName(item), async () => {
      steps.mark('lock');
      await this.refreshSnapshotId(item);
      const outcome = await this.locked(run, item, ctx, steps);
      const stepsMs = steps.done();
      this.deps.logger.info(
        { runId: run.id, itemId: item.id, path: item.pathWithNamespace, status: outcome.status, stepsMs },
        'repository backed up',
      );
      this.deps.onStepsTimed?.(stepsMs, outcome.status);
      return outcome;
    });
  }

  /** The snapshot id another run of this item may have fixed (and committed) while this one waited for the lock. */
  private async refreshSnapshotId(item: BackupRunItemEntity): Promise<void> {
    const current = await this.deps.dataSource.getRepository(BackupRunItemEntity).findOneBy({ id: item.id });
    if (current?.snapshotId) item.snapshotId = current.snapshotId;
  }

  private async locked(
    run: BackupRunEntity,
    item: BackupRunItemEntity,
    ctx: ItemContext,
    steps: StepTimer,
  ): Promise<ItemOutcome> {
    const snapshots = this.deps.dataSource.getRepository(SnapshotEntity);
    const { repository, organization, done } = await this.lookups(run, item);
    // A snapshot this item already committed (job re-run after the row was written): finish it.
    if (done)
      return finishItem({
        run,
        snapshot: done,
        isPartial: !done.isComplete,
        warnings: item.warnings,
        ctx,
        verify: this.deps.verify,
        replicate: this.deps.replicate,
        snapshots,
      });

    const accessing = this.deps.sessions.access(organization.connectionId); // git's token, looked up meanwhile
    accessing.catch(() => undefined); // awaited (or settled) below
    const { latest, copyType, parent } = await this.chooseCopy(run, repository);
    if (latest && copyType !== 'FULL' && isProvablyUnchanged(repository.lastActivityAt, latest.createdAt)) {
      const standing = await canStandForUnchanged({ run, latest, verify: this.deps.verify, snapshots }).finally(() =>
        accessing.catch(() => undefined),
      );
      if (standing) return { status: 'UNCHANGED', snapshot: standing, warnings: [] };
      this.deps.logger.info(
        { runId: run.id, path: repository.pathWithNamespace, snapshotId: latest.id },
        'latest snapshot is incomplete or failed verification: fetching again although GitLab reports no change',
      );
    }

    steps.mark('lookups');
    const scratch = lazyScratch(this.deps.workDir);
    const attempt = await this.begin({
      run,
      item,
      ctx,
      steps,
      repository,
      organization,
      copyType,
      parent,
      scratch: scratch.get,
    });
    try {
      const access = await accessing;
      steps.mark('prepare');
      const transferred = await this.transfer(attempt, access);
      const snapshot = await this.commit(attempt, access, transferred);
      const isPartial = Object.values(transferred.metadata).some((m) => m.status === 'FAILED');
      return await finishItem({
        run,
        snapshot,
        isPartial,
        warnings: attempt.warnings,
        ctx,
        verify: this.deps.verify,
        replicate: this.deps.replicate,
        snapshots,
      });
    } finally {
      await attempt.preparing.catch(() => undefined);
      await scratch.remove();
    }
  }

  /** Lookups that do not depend on each other go together: on a busy machine every round trip waits for a core. */
  private async lookups(run: BackupRunEntity, item: BackupRunItemEntity) {
    const { dataSource } = this.deps;
    const [repository, organization, done] = await Promise.all([
      dataSource.getRepository(RepositoryEntity).findOneByOrFail({ id: item.repositoryId! }),
      dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: run.organizationId }),
      // A snapshot this item already completed (job re-run after the row was written): done.
      item.snapshotId
        ? dataSource.getRepository(SnapshotEntity).findOneBy({ id: item.snapshotId })
        : Promise.resolve(null),
    ]);
    return { repository, organization, done };
  }

  /** FULL, INCREMENTAL or DIFFERENTIAL, and the snapshot the bundles build on. */
  private async chooseCopy(run: BackupRunEntity, repository: RepositoryEntity) {
    const snapshots = this.deps.dataSource.getRepository(SnapshotEntity);
    const latest = await snapshots.findOne({
      where: { repositoryId: repository.id, chainKey: run.chainKey },
      order: { createdAt: 'DESC' },
    });
    // The newest FULL is the newest snapshot more often than not (and there is none without one).
    const latestFull =
      !latest || latest.copyType === 'FULL'
        ? latest
        : await snapshots.findOne({
            where: { repositoryId: repository.id, chainKey: run.chainKey, copyType: 'FULL' },
            order: { createdAt: 'DESC' },
          });
    const copyType: CopyType = run.copyType === 'FULL' || !latestFull ? 'FULL' : run.copyType;
    const parent = copyType === 'FULL' ? null : copyType === 'DIFFERENTIAL' ? latestFull : latest;
    return { latest, copyType, parent };
  }

  /**
   * Fixes the snapshot's id and place, and starts preparing while git fetches: the id stored on
   * the item and what an earlier attempt left cleared (both before anything is written, as the
   * bundle comes after the fetch), the key and the parent's manifest read. `preparing` is always
   * settled before `locked` ends, so nothing of it runs after the repository's lock is released.
   */
  private async begin(
    o: Omit<Attempt, 'snapshotId' | 'prefix' | 'storageRoot' | 'store' | 'preparing' | 'artifacts' | 'warnings'>,
  ): Promise<Attempt> {
    const { item, run, parent } = o;
    const snapshotId = item.snapshotId ?? newId();
    const prefix = snapshotPrefix(o.organization.id, o.repository.id, snapshotId);
    const storageRoot = this.deps.stores.rootFor(run.policy);
    const store = await this.deps.stores.at(storageRoot);
    const preparing = (async () => {
      if (!item.snapshotId)
        await this.deps.dataSource.getRepository(BackupRunItemEntity).update({ id: item.id }, { snapshotId });
      await clearLeftovers(store, prefix);
      const encryption = await this.deps.encryptionKey(run);
      const parentManifest = parent ? await this.deps.reader.manifest(parent) : null;
      return { encryption, parentManifest };
    })();
    preparing.catch(() => undefined); // awaited later; a fetch failing first must not leave it unhandled
    return { ...o, snapshotId, prefix, storageRoot, store, preparing, artifacts: [], warnings: [] };
  }

  /**
   * Everything that talks to GitLab, holding one of the worker's transfer slots (its
   * concurrency); committing the snapshot does not, so the next repository's transfer starts
   * while this one's manifest is written. The biggest waiting repository goes first, as the run
   * ordered them.
   */
  private async transfer(a: Attempt, access: Access): Promise<Transferred> {
    const { run, repository, ctx } = a;
    const auth = gitAuthOf(access); // renewed (OAuth refresh) when GitLab refuses the token
    const out: Transferred = { repositoryGit: null, wikiGit: null, lfs: null, metadata: {}, metadataArtifacts: [] };
    const releaseTransfer = await this.deps.transfers.acquire(ctx.signal, Number(a.item.sizeHint ?? 0));
    a.steps.mark('slot');
    try {
      await this.fetchGit(a, auth, out);
      const { encryption, parentManifest } = await a.preparing;
      // LFS objects (content-addressed, shared by the repository's snapshots)
      if (run.policy.include.lfs && repository.hasLfs && out.repositoryGit?.via === 'mirror') {
        out.lfs = await backupLfsObjects({
          store: a.store,
          codec: this.deps.codec,
          logger: this.deps.logger,
          organizationId: a.organization.id,
          repositoryId: repository.id,
          repoHttpUrl: repository.httpUrlToRepo,
          mirror: this.mirrorOf(repository, 'git'),
          gitState: out.repositoryGit.state,
          parent: parentManifest,
          auth,
          http: this.deps.http,
          encryption,
          ctx,
          warnings: a.warnings,
        });
      }
      await this.fetchMetadata(a, encryption, out);
    } finally {
      releaseTransfer();
    }
    return out;
  }

  /** The repository (and the wiki) through git-transfer.ts. */
  private async fetchGit(a: Attempt, auth: GitAuth, out: Transferred): Promise<void> {
    const { run, repository, ctx } = a;
    ctx.progress({ phase: 'FETCHING' });
    let lastTouch = 0;
    const onProgress = (p: GitProgress) => {
      ctx.progress({ phase: 'FETCHING', git: p });
      if (Date.now() - lastTouch > 10_000) {
        lastTouch = Date.now();
        void ctx.touch();
      }
    };
    const common = {
      store: a.store,
      prefix: a.prefix,
      auth,
      ctx,
      onProgress,
      prepared: a.preparing,
      artifacts: a.artifacts,
    };
    if (run.policy.include.repository) {
      // LFS pointers are found in a local repository: the mirror is kept when LFS is included
      // and GitLab may hold LFS objects of the project (its statistics do not say 0 bytes).
      const viaMirror = run.policy.include.lfs && repository.hasLfs && repository.lfsObjectsSize !== '0';
      out.repositoryGit = await this.git.fetchGit({
        ...common,
        url: repository.httpUrlToRepo,
        mirror: this.mirrorOf(repository, 'git'),
        viaMirror,
        what: repository.pathWithNamespace,
        path: 'repository.bundle',
        kind: 'GIT_BUNDLE',
        parentOf: (m) => m?.git ?? null,
      });
      a.steps.mark('fetch');
    }
    if (run.policy.include.wiki && repository.hasWiki) {
      const wikiUrl = repository.httpUrlToRepo.replace(/\.git$/, '.wiki.git');
      try {
        ctx.progress({ phase: 'FETCHING' });
        out.wikiGit = await this.git.fetchGit({
          ...common,
          url: wikiUrl,
          mirror: this.mirrorOf(repository, 'wiki'),
          viaMirror: false,
          what: `${repository.pathWithNamespace} (wiki)`,
          path: 'wiki.bundle',
          kind: 'WIKI_BUNDLE',
          parentOf: (m) => m?.wiki ?? null,
        });
      } catch (error) {
        // GitLab answers 404 for a wiki that has no page yet.
        if (!/not found|404|does not appear to be a git repository/i.test(String((error as Error).message)))
          throw error;
        // Not a warning: the project has no wiki page yet, so there is nothing to keep.
        this.deps.logger.info({ path: repository.pathWithNamespace }, 'wiki enabled but empty: nothing to back up');
      }
    }
  }

  /** One artifact per metadata type the policy includes (metadata-artifacts.ts). */
  private async fetchMetadata(a: Attempt, encryption: Encryption, out: Transferred): Promise<void> {
    const { run, repository, organization, ctx } = a;
    const types = run.policy.include.metadata;
    if (types.length === 0) return;
    ctx.progress({ phase: 'METADATA', metadataRecords: 0 });
    const source = await this.deps.metadataFor(organization.connectionId);
    const written = await writeMetadataArtifacts({
      store: a.store,
      codec: this.deps.codec,
      logger: this.deps.logger,
      types,
      records: (type, onCount, onWarning) =>
        source.projectRecords(repository.gitlabProjectId, type, onCount, onWarning),
      compression: run.policy.compression,
      keyFor: (type) =>
        type === 'ci_variables'
          ? (encryption?.key ?? this.deps.installationKey(organization.id))
          : (encryption?.key ?? null),
      prefix: a.prefix,
      rethrowTransient: ctx.canRetryLater,
      beforeType: () => ctx.touch(),
      onRecords: (total) => ctx.progress({ phase: 'METADATA', metadataRecords: total }),
    });
    Object.assign(out.metadata, written.metadata);
    out.metadataArtifacts.push(...written.artifacts);
    a.warnings.push(...written.warnings);
  }

  /** Bundles of what came through a local mirror, then the manifest (listing the bundles first) and the row. */
  private async commit(a: Attempt, access: Access, t: Transferred): Promise<SnapshotEntity> {
    const { run, repository, organization, ctx } = a;
    const { encryption } = await a.preparing;
    ctx.progress({ phase: 'BUNDLING' });
    const bundle = { store: a.store, prefix: a.prefix, scratch: a.scratch, encryption, artifacts: a.artifacts };
    const git = await this.git.finish(t.repositoryGit, {
      ...bundle,
      mirror: this.mirrorOf(repository, 'git'),
      path: 'repository.bundle',
      kind: 'GIT_BUNDLE',
    });
    a.steps.mark('bundle');
    const wiki = await this.git.finish(t.wikiGit, {
      ...bundle,
      mirror: this.mirrorOf(repository, 'wiki'),
      path: 'wiki.bundle',
      kind: 'WIKI_BUNDLE',
    });
    ctx.progress({ phase: 'WRITING' });
    const manifest = buildManifest({
      snapshotId: a.snapshotId,
      createdAt: this.deps.clock.now(),
      copyType: a.copyType,
      parent: a.parent,
      instanceUrl: access.instanceUrl,
      organization: { id: organization.id, fullPath: organization.fullPath },
      subject: {
        repository: {
          id: repository.id,
          gitlabProjectId: repository.gitlabProjectId,
          pathWithNamespace: repository.pathWithNamespace,
          webUrl: repository.webUrl,
          defaultBranch: repository.defaultBranch,
          visibility: repository.visibility,
          isArchived: repository.isArchived,
        },
      },
      git,
      wiki,
      metadata: t.metadata,
      lfs: t.lfs,
      encryption,
      artifacts: [...a.artifacts, ...t.metadataArtifacts],
    });
    a.steps.mark('other');
    const encryptionCredentialId = run.policy.encryption?.credentialId ?? null;
    const snapshot = await commitSnapshot({
      dataSource: this.deps.dataSource,
      store: a.store,
      storageRoot: a.storageRoot,
      prefix: a.prefix,
      manifest,
      runId: run.id,
      chainKey: run.chainKey,
      encryptionCredentialId,
    });
    a.steps.mark('commit');
    return snapshot;
  }

  private mirrorOf(repository: RepositoryEntity, which: 'git' | 'wiki'): string {
    return join(this.deps.workDir, 'mirrors', which === 'git' ? `${repository.id}.git` : `${repository.id}.wiki.git`);
  }
}

/** A scratch directory under `<workDir>/tmp`, made on first `get`, removed by `remove`. */
function lazyScratch(workDir: string) {
  let dir: Promise<string> | null = null;
  const make = () =>
    mkdtemp(join(workDir, 'tmp', 'snap-')).catch(async () => {
      await mkdir(join(workDir, 'tmp'), { recursive: true });
      return mkdtemp(join(workDir, 'tmp', 'snap-'));
    });
  return {
    get: () => (dir ??= make()),
    async remove() {
      const made = await dir?.catch(() => null);
      if (made) await rm(made, { recursive: true, force: true });
    },
  };
}
