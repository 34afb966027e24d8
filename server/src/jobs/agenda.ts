/**
 * Agenda 6 over the job store: PostgreSQL (the same database, its own tables, LISTEN/NOTIFY so a
 * queued job starts at once) by default, or MongoDB when AGENDA_MONGO_URL is set.
 * A process that only enqueues (an API process without worker) defines no jobs and never calls
 * `start()`; worker processes define the handlers and start processing.
 */
import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { queueName, type JobQueue } from '../shared/job-queue.js';
import { isConnectionError } from '../shared/db-errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * Backup jobs a worker runs at once: its concurrency (transfer slots: jobs talking to GitLab) plus
 * half as many again (rounded down) that write their snapshot or wait for a slot, so a freed slot starts the next
 * transfer at once instead of after the previous job's bundle and manifest are written.
 */
export function backupJobSlots(concurrency: number): number {
  return concurrency + Math.floor(concurrency / 2); // a worker of concurrency 1 runs one at a time
}

export interface JobStore {
  agenda: Agenda;
  queue: JobQueue;
  /** true when the store answers (for /readyz). */
  ping(): Promise<boolean>;
  /**
   * Releases the locks a worker (by its Agenda name) holds, so other workers take its jobs over
   * now instead of when the locks expire. Only for a worker known to be gone (its process dead):
   * a job it still ran would run twice. Resolves with the number of jobs released.
   */
  releaseLocksOf(workerName: string): Promise<number>;
  /** Per queue: jobs due and not taken, jobs held now, and how long the oldest due one has waited (metrics). */
  queueStats(): Promise<{ name: string; due: number; running: number; lagSeconds: number }[]>;
  /** Stops processing (waits for running jobs to release their locks) and closes connections. */
  close(): Promise<void>;
}

export interface JobStoreOptions {
  jobStore: Config['jobStore'];
  databaseUrl: string;
  logger: Logger;
  name: string;
  /** Lock lifetime; long jobs call job.touch(). Short in tests so a killed worker's job is retried soon. */
  lockLifetimeMs?: number;
  processEveryMs?: number;
  concurrency?: number;
  /**
   * false for an API process without worker: it never starts Agenda, so the backend's
   * notification channel is connected here, or a queued job would wait for a worker's next poll.
   */
  processJobs: boolean;
}

export async function openJobStore(options: JobStoreOptions): Promise<JobStore> {
  const log = options.logger.child({ component: 'jobs' });
  let ping: () => Promise<boolean>;
  let releaseLocksOf: (workerName: string) => Promise<number>;
  let queueStats: JobStore['queueStats'];
  let closeBackend: () => Promise<void>;
  let backend;
  if (options.jobStore.kind === 'mongo') {
    const { MongoBackend } = await import('@agendajs/mongo-backend');
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(options.jobStore.url, { serverSelectionTimeoutMS: 5000 });
    await client.connect(); // fail here, clearly, rather than inside Agenda's constructor
    backend = new MongoBackend({ mongo: client.db() });
    ping = async () => (await client.db().command({ ping: 1 })).ok === 1;
    releaseLocksOf = async (workerName) => {
      const jobs = client.db().collection('agendaJobs');
      // A one-off job being run has no next run: give it one now, or it would never run again.
      const released = await jobs.updateMany({ lastModifiedBy: workerName, lockedAt: { $ne: null } }, [
        { $set: { lockedAt: null, nextRunAt: { $ifNull: ['$nextRunAt', '$$NOW'] } } },
      ]);
      return released.modifiedCount;
    };
    queueStats = async () => {
      const now = new Date();
      const rows = await client
        .db()
        .collection('agendaJobs')
        .aggregate<{ _id: string; due: number; running: number; oldest: Date | null }>([
          { $match: { disabled: { $ne: true } } },
          {
            $group: {
              _id: '$name',
              due: { $sum: { $cond: [{ $and: [{ $lte: ['$nextRunAt', now] }, { $eq: ['$lockedAt', null] }] }, 1, 0] } },
              running: { $sum: { $cond: [{ $ne: [{ $ifNull: ['$lockedAt', null] }, null] }, 1, 0] } },
              oldest: { $min: { $cond: [{ $eq: [{ $ifNull: ['$lockedAt', null] }, null] }, '$nextRunAt', null] } },
            },
          },
        ])
        .toArray();
      return rows.map((r) => ({
        name: r._id,
        due: r.due,
        running: r.running,
        lagSeconds: r.due > 0 && r.oldest ? Math.max(0, (now.getTime() - r.oldest.getTime()) / 1000) : 0,
      }));
    };
    closeBackend = () => client.close();
  } else {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 5, application_name: 'labkeeper-jobs' });
    pool.on('error', (error) =>
      log.debug({ err: error }, 'job store connection lost (the pool reconnects on its next query)'),
    );
    await pool.query('SELECT 1');
    const pgBackend = new PostgresBackend({ pool });
    backend = pgBackend;
    ping = async () => (await pool.query('SELECT 1')).rowCount === 1;
    releaseLocksOf = async (workerName) => {
      // A one-off job being run has no next run (Agenda clears it when the run starts): give it
      // one now, or it would never run again. A recurring job keeps its schedule.
      const released = await pool.query(
        `UPDATE agenda_jobs SET locked_at = NULL, next_run_at = COALESCE(next_run_at, now()) WHERE last_modified_by = $1 AND locked_at IS NOT NULL`,
        [workerName],
      );
      return released.rowCount ?? 0;
    };
    queueStats = async () => {
      const { rows } = await pool.query<{ name: string; due: number; running: number; lag: number }>(
        `SELECT name,
                count(*) FILTER (WHERE locked_at IS NULL AND next_run_at <= now())::int AS due,
                count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running,
                coalesce(extract(epoch FROM now() - min(next_run_at) FILTER (WHERE locked_at IS NULL AND next_run_at <= now())), 0)::float8 AS lag
           FROM agenda_jobs WHERE NOT coalesce(disabled, false) GROUP BY name`,
      );
      return rows.map((r) => ({ name: r.name, due: r.due, running: r.running, lagSeconds: r.lag }));
    };
    closeBackend = () => pool.end();
    releaseListenClientOnFailedConnect(pgBackend);
    withoutJobStateNotifications(pgBackend);
    (pgBackend as unknown as { notificationChannel?: NodeJS.EventEmitter }).notificationChannel?.on?.(
      'error',
      (error) =>
        isConnectionError(error)
          ? log.debug({ err: error }, 'job notification channel lost (it reconnects)')
          : log.warn({ err: error }, 'job notification channel error'),
    );
  }

  const agenda = new Agenda({
    backend,
    name: options.name,
    processEvery: options.processEveryMs ?? 5000,
    defaultLockLifetime: options.lockLifetimeMs ?? 10 * 60_000,
    maxConcurrency: backupJobSlots(Math.max(options.concurrency ?? 4, 2)) + 2,
    defaultConcurrency: options.concurrency ?? 4,
  });
  // While the database is away every poll fails: that is logged once (db/database-watch.ts).
  agenda.on('error', (error) =>
    isConnectionError(error)
      ? log.debug({ err: error }, 'job store unreachable')
      : log.error({ err: error }, 'job store error'),
  );
  await agenda.ready;
  const channel = (backend as { notificationChannel?: { connect(): Promise<void>; disconnect(): Promise<void> } })
    .notificationChannel;
  const ownChannel = !options.processJobs && channel ? channel : null;
  await ownChannel?.connect();

  return {
    agenda,
    queue: {
      async enqueue(name, data, options) {
        const queue = queueName(name, options?.worker);
        const at = new Date(Date.now() + (options?.delayMs ?? 0));
        if (options?.dedupe) {
          // Agenda's unique insert: an existing job with the same data is returned unchanged.
          const same = Object.fromEntries(Object.entries(data).map(([key, value]) => [`data.${key}`, value]));
          await agenda.create(queue, data).unique(same, { insertOnly: true }).schedule(at).save();
        } else if (options?.delayMs) await agenda.schedule(at, queue, data);
        else await agenda.now(queue, data);
      },
    },
    ping: () => ping().catch(() => false),
    releaseLocksOf: (workerName) => releaseLocksOf(workerName),
    queueStats: () => queueStats(),
    async close() {
      await agenda.stop();
      await ownChannel?.disconnect();
      await closeBackend();
    },
  };
}

/**
 * Agenda publishes each job's start, success (or failure) and completion as a NOTIFY, so that
 * `agenda.on(...)` in other processes hears of them. Nothing here listens across processes (a
 * process hears its own jobs' events without them; the product's events have their own channel,
 * events/), yet each cost a statement, and a JSON parse in every process listening to the job
 * store: three per job, a tenth of a backup's statements per repository. The channel is left
 * without them (Agenda then skips publishing: `publishJobStateNotification`); the NOTIFY that
 * wakes workers for a new job stays.
 */
function withoutJobStateNotifications(backend: PostgresBackend): void {
  const channel = (backend as unknown as { notificationChannel?: { publishState?: unknown } }).notificationChannel;
  if (channel) channel.publishState = undefined;
}

interface ListenChannel {
  connect(): Promise<void>;
  listenClient?: { release(destroy?: boolean): void };
}

/**
 * The PostgreSQL backend's notification channel takes a pool client for LISTEN and, when LISTEN
 * itself fails (the database restarting), reconnects with a new client without releasing the
 * one it took. A leaked client is never returned, so `pool.end()` at shutdown would wait for it
 * for ever: a worker stopping after a database outage would hang. Release it on that failure.
 */
function releaseListenClientOnFailedConnect(backend: PostgresBackend): void {
  const channel = (backend as unknown as { notificationChannel?: ListenChannel }).notificationChannel;
  if (!channel) return;
  const connect = channel.connect.bind(channel);
  channel.connect = async () => {
    try {
      await connect();
    } catch (error) {
      try {
        channel.listenClient?.release(true);
      } catch {
        // already released
      }
      channel.listenClient = undefined;
      throw error;
    }
  };
}
