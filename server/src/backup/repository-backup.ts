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
 * 4. Transfer (repository-transfer.ts): fetch the repository (and the wiki) with git-transfer.ts,
 *    its LFS objects (repository-lfs.ts) and its metadata, holding one of the worker's transfer slots.
 * 5. Write the bundle(s) of what came through a local mirror, then commit: the manifest, and only
 *    then the snapshot row (snapshot/snapshot-writer.ts). The snapshot id is fixed on the item as
 *    its first attempt starts (backup-item.runner.ts), before any artifact is written: a retry
 *    deletes that id's leftovers (they have no manifest, so they were never a snapshot) and starts
 *    the snapshot again.
 *
 * What one attempt works with, from the lookups to the commit, is repository-attempt.ts.
 */
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { PackChecks } from '../git/pack-check.js';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import { OrganizationEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { Reservation, Semaphore } from '../shared/semaphore.js';
import { snapshotPrefix } from '../snapshot/artifact-keys.js';
import type { CopyType } from '../snapshot/manifest.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import { buildManifest, commitSnapshot } from '../snapshot/snapshot-writer.js';
import type { StorageRoots } from '../storage/storage.port.js';
import { BackupRunEntity, BackupRunItemEntity } from './backup.entity.js';
import {
  canStandForUnchanged,
  clearEarlierAttempt,
  committedEarlier,
  finishItem,
  fixedSnapshotId,
  type ItemContext,
  type ItemOutcome,
  type ReplicateSnapshot,
  type VerifySnapshot,
} from './backup-item.js';
import type { MetadataSource } from './backup.ports.js';
import { GitTransfer, type Fetched } from './git-transfer.js';
import { lazyScratch, mirrorOf, type Access, type Attempt, type Transferred } from './repository-attempt.js';
import { RepositoryTransfer } from './repository-transfer.js';
import { repositoryLockName, withRepositoryLock } from './repository-lock.js';
import type { GitLabHttp } from '../gitlab/gitlab-http.js';
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

export class RepositoryBackup {
  private readonly git: GitTransfer;
  private readonly transferring: RepositoryTransfer;
  private readonly checks: PackChecks;

  constructor(private readonly deps: RepositoryBackupDeps) {
    // One scratch repository per transfer slot is kept between checks (pack-check.ts).
    this.checks = new PackChecks(join(deps.workDir, 'tmp'), deps.transfers.permits);
    this.git = new GitTransfer({ codec: deps.codec, logger: deps.logger, http: deps.http, checks: this.checks });
    this.transferring = new RepositoryTransfer(deps, this.git);
  }

  /** Removes the scratch repositories kept for pack checks (the worker stopped: no backup runs). */
  close(): Promise<void> {
    return this.checks.close();
  }

  async run(run: BackupRunEntity, item: BackupRunItemEntity, ctx: ItemContext): Promise<ItemOutcome> {
    // A group's snapshot is written under the same one-writer lock as a repository's: a job taken over
    // while its first run is still going (a lock that expired on a busy machine) must not clear the
    // artifacts the first run is about to commit.
    if (item.groupId)
      return withRepositoryLock(this.deps.dataSource, repositoryLockName(item), () =>
        this.deps.transfers.use(() => this.deps.groupBackup(run, item, ctx), ctx.signal),
      );
    const steps = new StepTimer();
    return withRepositoryLock(this.deps.dataSource, repositoryLockName(item), async () => {
      steps.mark('lock');
      // The place among the transfers is taken now, by size, and the slot when the lookups are done:
      // a bigger repository whose lookups take longer is not overtaken (Semaphore.reserve).
      const slot = this.deps.transfers.reserve(Number(item.sizeHint ?? 0));
      let outcome: ItemOutcome;
      try {
        outcome = await this.locked(run, item, ctx, steps, slot);
      } finally {
        slot.cancel(); // not needed after all (unchanged, committed already, failed before the transfer)
      }
      const stepsMs = steps.done();
      this.deps.logger.info(
        { runId: run.id, itemId: item.id, path: item.pathWithNamespace, status: outcome.status, stepsMs },
        'repository backed up',
      );
      this.deps.onStepsTimed?.(stepsMs, outcome.status);
      return outcome;
    });
  }

  private async locked(
    run: BackupRunEntity,
    item: BackupRunItemEntity,
    ctx: ItemContext,
    steps: StepTimer,
    slot: Reservation,
  ): Promise<ItemOutcome> {
    const { repository, organization, done } = await this.lookups(run, item, ctx);
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
      });

    const accessing = this.deps.sessions.access(organization.connectionId); // git's token, looked up meanwhile
    accessing.catch(() => undefined); // awaited (or settled) below
    const { latest, copyType, parent } = await this.chooseCopy(run, repository);
    if (latest && copyType !== 'FULL' && isProvablyUnchanged(repository.lastActivityAt, latest.createdAt)) {
      const standing = await canStandForUnchanged({ run, latest, verify: this.deps.verify }).finally(() =>
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
      slot,
    });
    try {
      const access = await accessing;
      steps.mark('prepare');
      const transferred = await this.transferring.transfer(attempt, access);
      const snapshot = await this.commit(attempt, access, transferred);
      const isPartial = Object.values(transferred.metadata).some((m) => m.status === 'FAILED');
      const outcome = await finishItem({
        run,
        snapshot,
        isPartial,
        warnings: attempt.warnings,
        ctx,
        verify: this.deps.verify,
        checkedInStream: streamedBundles(transferred, (f) => f.checked),
        readBackAtWrite: streamedBundles(transferred, (f) => f.readBack),
        justCommitted: true,
        replicate: this.deps.replicate,
      });
      steps.mark('verify'); // verification after backup, and the replicas' plan
      return outcome;
    } finally {
      await attempt.preparing.catch(() => undefined);
      await scratch.remove();
    }
  }

  /** Lookups that do not depend on each other go together: on a busy machine every round trip waits for a core. */
  private async lookups(run: BackupRunEntity, item: BackupRunItemEntity, ctx: ItemContext) {
    const { dataSource } = this.deps;
    const [repository, organization, done] = await Promise.all([
      dataSource.getRepository(RepositoryEntity).findOneByOrFail({ id: item.repositoryId! }),
      dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: run.organizationId }),
      // A snapshot an earlier attempt of this item committed (job re-run after the row was written): done.
      committedEarlier(dataSource.getRepository(SnapshotEntity), item, ctx),
    ]);
    return { repository, organization, done };
  }

  /**
   * FULL, INCREMENTAL or DIFFERENTIAL, and the snapshot the bundles build on. A FULL run neither
   * builds on a snapshot nor skips an unchanged repository (it is a new chain's start), so it looks
   * none up.
   */
  private async chooseCopy(run: BackupRunEntity, repository: RepositoryEntity) {
    if (run.copyType === 'FULL') return { latest: null, copyType: 'FULL' as CopyType, parent: null };
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
    const copyType: CopyType = latestFull ? run.copyType : 'FULL';
    const parent = copyType === 'FULL' ? null : copyType === 'DIFFERENTIAL' ? latestFull : latest;
    return { latest, copyType, parent };
  }

  /**
   * The snapshot's place, and preparing while git fetches: what an earlier attempt left under the
   * item's snapshot id cleared (before anything is written, as the bundle comes after the fetch;
   * nothing to clear under an id fixed by this attempt), the key and the parent's manifest read. `preparing` is always
   * settled before `locked` ends, so nothing of it runs after the repository's lock is released.
   */
  private async begin(
    o: Omit<Attempt, 'snapshotId' | 'prefix' | 'storageRoot' | 'store' | 'preparing' | 'artifacts' | 'warnings'>,
  ): Promise<Attempt> {
    const { item, run, parent, ctx } = o;
    const snapshotId = fixedSnapshotId(item);
    const prefix = snapshotPrefix(o.organization.id, o.repository.id, snapshotId);
    const storageRoot = this.deps.stores.rootFor(run.policy);
    const store = await this.deps.stores.at(storageRoot);
    const preparing = (async () => {
      await clearEarlierAttempt(ctx, store, prefix);
      const encryption = await this.deps.encryptionKey(run);
      const parentManifest = parent ? await this.deps.reader.manifest(parent) : null;
      return { encryption, parentManifest };
    })();
    preparing.catch(() => undefined); // awaited later; a fetch failing first must not leave it unhandled
    return { ...o, snapshotId, prefix, storageRoot, store, preparing, artifacts: [], warnings: [] };
  }

  /** Bundles of what came through a local mirror, then the manifest (listing the bundles first) and the row. */
  private async commit(a: Attempt, access: Access, t: Transferred): Promise<SnapshotEntity> {
    const { run, repository, organization, ctx } = a;
    const { encryption } = await a.preparing;
    ctx.progress({ phase: 'BUNDLING' });
    const bundle = { store: a.store, prefix: a.prefix, scratch: a.scratch, encryption, artifacts: a.artifacts };
    const git = await this.git.finish(t.repositoryGit, {
      ...bundle,
      mirror: mirrorOf(this.deps.workDir, repository, 'git'),
      path: 'repository.bundle',
      kind: 'GIT_BUNDLE',
    });
    a.steps.mark('bundle');
    const wiki = await this.git.finish(t.wikiGit, {
      ...bundle,
      mirror: mirrorOf(this.deps.workDir, repository, 'wiki'),
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
}

/**
 * The bundles streamed straight from GitLab that `proven` holds for: git checked them as they came
 * (`checked`, pack-check.ts: verification need not read them back into git), or the storage read
 * them back as it wrote them (`readBack`: verification need not re-read and re-hash them).
 */
function streamedBundles(t: Transferred, proven: (f: Extract<Fetched, { via: 'direct' }>) => boolean): string[] {
  return [t.repositoryGit, t.wikiGit].flatMap((f) =>
    f?.via === 'direct' && proven(f) && f.state.bundle ? [f.state.bundle] : [],
  );
}
