/**
 * The `retention.prune` job: applies each organization's retention (retention-policy.ts, a pure
 * function) to its snapshots and deletes exactly what it decides to forget, once every finished
 * run of the organization went through the anomaly rules (their pins are kept). Dependents are
 * deleted before what they depend on (newest first), so a delete never strands a chain.
 *
 * Then LFS objects: they are stored once per repository and shared by its snapshots, so deleting
 * snapshots does not delete them. After each organization's snapshots, every repository's LFS
 * objects that no remaining manifest lists are deleted (SnapshotService.pruneLfsObjects, under the
 * repository's lock; a repository being backed up is swept on the next pass). This runs on every
 * pass, not only after deletions here, so it also catches snapshots deleted by hand and a pass that
 * crashed between the two steps.
 */
import { IsNull, Not, type DataSource } from 'typeorm';
import { GroupEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { BackupPolicyEntity } from './backup.entity.js';
import { applyRetention, type RetentionResult } from './retention-policy.js';
import type { SnapshotService } from './snapshot.service.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';

export class RetentionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly snapshots: SnapshotService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Which of these snapshots are pinned (kept until unpinned); none by default. */
    private readonly pinnedAmong: (snapshotIds: string[]) => Promise<Set<string>> = async () => new Set(),
    /**
     * Whether every finished run of the organization went through the anomaly rules (evaluating
     * those that wait first). Until then nothing of it is forgotten: the pin an anomaly puts on its
     * last good snapshot may still be on its way.
     */
    private readonly settledFor: (organizationId: string) => Promise<boolean> = async () => true,
  ) {}

  /** Prunes one organization, or all. Returns what was decided, per organization. */
  async prune(organizationId?: string | null): Promise<Record<string, RetentionResult>> {
    const policies = await this.dataSource
      .getRepository(BackupPolicyEntity)
      .find({ where: organizationId ? { organizationId } : {} });
    const results: Record<string, RetentionResult> = {};
    const allRoots = new Set<string>();
    for (const policy of policies) {
      const rows = await this.dataSource
        .getRepository(SnapshotEntity)
        .find({ where: { organizationId: policy.organizationId } });
      const roots = [...new Set([...rows.map((r) => r.storageRoot), this.snapshots.rootFor(policy.value)])];
      for (const root of roots) allRoots.add(root);
      if (rows.length === 0) {
        await this.pruneLfs(policy.organizationId, roots);
        continue;
      }
      if (!(await this.settledFor(policy.organizationId))) {
        this.logger.info(
          { organizationId: policy.organizationId },
          'retention waits: a finished run has not been through the anomaly rules yet',
        );
        await this.pruneLfs(policy.organizationId, roots);
        continue;
      }
      // A group's snapshots are retained like a repository's: the group plays the repository's part.
      const owner = (r: SnapshotEntity) => (r.repositoryId ?? r.groupId)!;
      const gone = new Set([
        ...(
          await this.dataSource.getRepository(RepositoryEntity).find({
            select: { id: true },
            where: { organizationId: policy.organizationId, deletedUpstreamAt: Not(IsNull()) },
          })
        ).map((r) => r.id),
        ...(
          await this.dataSource.getRepository(GroupEntity).find({
            select: { id: true },
            where: { organizationId: policy.organizationId, deletedUpstreamAt: Not(IsNull()) },
          })
        ).map((g) => g.id),
      ]);
      const pinned = await this.pinnedAmong(rows.map((r) => r.id));
      // A snapshot is locked until the last lock of its copies ends: its primary's and its replicas'.
      const replicaLocks = await this.snapshots.replicaLocks(
        rows.map((r) => r.id),
        this.clock.now(),
      );
      const lockEnd = (r: SnapshotEntity) => {
        const replica = replicaLocks.get(r.id) ?? null;
        return !r.lockedUntil || (replica && replica > r.lockedUntil) ? replica : r.lockedUntil;
      };
      const result = applyRetention(
        rows.map((r) => ({
          id: r.id,
          repositoryId: owner(r),
          copyType: r.copyType,
          createdAt: r.createdAt,
          parentId: r.parentId,
          repositoryDeletedUpstream: gone.has(owner(r)),
          isPinned: pinned.has(r.id),
          lockedUntil: lockEnd(r),
        })),
        policy.value.retention,
        this.clock.now(),
      );
      const created = new Map(rows.map((r) => [r.id, r.createdAt.getTime()]));
      const doomed = [...result.forget].sort((a, b) => created.get(b.id)! - created.get(a.id)!);
      for (const decision of doomed)
        await this.snapshots.delete(decision.id, { reason: `retention: ${decision.reasons.join('; ')}` });
      if (doomed.length > 0)
        this.logger.info({ organizationId: policy.organizationId, deleted: doomed.length }, 'retention applied');
      await this.pruneLfs(policy.organizationId, roots);
      results[policy.organizationId] = result;
    }
    // What failed or killed writes left behind (unpublished snapshot folders, stale temp files).
    for (const root of allRoots) {
      await this.snapshots
        .sweepUnpublished(root)
        .catch((error: unknown) => this.logger.warn({ err: error, root }, 'storage sweep failed'));
    }
    return results;
  }

  /** Every repository of the organization, including those deleted upstream (their objects count too). */
  private async pruneLfs(organizationId: string, roots: string[]): Promise<void> {
    const repositories = await this.dataSource
      .getRepository(RepositoryEntity)
      .find({ select: { id: true }, where: { organizationId } });
    for (const repository of repositories) {
      try {
        await this.snapshots.pruneLfsObjects(organizationId, repository.id, roots);
      } catch (error) {
        // One unreadable manifest or storage error must not stop retention for the others.
        this.logger.warn(
          { err: error, organizationId, repositoryId: repository.id },
          'LFS sweep of a repository failed; the next retention pass retries it',
        );
      }
    }
  }
}
