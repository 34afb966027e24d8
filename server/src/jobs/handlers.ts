/** Job handlers: each a few lines that call a service. Defined only in processes that run a worker. */
import type { Agenda, Job } from 'agenda';
import type { Logger } from '../shared/logger.js';
import type { Services } from '../services.js';
import { backupJobSlots } from './agenda.js';
import { JOB } from './job-names.js';

/**
 * Long jobs renew their lock on a timer (a third of its lifetime) besides their own progress
 * touches, so a busy worker never loses a job, while a dead worker's job is taken over soon.
 */
function keepLocked(job: Job<unknown>, lockLifetimeMs: number): () => void {
  const timer = setInterval(() => void job.touch().catch(() => undefined), Math.max(500, Math.floor(lockLifetimeMs / 3)));
  return () => clearInterval(timer);
}

export async function defineJobs(
  agenda: Agenda,
  services: Services,
  logger: Logger,
  options: { concurrency: number; lockLifetimeMs: number; workerName: string },
): Promise<void> {
  const { concurrency, lockLifetimeMs, workerName } = options;
  const log = logger.child({ component: 'jobs' });

  agenda.define(
    JOB.repositoriesSync,
    async (job: Job<{ syncRunId: string }>) => {
      await services.sync.execute(job.attrs.data.syncRunId);
    },
    { concurrency },
  );

  agenda.define(JOB.repositoriesSchedule, async () => {
    const started = await services.sync.startDueSyncs();
    if (started.length > 0) log.info({ organizations: started.length }, 'scheduled repository syncs started');
  });

  agenda.define(JOB.backupRun, async (job: Job<{ runId: string }>) => {
    await services.backupRuns.start(job.attrs.data.runId);
  });

  const backupRepository = async (job: Job<{ runId: string; itemId: string }>) => {
    const release = keepLocked(job as Job<unknown>, lockLifetimeMs);
    try {
      await services.backupRuns.runItem(job.attrs.data.runId, job.attrs.data.itemId, () => job.touch());
    } finally {
      release();
    }
  };
  // Any worker takes `backup.repository`; only this one takes `backup.repository@<its name>`,
  // which is how an organization's default worker gets its repositories. Both share the
  // worker's transfer slots (RepositoryBackupDeps.transfers).
  agenda.define(JOB.backupRepository, backupRepository, { concurrency: backupJobSlots(concurrency) });
  agenda.define(`${JOB.backupRepository}@${workerName}`, backupRepository, { concurrency: backupJobSlots(concurrency) });

  agenda.define(JOB.backupSchedule, async () => {
    const started = await services.backupScheduler.startDueBackups();
    if (started.length > 0) log.info({ runs: started.length }, 'scheduled backups started');
  });

  agenda.define(JOB.restoreRun, async (job: Job<{ runId: string }>) => {
    const release = keepLocked(job as Job<unknown>, lockLifetimeMs);
    try {
      await services.restores.execute(job.attrs.data.runId);
    } finally {
      release();
    }
  });

  agenda.define(JOB.drillRun, async (job: Job<{ drillRunId: string }>) => {
    const release = keepLocked(job as Job<unknown>, lockLifetimeMs);
    try {
      await services.drills.execute(job.attrs.data.drillRunId);
    } finally {
      release();
    }
  });

  agenda.define(JOB.drillSchedule, async () => {
    const started = await services.drillScheduler.startDueDrills();
    if (started.length > 0) log.info({ drills: started.length }, 'scheduled restore drills started');
  });

  agenda.define(JOB.retentionPrune, async () => {
    await services.retention.prune();
  });

  // One schedule row for the whole cluster (Agenda's `every` upserts a single job by name).
  await agenda.every('1 minute', JOB.repositoriesSchedule, undefined, { skipImmediate: false });
  await agenda.every('1 minute', JOB.backupSchedule, undefined, { skipImmediate: false });
  await agenda.every('1 minute', JOB.drillSchedule, undefined, { skipImmediate: false });
  await agenda.every('1 hour', JOB.retentionPrune, undefined, { skipImmediate: true });
}
