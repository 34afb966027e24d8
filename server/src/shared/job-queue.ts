/**
 * The typed job map: every job name (`<domain>.<action>`, after agenda's namespaces) with the
 * payload its handler receives, declared once, as graphql/pubsub.ts declares its topics. Domains
 * enqueue by name and the compiler checks the payload; jobs/handlers.ts defines one handler per
 * name. Jobs run at least once: a handler must be safe to run again for the same payload.
 */
export type Jobs = {
  /** Discover the repositories and groups of one organization. */
  'repositories.sync': { syncRunId: string };
  /** Every minute: start the syncs whose RepoSyncSchedule is due. */
  'repositories.schedule': Record<string, never>;
  /** One backup run: refresh GitLab's facts, fan out one `backup.repository` job per repository. */
  'backup.run': { runId: string };
  /** One repository of a backup run. */
  'backup.repository': { runId: string; itemId: string };
  /** Every minute: start the backups whose policy schedule is due. */
  'backup.schedule': Record<string, never>;
  /** Every hour: delete the audit events older than LABKEEPER_AUDIT_RETENTION_DAYS. */
  'audit.prune': Record<string, never>;
  /** Every hour: apply each organization's retention. */
  'retention.prune': Record<string, never>;
  /** Copy one committed snapshot to one replica storage (artifacts, LFS objects, the manifest last). */
  'snapshot.replicate': { snapshotId: string; storageId: string };
  /** One restore run. */
  'restore.run': { runId: string };
  /** One restore drill. */
  'drill.run': { drillRunId: string };
  /** Every minute: start the restore drills whose policy cadence is due. */
  'drill.schedule': Record<string, never>;
  /**
   * At an organization's earliest due time: turn due event-triggered backups (webhook bursts past
   * their quiet period or maximum delay) into EVENT runs, then schedule the next one. Also every
   * 5 minutes without an organization, as a safety net (webhooks/event-backup-scheduler.ts).
   */
  'events.backup': { organizationId?: string; dueAt?: string };
  /** Every 15 minutes: check each organization's event webhook upstream (re-create it if deleted). */
  'events.check-hooks': Record<string, never>;
  /** One alert to one notification channel (claimed in PostgreSQL, so a duplicate job sends nothing). */
  'alerts.deliver': { deliveryId: string };
  /**
   * Every minute: the alert rules found by scanning (token expiry, stale repositories, failed
   * syncs, storage errors; many at once become a digest), and a catch-up of finished runs, failed
   * drills, anomalies and deliveries whose job was lost.
   */
  'alerts.evaluate': Record<string, never>;
  /**
   * Every minute: the anomaly rules on finished runs whose evaluation never ended (the process
   * evaluating them stopped, or a try failed).
   */
  'anomalies.evaluate': Record<string, never>;
  /** Every 10 minutes: the DAILY and WEEKLY summary reports whose period is over and not yet sent. */
  'alerts.summarize': Record<string, never>;
};

export type JobName = keyof Jobs;

export interface EnqueueOptions {
  /**
   * Only the worker of this name takes the job (an organization's default worker). Without it,
   * any worker does.
   */
  worker?: string | null;
  /** Run no earlier than this many milliseconds from now (a retry's backoff). */
  delayMs?: number;
  /** Store nothing when a job of this name with the same data is already waiting. */
  dedupe?: boolean;
}

/** The queue name a job is stored under: `<name>` for any worker, `<name>@<worker>` for one. */
export function queueName(name: JobName, worker?: string | null): string {
  return worker ? `${name}@${worker}` : name;
}

/** What domains need of the job system: hand work to whichever worker picks it up. */
export interface JobQueue {
  /** Enqueues a job to run as soon as a worker is free. Resolves once it is stored. */
  enqueue<N extends JobName>(name: N, data: Jobs[N], options?: EnqueueOptions): Promise<void>;
}
