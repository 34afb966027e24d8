/**
 * Builds every domain service of one process, in one pass and in dependency order: no service is
 * handed a variable that is assigned later. Where two services used to need each other, the
 * shared part was split out (ConnectionRecords for the connection rows; the Password Manager
 * tells key rotations to listeners) so the graph has no cycle.
 */
import type { DataSource } from 'typeorm';
import { ApiTokenService } from './access/api-token.service.js';
import { AuditService } from './audit/audit.service.js';
import { BackupRunService } from './backup/backup-run.service.js';
import { BackupScheduler } from './backup/backup-scheduler.js';
import { createMetadataSources, encryptionKeys, encryptionUsers } from './backup/backup.wiring.js';
import { createGroupBackup } from './backup/group-backup.js';
import type { VerifySnapshot } from './backup/backup-item.js';
import { markUnchangedGroups } from './backup/group-unchanged.js';
import { PolicyService } from './backup/policy.service.js';
import { RepositoryBackup } from './backup/repository-backup.js';
import { RetentionService } from './backup/retention.service.js';
import { SnapshotService } from './backup/snapshot.service.js';
import type { Config } from './config/config.js';
import { ConnectionRecords } from './connections/connection-records.js';
import { ConnectionService } from './connections/connection.service.js';
import { GitLabSessions } from './connections/gitlab-session.js';
import { OAuthAttempts } from './connections/oauth-attempts.js';
import { OAUTH_CALLBACK_PATH } from './connections/oauth.routes.js';
import { CredentialService } from './credentials/credential.service.js';
import type { SecretBox } from './credentials/secret-box.js';
import { NeedsAttentionService } from './dashboard/needs-attention.service.js';
import { StorageHistoryService } from './dashboard/storage-history.service.js';
import { GitbeakerClientFactory } from './gitlab/gitbeaker.adapter.js';
import { GitLabHttp } from './gitlab/gitlab-http.js';
import type { GitLabClientFactory, GitLabOAuthClient } from './gitlab/gitlab.port.js';
import { GitbeakerMetadataReaderFactory } from './gitlab/metadata.reader.js';
import { GitbeakerMetadataWriterFactory } from './gitlab/metadata.writer.js';
import { HttpGitLabOAuthClient } from './gitlab/oauth.client.js';
import type { RetryOptions } from './gitlab/retry-policy.js';
import type { LabkeeperPubSub } from './graphql/pubsub.js';
import type { ProcessMetrics } from './metrics/process-metrics.js';
import { OrganizationService } from './organizations/organization.service.js';
import { SyncService } from './organizations/sync.service.js';
import { DrillScheduler } from './restore/drill-scheduler.js';
import { DrillService } from './restore/drill.service.js';
import type { NewProjectDeps } from './restore/new-project.js';
import { DatabaseRestoreMappings } from './restore/restore-mapping.entity.js';
import { RestoreService } from './restore/restore.service.js';
import type { Clock } from './shared/clock.js';
import type { JobQueue } from './shared/job-queue.js';
import type { Logger } from './shared/logger.js';
import { Semaphore } from './shared/semaphore.js';
import { artifactCodec as codec } from './snapshot/artifact-codec.js';
import { SnapshotChecker } from './snapshot/snapshot-checker.js';
import { SnapshotReader } from './snapshot/snapshot-reader.js';
import { SnapshotReplicator } from './snapshot/snapshot-replicator.js';
import type { SnapshotEntity } from './snapshot/snapshot.entity.js';
import { SnapshotVerifier } from './snapshot/snapshot-verifier.js';
import { createStorageRoots } from './storage/storage-roots.js';
import { StorageService, storagesUsingCredential } from './storages/storage.service.js';
import { storagePathProblem } from './storage/storage-path.js';
import { validationError } from './shared/errors.js';
import { WorkerService } from './workers/worker.service.js';
import { EventBackupScheduler } from './webhooks/event-backup-scheduler.js';
import { EventHookService } from './webhooks/event-hook.service.js';
import { WebhookReceiver } from './webhooks/webhook-receiver.service.js';
import { AnomalyService } from './webhooks/anomaly.service.js';
import { AlertService } from './alerts/alert.service.js';
import { NotificationChannelService, channelsUsingCredential } from './alerts/notification-channel.service.js';

/** Every domain service of one process, built once by buildServices. */
export interface Services {
  apiTokens: ApiTokenService;
  audit: AuditService;
  credentials: CredentialService;
  connections: ConnectionService;
  sessions: GitLabSessions;
  oauthAttempts: OAuthAttempts;
  organizations: OrganizationService;
  sync: SyncService;
  workers: WorkerService;
  policies: PolicyService;
  backupRuns: BackupRunService;
  backupScheduler: BackupScheduler;
  snapshots: SnapshotService;
  /** The one verification of snapshots: after each backup, on demand, before restores. */
  verifier: SnapshotVerifier;
  /** Copies of snapshots on replica storages (3-2-1): the `snapshot.replicate` job, healthy-copy reads. */
  replicator: SnapshotReplicator;
  retention: RetentionService;
  restores: RestoreService;
  drills: DrillService;
  drillScheduler: DrillScheduler;
  storageHistory: StorageHistoryService;
  /** The dashboard's list of what needs attention. */
  needsAttention: NeedsAttentionService;
  storages: StorageService;
  /** Event-driven backups: the organization option and its group webhook. */
  eventHooks: EventHookService;
  /** POST /hooks/gitlab/:organizationId deliveries. */
  webhookReceiver: WebhookReceiver;
  /** Due event-triggered backups → BackupRuns with trigger EVENT. */
  eventBackups: EventBackupScheduler;
  /** Snapshot diffs, anomaly rules on each new snapshot, and pins. */
  anomalies: AnomalyService;
  /** Notification channels (where alerts go). */
  notificationChannels: NotificationChannelService;
  /** Alert rules, deduplicated occurrences and their deliveries. */
  alerts: AlertService;
  oauthRedirectUri: string;
  /** Releases what the services keep on disk between jobs (the scratch repositories of pack checks); the jobs have ended. */
  close(): Promise<void>;
}

/** What the services are built from: the process's infrastructure, already open. */
export interface ServiceInfrastructure {
  config: Config;
  logger: Logger;
  clock: Clock;
  dataSource: DataSource;
  box: SecretBox;
  pubSub: LabkeeperPubSub;
  queue: JobQueue;
  gitlab?: { factory?: GitLabClientFactory; oauth?: GitLabOAuthClient; retry?: RetryOptions; http?: GitLabHttp };
  /** This process's own metrics (null when metrics are off): the GitLab transport and backups report to it. */
  metrics?: ProcessMetrics | null;
}

export function buildServices(given: ServiceInfrastructure): Services {
  // One transport for every byte exchanged with GitLab (REST, OAuth, LFS, git's smart HTTP): one
  // agent per custom CA, one retry policy. Idle keep-alive sockets do not keep the process alive.
  const http =
    given.gitlab?.http ??
    new GitLabHttp({
      ...given.gitlab?.retry,
      logger: given.logger,
      observer: given.metrics?.gitlab,
      proxy: given.config.proxy,
    });
  const infra: ServiceInfrastructure = { ...given, gitlab: { ...given.gitlab, http } };
  const people = buildAccessAndConnections(infra);
  const alerts = buildAlerts(infra, people);
  const backup = buildBackup(infra, people, alerts);
  const restore = buildRestore(infra, people, backup, alerts);
  const { dataSource, clock, config, logger, box, queue } = infra;
  const log = componentLogger(logger);
  return {
    apiTokens: people.apiTokens,
    audit: new AuditService(
      dataSource,
      clock,
      given.logger.child({ component: 'audit' }),
      given.config.audit.retentionDays,
    ),
    credentials: people.credentials,
    connections: people.connections,
    sessions: people.sessions,
    oauthAttempts: people.oauthAttempts,
    organizations: people.organizations,
    sync: people.sync,
    workers: people.workers,
    policies: backup.policies,
    backupRuns: backup.backupRuns,
    replicator: backup.replicator,
    backupScheduler: backup.backupScheduler,
    snapshots: backup.snapshots,
    verifier: backup.verifier,
    close: () => backup.repositoryBackup.close(),
    retention: backup.retention,
    restores: restore.restores,
    drills: restore.drills,
    drillScheduler: restore.drillScheduler,
    storageHistory: new StorageHistoryService(dataSource, clock),
    needsAttention: new NeedsAttentionService(dataSource, clock),
    storages: backup.storages,
    eventHooks: people.eventHooks,
    anomalies: backup.anomalies,
    notificationChannels: alerts.channels,
    alerts: alerts.alerts,
    webhookReceiver: new WebhookReceiver({
      dataSource,
      box,
      queue,
      clock,
      logger: log('webhooks'),
      timing: config.events,
    }),
    eventBackups: new EventBackupScheduler({
      dataSource,
      runs: backup.backupRuns,
      queue,
      clock,
      logger: log('webhooks'),
      timing: config.events,
    }),
    oauthRedirectUri: people.redirectUri,
  };
}

const componentLogger = (logger: Logger) => (component: string) => logger.child({ component });

/** Access, the Password Manager, workers, connections (PAT and OAuth), organizations and syncs. */
function buildAccessAndConnections({
  config,
  logger,
  clock,
  dataSource,
  box,
  pubSub,
  queue,
  gitlab: gitlabOptions,
}: ServiceInfrastructure) {
  const log = componentLogger(logger);
  const gitlab = gitlabOptions?.factory ?? new GitbeakerClientFactory({ http: gitlabOptions?.http });
  const oauth = gitlabOptions?.oauth ?? new HttpGitLabOAuthClient({ http: gitlabOptions?.http, clock });
  const redirectUri = `${config.publicUrl}${OAUTH_CALLBACK_PATH}`;
  const workers = new WorkerService(dataSource, clock, log('workers'), config.worker.heartbeatIntervalMs, (e) =>
    pubSub.publish('WORKER_CHANGED', e),
  );
  const apiTokens = new ApiTokenService(dataSource, clock, log('access'));
  const publishStatus = (e: Parameters<LabkeeperPubSub['publish']>[1]) =>
    pubSub.publish('CONNECTION_STATUS_CHANGED', e as never);
  const records = new ConnectionRecords(dataSource, clock, log('connections'), publishStatus);
  const credentials = new CredentialService(dataSource, box, clock, log('credentials'), async (id) => [
    ...(await records.usersOfCredential(id)).map((c) => `connection ${c}`),
    ...(await encryptionUsers(dataSource, id)),
    ...(await storagesUsingCredential(dataSource, id)),
    ...(await channelsUsingCredential(dataSource, id)),
  ]);
  const sessions = new GitLabSessions(
    dataSource,
    box,
    credentials,
    gitlab,
    oauth,
    clock,
    log('connections'),
    publishStatus,
    config.gitlabOAuth,
    redirectUri,
  );
  // Built before connections: a disconnect removes the organizations' webhooks first.
  const eventHooks = new EventHookService(dataSource, box, sessions, clock, log('webhooks'), config.publicUrl);
  const sync = new SyncService(dataSource, sessions, queue, clock, log('sync'), (e) =>
    pubSub.publish('SYNC_PROGRESS', e.organizationId, e),
  );
  const organizations = new OrganizationService(
    dataSource,
    records,
    sessions,
    clock,
    log('organizations'),
    (id) => workers.exists(id),
    async (org) => void (await sync.requestSync(org.id, 'PROTECTED')),
  );
  const afterConnected = async (connection: { id: string; organizationDefaults: { namespacePath: string | null } }) => {
    const path = connection.organizationDefaults.namespacePath;
    if (path) await organizations.protectNamespace({ connectionId: connection.id, namespacePath: path });
  };
  const oauthAttempts = new OAuthAttempts(
    dataSource,
    box,
    sessions,
    gitlab,
    oauth,
    clock,
    log('connections'),
    (c, status, reason, beforeAnnounce) => records.setStatus(c, status, reason, beforeAnnounce),
    afterConnected,
  );
  const connections = new ConnectionService(
    dataSource,
    credentials,
    gitlab,
    sessions,
    oauthAttempts,
    clock,
    log('connections'),
    publishStatus,
    {
      afterConnected,
      checkWorker: (id) => workers.exists(id),
      beforeDisconnect: (id) => eventHooks.removeForConnection(id),
    },
    config.gitlabOAuth,
  );
  return {
    apiTokens,
    credentials,
    connections,
    sessions,
    oauthAttempts,
    organizations,
    sync,
    workers,
    eventHooks,
    redirectUri,
  };
}

/**
 * Notification channels and alerts. Built before backups and restores, which report finished
 * runs, failed drills and anomalies to it; it reads their rows, and imports none of them.
 */
function buildAlerts(
  { config, logger, clock, dataSource, queue }: ServiceInfrastructure,
  people: ReturnType<typeof buildAccessAndConnections>,
) {
  const log = logger.child({ component: 'alerts' });
  const channels = new NotificationChannelService(
    dataSource,
    people.credentials,
    clock,
    log,
    config.alerts.requestTimeoutMs,
    config.proxy,
  );
  const alerts = new AlertService(dataSource, people.credentials, queue, clock, log, {
    publicUrl: config.publicUrl,
    ...config.alerts,
    proxy: config.proxy,
  });
  /** Never blocks nor fails the caller: a lost call is caught up by the minute's `alerts.evaluate`. */
  const report = (what: string, call: () => Promise<unknown>) =>
    void call().catch((error: unknown) => log.warn({ err: error }, `alert for ${what} could not be raised`));
  return { channels, alerts, report };
}

/** Policies, snapshots (reader, checker, verifier), repository and group backups, runs, retention. */
function buildBackup(
  { config, logger, clock, dataSource, box, pubSub, queue, gitlab, metrics }: ServiceInfrastructure,
  people: ReturnType<typeof buildAccessAndConnections>,
  alerts: ReturnType<typeof buildAlerts>,
) {
  const log = componentLogger(logger);
  const { credentials, connections, sessions, workers } = people;
  const storages = new StorageService(dataSource, credentials, log('storages'), { proxy: config.proxy });
  const stores = createStorageRoots(config.dataDir, (id) => storages.backend(id));
  const encryption = encryptionKeys(credentials, box);
  const keys = {
    installationKey: (organizationId) => encryption.installationKey(organizationId),
    keyVersion: (credentialId) => encryption.keyVersion(credentialId),
    forRun: (run) => encryption.forRun(run),
    forArtifact: (snapshot, manifest, artifact) => encryption.forArtifact(snapshot, manifest, artifact),
  } satisfies typeof encryption; // arrow functions: handed on without their object
  const reader = new SnapshotReader(dataSource, stores, codec);
  const checker = new SnapshotChecker({ reader, keyFor: keys.forArtifact });
  const replicator = new SnapshotReplicator({
    dataSource,
    stores,
    queue,
    logger: log('replication'),
    retry: { baseDelayMs: config.jobs.replicationRetryMs },
  });
  // Restores and drills read each snapshot from a healthy copy: the primary, else a sound replica.
  const copyReader = reader.readingFrom((snapshot) => replicator.readableRoot(snapshot));
  const verifier = new SnapshotVerifier({
    dataSource,
    reader,
    checker,
    clock,
    logger: log('verify'),
    workDir: config.dataDir,
    replicas: {
      copies: replicator,
      checkerAt: (root) =>
        new SnapshotChecker({ reader: reader.readingFrom(async () => root), keyFor: keys.forArtifact }),
    },
  });
  // Anomaly rules run when a run finishes (on its terminal event; the `anomalies.evaluate` job
  // catches up on evaluations a stopped process left); pins feed retention and deletion.
  const anomalies = new AnomalyService(
    dataSource,
    { reader, keyFor: keys.forArtifact, workDir: config.dataDir },
    clock,
    log('anomalies'),
    undefined,
    async (anomaly) => alerts.report('an anomaly', () => alerts.alerts.recordAnomaly(anomaly.id)),
  );
  const snapshots = new SnapshotService({
    dataSource,
    stores,
    reader,
    verifier,
    replicator,
    now: () => clock.now(),
    logger: log('snapshots'),
    pinOf: (id) => anomalies.pinOf(id),
  });
  const replicate = (snapshot: SnapshotEntity, storageIds: string[]) => replicator.plan(snapshot, storageIds);
  const storagePaths = {
    dataDir: config.dataDir,
    protectedPaths: 'embedded' in config.database ? [config.database.embedded.dataDir] : [],
  };
  const policies = new PolicyService({
    dataSource,
    clock,
    logger: log('policies'),
    encryptionKeyVersion: keys.keyVersion,
    checkStoragePath: async (path) => {
      const problem = await storagePathProblem(path, storagePaths);
      if (problem) throw validationError({ 'storage.path': problem });
    },
    checkStorageId: (id, field) => storages.requireExists(id, field),
  });
  credentials.whenKeyRotated((id) => policies.keyRotated(id));
  const metadataFor = createMetadataSources(sessions, new GitbeakerMetadataReaderFactory({ http: gitlab?.http }));
  const verify: VerifySnapshot = (id, options) => verifier.verify(id, options);
  const groupBackup = createGroupBackup({
    dataSource,
    stores,
    codec,
    reader,
    metadataFor,
    encryptionKey: keys.forRun,
    instanceUrl: async (connectionId) => (await connections.get(connectionId)).instanceUrl,
    verify,
    replicate,
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
    verify,
    replicate,
    transfers: new Semaphore(config.worker.concurrency),
    http: gitlab?.http,
    onStepsTimed: metrics?.stepsTimed,
  });
  const afterRun = (runId: string) => {
    alerts.report('a finished run', () => alerts.alerts.recordRun(runId));
    void anomalies
      .evaluateRun(runId)
      .catch((error: unknown) => logger.warn({ err: error, runId }, 'anomaly rules could not be evaluated'));
  };
  const backupRuns = new BackupRunService({
    markUnchangedGroups: (run) =>
      markUnchangedGroups(
        { dataSource, reader, metadataFor, encryptionKey: keys.forRun, clock, logger: log('backup') },
        run,
      ),
    dataSource,
    policies,
    sessions,
    queue,
    repositoryBackup,
    clock,
    logger: log('backup'),
    publish: (e) => {
      pubSub.publish('BACKUP_PROGRESS', e);
      if (e.isTerminal) afterRun(e.runId);
    },
    preferredWorker: (organizationId) => workers.defaultWorkerFor(organizationId),
  });
  const retention = new RetentionService(
    dataSource,
    snapshots,
    clock,
    log('retention'),
    (ids) => anomalies.pinnedAmong(ids),
    (organizationId) => anomalies.settledFor(organizationId),
  );
  const backupScheduler = new BackupScheduler(dataSource, policies, backupRuns, clock, log('backup'));
  return {
    policies,
    snapshots,
    backupRuns,
    backupScheduler,
    retention,
    reader,
    copyReader,
    replicator,
    verifier,
    keys,
    storages,
    stores,
    anomalies,
    repositoryBackup,
  };
}

/** Restores (DOWNLOAD, NEW_PROJECT, ORIGINAL) and restore drills. */
function buildRestore(
  { config, logger, clock, dataSource, box, pubSub, queue, gitlab }: ServiceInfrastructure,
  people: ReturnType<typeof buildAccessAndConnections>,
  backup: ReturnType<typeof buildBackup>,
  alerts: ReturnType<typeof buildAlerts>,
) {
  const log = componentLogger(logger);
  const newProjectDeps: NewProjectDeps = {
    sessions: people.sessions,
    connections: people.connections,
    reader: backup.copyReader,
    keyFor: backup.keys.forArtifact,
    workDir: config.dataDir,
    writers: new GitbeakerMetadataWriterFactory({ http: gitlab?.http }),
    mappingsFor: (scope: string) => new DatabaseRestoreMappings(dataSource, scope),
    http: gitlab?.http,
  };
  const restores = new RestoreService({
    dataSource,
    reader: backup.copyReader,
    verifier: backup.verifier,
    queue,
    signingKey: box.deriveKey('labkeeper download links v1', 'restore'),
    publicUrl: config.publicUrl,
    clock,
    logger: log('restore'),
    publish: (e) => pubSub.publish('RESTORE_PROGRESS', e),
    newProject: newProjectDeps,
    concurrency: config.worker.concurrency,
    secrets: box,
    stores: backup.stores,
  });
  const drills = new DrillService({
    dataSource,
    policies: backup.policies,
    newProject: newProjectDeps,
    queue,
    clock,
    logger: log('drill'),
    publish: (e) => {
      pubSub.publish('DRILL_CHANGED', e);
      if (e.isTerminal && e.status === 'FAILED')
        alerts.report('a failed drill', () => alerts.alerts.recordDrill(e.drillRunId));
    },
  });
  const drillScheduler = new DrillScheduler({
    dataSource,
    policies: backup.policies,
    drills,
    clock,
    logger: log('drill'),
  });
  return { restores, drills, drillScheduler };
}
