import type { ApiTokenService } from './access/api-token.service.js';
import type { ConnectionService } from './connections/connection.service.js';
import type { GitLabSessions } from './connections/gitlab-session.js';
import type { OAuthAttempts } from './connections/oauth-attempts.js';
import type { CredentialService } from './credentials/credential.service.js';
import type { OrganizationService } from './organizations/organization.service.js';
import type { SyncService } from './organizations/sync.service.js';
import type { WorkerService } from './workers/worker.service.js';
import type { BackupRunService } from './backup/backup-run.service.js';
import type { BackupScheduler } from './backup/backup-scheduler.js';
import type { PolicyService } from './backup/policy.service.js';
import type { SnapshotService } from './backup/snapshot.service.js';
import type { RetentionService } from './backup/retention.service.js';
import type { RestoreService } from './restore/restore.service.js';
import type { DrillService } from './restore/drill.service.js';
import type { DrillScheduler } from './restore/drill-scheduler.js';
import type { StorageHistoryService } from './dashboard/storage-history.service.js';

/** Every domain service of one process, built once by app.ts. */
export interface Services {
  apiTokens: ApiTokenService;
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
  retention: RetentionService;
  restores: RestoreService;
  drills: DrillService;
  drillScheduler: DrillScheduler;
  storageHistory: StorageHistoryService;
  oauthRedirectUri: string;
}
