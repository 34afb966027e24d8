/** Job handlers: each a few lines that call a service. Defined only in processes that run a worker. */
import type { Agenda, Job } from 'agenda';
import type { Logger } from '../shared/logger.js';
import { queueName, type JobName, type Jobs } from '../shared/job-queue.js';
import type { Services } from '../services.js';
import { backupJobSlots } from './agenda.js';
import { resumingAfterOutage } from '../shared/database-outage.js';

/**
 * Long jobs renew their lock on a timer (a third of its lifetime) besides their own progress
 * touches, so a busy worker never loses a job, while a dead worker's job is taken over soon.
 */
function keepLocked(job: Job<unknown>, lockLifetimeMs: number): () => void {
  const timer = setInterval(
    () => void job.touch().catch(() => undefined),
    Math.max(500, Math.floor(lockLifetimeMs / 3)),
  );
  return () => clearInterval(timer);
}

/** `shutdown` aborts when this process stops (see shared/database-outage.ts). */
type Handler<N extends JobName> = (data: Jobs[N], job: Job<Jobs[N]>, shutdown: AbortSignal) => Promise<unknown>;

interface DefineOptions {
  /** Waits out a database outage and runs the handler again (see shared/database-outage.ts). */
  outage?: { ping: () => Promise<unknown>; logger: Logger; signal: AbortSignal };
  concurrency?: number;
  /** Only this worker takes the job (`<name>@<worker>`, see JobQueue.enqueue). */
  worker?: string;
  /** Renew the lock on a timer while the handler runs (long jobs). */
  keepLockedMs?: number;
  /** Delete a one-off job once it succeeded (jobs scheduled in numbers). */
  removeOnComplete?: boolean;
}

/** Defines the handler of one job of the map; the payload's type comes from the map. */
function defineOne<N extends JobName>(
  agenda: Agenda,
  name: N,
  handler: Handler<N>,
  options: DefineOptions & { shutdown: AbortSignal },
): void {
  const { keepLockedMs, worker, outage, shutdown, ...agendaOptions } = options;
  // Agenda locks every due job it finds unless told a limit: one worker would hoard a whole run's
  // items (each locked for the lock lifetime) while another worker idles. A worker locks only as
  // many jobs of a kind as it can run at once; the rest stay for any worker.
  const lockLimit = agendaOptions.concurrency ?? agenda.attrs.defaultConcurrency;
  agenda.define(
    queueName(name, worker),
    async (job: Job<Jobs[N]>) => {
      const release = keepLockedMs === undefined ? () => undefined : keepLocked(job, keepLockedMs);
      try {
        const run = () => handler(job.attrs.data, job, shutdown);
        await (outage ? resumingAfterOutage(run, { ...outage, touch: () => job.touch(), job: name }) : run());
      } finally {
        release();
      }
    },
    { ...agendaOptions, lockLimit },
  );
  refillWhenDone(agenda, queueName(name, worker));
}

/**
 * With a lock limit, Agenda looks for the next job of a kind only at its next poll: a slot freed
 * by a finished job would idle until then. When a job of `name` completes (success or failure),
 * once Agenda has released it, this process looks for the next one at once, as it does when
 * another process enqueues one (Agenda's own notification path; its processor is not public).
 * Agenda emits `complete` just before it releases the job, with no I/O in between (completed jobs
 * are kept, not removed), so by the next turn of the event loop the slot is free.
 */
function refillWhenDone(agenda: Agenda, name: string): void {
  type Processor = { handleNotification(n: { jobName: string; jobId: string }): Promise<void> };
  agenda.on(`complete:${name}`, () =>
    setImmediate(() => {
      const processor = (agenda as unknown as { jobProcessor?: Processor }).jobProcessor;
      void processor?.handleNotification({ jobName: name, jobId: 'slot freed' }).catch(() => undefined);
    }),
  );
}

export async function defineJobs(
  agenda: Agenda,
  services: Services,
  logger: Logger,
  options: {
    concurrency: number;
    lockLifetimeMs: number;
    workerName: string;
    /** Resolves when the database answers (waiting out an outage). */
    pingDatabase: () => Promise<unknown>;
    /** Aborted when the process stops: jobs waiting out an outage give up (shared/database-outage.ts). */
    shutdown: AbortSignal;
  },
): Promise<void> {
  const { concurrency, lockLifetimeMs, workerName, shutdown } = options;
  const log = logger.child({ component: 'jobs' });
  // One-off jobs interrupted by a database outage run again as soon as it is back, not when their lock expires.
  const outage = { ping: options.pingDatabase, logger: log, signal: shutdown };
  const define = <N extends JobName>(name: N, handler: Handler<N>, o: DefineOptions = {}) =>
    defineOne(agenda, name, handler, { ...o, shutdown });

  // Repositories a sync no longer finds are reported (REPOSITORY_DELETED_UPSTREAM) before it says DONE.
  const afterReconcile = (organizationId: string) => services.anomalies.recordDeletions(organizationId);
  define('repositories.sync', ({ syncRunId }) => services.sync.execute(syncRunId, { afterReconcile }), {
    concurrency,
    outage,
  });

  define('repositories.schedule', async () => {
    const started = await services.sync.startDueSyncs();
    if (started.length > 0) log.info({ organizations: started.length }, 'scheduled repository syncs started');
  });

  define('backup.run', ({ runId }) => services.backupRuns.start(runId), { outage });

  const backupRepository: Handler<'backup.repository'> = ({ runId, itemId }, job, signal) =>
    services.backupRuns.runItem(runId, itemId, () => job.touch(), signal);
  // Any worker takes `backup.repository`; only this one takes `backup.repository@<its name>`,
  // which is how an organization's default worker gets its repositories. Both share the
  // worker's transfer slots (RepositoryBackupDeps.transfers).
  const slots = { concurrency: backupJobSlots(concurrency), keepLockedMs: lockLifetimeMs, outage };
  define('backup.repository', backupRepository, slots);
  define('backup.repository', backupRepository, { ...slots, worker: workerName });

  define('backup.schedule', async () => {
    const started = await services.backupScheduler.startDueBackups();
    if (started.length > 0) log.info({ runs: started.length }, 'scheduled backups started');
  });

  define('snapshot.replicate', ({ snapshotId, storageId }) => services.replicator.replicate(snapshotId, storageId), {
    concurrency,
    keepLockedMs: lockLifetimeMs,
    outage,
  });

  define('restore.run', ({ runId }) => services.restores.execute(runId), {
    keepLockedMs: lockLifetimeMs,
    outage,
  });

  define('drill.run', ({ drillRunId }) => services.drills.execute(drillRunId), {
    keepLockedMs: lockLifetimeMs,
    outage,
  });

  define('drill.schedule', async () => {
    const started = await services.drillScheduler.startDueDrills();
    if (started.length > 0) log.info({ drills: started.length }, 'scheduled restore drills started');
  });

  define('retention.prune', () => services.retention.prune());
  define('audit.prune', async () => void (await services.audit.pruneExpired()));

  // Scheduled at an organization's due time (webhooks/event-backup-scheduler.ts); the recurring
  // one below carries no data. Completed one-off jobs are removed, so they do not pile up.
  define(
    'events.backup',
    async (data) => {
      const started = await services.eventBackups.runDue(data?.organizationId ?? null);
      if (started.length > 0) log.info({ runs: started.length }, 'event-triggered backups started');
    },
    { removeOnComplete: true },
  );

  define('events.check-hooks', async () => {
    const result = await services.eventHooks.checkAll();
    if (result.recreated > 0 || result.failing > 0) log.info(result, 'event webhooks checked');
  });

  define('alerts.deliver', ({ deliveryId }) => services.alerts.deliver(deliveryId), { outage });
  define('alerts.evaluate', async () => {
    const result = await services.alerts.evaluate();
    if (result.deliveries > 0 || result.requeued > 0) log.info(result, 'alert rules evaluated');
  });
  define('anomalies.evaluate', async () => {
    const recorded = await services.anomalies.evaluatePending();
    if (recorded > 0) log.info({ anomalies: recorded }, 'anomaly rules caught up on finished runs');
  });
  define('alerts.summarize', async () => {
    const sent = await services.alerts.summarize();
    if (sent > 0) log.info({ deliveries: sent }, 'summary reports raised');
  });

  // One schedule row for the whole cluster (Agenda's `every` upserts a single job by name).
  const every = (interval: string, name: JobName, skipImmediate: boolean) =>
    agenda.every(interval, name, undefined, { skipImmediate });
  await every('1 minute', 'repositories.schedule', false);
  await every('1 minute', 'backup.schedule', false);
  await every('1 minute', 'drill.schedule', false);
  await every('1 hour', 'retention.prune', true);
  await every('1 hour', 'audit.prune', false);
  // The safety net only (it was the 30-s poll before due-time jobs; `every` updates that row).
  await every('5 minutes', 'events.backup', false);
  await every('15 minutes', 'events.check-hooks', true);
  await every('1 minute', 'alerts.evaluate', true);
  await every('1 minute', 'anomalies.evaluate', true);
  await every('10 minutes', 'alerts.summarize', false);
}
