/**
 * The composition root: config → database (+ migrations) → master key → services → events →
 * job store → worker and/or GraphQL server. `main.ts` (API + in-process worker) and `worker.ts`
 * (worker only) are thin wrappers; tests start the same thing with their own config.
 * `stop()` shuts down in order: HTTP/WS → worker (Agenda) → events → database → embedded PostgreSQL.
 */
import 'reflect-metadata';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { ApiTokenService } from './access/api-token.service.js';
import type { Config } from './config/config.js';
import { ConnectionService } from './connections/connection.service.js';
import { GitLabSessions } from './connections/gitlab-session.js';
import { OAuthAttempts } from './connections/oauth-attempts.js';
import { mountOAuthRoutes, OAUTH_CALLBACK_PATH } from './connections/oauth.routes.js';
import { CredentialService } from './credentials/credential.service.js';
import { loadOrCreateMasterKey, SecretBox } from './credentials/secret-box.js';
import { openDatabase } from './db/data-source.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded-postgres.js';
import { PgEventTarget } from './events/pg-event-target.js';
import { GitbeakerClientFactory } from './gitlab/gitbeaker.adapter.js';
import type { GitLabClientFactory, GitLabOAuthClient } from './gitlab/gitlab.port.js';
import { HttpGitLabOAuthClient } from './gitlab/oauth.client.js';
import { GitbeakerMetadataReaderFactory } from './gitlab/metadata.reader.js';
import type { RetryOptions } from './gitlab/retry-policy.js';
import { createLabkeeperPubSub, type LabkeeperPubSub } from './graphql/pubsub.js';
import { buildLabkeeperSchema } from './graphql/schema.js';
import { createHttpServer, type HttpServer } from './graphql/server.js';
import { mountClient } from './web/client.routes.js';
import { backupJobSlots, openJobStore, type JobStore } from './jobs/agenda.js';
import { defineJobs } from './jobs/handlers.js';
import { OrganizationService } from './organizations/organization.service.js';
import { SyncService } from './organizations/sync.service.js';
import type { Services } from './services.js';
import { StorageHistoryService } from './dashboard/storage-history.service.js';
import { systemClock, type Clock } from './shared/clock.js';
import type { Logger } from './shared/logger.js';
import { WorkerService } from './workers/worker.service.js';
import { BackupRunService } from './backup/backup-run.service.js';
import { BackupScheduler } from './backup/backup-scheduler.js';
import { artifactCodec as codec } from './snapshot/artifact-codec.js';
import { PolicyService } from './backup/policy.service.js';
import { RetentionService } from './backup/retention.service.js';
import { RestoreService } from './restore/restore.service.js';
import { DrillService } from './restore/drill.service.js';
import { DrillScheduler } from './restore/drill-scheduler.js';
import { mountRestoreRoutes } from './restore/restore.routes.js';
import { DatabaseRestoreMappings } from './restore/restore-mapping.entity.js';
import { GitbeakerMetadataWriterFactory } from './gitlab/metadata.writer.js';
import { RepositoryBackup } from './backup/repository-backup.js';
import { createGroupBackup } from './backup/group-backup.js';
import { SnapshotService } from './backup/snapshot.service.js';
import { SnapshotVerifier } from './snapshot/snapshot-verifier.js';
import { SnapshotChecker } from './snapshot/snapshot-checker.js';
import { Semaphore } from './shared/semaphore.js';
import { restrictNewFiles, secureDataDir } from './shared/data-dir.js';
import { validationError } from './shared/errors.js';
import { storagePathProblem } from './storage/storage-path.js';
import { createMetadataSources, encryptionKeys, encryptionUsers } from './backup/backup.wiring.js';
import { SnapshotReader } from './snapshot/snapshot-reader.js';
import { createStorageRoots } from './storage/storage-roots.js';

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
  jobStore: JobStore;
  /** The API's base URL (when `api`), e.g. http://localhost:4000. */
  url: string | null;
  port: number | null;
  /** The admin token created on this (first) start, to print once; null otherwise. */
  bootstrapToken: string | null;
  workerId: string | null;
  stop(): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };

  try {
    // Files: everything under the data directory (and made by child processes) is private.
    await secureDataDir(config.dataDir);

    // Database
    let databaseUrl: string;
    if ('url' in config.database) databaseUrl = config.database.url;
    else {
      const embedded: EmbeddedDatabase = await startEmbeddedPostgres({ ...config.database.embedded, logger });
      cleanups.push(() => embedded.stop());
      await embedded.createDatabaseIfMissing('labkeeper');
      databaseUrl = embedded.urlFor('labkeeper');
    }
    // Each running backup job holds a connection for its repository lock while it waits for a
    // transfer slot and still needs others for its queries: room for both queues' jobs and more.
    restrictNewFiles();
    const dataSource = await openDatabase(databaseUrl, { poolSize: Math.max(10, 2 * backupJobSlots(config.worker.concurrency) + 6) });
    cleanups.push(() => dataSource.destroy());

    // Secrets
    const masterKey = config.masterKey ?? (await loadOrCreateMasterKey(join(config.dataDir, 'master.key'))).key;
    const box = new SecretBox(masterKey);

    // Events across processes
    const eventTarget = new PgEventTarget(databaseUrl, logger.child({ component: 'events' }));
    await eventTarget.start();
    cleanups.push(() => eventTarget.close());
    const pubSub = createLabkeeperPubSub(eventTarget);

    // Job store (enqueue from anywhere; process only in workers)
    const jobStore = await openJobStore({
      jobStore: config.jobStore,
      databaseUrl,
      logger,
      name: config.worker.name,
      concurrency: config.worker.concurrency,
      lockLifetimeMs: options.jobs?.lockLifetimeMs ?? config.jobs.lockLifetimeMs,
      processEveryMs: options.jobs?.processEveryMs ?? config.jobs.processEveryMs,
      processJobs: options.worker,
    });
    cleanups.push(() => jobStore.close());

    // Services
    const gitlab = options.gitlab?.factory ?? new GitbeakerClientFactory({ ...options.gitlab?.retry, logger });
    const oauth = options.gitlab?.oauth ?? new HttpGitLabOAuthClient({ ...options.gitlab?.retry, logger, clock });
    const redirectUri = `${config.publicUrl}${OAUTH_CALLBACK_PATH}`;
    const log = (component: string) => logger.child({ component });
    const workers = new WorkerService(dataSource, clock, log('workers'), config.worker.heartbeatIntervalMs, (e) => pubSub.publish('WORKER_CHANGED', e));
    const apiTokens = new ApiTokenService(dataSource, clock, log('access'));
    let connections: ConnectionService | undefined;
    let policies: PolicyService | undefined;
    const credentials = new CredentialService(dataSource, box, clock, log('credentials'), async (id) => [
      ...(await connections!.usersOfCredential(id)).map((c) => `connection ${c}`),
      ...(await encryptionUsers(dataSource, id)),
    ], (id) => policies!.keyRotated(id));
    const publishStatus = (e: Parameters<LabkeeperPubSub['publish']>[1]) => pubSub.publish('CONNECTION_STATUS_CHANGED', e as never);
    const sessions = new GitLabSessions(dataSource, box, credentials, gitlab, oauth, clock, log('connections'), publishStatus, config.gitlabOAuth, redirectUri);
    const sync = new SyncService(dataSource, sessions, jobStore.queue, clock, log('sync'), (e) => pubSub.publish('SYNC_PROGRESS', e.organizationId, e));
    let organizations: OrganizationService | undefined;
    const afterConnected = async (connection: { id: string; organizationDefaults: { namespacePath: string | null } }) => {
      const path = connection.organizationDefaults.namespacePath;
      if (path) await organizations!.protectNamespace({ connectionId: connection.id, namespacePath: path });
    };
    const oauthAttempts = new OAuthAttempts(dataSource, box, sessions, gitlab, oauth, clock, log('connections'),
      (c, status, reason, beforeAnnounce) => connections!.setStatus(c, status, reason, beforeAnnounce), afterConnected);
    connections = new ConnectionService(dataSource, credentials, gitlab, sessions, oauthAttempts, clock, log('connections'), publishStatus,
      { afterConnected, checkWorker: (id) => workers.exists(id) }, config.gitlabOAuth);
    organizations = new OrganizationService(dataSource, connections, sessions, clock, log('organizations'), (id) => workers.exists(id),
      async (org) => void (await sync.requestSync(org.id, 'PROTECTED')));
    // Backup
    const stores = createStorageRoots(config.dataDir);
    const keys = encryptionKeys(credentials, box);
    const reader = new SnapshotReader(dataSource, stores, codec);
    const checker = new SnapshotChecker({ reader, keyFor: keys.forArtifact });
    const verifier = new SnapshotVerifier({ dataSource, reader, checker, clock, logger: log('verify'), workDir: config.dataDir });
    const snapshots = new SnapshotService(dataSource, stores, reader, verifier, log('snapshots'));
    const storagePaths = { dataDir: config.dataDir, protectedPaths: 'embedded' in config.database ? [config.database.embedded.dataDir] : [] };
    policies = new PolicyService(dataSource, clock, log('policies'), keys.keyVersion, async (path) => {
      const problem = await storagePathProblem(path, storagePaths);
      if (problem) throw validationError({ 'storage.path': problem });
    });
    const metadataFor = createMetadataSources(sessions, new GitbeakerMetadataReaderFactory({ ...options.gitlab?.retry, logger }));
    const groupBackup = createGroupBackup({
      dataSource,
      stores,
      codec,
      metadataFor,
      encryptionKey: keys.forRun,
      instanceUrl: async (connectionId) => (await connections!.get(connectionId)).instanceUrl,
      verify: (id) => verifier.verify(id),
      clock,
      logger: log('backup'),
    });
    const repositoryBackup = new RepositoryBackup({
      dataSource,
      stores,
      codec,
      sessions,
      reader,
      metadataFor,
      groupBackup,
      encryptionKey: keys.forRun,
      installationKey: keys.installationKey,
      clock,
      logger: log('backup'),
      workDir: config.dataDir,
      verify: (id) => verifier.verify(id),
      transfers: new Semaphore(config.worker.concurrency),
      gitRetryDelayMs: options.gitlab?.retry?.baseDelayMs,
    });
    const backupRuns = new BackupRunService(dataSource, policies, sessions, jobStore.queue, repositoryBackup, clock, log('backup'), (e) =>
      pubSub.publish('BACKUP_PROGRESS', e),
      (organizationId) => workers.defaultWorkerFor(organizationId),
    );
    const retention = new RetentionService(dataSource, snapshots, clock, log('retention'));
    const newProjectDeps = {
      sessions,
      connections,
      reader,
      keyFor: keys.forArtifact,
      workDir: config.dataDir,
      writers: new GitbeakerMetadataWriterFactory({ ...options.gitlab?.retry, logger }),
      mappingsFor: (scope: string) => new DatabaseRestoreMappings(dataSource, scope),
    };
    const restores = new RestoreService(
      dataSource,
      reader,
      verifier,
      jobStore.queue,
      box.deriveKey('labkeeper download links v1', 'restore'),
      config.publicUrl,
      clock,
      log('restore'),
      (e) => pubSub.publish('RESTORE_PROGRESS', e),
      newProjectDeps,
    );
    const drills = new DrillService(dataSource, policies, newProjectDeps, jobStore.queue, clock, log('drill'), (e) => pubSub.publish('DRILL_CHANGED', e));
    const drillScheduler = new DrillScheduler(dataSource, drills, clock, log('drill'));
    const backupScheduler = new BackupScheduler(dataSource, policies, backupRuns, clock, log('backup'));

    const services: Services = {
      apiTokens,
      credentials,
      connections,
      sessions,
      oauthAttempts,
      organizations,
      sync,
      workers,
      policies,
      backupRuns,
      backupScheduler,
      snapshots,
      retention,
      restores,
      drills,
      drillScheduler,
      storageHistory: new StorageHistoryService(dataSource, clock),
      oauthRedirectUri: redirectUri,
    };

    // Worker
    let workerId: string | null = null;
    if (options.worker) {
      await defineJobs(jobStore.agenda, services, logger, {
        concurrency: config.worker.concurrency,
        lockLifetimeMs: options.jobs?.lockLifetimeMs ?? config.jobs.lockLifetimeMs,
        workerName: config.worker.name,
      });
      const worker = await workers.register({ name: config.worker.name, concurrency: config.worker.concurrency, version: VERSION, isInProcess: options.api });
      workerId = worker.id;
      const agenda = jobStore.agenda;
      const stopHeartbeat = workers.startHeartbeat(worker.id, async () => {
        const stats = await agenda.getRunningStats();
        return typeof stats.runningJobs === 'number' ? stats.runningJobs : stats.runningJobs.length;
      }, (name) => jobStore.releaseLocksOf(name));
      await jobStore.agenda.start();
      cleanups.push(async () => {
        await jobStore.agenda.stop();
        await stopHeartbeat();
      });
    }

    // API
    let http: HttpServer | null = null;
    let port: number | null = null;
    let bootstrapToken: string | null = null;
    if (options.api) {
      bootstrapToken = await apiTokens.ensureBootstrapAdmin(config.adminToken);
      const schema = await buildLabkeeperSchema(pubSub);
      http = await createHttpServer({
        schema,
        services,
        logger,
        isProduction: config.isProduction,
        authThrottle: config.authThrottle,
        routes: (app) => {
          mountOAuthRoutes(app, oauthAttempts, config.publicUrl, log('oauth'));
          mountRestoreRoutes(app, restores, log('restore'), async (tokenId) => /^[0-9a-f-]{36}$/.test(tokenId) && (await apiTokens.inactiveAmong([tokenId])).length === 0);
          mountClient(app, config.clientDir, log('web'));
        },
        readiness: async () => ({
          database: await dataSource.query('SELECT 1').then(() => true, () => false),
          jobStore: await jobStore.ping(),
        }),
      });
      port = await http.listen(config.port);
      const server = http;
      cleanups.push(() => server.close());
    }

    return {
      config,
      services,
      dataSource,
      pubSub,
      jobStore,
      url: port !== null ? `http://localhost:${port}` : null,
      port,
      bootstrapToken,
      workerId,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
