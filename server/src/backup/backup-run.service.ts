/**
 * Backup runs. `runNow` (and the scheduler) create a run with one item per repository and queue
 * the `backup.run` job; that job refreshes what GitLab says about the repositories and fans out
 * one `backup.repository` job per item, biggest first, so several workers share a run. Each
 * item job ends by trying to finish the run; a conditional UPDATE makes exactly one of them do it.
 * Every state change is published as BackupProgressed; a run always ends with a terminal event.
 */
import { In, IsNull, Not, type DataSource, type Repository } from 'typeorm';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import { GroupEntity, OrganizationEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { isConnectionError } from '../shared/db-errors.js';
import { untilDatabaseReachable } from '../shared/database-outage.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import {
  BackupRunEntity,
  BackupRunItemEntity,
  TERMINAL_ITEM_STATUSES,
  TERMINAL_RUN_STATUSES,
  type BackupRunStatus,
  type BackupTrigger,
} from './backup.entity.js';
import { backupAlreadyRunning, backupRunNotFound, nothingToBackUp } from './backup.errors.js';
import type { BackupProgressed } from './backup.events.js';
import type { PolicyService } from './policy.service.js';
import type { CopyType } from './policy.types.js';
import { ProgressThrottle } from './progress-throttle.js';
import { backoffMs } from '../gitlab/retry-policy.js';
import { windowEndsAt as windowEndsAt_ } from './backup-window.js';
import { ITEM_ATTEMPTS, type ItemProgress } from './backup-item.js';
import type { RepositoryBackup } from './repository-backup.js';
import { ACTIVITY_GRANULARITY_MS } from './skip-unchanged.js';

export interface RunFilter {
  organizationId?: string | null;
  status?: BackupRunStatus | null;
}

/** Longest Retry-After a requeued repository waits for before going back to the queue. */
const MAX_REQUEUE_WAIT_MS = 60_000;
/** First backoff step of a requeued item when GitLab named no time (doubling per try, as the transport's). */
const REQUEUE_BASE_DELAY_MS = 2_000;

export interface BackupRunServiceDeps {
  dataSource: DataSource;
  policies: PolicyService;
  sessions: GitLabSessions;
  queue: JobQueue;
  repositoryBackup: RepositoryBackup;
  clock: Clock;
  logger: Logger;
  publish: (event: BackupProgressed) => void;
  /** The organization's default worker's name when it is ONLINE, else null (any worker). Default: any worker. */
  preferredWorker?: (organizationId: string) => Promise<string | null>;
}

export class BackupRunService {
  private readonly dataSource: DataSource;
  private readonly policies: PolicyService;
  private readonly sessions: GitLabSessions;
  private readonly queue: JobQueue;
  private readonly repositoryBackup: RepositoryBackup;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly preferredWorker: (organizationId: string) => Promise<string | null>;
  private readonly runs: Repository<BackupRunEntity>;
  private readonly items: Repository<BackupRunItemEntity>;
  private readonly throttle: ProgressThrottle<BackupProgressed>;
  private readonly lastCounts = new Map<string, { total: number; done: number; failed: number }>();
  /** Abort controllers of items running in this process, for cancellation. */
  private readonly running = new Map<string, AbortController>();
  /** Per run with items running in this process: the shared look at its row (see watch). */
  private readonly watches = new Map<
    string,
    { timer: NodeJS.Timeout; items: Map<string, { run: BackupRunEntity; controller: AbortController }> }
  >();

  constructor(deps: BackupRunServiceDeps) {
    this.dataSource = deps.dataSource;
    this.policies = deps.policies;
    this.sessions = deps.sessions;
    this.queue = deps.queue;
    this.repositoryBackup = deps.repositoryBackup;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.preferredWorker = deps.preferredWorker ?? (async () => null);
    this.runs = deps.dataSource.getRepository(BackupRunEntity);
    this.items = deps.dataSource.getRepository(BackupRunItemEntity);
    this.throttle = new ProgressThrottle(deps.publish);
  }

  async get(id: string): Promise<BackupRunEntity> {
    const run = /^[0-9a-f-]{36}$/i.test(id) ? await this.runs.findOneBy({ id }) : null;
    if (!run) throw backupRunNotFound(id);
    return run;
  }

  async list(filter: RunFilter, page: { offset: number; limit: number }) {
    const where = {
      ...(filter.organizationId ? { organizationId: filter.organizationId } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    const [items, total] = await this.runs.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: page.offset,
      take: page.limit,
    });
    return { items, total };
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

  async counts(runId: string) {
    const rows: { status: string; n: number }[] = await this.items
      .createQueryBuilder('i')
      .select('i.status', 'status')
      .addSelect('count(*)::int', 'n')
      .where('i.run_id = :runId', { runId })
      .groupBy('i.status')
      .getRawMany();
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
    const total = rows.reduce((n, r) => n + r.n, 0);
    const done = TERMINAL_ITEM_STATUSES.reduce((n, s) => n + (by[s] ?? 0), 0);
    return { total, done, failed: by.FAILED ?? 0, by };
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
    await this.emitRun(run);
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
    for (const item of await this.items.findBy({ runId, status: 'RUNNING' })) this.running.get(item.id)?.abort();
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
    await this.emitRun(run);
    try {
      await this.refreshRepositories(run);
    } catch (error) {
      this.logger.warn(
        { err: error, runId },
        'could not refresh repository facts from GitLab; every repository will be fetched',
      );
    }
    const unchanged = await this.markProvablyUnchanged(run);
    const items = await this.items.find({ where: { runId, status: 'QUEUED' } });
    items.sort((a, b) => Number(b.sizeHint) - Number(a.sizeHint));
    if (unchanged > 0) await this.emitRun(run);
    const worker = await this.preferredWorker(run.organizationId);
    if (worker) this.logger.info({ runId, worker }, "run routed to the organization's default worker");
    for (const item of items) await this.queue.enqueue('backup.repository', { runId, itemId: item.id }, { worker });
    await this.maybeFinish(runId);
  }

  /** The `backup.repository` job. */
  async runItem(runId: string, itemId: string, touch: () => Promise<void>): Promise<void> {
    const [run, item] = await Promise.all([this.get(runId), this.items.findOneBy({ id: itemId })]);
    if (!item || TERMINAL_ITEM_STATUSES.includes(item.status)) return void (await this.maybeFinish(runId));
    if (run.cancelRequestedAt || this.windowClosed(run)) {
      await this.finishItem(run, item, this.stopReason(run));
      return;
    }
    await this.items.update(
      { id: itemId },
      { status: 'RUNNING', phase: 'FETCHING', attempts: item.attempts + 1, startedAt: this.clock.now() },
    );
    Object.assign(item, { status: 'RUNNING', phase: 'FETCHING', attempts: item.attempts + 1 });
    const controller = new AbortController();
    let databaseLost = false;
    this.running.set(itemId, controller);
    const unwatch = this.watch(run, itemId, controller);
    let metadataRecords = 0;
    let announced = false; // the first FETCHING is published, though the row has it already
    let git = { bytes: 0, objects: 0, total: null as number | null };
    const progress = (p: ItemProgress) => {
      const previousPhase = item.phase;
      const phaseChanged = p.phase !== item.phase || (p.phase === 'FETCHING' && !announced);
      announced = true;
      item.phase = p.phase;
      if (p.git)
        git = {
          bytes: p.git.bytes ?? git.bytes,
          objects: p.git.objects ?? git.objects,
          total: p.git.totalObjects ?? git.total,
        };
      if (p.metadataRecords !== undefined) metadataRecords = p.metadataRecords;
      if (p.phase !== previousPhase) void this.items.update({ id: itemId }, { phase: p.phase });
      void this.emitItem(run, item, { git, metadataRecords }, phaseChanged);
    };
    try {
      const outcome = await this.repositoryBackup.run(run, item, {
        signal: controller.signal,
        touch,
        progress,
        canRetryLater: item.attempts < ITEM_ATTEMPTS,
      });
      await this.finishItem(run, item, {
        status: outcome.status,
        snapshotId: outcome.snapshot?.id ?? null,
        warnings: outcome.warnings,
        bytesReceived: String(git.bytes),
        objectsReceived: git.objects,
        bytesWritten: outcome.status === 'UNCHANGED' ? '0' : outcome.snapshot.sizeBytes,
      });
    } catch (error) {
      const stopped = controller.signal.aborted;
      if (!stopped && isConnectionError(error)) {
        // The database went away mid-item: nothing about the repository failed. Try it again
        // once the database is back (an earlier attempt's leftovers are cleared as after a crash).
        databaseLost = true;
        return;
      }
      const domain = error instanceof DomainError ? error : null;
      if (!stopped && domain?.retryable && item.attempts < ITEM_ATTEMPTS) {
        await this.retryLater(run, item, domain);
        return;
      }
      if (!stopped)
        this.logger.error({ err: error, runId, repositoryId: item.repositoryId }, 'repository backup failed');
      await this.finishItem(
        run,
        item,
        stopped
          ? this.stopReason(await this.get(runId))
          : {
              status: 'FAILED',
              errorCode: domain?.code ?? 'INTERNAL',
              errorMessage: domain?.message ?? 'unexpected error (see the worker log)',
            },
      );
    } finally {
      unwatch();
      this.running.delete(itemId);
      if (databaseLost) {
        this.logger.warn(
          { runId, repositoryId: item.repositoryId },
          'database lost during a repository backup: it starts again when the database is back',
        );
        await untilDatabaseReachable(() => this.dataSource.query('SELECT 1'), touch);
        await this.runItem(runId, itemId, touch);
      }
    }
  }

  /**
   * A repository whose transfer or metadata listing failed transiently (GitLab 5xx or 429, a cut
   * connection) after the transport's own retries goes back to the end of the queue, so it is tried
   * again later in the same run instead of ending FAILED or PARTIAL; after ITEM_ATTEMPTS it ends
   * with the reason. It waits GitLab's Retry-After when named, else a backoff step, first.
   */
  private async retryLater(run: BackupRunEntity, item: BackupRunItemEntity, error: DomainError): Promise<void> {
    this.logger.warn(
      { runId: run.id, itemId: item.id, path: item.pathWithNamespace, attempt: item.attempts, reason: error.message },
      'repository backup failed transiently; retried later in this run',
    );
    // GitLab named a time (429/503 Retry-After): the repository's next try honours it too.
    const waitMs =
      typeof error.details?.retryAfterMs === 'number'
        ? Math.min(error.details.retryAfterMs, MAX_REQUEUE_WAIT_MS)
        : backoffMs(
            { baseDelayMs: REQUEUE_BASE_DELAY_MS, maxDelayMs: MAX_REQUEUE_WAIT_MS, random: Math.random },
            item.attempts,
          );
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    await this.items.update({ id: item.id }, { status: 'QUEUED', phase: 'QUEUED' });
    const worker = await this.preferredWorker(run.organizationId);
    await this.queue.enqueue('backup.repository', { runId: run.id, itemId: item.id }, { worker });
  }

  /**
   * Cancellation or the window's end may come from another process: the items of a run running
   * here share one look at the run row a second (one query, not one per item). Returns the
   * function that stops watching this item.
   */
  private watch(run: BackupRunEntity, itemId: string, controller: AbortController): () => void {
    let watch = this.watches.get(run.id);
    if (!watch) {
      const items = new Map<string, { run: BackupRunEntity; controller: AbortController }>();
      const timer = setInterval(() => {
        void this.runs.findOneBy({ id: run.id }).then(
          (current) => {
            if (!current || !(current.cancelRequestedAt || this.windowClosed(current))) return;
            for (const entry of items.values()) {
              Object.assign(entry.run, { cancelRequestedAt: current.cancelRequestedAt });
              entry.controller.abort();
            }
          },
          () => undefined,
        );
      }, 1000);
      timer.unref();
      watch = { timer, items };
      this.watches.set(run.id, watch);
    }
    const current = watch;
    current.items.set(itemId, { run, controller });
    return () => {
      current.items.delete(itemId);
      if (current.items.size > 0) return;
      clearInterval(current.timer);
      if (this.watches.get(run.id) === current) this.watches.delete(run.id);
    };
  }

  private windowClosed(run: BackupRunEntity): boolean {
    return run.windowEndsAt !== null && this.clock.now() >= run.windowEndsAt;
  }

  private stopReason(run: BackupRunEntity): Partial<BackupRunItemEntity> {
    return run.cancelRequestedAt
      ? { status: 'CANCELED', errorCode: 'CANCELED', errorMessage: 'canceled by a user' }
      : {
          status: 'CANCELED',
          errorCode: 'TIMED_OUT',
          errorMessage: 'the backup window closed before this repository was backed up',
        };
  }

  private async finishItem(run: BackupRunEntity, item: BackupRunItemEntity, changes: Partial<BackupRunItemEntity>) {
    // The snapshot id is fixed on the item before its first artifact; an item that ends without
    // committing that snapshot must not name it (the job set it on the row, not on this object).
    if ((changes.status === 'FAILED' || changes.status === 'CANCELED') && !('snapshotId' in changes)) {
      await this.dataSource.query(
        `UPDATE backup_run_items i SET snapshot_id = NULL
          WHERE i.id = $1 AND i.snapshot_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.id = i.snapshot_id)`,
        [item.id],
      );
    }
    Object.assign(item, changes, { phase: 'DONE', finishedAt: this.clock.now() });
    this.logger.info(
      { runId: run.id, itemId: item.id, path: item.pathWithNamespace, status: item.status },
      'backup item finished',
    );
    await this.items.update({ id: item.id }, { ...changes, phase: 'DONE', finishedAt: item.finishedAt });
    this.throttle.clear(item.id);
    const counts = await this.emitItem(
      run,
      item,
      {
        git: { bytes: Number(item.bytesReceived ?? 0), objects: item.objectsReceived ?? 0, total: null },
        metadataRecords: 0,
      },
      true,
    );
    await this.maybeFinish(run.id, counts ?? undefined);
  }

  /** Ends the run when every item is terminal; only the caller whose UPDATE wins publishes it. */
  async maybeFinish(
    runId: string,
    countedAfterUpdate?: Awaited<ReturnType<BackupRunService['counts']>>,
  ): Promise<void> {
    // Counts taken after this process's last item update are as good as new ones: whichever
    // finisher counts last sees every item terminal.
    const counts = countedAfterUpdate ?? (await this.counts(runId));
    if (counts.done < counts.total) return;
    const run = await this.get(runId);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return;
    const ok = (counts.by.SUCCEEDED ?? 0) + (counts.by.UNCHANGED ?? 0);
    const status: BackupRunStatus = run.cancelRequestedAt
      ? 'CANCELED'
      : this.windowClosed(run) && (counts.by.CANCELED ?? 0) > 0
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
    await this.emitRun(await this.get(runId));
  }

  /** Fresh facts from one listing of the organization's projects, written in one statement. */
  private async refreshRepositories(run: BackupRunEntity) {
    const org = await this.dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: run.organizationId });
    const projects = await this.sessions.withGitLab(org.connectionId, async (client) =>
      org.kind === 'GROUP'
        ? client.listGroupProjects(org.gitlabNamespaceId)
        : client.listUserProjects((await client.currentUser()).id),
    );
    if (projects.length === 0) return;
    await this.dataSource.query(
      `UPDATE repositories AS r
          SET last_activity_at = v.last_activity_at, default_branch = v.default_branch, http_url_to_repo = v.url,
              is_empty = v.is_empty, has_wiki = v.has_wiki, has_lfs = v.has_lfs, lfs_objects_size = v.lfs_objects_size
         FROM unnest($1::int[], $2::timestamptz[], $3::text[], $4::text[], $5::bool[], $6::bool[], $8::bool[], $9::bigint[])
              AS v(project_id, last_activity_at, default_branch, url, is_empty, has_wiki, has_lfs, lfs_objects_size)
        WHERE r.organization_id = $7 AND r.gitlab_project_id = v.project_id`,
      [
        projects.map((p) => p.id),
        projects.map((p) => p.lastActivityAt),
        projects.map((p) => p.defaultBranch),
        projects.map((p) => p.httpUrlToRepo),
        projects.map((p) => p.emptyRepo),
        projects.map((p) => p.wikiEnabled),
        org.id,
        projects.map((p) => p.lfsEnabled),
        // LFS storage decides whether a backup keeps a local mirror (repository-backup.ts); null: not visible to this token
        projects.map((p) => (p.statistics ? String(p.statistics.lfsObjectsSize) : null)),
      ],
    );
  }

  /**
   * Marks, in one statement, every repository item that GitLab's data proves unchanged since its
   * latest snapshot of the current chain (see isProvablyUnchanged): no job, no git, no lock.
   * Returns how many. A FULL run, or a repository without a full in the chain, is never skipped;
   * nor is one whose latest snapshot is incomplete or failed verification (its job fetches the
   * missing data again), or not yet verified when the policy verifies (its job verifies it).
   */
  private async markProvablyUnchanged(run: BackupRunEntity): Promise<number> {
    if (run.copyType === 'FULL') return 0;
    const rows: unknown[] = await this.dataSource.query(
      `WITH latest AS (
         SELECT DISTINCT ON (s.repository_id) s.repository_id, s.id, s.created_at, s.is_complete, s.verification_status
           FROM snapshots s
          WHERE s.organization_id = $1 AND s.chain_key = $2 AND s.repository_id IS NOT NULL
          ORDER BY s.repository_id, s.created_at DESC
       ), chained AS (
         SELECT DISTINCT repository_id FROM snapshots WHERE organization_id = $1 AND chain_key = $2 AND copy_type = 'FULL'
       )
       UPDATE backup_run_items AS i
          SET status = 'UNCHANGED', phase = 'DONE', snapshot_id = l.id, finished_at = $5
         FROM latest l, chained c, repositories r
        WHERE i.run_id = $3 AND i.status = 'QUEUED' AND i.repository_id = l.repository_id
          AND c.repository_id = l.repository_id AND r.id = i.repository_id
          AND r.last_activity_at IS NOT NULL AND r.last_activity_at <= l.created_at - ($4 || ' milliseconds')::interval
          AND l.is_complete AND (l.verification_status = 'VERIFIED' OR (NOT $6 AND l.verification_status <> 'FAILED'))
       RETURNING i.id`,
      [
        run.organizationId,
        run.chainKey,
        run.id,
        String(ACTIVITY_GRANULARITY_MS),
        this.clock.now(),
        run.policy.verifyAfterBackup,
      ],
    );
    const count = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
    if (count > 0)
      this.logger.info({ runId: run.id, unchanged: count }, 'repositories provably unchanged: skipped without git');
    return count;
  }

  private async emitRun(run: BackupRunEntity) {
    const counts = await this.counts(run.id);
    const isTerminal = TERMINAL_RUN_STATUSES.includes(run.status);
    if (isTerminal) this.lastCounts.delete(run.id);
    else this.lastCounts.set(run.id, counts);
    this.throttle.push(`run:${run.id}`, this.event(run, counts, null, isTerminal), true);
  }

  private async emitItem(
    run: BackupRunEntity,
    item: BackupRunItemEntity,
    p: { git: { bytes: number; objects: number; total: number | null }; metadataRecords: number },
    force: boolean,
  ) {
    // Counting items is a query: done when an item ends; phase changes reuse the last numbers —
    // but a process that has not counted this run yet (another worker finished its items) counts
    // once, rather than announce 0 done.
    const counted = item.phase === 'DONE' || !this.lastCounts.has(run.id) ? await this.counts(run.id) : null;
    const counts = counted ?? this.lastCounts.get(run.id) ?? { total: run.itemsTotal, done: 0, failed: 0 };
    this.lastCounts.set(run.id, counts);
    this.throttle.push(
      item.id,
      this.event(
        run,
        counts,
        {
          itemId: item.id,
          repositoryId: item.repositoryId,
          groupId: item.groupId,
          pathWithNamespace: item.pathWithNamespace,
          status: item.status,
          phase: item.phase,
          bytesReceived: p.git.bytes,
          objectsReceived: p.git.objects,
          totalObjects: p.git.total,
          metadataRecords: p.metadataRecords,
          errorMessage: item.errorMessage ?? null,
        },
        false,
      ),
      force,
    );
    return counted;
  }

  private event(
    run: BackupRunEntity,
    counts: { total: number; done: number; failed: number },
    item: BackupProgressed['item'],
    isTerminal: boolean,
  ): BackupProgressed {
    return {
      organizationId: run.organizationId,
      runId: run.id,
      runStatus: run.status,
      itemsTotal: counts.total,
      itemsDone: counts.done,
      itemsFailed: counts.failed,
      item,
      isTerminal,
      at: this.clock.now().toISOString(),
    };
  }
}
