import { ApiTokenEntity } from '../access/api-token.entity.js';
import { AuditEventEntity } from '../audit/audit-event.entity.js';
import { BackupPolicyEntity, BackupRunEntity, BackupRunItemEntity } from '../backup/backup.entity.js';
import { RestoreRunEntity } from '../restore/restore.entity.js';
import { RestoreMappingEntity } from '../restore/restore-mapping.entity.js';
import { DrillRunEntity, DrillScheduleEntity } from '../restore/drill.entity.js';
import { ConnectionEntity, OAuthAttemptEntity } from '../connections/connection.entity.js';
import { CredentialEntity, CredentialVersionEntity } from '../credentials/credential.entity.js';
import {
  GroupEntity,
  OrganizationEntity,
  RepositoryEntity,
  SyncRunEntity,
} from '../organizations/organization.entity.js';
import { WorkerEntity } from '../workers/worker.entity.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { SnapshotCopyEntity } from '../snapshot/snapshot-copy.entity.js';
import {
  EventHookEntity,
  PendingEventBackupEntity,
  SnapshotAnomalyEntity,
  SnapshotPinEntity,
  WebhookDeliveryEntity,
} from '../webhooks/webhook.entity.js';
import { StorageEntity } from '../storages/storage.entity.js';
import { AlertDeliveryEntity, AlertEntity, NotificationChannelEntity } from '../alerts/alert.entity.js';

/** Every TypeORM entity, passed as classes (globs do not work under ESM). */
export const ENTITIES = [
  ApiTokenEntity,
  CredentialEntity,
  CredentialVersionEntity,
  ConnectionEntity,
  OAuthAttemptEntity,
  OrganizationEntity,
  RepositoryEntity,
  GroupEntity,
  SyncRunEntity,
  WorkerEntity,
  BackupPolicyEntity,
  BackupRunEntity,
  BackupRunItemEntity,
  SnapshotEntity,
  SnapshotCopyEntity,
  RestoreRunEntity,
  RestoreMappingEntity,
  DrillRunEntity,
  DrillScheduleEntity,
  EventHookEntity,
  WebhookDeliveryEntity,
  PendingEventBackupEntity,
  SnapshotAnomalyEntity,
  SnapshotPinEntity,
  AuditEventEntity,
  StorageEntity,
  NotificationChannelEntity,
  AlertEntity,
  AlertDeliveryEntity,
];
