/**
 * The `drill.schedule` job (every minute), the drills' counterpart of backup-scheduler.ts: starts
 * the drills whose cadence is due. Each organization with drills enabled has a row in
 * drill_schedules with its next due time; the row is created the first time the scheduler sees
 * drills enabled, and recomputed from now when the drill settings or the time zone change
 * (`basis`). A scheduler claims a due drill by moving that time forward with a conditional
 * UPDATE, so several workers never start one twice. Slots missed while no worker ran are not
 * made up one by one: one drill starts, and the next slot after now is booked. A drill still
 * queued or running when the next is due is not doubled (logged and skipped). A drill that cannot
 * start (no snapshot yet, a scratch connection that may not write) is recorded as a FAILED drill
 * with the reason, and the other organizations' drills go on.
 */
import type { DataSource } from 'typeorm';
import { nextDrill } from '../backup/policy.drill-schedule.js';
import type { PolicyService } from '../backup/policy.service.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { DrillScheduleEntity } from './drill.entity.js';
import type { DrillService } from './drill.service.js';

export interface DrillSchedulerDeps {
  dataSource: DataSource;
  /** Where each organization's drill cadence is configured (its BackupPolicy). */
  policies: Pick<PolicyService, 'list'>;
  drills: DrillService;
  clock: Clock;
  logger: Logger;
}

export class DrillScheduler {
  constructor(private readonly deps: DrillSchedulerDeps) {}

  /** Starts the due drills; returns their ids. */
  async startDueDrills(): Promise<string[]> {
    const now = this.deps.clock.now();
    const schedules = this.deps.dataSource.getRepository(DrillScheduleEntity);
    const policies = await this.deps.policies.list();
    const started: string[] = [];
    // Drills switched off forget their booking: switched on again, they book from then.
    const enabled = policies.filter((p) => p.value.drill?.enabled).map((p) => p.organizationId);
    await schedules
      .createQueryBuilder()
      .delete()
      .where(enabled.length ? 'organization_id NOT IN (:...enabled)' : 'TRUE', { enabled })
      .execute();
    for (const policy of policies) {
      const drill = policy.value.drill;
      if (!drill?.enabled) continue;
      const basis = JSON.stringify({
        every: drill.every,
        time: drill.time,
        weekday: drill.weekday,
        dayOfMonth: drill.dayOfMonth,
        timeZone: policy.value.timeZone,
      });
      const row = await schedules.findOneBy({ organizationId: policy.organizationId });
      if (!row || row.basis !== basis) {
        // First sight, or the cadence changed: book the next slot after now.
        const nextDrillAt = nextDrill(drill, policy.value.timeZone, now);
        await schedules.upsert({ organizationId: policy.organizationId, basis, nextDrillAt }, ['organizationId']);
        continue;
      }
      if (!row.nextDrillAt || row.nextDrillAt.getTime() > now.getTime()) continue;
      const next = nextDrill(drill, policy.value.timeZone, now);
      const claimed = await schedules.update(
        { organizationId: row.organizationId, nextDrillAt: row.nextDrillAt },
        { nextDrillAt: next },
      );
      if (claimed.affected !== 1) continue;
      try {
        const run = await this.deps.drills.runDrill(policy.organizationId, {
          trigger: 'SCHEDULED',
          scheduledFor: row.nextDrillAt,
        });
        started.push(run.id);
      } catch (error) {
        // One organization's trouble never stops the others' drills.
        if (isDomainError(error, 'DRILL_ALREADY_RUNNING')) {
          this.deps.logger.warn(
            { organizationId: policy.organizationId, reason: error.message },
            'scheduled drill skipped: the previous one is still going',
          );
          continue;
        }
        const reason = error instanceof DomainError ? error.message : 'unexpected error (see the worker log)';
        if (!(error instanceof DomainError))
          this.deps.logger.error(
            { err: error, organizationId: policy.organizationId },
            'scheduled drill failed to start',
          );
        started.push((await this.deps.drills.recordNotStarted(policy.organizationId, row.nextDrillAt, reason)).id);
      }
    }
    return started;
  }

  /** When the organization's next scheduled drill is due (null: drills off, or not booked yet). */
  async nextDrillAt(organizationId: string): Promise<Date | null> {
    const row = await this.deps.dataSource.getRepository(DrillScheduleEntity).findOneBy({ organizationId });
    return row?.nextDrillAt ?? null;
  }
}
