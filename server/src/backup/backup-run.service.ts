/**
 * Backup runs. `runNow` (and the scheduler) create a run with one item per repository and queue
 * the `backup.run` job; that job refreshes what GitLab says about the repositories and fans out
 * one `backup.repository` job per item, biggest first, so several workers share a run. Each
 * item job ends by trying to finish the run; a conditional UPDATE makes exactly one of them do it.
 * Every state change is published as BackupProgressed; a run always ends with a terminal event.
 *
 * This file keeps a run's lifecycle (create, start and fan out, cancel, finish); beside it:
 * backup-run.facts.ts (GitLab's facts and the unchanged check before the fan-out),
 * backup-item.runner.ts (one item's job, its retries and its end), backup-run.progress.ts (the
 * events) and backup-run.watch.ts (stopping the items of a canceled or timed-out run).
 */
import { In, IsNull, Not, type DataSource, type Repository } from 'typeorm';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import { GroupEntity, OrganizationEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { warmConnections } from '../shared/warm-connections.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import {
  BackupRunEntity,
  BackupRunItemEntity,
  TERMINAL_RUN_STATUSES,
  type BackupRunStatus,
  type BackupTrigger,
} from './backup.entity.js';
import { backupAlreadyRunning, backupRunNotFound, nothingToBackUp } from './backup.errors.js';
import type { BackupProgressed } from './backup.events.js';
import type { PolicyService } from './policy.service.js';
import type { CopyType } from './policy.types.js';
import { RunProgress, type RunCounts } from './backup-run.progress.js';
import { RunWatches } from './backup-run.watch.js';
import { markProvablyUnchanged, refreshRepositories, type RunFactsDeps } from './backup-run.facts.js';
import { windowEndsAt as windowEndsAt_ } from './backup-window.js';
import { ItemRunner } from './backup-item.runner.js';
import type { RepositoryBackup } from './repository-backup.js';
import { findPage, type PageRequest } from '../shared/page.js';

/** Connections a run opens ahead of its first jobs (warmConnections): their lookups go two at a time. */
const RUN_START_CONNECTIONS = 6;

export interface RunFilter {
  organizationId?: string | null;
  status?: BackupRunStatus | null;
}

export interface BackupRunServiceDeps {
  dataSource: DataSource;
  policies: PolicyService;
  sessions: GitLabSessions;
  queue: JobQueue;
  repositoryBackup: RepositoryBackup;
  clock: Clock;
  logger: Logger;
  publish: (event: BackupProgressed) => void;
  /**
   * Marks the run's group items GitLab proves unchanged (group-unchanged.ts) and returns how many;
   * without it every group item gets a job.
   */
  markUnchangedGroups?: (run: BackupRunEntity) => Promise<number>;
  /** The organization's default worker's name when it is ONLINE, else null (any worker). Default: any worker. */
  preferredWorker?: (organizationId: string) => Promise<string | null>;
}

export class BackupRunService {
  private readonly dataSource: DataSource;
  private readonly policies: PolicyService;
  private readonly queue: JobQueue;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly preferredWorker: (organizationId: string) => Promise<string | null>;
  private readonly markUnchangedGroups: (run: BackupRunEntity) => Promise<number>;
  private readonly runs: Repository<BackupRunEntity>;
  private readonly items: Repository<BackupRunItemEntity>;
  private readonly progress: RunProgress;
  private readonly facts: RunFactsDeps;
  private readonly runner: ItemRunner;
  /** Stops the items of a run running in this process when the run is canceled or its window closes. */
  private readonly watches: RunWatches;

  constructor(deps: BackupRunServiceDeps) {
    this.dataSource = deps.dataSource;
    this.policies = deps.policies;
    this.queue = deps.queue;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.preferredWorker = deps.preferredWorker ?? (async () => null);
    this.markUnchangedGroups = deps.markUnchangedGroups ?? (async () => 0);
    this.runs = deps.dataSource.getRepository(BackupRunEntity);
    this.items = deps.dataSource.getRepository(BackupRunItemEntity);
    this.progress = new RunProgress(this.items, deps.clock, deps.publish);
    this.watches = new RunWatches(this.runs, deps.clock);
    this.facts = { dataSource: deps.dataSource, sessions: deps.sessions, clock: deps.clock, logger: deps.logger };
    this.runner = new ItemRunner({
      dataSource: deps.dataSource,
      queue: deps.queue,
      repositoryBackup: deps.repositoryBackup,
      clock: deps.clock,
      logger: deps.logger,
      progress: this.progress,
      watches: this.watches,
      getRun: (runId) => this.get(runId),
      maybeFinish: (runId, counts) => this.maybeFinish(runId, counts),
      preferredWorker: (organizationId) => this.preferredWorker(organizationId),
    });
  }

  async get(id: string): Promise<BackupRunEntity> {
    const run = /^[0-9a-f-]{36}$/i.test(id) ? await this.runs.findOneBy({ id }) : null;
    if (!run) throw backupRunNotFound(id);
    return run;
  }

  list(filter: RunFilter, page: PageRequest) {
    const where = {
      ...(filter.organizationId ? { organizationId: filter.organizationId } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    return findPage(this.runs, { where, order: { createdAt: 'DESC', id: 'DESC' } }, page);
  }

  itemsOf(runId: string): Promise<BackupRunItemEntity[]> {
    return this.items.find({ where: { runId }, order: { sizeHint: 'DESC', pathWithNamespace: 'ASC' } });
  }

  /** The items of several runs in one statement, each run's in `itemsOf` order. */
  itemsOfRuns(runIds: readonly string[]): Promise<BackupRunItemEntity[]> {
    if (runIds.length === 0) return Promise.resolve([]);
    return this.items.find({
      where: { runId: In([...runIds]) },
      order: { sizeHint: 'DESC', pathWithNamespace: 'ASC' },
    });
  }

  counts(runId: string): Promise<RunCounts> {
    return this.progress.counts(runId);
  }

  /** Creates a run (QUEUED) and queues it. `repositoryIds` narrows it to some protected repositories. */
  async runNow(
    organizationId: string,
    options: { repositoryIds?: string[] | null; trigger?: BackupTrigger; copyType?: CopyType } = {},
  ) {
    const org = await this.dataSource.getRepository(OrganizationEntity).findOneBy({ id: organizationId });
    if (!org)
      throw new DomainError('ORGANIZATION_NOT_FOUND', `organization ${organizationId} does not exist`, {
        details: { organizationId },
      });
    const active = await this.runs.findOne({ where: { organizationId, status: In(['QUEUED', 'RUNNING']) } });
    if (active) throw backupAlreadyRunning(organizationId, active.id);
    const policy = await this.policies.forOrganization(organizationId);
    const scope = policy.value.scope;
    const selected = options.repositoryIds ?? (scope.mode === 'SELECTED' ? scope.repositoryIds : null);
    const repositories = await this.dataSource.getRepository(RepositoryEntity).find({
      where: {
        organizationId,
        isProtected: true,
        deletedUpstreamAt: IsNull(),
        ...(selected ? { id: In(selected) } : {}),
      },
    });
    // With *include groups*, each group's metadata is an item of the run too (not with a repository selection).
    const groups =
      org.includeGroups && policy.value.include.groupMetadata.length > 0 && !options.repositoryIds
        ? await this.dataSource
            .getRepository(GroupEntity)
            .find({ where: { organizationId, deletedUpstreamAt: IsNull() } })
        : [];
    if (repositories.length === 0 && groups.length === 0) throw nothingToBackUp(organizationId);
    const run = this.runs.create({
      id: newId(),
      organizationId,
      trigger: options.trigger ?? 'MANUAL',
      copyType: options.copyType ?? 'INCREMENTAL',
      status: 'QUEUED',
      policy: policy.value,
      chainKey: policy.chainKey,
      itemsTotal: repositories.length + groups.length,
      bytesWritten: '0',
      errorCode: null,
      errorMessage: null,
      windowEndsAt: null,
      cancelRequestedAt: null,
      startedAt: null,
      finishedAt: null,
    });
    await this.dataSource.transaction(async (tx) => {
      await tx.getRepository(BackupRunEntity).insert(run);
      await tx.getRepository(BackupRunItemEntity).insert([
        ...repositories.map((r) => ({
          id: newId(),
          runId: run.id,
          repositoryId: r.id,
          groupId: null,
          pathWithNamespace: r.pathWithNamespace,
          status: 'QUEUED' as const,
          phase: 'QUEUED' as const,
          sizeHint: r.storageSize ?? r.repositorySize ?? '0',
          warnings: [],
        })),
        ...groups.map((g) => ({
          id: newId(),
          runId: run.id,
          repositoryId: null,
          groupId: g.id,
          pathWithNamespace: g.fullPath,
          status: 'QUEUED' as const,
          phase: 'QUEUED' as const,
          sizeHint: '0',
          warnings: [],
        })),
      ]);
    });
    this.logger.info(
      { runId: run.id, organizationId, repositories: repositories.length, groups: groups.length, trigger: run.trigger },
      'backup run queued',
    );
    await this.progress.emitRun(run);
    await this.queue.enqueue('backup.run', { runId: run.id });
    return run;
  }

  /** Requests cancellation: queued items are canceled now, running ones stop at their next step. */
  async cancel(runId: string): Promise<BackupRunEntity> {
    const run = await this.get(runId);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return run;
    await this.runs.update({ id: runId }, { cancelRequestedAt: this.clock.now() });
    await this.items.update(
      { runId, status: 'QUEUED' },
      { status: 'CANCELED', phase: 'DONE', finishedAt: this.clock.now() },
    );
    for (const item of await this.items.findBy({ runId, status: 'RUNNING' })) this.runner.abort(item.id);
    await this.maybeFinish(runId);
    return this.get(runId);
  }

  /** The `backup.run` job: refresh GitLab's facts, then fan out the repositories, biggest first. */
  async start(runId: string): Promise<void> {
    const run = await this.get(runId);
    if (run.status !== 'QUEUED') return;
    const startedAt = this.clock.now();
    // A scheduled run stops cleanly when its backup window closes (TIMED_OUT); Run now is not bound.
    const windowEndsAt =
      run.trigger === 'SCHEDULED' ? windowEndsAt_(run.policy.window, run.policy.timeZone, startedAt) : null;
    await this.runs.update({ id: runId, status: 'QUEUED' }, { status: 'RUNNING', startedAt, windowEndsAt });
    run.status = 'RUNNING';
    run.windowEndsAt = windowEndsAt;
    await this.progress.emitRun(run);
    void warmConnections(this.dataSource, RUN_START_CONNECTIONS); // while GitLab is asked for the facts
    try {
      await refreshRepositories(this.facts, run);
    } catch (error) {
      this.logger.warn(
        { err: error, runId },
        'could not refresh repository facts from GitLab; every repository will be fetched',
      );
    }
    let unchanged = await markProvablyUnchanged(this.facts, run);
    try {
      unchanged += await this.markUnchangedGroups(run);
    } catch (error) {
      this.logger.warn({ err: error, runId }, 'could not compare groups with GitLab; every group will be backed up');
    }
    const items = await this.items.find({ where: { runId, status: 'QUEUED' } });
    items.sort((a, b) => Number(b.sizeHint) - Number(a.sizeHint));
    if (unchanged > 0) await this.progress.emitRun(run);
    const worker = await this.preferredWorker(run.organizationId);
    if (worker) this.logger.info({ runId, worker }, "run routed to the organization's default worker");
    for (const item of items) await this.queue.enqueue('backup.repository', { runId, itemId: item.id }, { worker });
    await this.maybeFinish(runId);
  }

  /** The `backup.repository` job (backup-item.runner.ts); `shutdown` ends a wait for a lost database when the process stops. */
  runItem(runId: string, itemId: string, touch: () => Promise<void>, shutdown?: AbortSignal): Promise<void> {
    return this.runner.run(runId, itemId, touch, shutdown);
  }

  /** Ends the run when every item is terminal; only the caller whose UPDATE wins publishes it. */
  async maybeFinish(runId: string, countedAfterUpdate?: RunCounts): Promise<void> {
    // Counts taken after this process's last item update are as good as new ones: whichever
    // finisher counts last sees every item terminal.
    const counts = countedAfterUpdate ?? (await this.counts(runId));
    if (counts.done < counts.total) return;
    const run = await this.get(runId);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return;
    const ok = (counts.by.SUCCEEDED ?? 0) + (counts.by.UNCHANGED ?? 0);
    const status: BackupRunStatus = run.cancelRequestedAt
      ? 'CANCELED'
      : this.watches.windowClosed(run) && (counts.by.CANCELED ?? 0) > 0
        ? 'TIMED_OUT'
        : ok === counts.total
          ? 'SUCCEEDED'
          : ok + (counts.by.PARTIAL ?? 0) === 0
            ? 'FAILED'
            : 'PARTIAL';
    const [{ sum }] = await this.items
      .createQueryBuilder('i')
      .select('coalesce(sum(i.bytes_written), 0)::text', 'sum')
      .where('i.run_id = :runId', { runId })
      .getRawMany<{ sum: string }>();
    const finished = await this.runs.update(
      { id: runId, status: Not(In(TERMINAL_RUN_STATUSES)) },
      {
        status,
        finishedAt: this.clock.now(),
        bytesWritten: sum,
        errorMessage:
          status === 'PARTIAL' || status === 'FAILED'
            ? `${counts.total - ok} of ${counts.total} repositories did not complete`
            : null,
      },
    );
    if (finished.affected !== 1) return;
    this.logger.info({ runId, status, items: counts.total, failed: counts.failed }, 'backup run finished');
    await this.progress.emitRun(await this.get(runId));
  }
}
