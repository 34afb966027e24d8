/**
 * Running one item of a run (the `backup.repository` job): the repository's (or group's) backup
 * with its progress and cancellation, then its end. A transient failure sends the item back to the
 * queue for a later try within the run (retryLater); a lost database waits for the database and
 * starts the item again; anything else ends the item, and the run when it was the last.
 */
import type { DataSource, Repository } from 'typeorm';
import { backoffMs } from '../gitlab/retry-policy.js';
import type { Clock } from '../shared/clock.js';
import { isConnectionError } from '../shared/db-errors.js';
import { newId } from '../shared/ids.js';
import { untilDatabaseReachable } from '../shared/database-outage.js';
import { DomainError } from '../shared/errors.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { BackupRunItemEntity, TERMINAL_ITEM_STATUSES, type BackupRunEntity } from './backup.entity.js';
import { ITEM_ATTEMPTS, type ItemProgress } from './backup-item.js';
import type { RunCounts, RunProgress } from './backup-run.progress.js';
import { stopReason, type RunWatches } from './backup-run.watch.js';
import type { RepositoryBackup } from './repository-backup.js';
import { PhaseRow } from './phase-row.js';

/** Longest Retry-After a requeued repository waits for before going back to the queue. */
const MAX_REQUEUE_WAIT_MS = 60_000;
/** First backoff step of a requeued item when GitLab named no time (doubling per try, as the transport's). */
const REQUEUE_BASE_DELAY_MS = 2_000;

export interface ItemRunnerDeps {
  dataSource: DataSource;
  queue: JobQueue;
  repositoryBackup: RepositoryBackup;
  clock: Clock;
  logger: Logger;
  progress: RunProgress;
  watches: RunWatches;
  getRun(runId: string): Promise<BackupRunEntity>;
  /** Ends the run when every item is terminal (BackupRunService.maybeFinish). */
  maybeFinish(runId: string, countedAfterUpdate?: RunCounts): Promise<void>;
  /** The organization's default worker's name when it is ONLINE, else null (any worker). */
  preferredWorker(organizationId: string): Promise<string | null>;
}

export class ItemRunner {
  private readonly items: Repository<BackupRunItemEntity>;
  /** Abort controllers of items running in this process, for cancellation. */
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: ItemRunnerDeps) {
    this.items = deps.dataSource.getRepository(BackupRunItemEntity);
  }

  /** Stops the item if it runs in this process: it ends CANCELED at its next step. */
  abort(itemId: string): void {
    this.running.get(itemId)?.abort();
  }

  /** The `backup.repository` job; `shutdown` ends a wait for a lost database when the process stops. */
  async run(runId: string, itemId: string, touch: () => Promise<void>, shutdown?: AbortSignal): Promise<void> {
    const [run, item] = await Promise.all([
      this.deps.watches.recent(runId) ?? this.deps.getRun(runId), // as fresh as the running items' look at it
      this.items.findOneBy({ id: itemId }),
    ]);
    if (!item || TERMINAL_ITEM_STATUSES.includes(item.status)) return void (await this.deps.maybeFinish(runId));
    if (run.cancelRequestedAt || this.deps.watches.windowClosed(run)) {
      await this.finishItem(run, item, stopReason(run));
      return;
    }
    const snapshotFixedNow = await this.start(item);
    const controller = new AbortController();
    let databaseLost = false;
    this.running.set(itemId, controller);
    const unwatch = this.deps.watches.watch(run, itemId, controller);
    let metadataRecords = 0;
    let announced = false; // the first FETCHING is published, though the row has it already
    let git = { bytes: 0, objects: 0, total: null as number | null };
    const phaseRow = new PhaseRow('FETCHING', (phase) => this.items.update({ id: itemId }, { phase }));
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
      if (p.phase !== previousPhase) phaseRow.set(p.phase);
      void this.deps.progress.emitItem(run, item, { git, metadataRecords }, phaseChanged);
    };
    try {
      const outcome = await this.deps.repositoryBackup.run(run, item, {
        signal: controller.signal,
        touch,
        progress,
        canRetryLater: item.attempts < ITEM_ATTEMPTS,
        snapshotFixedNow,
      });
      await phaseRow.settle();
      await this.finishItem(run, item, {
        status: outcome.status,
        snapshotId: outcome.snapshot?.id ?? null,
        warnings: outcome.warnings,
        notes: outcome.notes ?? [],
        bytesReceived: String(git.bytes),
        objectsReceived: git.objects,
        bytesWritten: outcome.status === 'UNCHANGED' ? '0' : outcome.snapshot.sizeBytes,
      });
    } catch (error) {
      await phaseRow.settle();
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
        this.deps.logger.error({ err: error, runId, repositoryId: item.repositoryId }, 'repository backup failed');
      await this.finishItem(
        run,
        item,
        stopped
          ? stopReason(await this.deps.getRun(runId))
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
        this.deps.logger.warn(
          { runId, repositoryId: item.repositoryId },
          'database lost during a repository backup: it starts again when the database is back',
        );
        await untilDatabaseReachable(() => this.deps.dataSource.query('SELECT 1'), { touch, signal: shutdown });
        await this.run(runId, itemId, touch, shutdown);
      }
    }
  }

  /**
   * Marks the item RUNNING and, in the same statement, fixes the id of the snapshot it will write
   * unless an earlier attempt (a retry, a job taken over) fixed one already: every attempt of the
   * item then writes under the same id, so a later one finds what an earlier one committed, or
   * clears what it left (repository-backup.ts). Resolves with whether this attempt fixed it: then no
   * earlier attempt can have committed a snapshot under it.
   */
  private async start(item: BackupRunItemEntity): Promise<boolean> {
    const proposed = newId();
    const attempts = item.attempts + 1;
    const startedAt = this.deps.clock.now();
    // UPDATE … RETURNING answers [rows, count] through TypeORM.
    const [rows]: [{ snapshot_id: string }[], number] = await this.deps.dataSource.query(
      `UPDATE backup_run_items SET status = 'RUNNING', phase = 'FETCHING', attempts = $2, started_at = $3,
              snapshot_id = COALESCE(snapshot_id, $4) WHERE id = $1 RETURNING snapshot_id`,
      [item.id, attempts, startedAt, proposed],
    );
    const snapshotId = rows[0]?.snapshot_id ?? proposed;
    Object.assign(item, { status: 'RUNNING', phase: 'FETCHING', attempts, startedAt, snapshotId });
    return snapshotId === proposed;
  }

  /**
   * A repository whose transfer or metadata listing failed transiently (GitLab 5xx or 429, a cut
   * connection) after the transport's own retries goes back to the end of the queue, so it is tried
   * again later in the same run instead of ending FAILED or PARTIAL; after ITEM_ATTEMPTS it ends
   * with the reason. It waits GitLab's Retry-After when named, else a backoff step, first.
   */
  private async retryLater(run: BackupRunEntity, item: BackupRunItemEntity, error: DomainError): Promise<void> {
    this.deps.logger.warn(
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
    const worker = await this.deps.preferredWorker(run.organizationId);
    await this.deps.queue.enqueue('backup.repository', { runId: run.id, itemId: item.id }, { worker });
  }

  private async finishItem(run: BackupRunEntity, item: BackupRunItemEntity, changes: Partial<BackupRunItemEntity>) {
    // The snapshot id is fixed on the item before its first artifact; an item that ends without
    // committing that snapshot must not name it (the job set it on the row, not on this object).
    if ((changes.status === 'FAILED' || changes.status === 'CANCELED') && !('snapshotId' in changes)) {
      await this.deps.dataSource.query(
        `UPDATE backup_run_items i SET snapshot_id = NULL
          WHERE i.id = $1 AND i.snapshot_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.id = i.snapshot_id)`,
        [item.id],
      );
    }
    Object.assign(item, changes, { phase: 'DONE', finishedAt: this.deps.clock.now() });
    this.deps.logger.info(
      { runId: run.id, itemId: item.id, path: item.pathWithNamespace, status: item.status },
      'backup item finished',
    );
    await this.items.update({ id: item.id }, { ...changes, phase: 'DONE', finishedAt: item.finishedAt });
    this.deps.progress.clear(item.id);
    const counts = await this.deps.progress.emitItem(
      run,
      item,
      {
        git: { bytes: Number(item.bytesReceived ?? 0), objects: item.objectsReceived ?? 0, total: null },
        metadataRecords: 0,
      },
      true,
    );
    await this.deps.maybeFinish(run.id, counts ?? undefined);
  }
}
