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

/**
 * The scoped keys each topic's events are also delivered under, in process (events/pg-event-target.ts):
 * a subscription scoped by an argument subscribes to `TOPIC:<key>` (its `topicId`), so an event
 * reaches only its own subscribers — one notification, no filter over every subscriber. Topics
 * published with an id (SYNC_PROGRESS) are scoped already; WORKER_CHANGED is for everyone.
 */
const ROUTES: { [T in keyof Topics]?: (payload: Topics[T][0]) => string[] } = {
  BACKUP_PROGRESS: (e) => [`run:${e.runId}`, `org:${e.organizationId}`],
  RESTORE_PROGRESS: (e) => [e.runId],
  DRILL_CHANGED: (e) => [e.organizationId],
  CONNECTION_STATUS_CHANGED: (e) => [e.connectionId],
};

export function topicRoutes(type: string, detail: unknown): readonly string[] {
  const route = ROUTES[type as keyof Topics] as ((payload: unknown) => string[]) | undefined;
  return route && detail && typeof detail === 'object' ? route(detail) : [];
}

export function createLabkeeperPubSub(eventTarget: EventTarget): LabkeeperPubSub {
  return createPubSub<Topics>({ eventTarget: eventTarget });
}
