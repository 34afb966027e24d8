import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { RepoSyncScheduleValue } from '../connections/connection.entity.js';

export type NamespaceKind = 'GROUP' | 'USER';
export type SyncStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** A top-level GitLab namespace under protection, reached through a Connection. */
@Entity('organizations')
@Index(['connectionId', 'gitlabNamespaceId'], { unique: true })
export class OrganizationEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'connection_id' }) connectionId!: string;
  @Column('integer', { name: 'gitlab_namespace_id' }) gitlabNamespaceId!: number;
  @Column('text') kind!: NamespaceKind;
  @Column('text', { name: 'full_path' }) fullPath!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'web_url' }) webUrl!: string;
  @Column('boolean', { name: 'auto_add_new_repositories' }) autoAddNewRepositories!: boolean;
  @Column('boolean', { name: 'include_groups' }) includeGroups!: boolean;
  @Column('jsonb', { name: 'repo_sync_schedule' }) repoSyncSchedule!: RepoSyncScheduleValue;
  @Column('uuid', { name: 'default_worker_id', nullable: true }) defaultWorkerId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'next_sync_at', nullable: true }) nextSyncAt!: Date | null;
  @Column('timestamptz', { name: 'last_synced_at', nullable: true }) lastSyncedAt!: Date | null;
}

/** A GitLab project discovered in an organization (any subgroup depth). Never deleted by sync. */
// The repository page's order (migration ApiQueryIndexes).
@Index('IDX_repositories_org_path', ['organizationId', 'pathWithNamespace', 'id'])
@Entity('repositories')
@Index(['organizationId', 'gitlabProjectId'], { unique: true })
export class RepositoryEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index()
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  @Column('integer', { name: 'gitlab_project_id' }) gitlabProjectId!: number;
  @Column('text') name!: string;
  @Column('text', { name: 'path_with_namespace' }) pathWithNamespace!: string;
  @Column('text', { name: 'http_url_to_repo' }) httpUrlToRepo!: string;
  @Column('text', { name: 'ssh_url_to_repo' }) sshUrlToRepo!: string;
  @Column('text', { name: 'web_url' }) webUrl!: string;
  @Column('text', { name: 'default_branch', nullable: true }) defaultBranch!: string | null;
  @Column('text') visibility!: string;
  @Column('boolean', { name: 'is_archived' }) isArchived!: boolean;
  @Column('boolean', { name: 'is_empty' }) isEmpty!: boolean;
  @Column('timestamptz', { name: 'last_activity_at', nullable: true }) lastActivityAt!: Date | null;
  @Column('bigint', { name: 'repository_size', nullable: true }) repositorySize!: string | null;
  @Column('bigint', { name: 'wiki_size', nullable: true }) wikiSize!: string | null;
  @Column('bigint', { name: 'lfs_objects_size', nullable: true }) lfsObjectsSize!: string | null;
  @Column('bigint', { name: 'storage_size', nullable: true }) storageSize!: string | null;
  @Column('boolean', { name: 'has_wiki' }) hasWiki!: boolean;
  @Column('boolean', { name: 'has_lfs' }) hasLfs!: boolean;
  @Column('boolean', { name: 'is_protected' }) isProtected!: boolean;
  @Column('timestamptz', { name: 'discovered_at' }) discoveredAt!: Date;
  @Column('timestamptz', { name: 'last_seen_at' }) lastSeenAt!: Date;
  @Column('timestamptz', { name: 'deleted_upstream_at', nullable: true }) deletedUpstreamAt!: Date | null;
}

/** A GitLab group or subgroup of an organization (kept when *include groups* is on). */
@Index('IDX_gitlab_groups_org_path', ['organizationId', 'fullPath', 'id'])
@Entity('gitlab_groups')
@Index(['organizationId', 'gitlabGroupId'], { unique: true })
export class GroupEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index()
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  @Column('integer', { name: 'gitlab_group_id' }) gitlabGroupId!: number;
  @Column('integer', { name: 'parent_gitlab_group_id', nullable: true }) parentGitlabGroupId!: number | null;
  @Column('text', { name: 'full_path' }) fullPath!: string;
  @Column('text') name!: string;
  @Column('text') visibility!: string;
  @Column('text', { name: 'web_url' }) webUrl!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('timestamptz', { name: 'discovered_at' }) discoveredAt!: Date;
  @Column('timestamptz', { name: 'last_seen_at' }) lastSeenAt!: Date;
  @Column('timestamptz', { name: 'deleted_upstream_at', nullable: true }) deletedUpstreamAt!: Date | null;
}

/** One discovery pass over an organization (manual, scheduled or on connect). */
@Index('IDX_sync_runs_org_created', ['organizationId', 'createdAt', 'id'])
@Entity('sync_runs')
export class SyncRunEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index()
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  @Column('text') trigger!: 'MANUAL' | 'SCHEDULED' | 'PROTECTED';
  @Column('text') status!: SyncStatus;
  @Column('integer', { name: 'repositories_found', default: 0 }) repositoriesFound!: number;
  @Column('integer', { name: 'repositories_added', default: 0 }) repositoriesAdded!: number;
  @Column('integer', { name: 'repositories_gone', default: 0 }) repositoriesGone!: number;
  @Column('integer', { name: 'groups_found', default: 0 }) groupsFound!: number;
  @Column('text', { name: 'error_code', nullable: true }) errorCode!: string | null;
  @Column('text', { name: 'error_message', nullable: true }) errorMessage!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}
