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

export type CopyType =
  | 'DIFFERENTIAL'
  | 'FULL'
  | 'INCREMENTAL';

export type ProtectNamespaceInput = {
  autoAddNewRepositories?: boolean | null | undefined;
  connectionId: string | number;
  defaultWorkerId?: string | number | null | undefined;
  includeGroups?: boolean | null | undefined;
  /** Full path of a group, or a username. */
  namespacePath: string;
  repoSyncSchedule?: RepoSyncScheduleInput | null | undefined;
};

/** ORIGINAL: PREFIX puts every branch and tag under a prefix and changes nothing existing (default); MISSING_ONLY restores only refs the project lacks; OVERWRITE makes refs equal to the snapshot, except protected branches (reported, never forced). */
export type RefRestoreMode =
  | 'MISSING_ONLY'
  | 'OVERWRITE'
  | 'PREFIX';

export type RepoSyncScheduleInput = {
  hours?: Array<number> | null | undefined;
  intervalMinutes?: number | null | undefined;
  kind: RepoSyncScheduleKind;
  timeZone?: string | null | undefined;
};

export type RepoSyncScheduleKind =
  | 'HOURS'
  | 'INTERVAL';

export type RestoreSnapshotInput = {
  /** …as it was at this time (default: now). */
  at?: string | null | undefined;
  /** Report what would be restored, write nothing. */
  dryRun?: boolean | null | undefined;
  /** NEW_PROJECT: recreate metadata too (default true). */
  includeMetadata?: boolean | null | undefined;
  /** NEW_PROJECT: the group that receives the projects. */
  namespacePath?: string | null | undefined;
  /** Bulk: every repository and group of this organization… */
  organizationId?: string | number | null | undefined;
  /** NEW_PROJECT, one snapshot: the new project's path (default: the original's). */
  projectPath?: string | null | undefined;
  /** ORIGINAL: how refs are restored (default PREFIX). */
  refMode?: RefRestoreMode | null | undefined;
  /** ORIGINAL with PREFIX: the prefix (default restored/<snapshot time>). */
  refPrefix?: string | null | undefined;
  /** Snapshots to restore (each with the chain it needs). */
  snapshotIds?: Array<string | number> | null | undefined;
  target: RestoreTarget;
  /** NEW_PROJECT: the Connection to restore through (default: the organization's); needs the api scope. */
  targetConnectionId?: string | number | null | undefined;
};

/** DOWNLOAD: an archive of the snapshots (bundles, metadata, manifests, LFS) behind a short-lived signed link. NEW_PROJECT: new GitLab projects (this or another instance, through targetConnectionId) with every ref, the wiki, LFS objects and metadata. ORIGINAL: refs back into the original project, as refMode says. */
export type RestoreTarget =
  | 'DOWNLOAD'
  | 'NEW_PROJECT'
  | 'ORIGINAL';

export type SyncStatus =
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

export type ConnectionNamespacesQueryVariables = Exact<{
  id: string | number;
}>;


export type ConnectionNamespacesQuery = { connection: { id: string, status: ConnectionStatus, namespaces: Array<{ id: number, fullPath: string, name: string, kind: string, webUrl: string, organizationId: string | null }> } };

export type ProtectNamespaceMutationVariables = Exact<{
  input: ProtectNamespaceInput;
}>;


export type ProtectNamespaceMutation = { protectNamespace: { id: string, name: string, fullPath: string } };

export type RestoreRunDetailsFragment = { id: string, organizationId: string, target: RestoreTarget, snapshotIds: Array<string>, isDryRun: boolean, status: string, phase: string, errorMessage: string | null, downloadUrl: string | null, downloadExpiresAt: string | null, createdAt: string, finishedAt: string | null, report: { files: number, bytes: number, lfsObjects: number, snapshots: Array<{ snapshotId: string, path: string, copyType: string, chainLength: number, verified: boolean | null, problems: Array<string>, targetPath: string | null, targetUrl: string | null, detail: string | null }> } | null };

export type RestoreRunByIdQueryVariables = Exact<{
  id: string | number;
}>;


export type RestoreRunByIdQuery = { restoreRun: { id: string, organizationId: string, target: RestoreTarget, snapshotIds: Array<string>, isDryRun: boolean, status: string, phase: string, errorMessage: string | null, downloadUrl: string | null, downloadExpiresAt: string | null, createdAt: string, finishedAt: string | null, report: { files: number, bytes: number, lfsObjects: number, snapshots: Array<{ snapshotId: string, path: string, copyType: string, chainLength: number, verified: boolean | null, problems: Array<string>, targetPath: string | null, targetUrl: string | null, detail: string | null }> } | null } };

export type OrganizationRestoreRunsQueryVariables = Exact<{
  organizationId?: string | number | null | undefined;
}>;


export type OrganizationRestoreRunsQuery = { restoreRuns: Array<{ id: string, target: RestoreTarget, isDryRun: boolean, status: string, phase: string, snapshotIds: Array<string>, createdAt: string, finishedAt: string | null }> };

export type RestoreTargetConnectionsQueryVariables = Exact<{ [key: string]: never; }>;


export type RestoreTargetConnectionsQuery = { connections: Array<{ id: string, instanceUrl: string, status: ConnectionStatus, scopes: Array<string>, login: string | null, gitlabUser: { id: number, username: string } | null }> };

export type StartRestoreMutationVariables = Exact<{
  input: RestoreSnapshotInput;
}>;


export type StartRestoreMutation = { restoreSnapshot: { id: string, organizationId: string, target: RestoreTarget, snapshotIds: Array<string>, isDryRun: boolean, status: string, phase: string, errorMessage: string | null, downloadUrl: string | null, downloadExpiresAt: string | null, createdAt: string, finishedAt: string | null, report: { files: number, bytes: number, lfsObjects: number, snapshots: Array<{ snapshotId: string, path: string, copyType: string, chainLength: number, verified: boolean | null, problems: Array<string>, targetPath: string | null, targetUrl: string | null, detail: string | null }> } | null } };

export type RestoreRunProgressSubscriptionVariables = Exact<{
  runId: string | number;
}>;


export type RestoreRunProgressSubscription = { restoreProgress: { runId: string, status: string, phase: string, done: number, total: number, message: string | null, isTerminal: boolean, at: string } };

export type SnapshotTimelineEntryFragment = { id: string, createdAt: string, copyType: CopyType, parentId: string | null, repositoryId: string | null, organizationId: string, sizeBytes: number, artifactCount: number, refCount: number, metadataCounts: string, manifest: string, verificationStatus: string, verificationError: string | null, verifiedAt: string | null };

export type SnapshotTimelineRepositoryQueryVariables = Exact<{
  id: string | number;
}>;


export type SnapshotTimelineRepositoryQuery = { repository: { id: string, name: string, pathWithNamespace: string, webUrl: string, organizationId: string, deletedUpstreamAt: string | null } | null };

export type SnapshotTimelineQueryVariables = Exact<{
  repositoryId: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type SnapshotTimelineQuery = { snapshots: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, createdAt: string, copyType: CopyType, parentId: string | null, repositoryId: string | null, organizationId: string, sizeBytes: number, artifactCount: number, refCount: number, metadataCounts: string, manifest: string, verificationStatus: string, verificationError: string | null, verifiedAt: string | null }> } };

export type VerifyTimelineSnapshotMutationVariables = Exact<{
  id: string | number;
}>;


export type VerifyTimelineSnapshotMutation = { verifySnapshot: { ok: boolean, problems: Array<string>, snapshot: { id: string, createdAt: string, copyType: CopyType, parentId: string | null, repositoryId: string | null, organizationId: string, sizeBytes: number, artifactCount: number, refCount: number, metadataCounts: string, manifest: string, verificationStatus: string, verificationError: string | null, verifiedAt: string | null } } };

export type DeleteTimelineSnapshotMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteTimelineSnapshotMutation = { deleteSnapshot: string };

export type SnapshotTimelineBackupProgressSubscriptionVariables = Exact<{
  organizationId: string | number;
}>;


export type SnapshotTimelineBackupProgressSubscription = { backupProgress: { runId: string, runStatus: BackupRunStatus, itemsDone: number, itemsTotal: number, isTerminal: boolean } };

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

export const RestoreRunDetailsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RestoreRunDetails"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RestoreRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"target"}},{"kind":"Field","name":{"kind":"Name","value":"snapshotIds"}},{"kind":"Field","name":{"kind":"Name","value":"isDryRun"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"downloadUrl"}},{"kind":"Field","name":{"kind":"Name","value":"downloadExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"report"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"files"}},{"kind":"Field","name":{"kind":"Name","value":"bytes"}},{"kind":"Field","name":{"kind":"Name","value":"lfsObjects"}},{"kind":"Field","name":{"kind":"Name","value":"snapshots"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"snapshotId"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"copyType"}},{"kind":"Field","name":{"kind":"Name","value":"chainLength"}},{"kind":"Field","name":{"kind":"Name","value":"verified"}},{"kind":"Field","name":{"kind":"Name","value":"problems"}},{"kind":"Field","name":{"kind":"Name","value":"targetPath"}},{"kind":"Field","name":{"kind":"Name","value":"targetUrl"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}}]}}]}}]}}]} as unknown as DocumentNode<RestoreRunDetailsFragment, unknown>;
export const SnapshotTimelineEntryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"SnapshotTimelineEntry"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Snapshot"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"copyType"}},{"kind":"Field","name":{"kind":"Name","value":"parentId"}},{"kind":"Field","name":{"kind":"Name","value":"repositoryId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"sizeBytes"}},{"kind":"Field","name":{"kind":"Name","value":"artifactCount"}},{"kind":"Field","name":{"kind":"Name","value":"refCount"}},{"kind":"Field","name":{"kind":"Name","value":"metadataCounts"}},{"kind":"Field","name":{"kind":"Name","value":"manifest"}},{"kind":"Field","name":{"kind":"Name","value":"verificationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"verificationError"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}}]}}]} as unknown as DocumentNode<SnapshotTimelineEntryFragment, unknown>;
export const RepoSyncScheduleFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}}]} as unknown as DocumentNode<RepoSyncScheduleFieldsFragment, unknown>;
export const ConnectionSummaryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConnectionSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Connection"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}}]}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"tokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}}]} as unknown as DocumentNode<ConnectionSummaryFragment, unknown>;
export const ConnectionNamespacesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConnectionNamespaces"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connection"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"namespaces"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"fullPath"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}}]}}]}}]}}]} as unknown as DocumentNode<ConnectionNamespacesQuery, ConnectionNamespacesQueryVariables>;
export const ProtectNamespaceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ProtectNamespace"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ProtectNamespaceInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"protectNamespace"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"fullPath"}}]}}]}}]} as unknown as DocumentNode<ProtectNamespaceMutation, ProtectNamespaceMutationVariables>;
export const RestoreRunByIdDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"RestoreRunById"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"restoreRun"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RestoreRunDetails"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RestoreRunDetails"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RestoreRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"target"}},{"kind":"Field","name":{"kind":"Name","value":"snapshotIds"}},{"kind":"Field","name":{"kind":"Name","value":"isDryRun"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"downloadUrl"}},{"kind":"Field","name":{"kind":"Name","value":"downloadExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"report"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"files"}},{"kind":"Field","name":{"kind":"Name","value":"bytes"}},{"kind":"Field","name":{"kind":"Name","value":"lfsObjects"}},{"kind":"Field","name":{"kind":"Name","value":"snapshots"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"snapshotId"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"copyType"}},{"kind":"Field","name":{"kind":"Name","value":"chainLength"}},{"kind":"Field","name":{"kind":"Name","value":"verified"}},{"kind":"Field","name":{"kind":"Name","value":"problems"}},{"kind":"Field","name":{"kind":"Name","value":"targetPath"}},{"kind":"Field","name":{"kind":"Name","value":"targetUrl"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}}]}}]}}]}}]} as unknown as DocumentNode<RestoreRunByIdQuery, RestoreRunByIdQueryVariables>;
export const OrganizationRestoreRunsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"OrganizationRestoreRuns"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"restoreRuns"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"target"}},{"kind":"Field","name":{"kind":"Name","value":"isDryRun"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"snapshotIds"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]}}]} as unknown as DocumentNode<OrganizationRestoreRunsQuery, OrganizationRestoreRunsQueryVariables>;
export const RestoreTargetConnectionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"RestoreTargetConnections"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connections"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}}]}}]} as unknown as DocumentNode<RestoreTargetConnectionsQuery, RestoreTargetConnectionsQueryVariables>;
export const StartRestoreDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"StartRestore"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"RestoreSnapshotInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"restoreSnapshot"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RestoreRunDetails"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RestoreRunDetails"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RestoreRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"target"}},{"kind":"Field","name":{"kind":"Name","value":"snapshotIds"}},{"kind":"Field","name":{"kind":"Name","value":"isDryRun"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"downloadUrl"}},{"kind":"Field","name":{"kind":"Name","value":"downloadExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"report"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"files"}},{"kind":"Field","name":{"kind":"Name","value":"bytes"}},{"kind":"Field","name":{"kind":"Name","value":"lfsObjects"}},{"kind":"Field","name":{"kind":"Name","value":"snapshots"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"snapshotId"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"copyType"}},{"kind":"Field","name":{"kind":"Name","value":"chainLength"}},{"kind":"Field","name":{"kind":"Name","value":"verified"}},{"kind":"Field","name":{"kind":"Name","value":"problems"}},{"kind":"Field","name":{"kind":"Name","value":"targetPath"}},{"kind":"Field","name":{"kind":"Name","value":"targetUrl"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}}]}}]}}]}}]} as unknown as DocumentNode<StartRestoreMutation, StartRestoreMutationVariables>;
export const RestoreRunProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"RestoreRunProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"runId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"restoreProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"runId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"runId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"done"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]} as unknown as DocumentNode<RestoreRunProgressSubscription, RestoreRunProgressSubscriptionVariables>;
export const SnapshotTimelineRepositoryDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SnapshotTimelineRepository"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"repository"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"pathWithNamespace"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"deletedUpstreamAt"}}]}}]}}]} as unknown as DocumentNode<SnapshotTimelineRepositoryQuery, SnapshotTimelineRepositoryQueryVariables>;
export const SnapshotTimelineDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SnapshotTimeline"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"repositoryId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"20"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"snapshots"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"repositoryId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"repositoryId"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"SnapshotTimelineEntry"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"SnapshotTimelineEntry"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Snapshot"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"copyType"}},{"kind":"Field","name":{"kind":"Name","value":"parentId"}},{"kind":"Field","name":{"kind":"Name","value":"repositoryId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"sizeBytes"}},{"kind":"Field","name":{"kind":"Name","value":"artifactCount"}},{"kind":"Field","name":{"kind":"Name","value":"refCount"}},{"kind":"Field","name":{"kind":"Name","value":"metadataCounts"}},{"kind":"Field","name":{"kind":"Name","value":"manifest"}},{"kind":"Field","name":{"kind":"Name","value":"verificationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"verificationError"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}}]}}]} as unknown as DocumentNode<SnapshotTimelineQuery, SnapshotTimelineQueryVariables>;
export const VerifyTimelineSnapshotDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"VerifyTimelineSnapshot"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"verifySnapshot"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ok"}},{"kind":"Field","name":{"kind":"Name","value":"problems"}},{"kind":"Field","name":{"kind":"Name","value":"snapshot"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"SnapshotTimelineEntry"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"SnapshotTimelineEntry"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Snapshot"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"copyType"}},{"kind":"Field","name":{"kind":"Name","value":"parentId"}},{"kind":"Field","name":{"kind":"Name","value":"repositoryId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"sizeBytes"}},{"kind":"Field","name":{"kind":"Name","value":"artifactCount"}},{"kind":"Field","name":{"kind":"Name","value":"refCount"}},{"kind":"Field","name":{"kind":"Name","value":"metadataCounts"}},{"kind":"Field","name":{"kind":"Name","value":"manifest"}},{"kind":"Field","name":{"kind":"Name","value":"verificationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"verificationError"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}}]}}]} as unknown as DocumentNode<VerifyTimelineSnapshotMutation, VerifyTimelineSnapshotMutationVariables>;
export const DeleteTimelineSnapshotDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteTimelineSnapshot"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteSnapshot"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}]}]}}]} as unknown as DocumentNode<DeleteTimelineSnapshotMutation, DeleteTimelineSnapshotMutationVariables>;
export const SnapshotTimelineBackupProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"SnapshotTimelineBackupProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"backupProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"runStatus"}},{"kind":"Field","name":{"kind":"Name","value":"itemsDone"}},{"kind":"Field","name":{"kind":"Name","value":"itemsTotal"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}}]}}]}}]} as unknown as DocumentNode<SnapshotTimelineBackupProgressSubscription, SnapshotTimelineBackupProgressSubscriptionVariables>;
export const ConnectionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Connections"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connections"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConnectionSummary"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConnectionSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Connection"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}}]}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"tokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}}]}}]} as unknown as DocumentNode<ConnectionsQuery, ConnectionsQueryVariables>;
export const OAuthRedirectUriDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"OAuthRedirectUri"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"oauthRedirectUri"}}]}}]} as unknown as DocumentNode<OAuthRedirectUriQuery, OAuthRedirectUriQueryVariables>;
export const ConnectGitLabDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConnectGitLab"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConnectGitLabInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connectGitLab"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"authorizationUrl"}},{"kind":"Field","name":{"kind":"Name","value":"connection"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ConnectionSummary"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ConnectionSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Connection"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"instanceUrl"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"statusReason"}},{"kind":"Field","name":{"kind":"Name","value":"gitlabUser"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}}]}},{"kind":"Field","name":{"kind":"Name","value":"login"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"tokenExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"warnings"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}}]}}]} as unknown as DocumentNode<ConnectGitLabMutation, ConnectGitLabMutationVariables>;
export const ConnectionStatusChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ConnectionStatusChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connectionStatusChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"connectionId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]} as unknown as DocumentNode<ConnectionStatusChangedSubscription, ConnectionStatusChangedSubscriptionVariables>;
export const OrganizationsWithRepositoriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"OrganizationsWithRepositories"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"connectionId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"50"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"search"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"organizations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"connectionId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"connectionId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"connectionId"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"fullPath"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}},{"kind":"Field","name":{"kind":"Name","value":"includeGroups"}},{"kind":"Field","name":{"kind":"Name","value":"autoAddNewRepositories"}},{"kind":"Field","name":{"kind":"Name","value":"defaultWorkerId"}},{"kind":"Field","name":{"kind":"Name","value":"lastSyncedAt"}},{"kind":"Field","name":{"kind":"Name","value":"nextSyncAt"}},{"kind":"Field","name":{"kind":"Name","value":"repoSyncSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RepoSyncScheduleFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"lastSync"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"trigger"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"errorCode"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}}]}},{"kind":"Field","name":{"kind":"Name","value":"repositoryCounts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"protected"}},{"kind":"Field","name":{"kind":"Name","value":"unprotected"}},{"kind":"Field","name":{"kind":"Name","value":"deletedUpstream"}}]}},{"kind":"Field","name":{"kind":"Name","value":"repositories"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"search"},"value":{"kind":"Variable","name":{"kind":"Name","value":"search"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"pathWithNamespace"}},{"kind":"Field","name":{"kind":"Name","value":"webUrl"}},{"kind":"Field","name":{"kind":"Name","value":"visibility"}},{"kind":"Field","name":{"kind":"Name","value":"defaultBranch"}},{"kind":"Field","name":{"kind":"Name","value":"isProtected"}},{"kind":"Field","name":{"kind":"Name","value":"isArchived"}},{"kind":"Field","name":{"kind":"Name","value":"isEmpty"}},{"kind":"Field","name":{"kind":"Name","value":"hasWiki"}},{"kind":"Field","name":{"kind":"Name","value":"hasLfs"}},{"kind":"Field","name":{"kind":"Name","value":"lastActivityAt"}},{"kind":"Field","name":{"kind":"Name","value":"repositorySize"}},{"kind":"Field","name":{"kind":"Name","value":"deletedUpstreamAt"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RepoSyncScheduleFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RepoSyncSchedule"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"hours"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"intervalMinutes"}}]}}]} as unknown as DocumentNode<OrganizationsWithRepositoriesQuery, OrganizationsWithRepositoriesQueryVariables>;
export const SyncRepositoriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SyncRepositories"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncRepositories"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"trigger"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<SyncRepositoriesMutation, SyncRepositoriesMutationVariables>;
export const SyncProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"SyncProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"organizationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"organizationId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"syncRunId"}},{"kind":"Field","name":{"kind":"Name","value":"organizationId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"projectsListed"}},{"kind":"Field","name":{"kind":"Name","value":"projectsTotal"}},{"kind":"Field","name":{"kind":"Name","value":"groupsListed"}},{"kind":"Field","name":{"kind":"Name","value":"repositoriesAdded"}},{"kind":"Field","name":{"kind":"Name","value":"repositoriesGone"}},{"kind":"Field","name":{"kind":"Name","value":"errorCode"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]} as unknown as DocumentNode<SyncProgressSubscription, SyncProgressSubscriptionVariables>;