import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, IsOptional, MaxLength, ValidateNested } from 'class-validator';
import { RepoSyncSchedule, RepoSyncScheduleInput } from '../connections/connection.type.js';
import { Connection as ConnectionOf, PageArgs } from '../graphql/pagination.js';
import type {
  GroupEntity,
  OrganizationEntity,
  RepositoryEntity,
  SyncRunEntity,
  SyncStatus,
} from './organization.entity.js';
import type { SyncProgressed } from './sync.events.js';

export enum SyncStatusEnum {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
registerEnumType(SyncStatusEnum, { name: 'SyncStatus' });

@ObjectType({ simpleResolvers: true, description: 'A GitLab project discovered in an organization.' })
export class Repository {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => Int) gitlabProjectId!: number;
  @Field() name!: string;
  @Field() pathWithNamespace!: string;
  @Field() httpUrlToRepo!: string;
  @Field() sshUrlToRepo!: string;
  @Field() webUrl!: string;
  @Field(() => String, { nullable: true }) defaultBranch!: string | null;
  @Field() visibility!: string;
  @Field() isArchived!: boolean;
  @Field() isEmpty!: boolean;
  @Field(() => Date, { nullable: true }) lastActivityAt!: Date | null;
  @Field(() => Number, { nullable: true, description: 'Bytes, when GitLab reports statistics.' }) repositorySize!:
    number | null;
  @Field(() => Number, { nullable: true }) wikiSize!: number | null;
  @Field(() => Number, { nullable: true }) lfsObjectsSize!: number | null;
  @Field(() => Number, { nullable: true }) storageSize!: number | null;
  @Field() hasWiki!: boolean;
  @Field() hasLfs!: boolean;
  @Field({ description: 'Part of the backup selection.' }) isProtected!: boolean;
  @Field() discoveredAt!: Date;
  @Field() lastSeenAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When a sync found it gone upstream; its backups are kept.' })
  deletedUpstreamAt!: Date | null;

  static from(e: RepositoryEntity): Repository {
    const num = (v: string | null) => (v === null ? null : Number(v));
    return Object.assign(new Repository(), {
      ...e,
      repositorySize: num(e.repositorySize),
      wikiSize: num(e.wikiSize),
      lfsObjectsSize: num(e.lfsObjectsSize),
      storageSize: num(e.storageSize),
    });
  }
}

@ObjectType({ simpleResolvers: true, description: 'A GitLab group or subgroup of an organization.' })
export class Group {
  @Field(() => ID) id!: string;
  @Field(() => Int) gitlabGroupId!: number;
  @Field(() => Int, { nullable: true }) parentGitlabGroupId!: number | null;
  @Field() fullPath!: string;
  @Field() name!: string;
  @Field() visibility!: string;
  @Field() webUrl!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field() discoveredAt!: Date;
  @Field(() => Date, { nullable: true }) deletedUpstreamAt!: Date | null;

  static from(e: GroupEntity): Group {
    return Object.assign(new Group(), e);
  }
}

export const RepositoryConnection = ConnectionOf(Repository, 'Repository');
export const GroupConnection = ConnectionOf(Group, 'Group');

@ObjectType({ simpleResolvers: true })
export class SyncRun {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field() trigger!: string;
  @Field(() => SyncStatusEnum) status!: SyncStatus;
  @Field(() => Int) repositoriesFound!: number;
  @Field(() => Int) repositoriesAdded!: number;
  @Field(() => Int) repositoriesGone!: number;
  @Field(() => Int) groupsFound!: number;
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;

  static from(e: SyncRunEntity): SyncRun {
    return Object.assign(new SyncRun(), e);
  }
}

@ObjectType({ simpleResolvers: true })
export class RepositoryCounts {
  @Field(() => Int) total!: number;
  @Field(() => Int) protected!: number;
  @Field(() => Int) unprotected!: number;
  @Field(() => Int) deletedUpstream!: number;
}

@ObjectType({ simpleResolvers: true, description: 'A GitLab namespace under protection.' })
export class Organization {
  @Field(() => ID) id!: string;
  @Field(() => ID) connectionId!: string;
  @Field(() => Int) gitlabNamespaceId!: number;
  @Field({ description: 'GROUP or USER' }) kind!: string;
  @Field() fullPath!: string;
  @Field() name!: string;
  @Field() webUrl!: string;
  @Field() autoAddNewRepositories!: boolean;
  @Field() includeGroups!: boolean;
  @Field(() => RepoSyncSchedule) repoSyncSchedule!: RepoSyncSchedule;
  @Field(() => ID, { nullable: true }) defaultWorkerId!: string | null;
  @Field(() => Date, { nullable: true }) nextSyncAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastSyncedAt!: Date | null;
  @Field() createdAt!: Date;

  static from(e: OrganizationEntity): Organization {
    return Object.assign(new Organization(), { ...e, repoSyncSchedule: RepoSyncSchedule.from(e.repoSyncSchedule) });
  }
}

@ObjectType({ simpleResolvers: true })
export class SyncProgressEvent {
  @Field(() => ID) organizationId!: string;
  @Field(() => ID) syncRunId!: string;
  @Field(() => SyncStatusEnum) status!: SyncStatus;
  @Field() phase!: string;
  @Field(() => Int) projectsListed!: number;
  @Field(() => Int, { nullable: true }) projectsTotal!: number | null;
  @Field(() => Int) groupsListed!: number;
  @Field(() => Int) repositoriesAdded!: number;
  @Field(() => Int) repositoriesGone!: number;
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
  @Field() at!: string;

  static from(e: SyncProgressed): SyncProgressEvent {
    return Object.assign(new SyncProgressEvent(), e);
  }
}

@ArgsType()
export class RepositoriesArgs extends PageArgs {
  @Field(() => Boolean, { nullable: true, description: 'Only protected (true) or unprotected (false) ones.' })
  isProtected?: boolean;
  @Field(() => Boolean, { nullable: true, description: 'Also list repositories gone upstream (default false).' })
  includeDeletedUpstream?: boolean;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(200) search?: string;
}

@InputType()
export class ProtectNamespaceInput {
  @Field(() => ID) connectionId!: string;
  @Field({ description: 'Full path of a group, or a username.' }) @MaxLength(1000) namespacePath!: string;
  @Field(() => Boolean, { nullable: true }) autoAddNewRepositories?: boolean;
  @Field(() => Boolean, { nullable: true }) includeGroups?: boolean;
  @Field(() => RepoSyncScheduleInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  repoSyncSchedule?: RepoSyncScheduleInput;
  @Field(() => ID, { nullable: true }) defaultWorkerId?: string;
}

@InputType()
export class UpdateOrganizationInput {
  @Field(() => ID) id!: string;
  @Field(() => Boolean, { nullable: true }) autoAddNewRepositories?: boolean;
  @Field(() => Boolean, { nullable: true }) includeGroups?: boolean;
  @Field(() => RepoSyncScheduleInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  repoSyncSchedule?: RepoSyncScheduleInput;
  @Field(() => ID, { nullable: true, description: 'null clears it (any online worker).' }) defaultWorkerId?:
    string | null;
}

@InputType()
export class SetRepositoriesProtectedInput {
  @Field(() => ID) organizationId!: string;
  @Field(() => [ID]) @ArrayMinSize(1) @ArrayMaxSize(1000) repositoryIds!: string[];
  @Field() isProtected!: boolean;
}
