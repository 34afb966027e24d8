/**
 * Turns due pending EVENT backups into BackupRuns. Nothing polls for them: whoever creates or
 * moves a pending row's due time earlier (the receiver, a requeue) schedules an `events.backup`
 * job for the organization at that due time (`arm`), and the job (`runDue`) starts what is due
 * and schedules the next one for the organization's earliest remaining due time. A debounce that
 * pushes a row later schedules nothing: the job already waiting fires at the earlier time, finds
 * the row not due yet, and re-arms for the later one. So a backup starts at its deadline (quiet
 * period or maximum delay), not at the next tick of a poll. The same job every 5 minutes, without
 * an organization, is only a safety net (a job lost between the receiver's commit and its
 * enqueue, rows left from an older version): it starts what is due and re-arms every organization.
 *
 * Due rows are claimed by deleting them (`FOR UPDATE SKIP LOCKED`), so several workers never
 * start the same repository twice; one run per organization covers exactly the repositories
 * claimed for it. When the organization already has a run queued or running, the claimed
 * repositories go back to pending (due again after the quiet period) rather than being lost;
 * repositories that are no longer protected are dropped.
 *
 * Due times come from the injected Clock (a test's FakeClock); a job is scheduled that many
 * milliseconds ahead of the clock's now, so the job store's own clock never compares with it.
 */
import type { DataSource } from 'typeorm';
import type { BackupRunService } from '../backup/backup-run.service.js';
import type { Clock } from '../shared/clock.js';
import { isDomainError } from '../shared/errors.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import type { EventTiming } from './webhook-receiver.service.js';

interface ClaimedRow {
  repository_id: string;
  organization_id: string;
  first_event_at: Date;
  last_event_at: Date;
  events: number;
  kinds: string[];
}

/** Claimed at most per pass; the rest waits for the next pass. */
const BATCH = 500;

export interface EventBackupSchedulerDeps {
  dataSource: DataSource;
  runs: Pick<BackupRunService, 'runNow'>;
  queue: JobQueue;
  clock: Clock;
  logger: Logger;
  timing: EventTiming;
}

/**
 * Schedules the organization's `events.backup` job at `dueAt` (by the clock's now). Idempotent:
 * a job of the organization already waiting for the same time is not stored twice.
 */
export async function armEventBackup(
  deps: Pick<EventBackupSchedulerDeps, 'queue' | 'clock'>,
  organizationId: string,
  dueAt: Date,
): Promise<void> {
  const delayMs = Math.max(0, dueAt.getTime() - deps.clock.now().getTime());
  await deps.queue.enqueue('events.backup', { organizationId, dueAt: dueAt.toISOString() }, { delayMs, dedupe: true });
}

export class EventBackupScheduler {
  private readonly dataSource: DataSource;
  private readonly runs: Pick<BackupRunService, 'runNow'>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timing: EventTiming;

  constructor(private readonly deps: EventBackupSchedulerDeps) {
    ({
      dataSource: this.dataSource,
      runs: this.runs,
      clock: this.clock,
      logger: this.logger,
      timing: this.timing,
    } = deps);
  }

  /**
   * The `events.backup` job: starts what is due, then schedules the next job of the organization
   * (of every organization with something pending, when `organizationId` is null: the safety net).
   */
  async runDue(organizationId: string | null): Promise<string[]> {
    const started = await this.startDue();
    await this.rearm(organizationId);
    return started;
  }

  /** Schedules a job at each organization's earliest remaining due time (not before now). */
  async rearm(organizationId: string | null): Promise<void> {
    const rows: { organization_id: string; due_at: Date }[] = await this.dataSource.query(
      `SELECT organization_id, min(due_at) AS due_at FROM event_backup_pending
        WHERE $1::uuid IS NULL OR organization_id = $1 GROUP BY organization_id`,
      [organizationId],
    );
    const now = this.clock.now();
    for (const row of rows)
      await armEventBackup(this.deps, row.organization_id, new Date(Math.max(row.due_at.getTime(), now.getTime())));
  }

  /** Starts the due EVENT backups; resolves with the ids of the runs created. */
  async startDue(): Promise<string[]> {
    const now = this.clock.now();
    const claimed: [ClaimedRow[], number] | ClaimedRow[] = await this.dataSource.query(
      `DELETE FROM event_backup_pending WHERE repository_id IN (
         SELECT repository_id FROM event_backup_pending WHERE due_at <= $1
         ORDER BY due_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
       RETURNING repository_id, organization_id, first_event_at, last_event_at, events, kinds`,
      [now],
    );
    const rows = (Array.isArray(claimed[0]) ? claimed[0] : claimed) as ClaimedRow[];
    const byOrganization = new Map<string, ClaimedRow[]>();
    for (const row of rows)
      byOrganization.set(row.organization_id, [...(byOrganization.get(row.organization_id) ?? []), row]);
    const started: string[] = [];
    for (const [organizationId, pending] of byOrganization) {
      const repositoryIds = pending.map((r) => r.repository_id);
      try {
        const run = await this.runs.runNow(organizationId, {
          repositoryIds,
          trigger: 'EVENT',
          copyType: 'INCREMENTAL',
        });
        started.push(run.id);
        this.logger.info(
          {
            organizationId,
            runId: run.id,
            repositories: repositoryIds.length,
            events: pending.reduce((n, r) => n + r.events, 0),
          },
          'event-triggered backup started',
        );
      } catch (error) {
        if (isDomainError(error, 'VALIDATION_FAILED')) {
          this.logger.warn(
            { organizationId, repositories: repositoryIds.length },
            'event-triggered backup dropped: no protected repository left',
          );
          continue;
        }
        const busy = isDomainError(error, 'BACKUP_ALREADY_RUNNING');
        if (!busy)
          this.logger.warn({ organizationId, err: error }, 'event-triggered backup not started; retried later');
        await this.requeue(pending, new Date(now.getTime() + Math.max(this.timing.quietPeriodMs, 1000)));
      }
    }
    return started;
  }

  /** Puts claimed rows back, merged with anything that arrived meanwhile (the earlier due time wins). */
  private async requeue(rows: ClaimedRow[], dueAt: Date): Promise<void> {
    for (const row of rows) {
      await this.dataSource.query(
        `INSERT INTO event_backup_pending AS p (repository_id, organization_id, first_event_at, last_event_at, due_at, events, kinds)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
         ON CONFLICT (repository_id) DO UPDATE SET
           first_event_at = LEAST(p.first_event_at, EXCLUDED.first_event_at),
           events = p.events + EXCLUDED.events,
           kinds = (SELECT jsonb_agg(DISTINCT k ORDER BY k) FROM jsonb_array_elements_text(p.kinds || EXCLUDED.kinds) AS k),
           due_at = LEAST(p.due_at, EXCLUDED.due_at)`,
        [
          row.repository_id,
          row.organization_id,
          row.first_event_at,
          row.last_event_at,
          dueAt,
          row.events,
          JSON.stringify(row.kinds),
        ],
      );
    }
  }
}
