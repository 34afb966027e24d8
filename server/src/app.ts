/**
 * The composition root: config → database (+ migrations) → master key → services → events →
 * job store → worker and/or GraphQL server. `main.ts` (API + in-process worker) and `worker.ts`
 * (worker only) are thin wrappers; tests start the same thing with their own config.
 * `stop()` shuts down in order: HTTP/WS → worker (Agenda) → events → database → embedded PostgreSQL
 * → the helper that starts git (git/git-launcher.ts), when no other app of this process holds it.
 */
import 'reflect-metadata';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { Config } from './config/config.js';
import { mountOAuthRoutes } from './connections/oauth.routes.js';
import { loadOrCreateMasterKey, SecretBox } from './credentials/secret-box.js';
import { openDatabase } from './db/data-source.js';
import { watchDatabase } from './db/database-watch.js';
import { startEmbeddedPostgres } from './db/embedded-postgres.js';
import { PgEventTarget } from './events/pg-event-target.js';
import { holdGitLauncher } from './git/git-launcher.js';
import type { GitLabClientFactory, GitLabOAuthClient } from './gitlab/gitlab.port.js';
import type { RetryOptions } from './gitlab/retry-policy.js';
import { createLabkeeperPubSub, topicRoutes, type LabkeeperPubSub } from './graphql/pubsub.js';
import { buildLabkeeperSchema } from './graphql/schema.js';
import { createHttpServer } from './graphql/server.js';
import { backupJobSlots, openJobStore, type JobStore } from './jobs/agenda.js';
import { defineJobs } from './jobs/handlers.js';
import { registerClusterMetrics } from './metrics/cluster-metrics.js';
import { startMetricsServer } from './metrics/metrics-server.js';
import { mountMetrics } from './metrics/metrics.routes.js';
import { ProcessMetrics } from './metrics/process-metrics.js';
import { mountAuditRoutes } from './audit/audit.routes.js';
import { bearerToken } from './graphql/context.js';
import { databaseVersion } from './db/data-version.js';
import { mountRestoreRoutes } from './restore/restore.routes.js';
import { buildServices, type Services } from './services.js';
import { systemClock, type Clock } from './shared/clock.js';
import { restrictNewFiles, secureDataDir } from './shared/data-dir.js';
import type { Logger } from './shared/logger.js';
import { mountClient } from './web/client.routes.js';
import { mountWebhookRoutes } from './webhooks/webhooks.routes.js';

export const VERSION = '0.1.0';

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** Serve the API (GraphQL, OAuth callback, health). */
  api: boolean;
  /** Run jobs in this process. */
  worker: boolean;
  clock?: Clock;
  gitlab?: { factory?: GitLabClientFactory; oauth?: GitLabOAuthClient; retry?: RetryOptions };
  jobs?: { lockLifetimeMs?: number; processEveryMs?: number };
}

export interface RunningApp {
  config: Config;
  services: Services;
  dataSource: DataSource;
  pubSub: LabkeeperPubSub;
  /** The events' transport: its listener counts show what subscribers hold. */
  events: PgEventTarget;
  jobStore: JobStore;
  /** The API's base URL (when `api`), e.g. http://localhost:4000. */
  url: string | null;
  port: number | null;
  /** The admin token created on this (first) start, to print once; null otherwise. */
  bootstrapToken: string | null;
  workerId: string | null;
  /** This process's metrics registry (null when metrics are off). */
  metrics: ProcessMetrics | null;
  /** The worker-only process's own metrics port (LABKEEPER_METRICS_PORT), else null. */
  metricsPort: number | null;
  stop: () => Promise<void>;
}

/** Shutdown steps, run in reverse order of registration. */
type Cleanups = (() => Promise<unknown>)[];

export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const cleanups: Cleanups = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };

  try {
    const releaseGitLauncher = holdGitLauncher();
    cleanups.push(releaseGitLauncher); // last: after the worker's jobs ended
    const { databaseUrl, dataSource } = await openDatabaseStep(config, logger, cleanups);
    const box = new SecretBox(
      config.masterKey ?? (await loadOrCreateMasterKey(join(config.dataDir, 'master.key'))).key,
    );
    const { pubSub, events } = await openEvents(databaseUrl, logger, cleanups);
    const jobStore = await openJobs(options, databaseUrl, cleanups);
    const metrics = config.metrics ? new ProcessMetrics() : null;
    const services = buildServices({
      metrics,
      config,
      logger,
      clock,
      dataSource,
      box,
      pubSub,
      queue: jobStore.queue,
      gitlab: options.gitlab,
    });
    const workerId = options.worker
      ? await startWorker(options, services, jobStore, cleanups, () => dataSource.query('SELECT 1'))
      : null;
    const api = options.api
      ? await startApi(options, { services, pubSub, dataSource, jobStore, metrics, clock }, cleanups)
      : null;
    const metricsPort =
      !options.api && metrics && config.metrics?.workerPort != null
        ? await serveWorkerMetrics(options, metrics, config.metrics.workerPort, cleanups)
        : null;
    return {
      config,
      services,
      dataSource,
      pubSub,
      events,
      jobStore,
      url: api ? `http://localhost:${api.port}` : null,
      port: api?.port ?? null,
      bootstrapToken: api?.bootstrapToken ?? null,
      workerId,
      metrics,
      metricsPort,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The configured PostgreSQL, or an embedded one under the data directory; migrations run on open. */
async function openDatabaseStep(
  config: Config,
  logger: Logger,
  cleanups: Cleanups,
): Promise<{ databaseUrl: string; dataSource: DataSource }> {
  // Files: the data directory is private, and so is everything created from here on (shared/data-dir.ts).
  await secureDataDir(config.dataDir);
  let databaseUrl: string;
  if ('url' in config.database) databaseUrl = config.database.url;
  else {
    const embedded = await startEmbeddedPostgres({ ...config.database.embedded, logger });
    cleanups.push(() => embedded.stop());
    await embedded.createDatabaseIfMissing('labkeeper');
    databaseUrl = embedded.urlFor('labkeeper');
  }
  restrictNewFiles();
  // Each running backup job holds a connection for its repository lock while it waits for a
  // transfer slot and still needs others for its queries: room for both queues' jobs and more.
  const dataSource = await openDatabase(databaseUrl, {
    poolSize: Math.max(10, 2 * backupJobSlots(config.worker.concurrency) + 6),
  });
  cleanups.push(() => dataSource.destroy());
  // An outage is logged once, not fatal: the pools reconnect when the database returns.
  const watch = watchDatabase({
    ping: () => dataSource.query('SELECT 1'),
    logger: logger.child({ component: 'database' }),
  });
  cleanups.push(async () => watch.stop());
  return { databaseUrl, dataSource };
}

/** Events across processes: PostgreSQL LISTEN/NOTIFY under the typed pubsub. */
async function openEvents(
  databaseUrl: string,
  logger: Logger,
  cleanups: Cleanups,
): Promise<{ pubSub: LabkeeperPubSub; events: PgEventTarget }> {
  const eventTarget = new PgEventTarget(databaseUrl, logger.child({ component: 'events' }), { route: topicRoutes });
  await eventTarget.start();
  cleanups.push(() => eventTarget.close());
  return { pubSub: createLabkeeperPubSub(eventTarget), events: eventTarget };
}

/** The job store: every process enqueues; only workers process. */
async function openJobs(options: AppOptions, databaseUrl: string, cleanups: Cleanups): Promise<JobStore> {
  const { config } = options;
  const jobStore = await openJobStore({
    jobStore: config.jobStore,
    databaseUrl,
    logger: options.logger,
    name: config.worker.name,
    concurrency: config.worker.concurrency,
    lockLifetimeMs: options.jobs?.lockLifetimeMs ?? config.jobs.lockLifetimeMs,
    processEveryMs: options.jobs?.processEveryMs ?? config.jobs.processEveryMs,
    processJobs: options.worker,
  });
  cleanups.push(() => jobStore.close());
  return jobStore;
}

/** Defines the job handlers, registers this worker with its heartbeat, and starts processing. */
async function startWorker(
  options: AppOptions,
  services: Services,
  jobStore: JobStore,
  cleanups: Cleanups,
  pingDatabase: () => Promise<unknown>,
): Promise<string> {
  const { config } = options;
  const { agenda } = jobStore;
  // Aborted first thing at stop: a job waiting out a database outage gives up instead of pinging
  // pools that are being closed (shared/database-outage.ts).
  const shutdown = new AbortController();
  await defineJobs(agenda, services, options.logger, {
    concurrency: config.worker.concurrency,
    lockLifetimeMs: options.jobs?.lockLifetimeMs ?? config.jobs.lockLifetimeMs,
    workerName: config.worker.name,
    pingDatabase,
    shutdown: shutdown.signal,
  });
  const worker = await services.workers.register({
    name: config.worker.name,
    concurrency: config.worker.concurrency,
    version: VERSION,
    isInProcess: options.api,
  });
  const stopHeartbeat = services.workers.startHeartbeat(
    worker.id,
    async () => {
      const stats = await agenda.getRunningStats();
      return typeof stats.runningJobs === 'number' ? stats.runningJobs : stats.runningJobs.length;
    },
    (name) => jobStore.releaseLocksOf(name),
  );
  await agenda.start();
  cleanups.push(async () => {
    shutdown.abort();
    await agenda.stop();
    await stopHeartbeat();
    await services.close(); // the jobs have ended
  });
  return worker.id;
}

/** A worker-only process's own /metrics (process-level counters only; the API serves the installation's). */
async function serveWorkerMetrics(
  options: AppOptions,
  metrics: ProcessMetrics,
  port: number,
  cleanups: Cleanups,
): Promise<number> {
  const server = await startMetricsServer({
    registry: metrics.registry,
    port,
    token: options.config.metrics?.token ?? null,
    logger: options.logger.child({ component: 'metrics' }),
  });
  cleanups.push(() => server.close());
  return server.port;
}

/** The HTTP server: GraphQL over HTTP and WebSocket, OAuth callback, download links, the client, health. */
async function startApi(
  options: AppOptions,
  parts: {
    services: Services;
    pubSub: LabkeeperPubSub;
    dataSource: DataSource;
    jobStore: JobStore;
    metrics: ProcessMetrics | null;
    clock: Clock;
  },
  cleanups: Cleanups,
): Promise<{ port: number; bootstrapToken: string | null }> {
  const { config, logger } = options;
  const { services, dataSource, jobStore, metrics } = parts;
  const log = (component: string) => logger.child({ component });
  if (metrics) {
    registerClusterMetrics(metrics.registry, {
      dataSource,
      clock: parts.clock,
      logger: log('metrics'),
      queueStats: () => jobStore.queueStats(),
    });
  }
  const bootstrapToken = await services.apiTokens.ensureBootstrapAdmin(config.adminToken);
  const http = await createHttpServer({
    schema: await buildLabkeeperSchema(parts.pubSub),
    services,
    logger,
    isProduction: config.isProduction,
    authThrottle: config.authThrottle,
    clock: parts.clock,
    responseCache: {
      maxAgeSeconds: config.responseCache.maxAgeSeconds,
      dataVersion: databaseVersion(parts.dataSource),
    },
    routes: (app) => {
      mountOAuthRoutes(app, services.oauthAttempts, config.publicUrl, log('oauth'));
      mountRestoreRoutes(
        app,
        services.restores,
        log('restore'),
        async (tokenId) =>
          /^[0-9a-f-]{36}$/.test(tokenId) && (await services.apiTokens.inactiveAmong([tokenId])).length === 0,
      );
      mountAuditRoutes(
        app,
        services.audit,
        async (header) => {
          const principal = await services.apiTokens.authenticate(bearerToken(header));
          return principal ? principal.role === 'ADMIN' : null;
        },
        log('audit'),
      );
      mountWebhookRoutes(app, services.webhookReceiver, log('webhooks'));
      if (metrics) mountMetrics(app, metrics.registry, config.metrics?.token ?? null, log('metrics'));
      mountClient(app, config.clientDir, log('web'));
    },
    readiness: async () => ({
      database: await dataSource.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      jobStore: await jobStore.ping(),
    }),
  });
  const port = await http.listen(config.port);
  cleanups.push(() => http.close());
  return { port, bootstrapToken };
}
