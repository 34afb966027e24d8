/**
 * A run's progress as BackupProgressed events: one per state change of the run or of an item,
 * throttled per item (progress-throttle.ts), each with the run's item counts. Counting is a query,
 * so it is done when an item ends; phase changes reuse the last numbers.
 */
import type { Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import {
  TERMINAL_ITEM_STATUSES,
  TERMINAL_RUN_STATUSES,
  type BackupRunEntity,
  type BackupRunItemEntity,
} from './backup.entity.js';
import type { BackupProgressed } from './backup.events.js';
import { ProgressThrottle } from './progress-throttle.js';

export interface RunCounts {
  total: number;
  done: number;
  failed: number;
  /** Items per status. */
  by: Record<string, number>;
}

/** What an item's event says about its transfer so far. */
export interface ItemTransferProgress {
  git: { bytes: number; objects: number; total: number | null };
  metadataRecords: number;
}

export class RunProgress {
  private readonly throttle: ProgressThrottle<BackupProgressed>;
  private readonly lastCounts = new Map<string, { total: number; done: number; failed: number }>();

  constructor(
    private readonly items: Repository<BackupRunItemEntity>,
    private readonly clock: Clock,
    publish: (event: BackupProgressed) => void,
  ) {
    this.throttle = new ProgressThrottle(publish);
  }

  async counts(runId: string): Promise<RunCounts> {
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

  async emitRun(run: BackupRunEntity): Promise<void> {
    const counts = await this.counts(run.id);
    const isTerminal = TERMINAL_RUN_STATUSES.includes(run.status);
    if (isTerminal) this.lastCounts.delete(run.id);
    else this.lastCounts.set(run.id, counts);
    this.throttle.push(`run:${run.id}`, this.event(run, counts, null, isTerminal), true);
  }

  /** Publishes an item's state (`force`: past the throttle); returns the counts when it took them. */
  async emitItem(
    run: BackupRunEntity,
    item: BackupRunItemEntity,
    p: ItemTransferProgress,
    force: boolean,
  ): Promise<RunCounts | null> {
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

  /** Forgets an item's pending throttled event: it has ended, and its final event follows. */
  clear(itemId: string): void {
    this.throttle.clear(itemId);
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
