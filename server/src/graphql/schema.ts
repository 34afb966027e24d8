import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { ApiTokenResolver } from '../access/api-token.resolver.js';
import { AuditResolver } from '../audit/audit.resolver.js';
import {
  BackupRunItemResolver,
  BackupRunResolver,
  PolicyResolver,
  RepositorySnapshotResolver,
  SnapshotResolver,
} from '../backup/backup.resolver.js';
import { RestoreResolver } from '../restore/restore.resolver.js';
import { DrillResolver, OrganizationDrillResolver } from '../restore/drill.resolver.js';
import { ConnectionResolver } from '../connections/connection.resolver.js';
import { CredentialResolver } from '../credentials/credential.resolver.js';
import { StorageResolver } from '../storages/storage.resolver.js';
import { NotificationChannelResolver } from '../alerts/notification-channel.resolver.js';
import { GroupResolver, OrganizationResolver, RepositoryResolver } from '../organizations/organization.resolver.js';
import { DashboardResolver } from '../dashboard/dashboard.resolver.js';
import { WorkerResolver } from '../workers/worker.resolver.js';
import { EventDrivenBackupsResolver } from '../webhooks/webhooks.resolver.js';
import { AnomalyResolver } from '../webhooks/anomalies.resolver.js';
import { RoleAuthChecker } from './context.js';
import { ErrorMappingMiddleware } from './errors.js';
import { InputGuardMiddleware } from './input-guard.js';
import type { LabkeeperPubSub } from './pubsub.js';

export const RESOLVERS = [
  ApiTokenResolver,
  CredentialResolver,
  StorageResolver,
  NotificationChannelResolver,
  ConnectionResolver,
  OrganizationResolver,
  RepositoryResolver,
  GroupResolver,
  WorkerResolver,
  PolicyResolver,
  BackupRunResolver,
  BackupRunItemResolver,
  SnapshotResolver,
  RepositorySnapshotResolver,
  RestoreResolver,
  DrillResolver,
  OrganizationDrillResolver,
  DashboardResolver,
  EventDrivenBackupsResolver,
  AnomalyResolver,
  AuditResolver,
] as const;

export function buildLabkeeperSchema(pubSub: LabkeeperPubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS,
    authChecker: RoleAuthChecker,
    authMode: 'error',
    pubSub,
    validate: { forbidUnknownValues: false },
    globalMiddlewares: [ErrorMappingMiddleware, InputGuardMiddleware],
  });
}

/** The SDL as stored in schema/schema.graphql: sorted, so diffs show only real changes. */
export function printContract(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
