/**
 * Restore drills: proof, on a schedule, that backups restore.
 *
 * A drill picks a sample of the organization's repositories that have snapshots (at random, so
 * that over time every repository gets drilled; `sampleSize` of them, all when there are fewer),
 * takes the latest snapshot of each and restores its chain into a scratch target:
 * - LOCAL_BARE (git-only): drill-check.ts (the snapshot checker) — artifacts re-hashed, the chain unbundled into a fresh
 *   bare repository under `<data dir>/tmp/drill-*` (deleted afterwards), `git fsck --full`, refs
 *   compared with the manifest, LFS objects hashed, metadata decoded and counted.
 * - SCRATCH_NAMESPACE: the same checks of the stored files, then the restore's own NEW_PROJECT
 *   code into `<namespace>/drill-<drill id>-<project>` through the given Connection; every problem
 *   the restore reports (refs rejected, LFS or metadata failures) is a difference, and the pushed
 *   refs are compared with the manifest's. Cleanup: the drill project is deleted right after
 *   (GitLab deletes in the background, or marks for delayed deletion on tiers that have it); a
 *   project that could not be deleted is reported in the drill's result, never left silently.
 *   The namespace should be one kept for drills.
 *
 * Groups too: with *include groups* an organization keeps a metadata snapshot per group (labels,
 * milestones, members, epics), and a drill samples them as it samples repositories (`sampleSize`
 * of them, at random). LOCAL_BARE checks the stored files as above (artifacts re-hashed, every
 * metadata line parsed and counted); SCRATCH_NAMESPACE then restores the group with the restore's
 * own code as `<namespace>/drill-<drill id>-<group>`, where every problem the restore reports and
 * every captured type it could not write is a difference, and deletes that group (with delayed
 * deletion GitLab only marks it) and what the restore recorded for it.
 *
 * Each repository and group ends PASSED or FAILED with its differences; the drill is PASSED only
 * when every one passed. Damaged data never throws out of a drill: it is what the drill reports.
 * `runDrill` returns the QUEUED drill at once; the `drill.run` job executes it (at least once: a
 * retried job starts the repositories over).
 */
import { randomInt } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { In, type DataSource, type FindOptionsWhere, type Repository } from 'typeorm';
import type { GitLabClient } from '../gitlab/gitlab.port.js';
import type { PolicyService } from '../backup/policy.service.js';
import type { DrillPolicy } from '../backup/policy.types.js';
import { defaultPolicy } from '../backup/policy.defaults.js';
import { OrganizationEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { withAdvisoryLock } from '../shared/advisory-lock.js';
import { DomainError, validationError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { checkSnapshot } from './drill-check.js';
import {
  DrillRunEntity,
  type DrillGroupResult,
  type DrillRepositoryResult,
  type DrillTrigger,
} from './drill.entity.js';
import { fidelityOf } from './fidelity.js';
import { restoreGroupToNamespace } from './group-restore.js';
import type { DrillChanged } from './drill.events.js';
import { drillAlreadyRunning, drillRunNotFound } from './drill.errors.js';
import { requireWriteScopes, restoreToNewProject, type NewProjectDeps } from './new-project.js';
import { RestoreMappingEntity } from './restore-mapping.entity.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { SnapshotChecker } from '../snapshot/snapshot-checker.js';
import { findPage, type PageOf, type PageRequest } from '../shared/page.js';

/** The drill settings a manual drill uses when the policy has none. */
const FALLBACK_DRILL: DrillPolicy = defaultPolicy().drill!;

export interface DrillServiceDeps {
  dataSource: DataSource;
  policies: PolicyService;
  /** What a drill's restore into a scratch project needs (the same as a NEW_PROJECT restore's). */
  newProject: NewProjectDeps;
  queue: JobQueue;
  clock: Clock;
  logger: Logger;
  /** `drillChanged` for subscribers; nothing by default. */
  publish?: (event: DrillChanged) => void;
}

export class DrillService {
  private readonly runs: Repository<DrillRunEntity>;
  private readonly checker: SnapshotChecker;
  private readonly dataSource: DataSource;
  private readonly policies: PolicyService;
  private readonly deps: NewProjectDeps;
  private readonly queue: JobQueue;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly publish: (event: DrillChanged) => void;

  constructor(options: DrillServiceDeps) {
    this.dataSource = options.dataSource;
    this.policies = options.policies;
    this.deps = options.newProject;
    this.queue = options.queue;
    this.clock = options.clock;
    this.logger = options.logger;
    this.publish = options.publish ?? (() => undefined);
    this.runs = options.dataSource.getRepository(DrillRunEntity);
    this.checker = new SnapshotChecker({ reader: this.deps.reader, keyFor: this.deps.keyFor });
  }

  /** `drillChanged` for whoever watches the organization's drills (the drill panel). */
  private announce(run: DrillRunEntity): void {
    this.publish({
      drillRunId: run.id,
      organizationId: run.organizationId,
      status: run.status,
      repositoriesDone: run.results?.length ?? 0,
      isTerminal: run.status === 'PASSED' || run.status === 'FAILED',
      at: this.clock.now().toISOString(),
    });
  }

  async get(id: string): Promise<DrillRunEntity> {
    const run = /^[0-9a-f-]{36}$/i.test(id) ? await this.runs.findOneBy({ id }) : null;
    if (!run) throw drillRunNotFound(id);
    return run;
  }

  /** Drills of an organization, newest first. */
  list(organizationId: string, page: PageRequest): Promise<PageOf<DrillRunEntity>> {
    return findPage(this.runs, { where: { organizationId }, order: { createdAt: 'DESC', id: 'DESC' } }, page);
  }

  /** The organization's latest drill (queued, running or finished), or null. */
  latest(organizationId: string): Promise<DrillRunEntity | null> {
    return this.runs.findOne({ where: { organizationId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /**
   * Queues a drill with the policy's drill settings (a LOCAL_BARE drill of 3 repositories when
   * the policy has none). Refuses while another drill of the organization is queued or running.
   */
  async runDrill(
    organizationId: string,
    options: { trigger?: DrillTrigger; scheduledFor?: Date | null } = {},
  ): Promise<DrillRunEntity> {
    if (
      !/^[0-9a-f-]{36}$/i.test(organizationId) ||
      !(await this.dataSource.getRepository(OrganizationEntity).existsBy({ id: organizationId }))
    ) {
      throw new DomainError('ORGANIZATION_NOT_FOUND', `organization ${organizationId} does not exist`, {
        details: { organizationId },
      });
    }
    const drill = (await this.policies.forOrganization(organizationId)).value.drill ?? FALLBACK_DRILL;
    const hasSnapshots = await this.dataSource
      .getRepository(SnapshotEntity)
      .createQueryBuilder('s')
      .where('s.organization_id = :organizationId AND s.repository_id IS NOT NULL', { organizationId })
      .getExists();
    if (!hasSnapshots)
      throw validationError({
        organizationId: 'this organization has no repository snapshot to drill yet: run a backup first',
      });
    const busy = await this.runs.findOne({
      where: [
        { organizationId, status: 'QUEUED' },
        { organizationId, status: 'RUNNING' },
      ],
    });
    if (busy) throw drillAlreadyRunning(organizationId, busy.id);
    if (drill.target.kind === 'SCRATCH_NAMESPACE') {
      // Checked now rather than per repository: a drill that cannot write would only repeat it.
      const connection = await this.deps.connections.get(drill.target.connectionId);
      requireWriteScopes(connection, ['api'], 'create drill projects');
    }
    const run = this.runs.create({
      id: newId(),
      organizationId,
      trigger: options.trigger ?? 'MANUAL',
      target: drill.target.kind,
      targetOptions:
        drill.target.kind === 'SCRATCH_NAMESPACE'
          ? { connectionId: drill.target.connectionId, namespacePath: drill.target.namespacePath }
          : null,
      sampleSize: drill.sampleSize,
      status: 'QUEUED',
      results: [],
      errorMessage: null,
      scheduledFor: options.scheduledFor ?? null,
      startedAt: null,
      finishedAt: null,
    });
    await this.runs.insert(run as never);
    await this.queue.enqueue('drill.run', { drillRunId: run.id });
    this.announce(run);
    this.logger.info(
      { drillRunId: run.id, organizationId, target: run.target, sampleSize: run.sampleSize, trigger: run.trigger },
      'drill queued',
    );
    return this.get(run.id);
  }

  /**
   * A scheduled drill that could not start (its connection cannot write, say) is recorded as a
   * FAILED drill with the reason, so the organization's latest drill shows it rather than a log
   * line nobody reads.
   */
  async recordNotStarted(organizationId: string, scheduledFor: Date, reason: string): Promise<DrillRunEntity> {
    const drill = (await this.policies.forOrganization(organizationId)).value.drill ?? FALLBACK_DRILL;
    const now = this.clock.now();
    const run = this.runs.create({
      id: newId(),
      organizationId,
      trigger: 'SCHEDULED',
      target: drill.target.kind,
      targetOptions: null,
      sampleSize: drill.sampleSize,
      status: 'FAILED',
      results: [],
      errorMessage: `the scheduled drill could not start: ${reason}`.slice(0, 2000),
      scheduledFor,
      startedAt: now,
      finishedAt: now,
    });
    await this.runs.insert(run as never);
    this.announce(run);
    this.logger.warn({ drillRunId: run.id, organizationId, reason }, 'scheduled drill could not start');
    return run;
  }

  /** The `drill.run` job. */
  async execute(drillRunId: string): Promise<void> {
    // One execution of a drill at a time, across workers (see RestoreService.execute).
    await withAdvisoryLock(this.dataSource, `labkeeper:drill:${drillRunId}`, true, () => this.executeHeld(drillRunId));
  }

  private async executeHeld(drillRunId: string): Promise<void> {
    const run = await this.get(drillRunId);
    if (run.status !== 'QUEUED' && run.status !== 'RUNNING') return;
    await this.update(run, { status: 'RUNNING', startedAt: this.clock.now(), results: [], groupResults: [] });
    const started = Date.now();
    // One scratch folder per drill run: an attempt killed mid-way left its own, which this one
    // (the job's retry) clears first; it is removed again at the end.
    const scratchRoot = this.scratchRoot(run);
    await rm(scratchRoot, { recursive: true, force: true });
    try {
      const sample = await this.sample(run.organizationId, run.sampleSize, 'repository_id');
      const results: DrillRepositoryResult[] = [];
      for (const snapshot of sample) {
        results.push(await this.drillOne(run, snapshot));
        await this.update(run, { results });
      }
      const groupResults: DrillGroupResult[] = [];
      for (const snapshot of await this.sample(run.organizationId, run.sampleSize, 'group_id')) {
        groupResults.push(await this.drillGroup(run, snapshot));
        await this.update(run, { groupResults });
      }
      const failed = results.filter((r) => r.status === 'FAILED');
      const failedGroups = groupResults.filter((r) => r.status === 'FAILED');
      const counts = [
        failed.length ? `${failed.length} of ${results.length} repositories` : '',
        failedGroups.length ? `${failedGroups.length} of ${groupResults.length} groups` : '',
      ].filter(Boolean);
      await this.update(run, {
        status: counts.length === 0 && results.length + groupResults.length > 0 ? 'PASSED' : 'FAILED',
        finishedAt: this.clock.now(),
        errorMessage:
          results.length + groupResults.length === 0
            ? 'no repository or group snapshot to drill'
            : counts.length
              ? `${counts.join(' and ')} failed: ${[...failed, ...failedGroups].map((f) => `${f.path}: ${f.differences[0]}`).join(' | ')}`.slice(
                  0,
                  2000,
                )
              : null,
      });
      this.logger[counts.length ? 'warn' : 'info'](
        {
          drillRunId: run.id,
          organizationId: run.organizationId,
          repositories: results.length,
          groups: groupResults.length,
          failed: failed.length + failedGroups.length,
          durationMs: Date.now() - started,
        },
        'drill finished',
      );
    } catch (error) {
      this.logger.error({ err: error, drillRunId: run.id }, 'drill failed');
      await this.update(run, {
        status: 'FAILED',
        finishedAt: this.clock.now(),
        errorMessage: error instanceof DomainError ? error.message : 'unexpected error (see the worker log)',
      });
    } finally {
      await rm(scratchRoot, { recursive: true, force: true });
    }
  }

  /**
   * The latest snapshot of `size` repositories (or groups) picked at random among those with one,
   * so that over time every one gets drilled.
   */
  private async sample(
    organizationId: string,
    size: number,
    subject: 'repository_id' | 'group_id',
  ): Promise<SnapshotEntity[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT ON (${subject}) id FROM snapshots WHERE organization_id = $1 AND ${subject} IS NOT NULL ORDER BY ${subject}, created_at DESC, id DESC`,
      [organizationId],
    );
    const ids = rows.map((r) => r.id);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
    const picked = ids.slice(0, size);
    if (picked.length === 0) return [];
    const snapshots = await this.dataSource.getRepository(SnapshotEntity).findBy({ id: In(picked) });
    return picked.map((id) => snapshots.find((s) => s.id === id)!).filter(Boolean);
  }

  private scratchRoot(run: DrillRunEntity): string {
    return join(this.deps.workDir, 'tmp', `drill-${run.id}`);
  }

  private async drillOne(run: DrillRunEntity, snapshot: SnapshotEntity): Promise<DrillRepositoryResult> {
    const path = await this.pathOf(snapshot);
    const result = await this.drillSnapshot(run, snapshot, 'repository', () =>
      this.toScratchNamespace(run, snapshot, path),
    );
    return { repositoryId: snapshot.repositoryId!, path, ...result };
  }

  private async drillGroup(run: DrillRunEntity, snapshot: SnapshotEntity): Promise<DrillGroupResult> {
    const path = await this.groupPathOf(snapshot);
    const { checked, ...result } = await this.drillSnapshot(run, snapshot, 'group', () =>
      this.toScratchGroup(run, snapshot, path),
    );
    return { groupId: snapshot.groupId!, path, ...result, checked: { metadataRecords: checked.metadataRecords } };
  }

  /**
   * One sampled snapshot: its stored files checked in a scratch folder of its own, then, into a
   * scratch namespace and only when they are sound, `toScratch`. Whatever goes wrong is a
   * difference of this snapshot's: a drill reports, it does not throw.
   */
  private async drillSnapshot(
    run: DrillRunEntity,
    snapshot: SnapshotEntity,
    kind: 'repository' | 'group',
    toScratch: () => Promise<string[]>,
  ): Promise<Omit<DrillRepositoryResult, 'repositoryId' | 'path'>> {
    const started = Date.now();
    const scratch = join(this.scratchRoot(run), snapshot.id);
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });
    let outcome: { differences: string[]; checked: DrillRepositoryResult['checked']; chainLength: number };
    try {
      outcome = await checkSnapshot(this.checker, snapshot, scratch);
      if (run.target === 'SCRATCH_NAMESPACE' && outcome.differences.length === 0)
        outcome.differences.push(...(await toScratch()));
    } catch (error) {
      this.logger.warn({ err: error, drillRunId: run.id, snapshotId: snapshot.id }, `drill of a ${kind} failed`);
      outcome = {
        differences: [error instanceof Error ? error.message : String(error)],
        checked: { refs: 0, lfsObjects: 0, metadataRecords: 0 },
        chainLength: 0,
      };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    return {
      snapshotId: snapshot.id,
      chainLength: outcome.chainLength,
      status: outcome.differences.length === 0 ? 'PASSED' : 'FAILED',
      differences: outcome.differences,
      checked: outcome.checked,
      durationMs: Date.now() - started,
    };
  }

  /**
   * The group's metadata restored as a new group `<namespace>/drill-<id>-<group>`, compared with
   * what the snapshot captured (each type the restore could not write is a difference, with its
   * reason), then deleted.
   */
  private async toScratchGroup(run: DrillRunEntity, snapshot: SnapshotEntity, path: string): Promise<string[]> {
    const { connectionId, namespacePath } = run.targetOptions as { connectionId: string; namespacePath: string };
    const groupPath = `drill-${run.id.slice(0, 8)}-${path.split('/').at(-1)}`.slice(0, 255);
    const fullPath = `${namespacePath}/${groupPath}`;
    const differences: string[] = [];
    try {
      const outcome = await restoreGroupToNamespace(
        this.deps,
        snapshot,
        { connectionId, namespacePath, groupPath },
        { dryRun: false },
      );
      differences.push(...outcome.problems.map((p) => `scratch group ${fullPath}: ${p}`));
      // Failures are in the problems above; what the target could not take at all (a tier without epics) is here.
      for (const type of fidelityOf(await this.deps.reader.manifest(snapshot), outcome, { metadataLeftOut: null }))
        if (type.skipped > 0)
          differences.push(
            `scratch group ${fullPath}: ${type.type}: ${type.skipped} of ${type.captured} not restored${type.reasons.length ? ` (${type.reasons.join('; ')})` : ''}`,
          );
    } catch (error) {
      differences.push(`scratch group ${fullPath}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      const problem = await this.deleteScratchGroup(connectionId, fullPath);
      if (problem) differences.push(problem);
    }
    return differences;
  }

  /** Deletes a drill's group; returns why it could not be, or null (also when it was never created). */
  private deleteScratchGroup(connectionId: string, fullPath: string): Promise<string | null> {
    return this.deleteScratch(
      'group',
      connectionId,
      fullPath,
      async (client) => {
        const group = await client.getNamespace(fullPath).catch(() => null);
        if (group?.kind !== 'group') return null;
        await client.deleteGroup(group.id);
        return group.id;
      },
      (id) => [{ scope: `${connectionId}:group:${id}` }],
    );
  }

  private async groupPathOf(snapshot: SnapshotEntity): Promise<string> {
    const [row] = await this.dataSource.query<({ full_path: string } | undefined)[]>(
      'SELECT full_path FROM gitlab_groups WHERE id = $1',
      [snapshot.groupId],
    );
    return row?.full_path ?? snapshot.groupId!;
  }

  /** A NEW_PROJECT restore into the scratch namespace, compared and then deleted. */
  private async toScratchNamespace(run: DrillRunEntity, snapshot: SnapshotEntity, path: string): Promise<string[]> {
    const { connectionId, namespacePath } = run.targetOptions as { connectionId: string; namespacePath: string };
    const projectPath = `drill-${run.id.slice(0, 8)}-${path.split('/').at(-1)}`.slice(0, 255);
    const differences: string[] = [];
    try {
      const outcome = await restoreToNewProject(
        this.deps,
        snapshot,
        { connectionId, namespacePath, projectPath },
        { dryRun: false, includeMetadata: true },
      );
      differences.push(...outcome.problems.map((p) => `scratch project ${outcome.projectPath}: ${p}`));
      const manifest = await this.deps.reader.manifest(snapshot);
      const pushed = new Set([
        ...(outcome.git?.pushed ?? []),
        ...(outcome.git?.skipped ?? []).filter((s) => s.reason === 'already up to date').map((s) => s.ref),
      ]);
      const readOnly = new Set(
        (outcome.git?.skipped ?? []).filter((s) => s.reason.startsWith('read-only')).map((s) => s.ref),
      );
      for (const ref of Object.keys(manifest.git?.refs ?? {})) {
        if (!pushed.has(ref) && !readOnly.has(ref))
          differences.push(`scratch project ${outcome.projectPath}: ${ref} was not restored`);
      }
    } catch (error) {
      differences.push(
        `scratch project ${namespacePath}/${projectPath}: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      const problem = await this.deleteScratchProject(connectionId, `${namespacePath}/${projectPath}`);
      if (problem) differences.push(problem);
    }
    return differences;
  }

  /** Deletes a drill project; returns why it could not be, or null (also when it was never created). */
  private deleteScratchProject(connectionId: string, fullPath: string): Promise<string | null> {
    return this.deleteScratch(
      'project',
      connectionId,
      fullPath,
      async (client) => {
        const project = await client.getProject(fullPath).catch(() => null);
        if (project) await client.deleteProject(project.id);
        return project?.id ?? null;
      },
      (id) => [
        { scope: `${connectionId}:${id}` },
        { scope: `${connectionId}:projects`, kind: 'project', targetId: String(id) },
      ],
    );
  }

  /**
   * Deletes what a drill created at `fullPath` (`remove` answers its id, or null when there was
   * nothing), and what the restore recorded for it; returns why it could not be, or null.
   */
  private async deleteScratch(
    what: 'project' | 'group',
    connectionId: string,
    fullPath: string,
    remove: (client: GitLabClient) => Promise<number | null>,
    recorded: (id: number) => FindOptionsWhere<RestoreMappingEntity>[],
  ): Promise<string | null> {
    try {
      const deleted = await this.deps.sessions.withGitLab(connectionId, remove, { write: true });
      // what the restore recorded for it goes with it
      if (deleted !== null)
        for (const where of recorded(deleted)) await this.dataSource.getRepository(RestoreMappingEntity).delete(where);
      return null;
    } catch (error) {
      return `scratch ${what} ${fullPath} could not be deleted (${error instanceof Error ? error.message : String(error)}); delete it by hand`;
    }
  }

  private async pathOf(snapshot: SnapshotEntity): Promise<string> {
    const [row] = await this.dataSource.query<({ path_with_namespace: string } | undefined)[]>(
      'SELECT path_with_namespace FROM repositories WHERE id = $1',
      [snapshot.repositoryId],
    );
    return row?.path_with_namespace ?? snapshot.repositoryId!;
  }

  private async update(run: DrillRunEntity, changes: Partial<DrillRunEntity>): Promise<void> {
    Object.assign(run, changes);
    await this.runs.update({ id: run.id }, changes as never);
    this.announce(run);
  }
}
