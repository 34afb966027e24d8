/**
 * The `backup.schedule` job (every minute): starts the backups whose policy schedule is due.
 * Each policy's next due time is stored (`next_backup_at`); a scheduler claims a due policy by
 * moving that time forward with a conditional UPDATE, so several workers never start one twice.
 * A due backup outside the policy's backup window does not start (it is logged and skipped);
 * a backup that is still running when the next one is due is not doubled.
 */
import { LessThanOrEqual, type DataSource } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import { isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { BackupPolicyEntity } from './backup.entity.js';
import type { BackupRunService } from './backup-run.service.js';
import { isInsideWindow } from './backup-window.js';
import type { PolicyService } from './policy.service.js';

export class BackupScheduler {
  constructor(
    private readonly dataSource: DataSource,
    private readonly policies: PolicyService,
    private readonly runs: BackupRunService,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async startDueBackups(): Promise<string[]> {
    const now = this.clock.now();
    const repo = this.dataSource.getRepository(BackupPolicyEntity);
    const due = await repo.find({ where: { nextBackupAt: LessThanOrEqual(now) } });
    const started: string[] = [];
    for (const policy of due) {
      const starting = isInsideWindow(policy.value.window, policy.value.timeZone, now);
      const next = await this.policies.next(policy.organizationId, policy.value, now, { runStarting: starting });
      const claimed = await repo.update({ id: policy.id, nextBackupAt: policy.nextBackupAt! }, next);
      if (claimed.affected !== 1) continue;
      if (!starting) {
        this.logger.warn(
          { organizationId: policy.organizationId },
          'scheduled backup skipped: outside the backup window',
        );
        continue;
      }
      try {
        const run = await this.runs.runNow(policy.organizationId, {
          trigger: 'SCHEDULED',
          copyType: policy.nextCopyType ?? 'INCREMENTAL',
        });
        started.push(run.id);
      } catch (error) {
        if (!isDomainError(error, 'BACKUP_ALREADY_RUNNING') && !isDomainError(error, 'VALIDATION_FAILED')) throw error;
        this.logger.warn(
          { organizationId: policy.organizationId, reason: (error as Error).message },
          'scheduled backup not started',
        );
      }
    }
    return started;
  }
}
