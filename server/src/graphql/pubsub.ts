/**
 * The typed topic map for subscriptions. Topics are SCREAMING_SNAKE; where a subscription is
 * scoped, the id (connection, organization, run) is the topic id. Payloads are small DTOs with
 * ISO timestamps (a Date does not survive NOTIFY).
 */
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import type { ConnectionStatusChanged } from '../connections/connection.events.js';
import type { SyncProgressed } from '../organizations/sync.events.js';
import type { BackupProgressed } from '../backup/backup.events.js';
import type { RestoreProgressed } from '../restore/restore.events.js';
import type { DrillChanged } from '../restore/drill.events.js';
import type { WorkerChanged } from '../workers/worker.events.js';

export type Topics = {
  CONNECTION_STATUS_CHANGED: [ConnectionStatusChanged];
  SYNC_PROGRESS: [organizationId: string, SyncProgressed];
  BACKUP_PROGRESS: [BackupProgressed];
  RESTORE_PROGRESS: [RestoreProgressed];
  DRILL_CHANGED: [DrillChanged];
  WORKER_CHANGED: [WorkerChanged];
};

export type LabkeeperPubSub = PubSub<Topics>;

export function createLabkeeperPubSub(eventTarget: EventTarget): LabkeeperPubSub {
  return createPubSub<Topics>({ eventTarget: eventTarget });
}
