/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type BackupRunStatus =
  | 'CANCELED'
  | 'FAILED'
  | 'PARTIAL'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'TIMED_OUT';

/** Connect a GitLab organization. Method-specific fields are named per method. */
export type ConnectGitLabInput = {
  /** Default true. */
  autoAddNewRepositories?: boolean | null | undefined;
  /** PEM of a custom CA for a self-managed instance. */
  caCertificate?: string | null | undefined;
  /** OAUTH_APP: Application ID. */
  clientId?: string | null | undefined;
  /** OAUTH_APP: Secret (saved in the Password Manager). */
  clientSecret?: string | null | undefined;
  /** OAUTH_APP: a saved client-secret credential instead. */
  clientSecretCredentialId?: string | number | null | undefined;
  /** PERSONAL_ACCESS_TOKEN: a saved credential instead of a new token. */
  credentialId?: string | number | null | undefined;
  defaultWorkerId?: string | number | null | undefined;
  /** Default true. */
  includeGroups?: boolean | null | undefined;
  /** Default https://gitlab.com; a self-managed URL is allowed. */
  instanceUrl?: string | null | undefined;
  /** PERSONAL_ACCESS_TOKEN: GitLab username or e-mail. */
  login?: string | null | undefined;
  method: ConnectionMethod;
  /** A group path (or username) to protect as soon as connected. */
  namespacePath?: string | null | undefined;
  /** PERSONAL_ACCESS_TOKEN: a new token (saved in the Password Manager). */
  personalAccessToken?: string | null | undefined;
  /** Default: every 6 hours. */
  repoSyncSchedule?: RepoSyncScheduleInput | null | undefined;
};

export type ConnectionMethod =
  | 'OAUTH'
  | 'OAUTH_APP'
  | 'PERSONAL_ACCESS_TOKEN';

export type ConnectionStatus =
  | 'AWAITING_AUTHORIZATION'
  | 'CONNECTED'
  | 'DISCONNECTED'
  | 'ERROR'
  | 'EXPIRED';

export type CreateCredentialInput = {
  description?: string | null | undefined;
  expiresAt?: string | null | undefined;
  kind: CredentialKind;
  name: string;
  /** The secret. Stored encrypted; never returned. */
  secret: string;
  username?: string | null | undefined;
};

export type CredentialKind =
  | 'ENCRYPTION_KEY'
  | 'OAUTH_CLIENT_SECRET'
  | 'PASSWORD'
  | 'PERSONAL_ACCESS_TOKEN';

export type ProtectNamespaceInput = {
  autoAddNewRepositories?: boolean | null | undefined;
  connectionId: string | number;
  defaultWorkerId?: string | number | null | undefined;
  includeGroups?: boolean | null | undefined;
  /** Full path of a group, or a username. */
  namespacePath: string;
  repoSyncSchedule?: RepoSyncScheduleInput | null | undefined;
};

export type RepoSyncScheduleInput = {
  hours?: Array<number> | null | undefined;
  intervalMinutes?: number | null | undefined;
  kind: RepoSyncScheduleKind;
  timeZone?: string | null | undefined;
};

export type RepoSyncScheduleKind =
  | 'HOURS'
  | 'INTERVAL';

export type SyncStatus =
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

export type WorkerStatus =
  | 'OFFLINE'
  | 'ONLINE';

export type ReauthorizeConnectionMutationVariables = Exact<{
  id: string | number;
}>;


export type ReauthorizeConnectionMutation = { reauthorizeConnection: { authorizationUrl: string | null, connection: { id: string, method: ConnectionMethod, instanceUrl: string, status: ConnectionStatus, statusReason: string | null, login: string | null, scopes: Array<string>, tokenExpiresAt: string | null, connectedAt: string | null, warnings: Array<string>, autoAddNewRepositories: boolean, includeGroups: boolean, defaultWorkerId: string | null, gitlabUser: { id: number, username: string, name: string | null, webUrl: string | null } | null, repoSyncSchedule: { kind: RepoSyncScheduleKind, hours: Array<number> | null, timeZone: string | null, intervalMinutes: number | null } } } };

export type DisconnectMutationVariables = Exact<{
  id: string | number;
}>;


export type DisconnectMutation = { disconnect: { id: string, method: ConnectionMethod, instanceUrl: string, status: ConnectionStatus, statusReason: string | null, login: string | null, scopes: Array<string>, tokenExpiresAt: string | null, connectedAt: string | null, warnings: Array<string>, autoAddNewRepositories: boolean, includeGroups: boolean, defaultWorkerId: string | null, gitlabUser: { id: number, username: string, name: string | null, webUrl: string | null } | null, repoSyncSchedule: { kind: RepoSyncScheduleKind, hours: Array<number> | null, timeZone: string | null, intervalMinutes: number | null } } };

export type CredentialFieldsFragment = { id: string, name: string, kind: CredentialKind, username: string | null, description: string | null, fingerprint: string, expiresAt: string | null, createdAt: string, lastUsedAt: string | null };

export type CredentialsQueryVariables = Exact<{ [key: string]: never; }>;


export type CredentialsQuery = { credentials: Array<{ id: string, name: string, kind: CredentialKind, username: string | null, description: string | null, fingerprint: string, expiresAt: string | null, createdAt: string, lastUsedAt: string | null }> };

export type CreateCredentialMutationVariables = Exact<{
  input: CreateCredentialInput;
}>;


export type CreateCredentialMutation = { createCredential: { id: string, name: string, kind: CredentialKind, username: string | null, description: string | null, fingerprint: string, expiresAt: string | null, createdAt: string, lastUsedAt: string | null } };

export type DeleteCredentialMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteCredentialMutation = { deleteCredential: string };

export type DashboardQueryVariables = Exact<{
  days?: number | null | undefined;
}>;


export type DashboardQuery = { organizations: Array<{ id: string, name: string, fullPath: string, repositoryCounts: { total: number, protected: number, unprotected: number, deletedUpstream: number } }>, connections: Array<{ id: string, method: ConnectionMethod, instanceUrl: string, status: ConnectionStatus, statusReason: string | null, warnings: Array<string>, login: string | null, gitlabUser: { id: number, username: string } | null }>, storageHistory: Array<{ date: string, storedBytes: number, addedBytes: number, snapshotCount: number }> };

export type LastBackupRunQueryVariables = Exact<{
  organizationId: string | number;
}>;


export type LastBackupRunQuery = { backupRuns: { nodes: Array<{ id: string, status: BackupRunStatus, trigger: string, createdAt: string, finishedAt: string | null, bytesWritten: number }> } };

export type DashboardBackupProgressSubscriptionVariables = Exact<{
  organizationId: string | number;
}>;


export type DashboardBackupProgressSubscription = { backupProgress: { runId: string, organizationId: string, runStatus: BackupRunStatus, isTerminal: boolean } };

export type AdvancedConnectOptionsQueryVariables = Exact<{ [key: string]: never; }>;


export type AdvancedConnectOptionsQuery = { oauthRedirectUri: string, workers: Array<{ id: string, name: string, host: string, status: WorkerStatus }>, credentials: Array<{ id: string, name: string, kind: CredentialKind, username: string | null, fingerprint: string, expiresAt: string | null }> };

export type ConnectionNamespacesQueryVariables = Exact<{
  id: string | number;
}>;


export type ConnectionNamespacesQuery = { connection: { id: string, status: ConnectionStatus, namespaces: Array<{ id: number, fullPath: string, name: string, kind: string, webUrl: string, organizationId: string | null }> } };

export type ProtectNamespaceMutationVariables = Exact<{
  input: ProtectNamespaceInput;
}>;


export type ProtectNamespaceMutation = { protectNamespace: { id: string, name: string, fullPath: string } };

export type WorkersOverviewQueryVariables = Exact<{ [key: string]: never; }>;


export type WorkersOverviewQuery = { workers: Array<{ id: string, name: string, host: string, pid: number | null, version: string, concurrency: number, isInProcess: boolean, status: WorkerStatus, startedAt: string, lastHeartbeatAt: string, stoppedAt: string | null }>, organizations: Array<{ id: string, fullPath: string, defaultWorkerId: string | null }> };

export type ConnectionSummaryFragment = { id: string, method: ConnectionMethod, instanceUrl: string, status: ConnectionStatus, statusReason: string | null, login: string | null, scopes: Array<string>, tokenExpiresAt: string | null, connectedAt: string | null, warnings: Array<string>, autoAddNewRepositories: boolean, includeGroups: boolean, defaultWorkerId: string | null, gitlabUser: { id: number, username: string, name: string | null, webUrl: string | null } | null, repoSyncSchedule: { kind: RepoSyncScheduleKind, hours: Array<number> | null, timeZone: string | null, intervalMinutes: number | null } };

export type RepoSyncScheduleFieldsFragment = { kind: RepoSyncScheduleKind, hours: Array<number> | null, timeZone: string | null, intervalMinutes: number | null };

export type ConnectionsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConnectionsQuery = { connections: Array<{ id: string, method: ConnectionMethod, instanceUrl: string, status: ConnectionStatus, statusReason: string | null, login: string | null, scopes: Array<string>, tokenExpiresAt: string | null, connectedAt: string | null, warnings: Array<string>, autoAddNewRepositories: boolean, includeGroups: boolean, defaultWorkerId: string | null, gitlabUser: { id: number, username: string, name: string | null, webUrl: string | null } | null, repoSyncSchedule: { kind: RepoSyncScheduleKind, hours: Array<number> | null, timeZone: string | null, intervalMinutes: number | null } }> };

export type OAuthRedirectUriQueryVariables = Exact<{ [key: string]: never; }>;


export type OAuthRedirectUriQuery = { oauthRedirectUri: string };

export type ConnectGitLabMutationVariables = Exact<{
  input: ConnectGitLabInput;
}>;


export type ConnectGitLabMutation = { connectGitLab: { authorizationUrl: string | null, connection: { id: string, method: ConnectionMethod, instanceUrl: string, status: ConnectionStatus, statusReason: string | null, login: string | null, scopes: Array<string>, tokenExpiresAt: string | null, connectedAt: string | null, warnings: Array<string>, autoAddNewRepositories: boolean, includeGroups: boolean, defaultWorkerId: string | null, gitlabUser: { id: number, username: string, name: string | null, webUrl: string | null } | null, repoSyncSchedule: { kind: RepoSyncScheduleKind, hours: Array<number> | null, timeZone: string | null, intervalMinutes: number | null } } } };

export type ConnectionStatusChangedSubscriptionVariables = Exact<{
  id?: string | number | null | undefined;
}>;


export type ConnectionStatusChangedSubscription = { connectionStatusChanged: { connectionId: string, status: ConnectionStatus, reason: string | null, at: string } };

export type OrganizationsWithRepositoriesQueryVariables = Exact<{
  connectionId?: string | number | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  search?: string | null | undefined;
}>;


export type OrganizationsWithRepositoriesQuery = { organizations: Array<{ id: string, connectionId: string, name: string, fullPath: string, kind: string, webUrl: string, includeGroups: boolean, autoAddNewRepositories: boolean, defaultWorkerId: string | null, lastSyncedAt: string | null, nextSyncAt: string | null, repoSyncSchedule: { kind: RepoSyncScheduleKind, hours: Array<number> | null, timeZone: string | null, intervalMinutes: number | null }, lastSync: { id: string, status: SyncStatus, trigger: string, finishedAt: string | null, errorCode: string | null, errorMessage: string | null } | null, repositoryCounts: { total: number, protected: number, unprotected: number, deletedUpstream: number }, repositories: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, name: string, pathWithNamespace: string, webUrl: string, visibility: string, defaultBranch: string | null, isProtected: boolean, isArchived: boolean, isEmpty: boolean, hasWiki: boolean, hasLfs: boolean, lastActivityAt: string | null, repositorySize: number | null, deletedUpstreamAt: string | null }> } }> };

export type SyncRepositoriesMutationVariables = Exact<{
  organizationId: string | number;
}>;


export type SyncRepositoriesMutation = { syncRepositories: { id: string, status: SyncStatus, trigger: string, createdAt: string } };

export type SyncProgressSubscriptionVariables = Exact<{
  organizationId: string | number;
}>;


export type SyncProgressSubscription = { syncProgress: { syncRunId: string, organizationId: string, status: SyncStatus, phase: string, projectsListed: number, projectsTotal: number | null, groupsListed: number, repositoriesAdded: number, repositoriesGone: number, errorCode: string | null, errorMessage: string | null, at: string } };

export const CredentialFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CredentialFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Credential"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"fingerprint"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedAt"}}]}}]} as unknown as DocumentNode<CredentialFieldsFragment, unknown>;
export const RepoSyncScheduleFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}}]} as unknown as DocumentNode<RepoSyncScheduleFieldsFragment, unknown>;
export const ConnectionSummaryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConnectionSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Connection"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}}]}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"tokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}}]} as unknown as DocumentNode<ConnectionSummaryFragment, unknown>;
export const ReauthorizeConnectionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ReauthorizeConnection"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reauthorizeConnection"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"authorizationUrl"}},{"kind":"Field","name":{"kind":"Name","value":"connection"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConnectionSummary"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConnectionSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Connection"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}}]}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"tokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}}]}}]} as unknown as DocumentNode<ReauthorizeConnectionMutation, ReauthorizeConnectionMutationVariables>;
export const DisconnectDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Disconnect"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"disconnect"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConnectionSummary"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConnectionSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Connection"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}}]}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"tokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}}]}}]} as unknown as DocumentNode<DisconnectMutation, DisconnectMutationVariables>;
export const CredentialsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Credentials"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"credentials"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CredentialFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CredentialFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Credential"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"fingerprint"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedAt"}}]}}]} as unknown as DocumentNode<CredentialsQuery, CredentialsQueryVariables>;
export const CreateCredentialDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateCredential"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateCredentialInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createCredential"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CredentialFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CredentialFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Credential"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"fingerprint"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedAt"}}]}}]} as unknown as DocumentNode<CreateCredentialMutation, CreateCredentialMutationVariables>;
export const DeleteCredentialDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteCredential"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteCredential"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}]}]}}]} as unknown as DocumentNode<DeleteCredentialMutation, DeleteCredentialMutationVariables>;
export const DashboardDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Dashboard"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"days"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"30"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"organizations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"fullPath"}},{"kind":"Field","name":{"kind":"Name","value":"repositoryCounts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"protected"}},{"kind":"Field","name":{"kind":"Name","value":"unprotected"}},{"kind":"Field","name":{"kind":"Name","value":"deletedUpstream"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"connections"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"storageHistory"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"days"},"value":{"kind":"Variable","name":{"kind":"Name","value":"days"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"date"}},{"kind":"Field","name":{"kind":"Name","value":"storedBytes"}},{"kind":"Field","name":{"kind":"Name","value":"addedBytes"}},{"kind":"Field","name":{"kind":"Name","value":"snapshotCount"}}]}}]}}]} as unknown as DocumentNode<DashboardQuery, DashboardQueryVariables>;
export const LastBackupRunDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"LastBackupRun"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"backupRuns"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"1"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"trigger"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"bytesWritten"}}]}}]}}]}}]} as unknown as DocumentNode<LastBackupRunQuery, LastBackupRunQueryVariables>;
export const DashboardBackupProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardBackupProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"backupProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"runStatus"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}}]}}]}}]} as unknown as DocumentNode<DashboardBackupProgressSubscription, DashboardBackupProgressSubscriptionVariables>;
export const AdvancedConnectOptionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AdvancedConnectOptions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"oauthRedirectUri"}},{"kind":"Field","name":{"kind":"Name","value":"workers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"host"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}},{"kind":"Field","name":{"kind":"Name","value":"credentials"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"fingerprint"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}}]}}]} as unknown as DocumentNode<AdvancedConnectOptionsQuery, AdvancedConnectOptionsQueryVariables>;
export const ConnectionNamespacesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConnectionNamespaces"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connection"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"namespaces"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"fullPath"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}}]}}]}}]}}]} as unknown as DocumentNode<ConnectionNamespacesQuery, ConnectionNamespacesQueryVariables>;
export const ProtectNamespaceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ProtectNamespace"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ProtectNamespaceInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"protectNamespace"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"fullPath"}}]}}]}}]} as unknown as DocumentNode<ProtectNamespaceMutation, ProtectNamespaceMutationVariables>;
export const WorkersOverviewDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"WorkersOverview"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"workers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"host"}},{"kind":"Field","name":{"kind":"Name","value":"pid"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"concurrency"}},{"kind":"Field","name":{"kind":"Name","value":"isInProcess"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastHeartbeatAt"}},{"kind":"Field","name":{"kind":"Name","value":"stoppedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"organizations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"fullPath"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}}]}}]}}]} as unknown as DocumentNode<WorkersOverviewQuery, WorkersOverviewQueryVariables>;
export const ConnectionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Connections"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connections"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConnectionSummary"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConnectionSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Connection"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}}]}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"tokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}}]}}]} as unknown as DocumentNode<ConnectionsQuery, ConnectionsQueryVariables>;
export const OAuthRedirectUriDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"OAuthRedirectUri"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"oauthRedirectUri"}}]}}]} as unknown as DocumentNode<OAuthRedirectUriQuery, OAuthRedirectUriQueryVariables>;
export const ConnectGitLabDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConnectGitLab"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConnectGitLabInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connectGitLab"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"authorizationUrl"}},{"kind":"Field","name":{"kind":"Name","value":"connection"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConnectionSummary"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConnectionSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Connection"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}}]}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"tokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}}]}}]} as unknown as DocumentNode<ConnectGitLabMutation, ConnectGitLabMutationVariables>;
export const ConnectionStatusChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ConnectionStatusChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connectionStatusChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connectionId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]} as unknown as DocumentNode<ConnectionStatusChangedSubscription, ConnectionStatusChangedSubscriptionVariables>;
export const OrganizationsWithRepositoriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"OrganizationsWithRepositories"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"connectionId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"50"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"search"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"organizations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"connectionId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"connectionId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"connectionId"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"fullPath"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"lastSyncedAt"}},{"kind":"Field","name":{"kind":"Name","value":"nextSyncAt"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastSync"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"trigger"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"errorCode"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}}]}},{"kind":"Field","name":{"kind":"Name","value":"repositoryCounts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"protected"}},{"kind":"Field","name":{"kind":"Name","value":"unprotected"}},{"kind":"Field","name":{"kind":"Name","value":"deletedUpstream"}}]}},{"kind":"Field","name":{"kind":"Name","value":"repositories"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"search"},"value":{"kind":"Variable","name":{"kind":"Name","value":"search"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"pathWithNamespace"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}},{"kind":"Field","name":{"kind":"Name","value":"visibility"}},{"kind":"Field","name":{"kind":"Name","value":"defaultBranch"}},{"kind":"Field","name":{"kind":"Name","value":"isProtected"}},{"kind":"Field","name":{"kind":"Name","value":"isArchived"}},{"kind":"Field","name":{"kind":"Name","value":"isEmpty"}},{"kind":"Field","name":{"kind":"Name","value":"hasWiki"}},{"kind":"Field","name":{"kind":"Name","value":"hasLfs"}},{"kind":"Field","name":{"kind":"Name","value":"lastActivityAt"}},{"kind":"Field","name":{"kind":"Name","value":"repositorySize"}},{"kind":"Field","name":{"kind":"Name","value":"deletedUpstreamAt"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}}]} as unknown as DocumentNode<OrganizationsWithRepositoriesQuery, OrganizationsWithRepositoriesQueryVariables>;
export const SyncRepositoriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SyncRepositories"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncRepositories"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"trigger"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<SyncRepositoriesMutation, SyncRepositoriesMutationVariables>;
export const SyncProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"SyncProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncRunId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"projectsListed"}},{"kind":"Field","name":{"kind":"Name","value":"projectsTotal"}},{"kind":"Field","name":{"kind":"Name","value":"groupsListed"}},{"kind":"Field","name":{"kind":"Name","value":"repositoriesAdded"}},{"kind":"Field","name":{"kind":"Name","value":"repositoriesGone"}},{"kind":"Field","name":{"kind":"Name","value":"errorCode"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]} as unknown as DocumentNode<SyncProgressSubscription, SyncProgressSubscriptionVariables>;