import {
  Arg,
  Args,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { RepoSyncScheduleInput } from '../connections/connection.type.js';
import type { GraphQLContext } from '../graphql/context.js';
import { PageArgs, toConnection, toPage } from '../graphql/pagination.js';
import type { SyncProgressed } from './sync.events.js';
import {
  GroupConnection,
  Organization,
  ProtectNamespaceInput,
  Repository,
  RepositoriesArgs,
  RepositoryConnection,
  RepositoryCounts,
  SetRepositoriesProtectedInput,
  SyncProgressEvent,
  SyncRun,
  UpdateOrganizationInput,
  Group,
} from './organization.type.js';

const schedule = (input?: RepoSyncScheduleInput | null) => (input ? RepoSyncScheduleInput.toValue(input) : null);

@Resolver(() => Organization)
export class OrganizationResolver {
  @Authorized()
  @Query(() => [Organization])
  async organizations(
    @Arg('connectionId', () => ID, { nullable: true }) connectionId: string | null,
    @Ctx() { services }: GraphQLContext,
  ): Promise<Organization[]> {
    return (await services.organizations.list(connectionId)).map(Organization.from);
  }

  @Authorized()
  @Query(() => Organization)
  async organization(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Organization> {
    return Organization.from(await services.organizations.get(id));
  }

  @FieldResolver(() => RepositoryConnection)
  async repositories(@Root() org: Organization, @Args() args: RepositoriesArgs, @Ctx() { services }: GraphQLContext) {
    const page = toPage(args);
    const { items, total } = await services.organizations.repositories(org.id, args, page);
    return toConnection(items.map(Repository.from), total, page);
  }

  @FieldResolver(() => GroupConnection)
  async groups(@Root() org: Organization, @Args() args: PageArgs, @Ctx() { services }: GraphQLContext) {
    const page = toPage(args);
    const { items, total } = await services.organizations.groupsOf(org.id, page);
    return toConnection(items.map(Group.from), total, page);
  }

  @FieldResolver(() => RepositoryCounts)
  repositoryCounts(@Root() org: Organization, @Ctx() { loaders }: GraphQLContext) {
    return loaders.repositoryCounts.load(org.id);
  }

  @FieldResolver(() => SyncRun, { nullable: true, description: 'The latest repository sync.' })
  async lastSync(@Root() org: Organization, @Ctx() { loaders }: GraphQLContext) {
    const run = await loaders.lastSync.load(org.id);
    return run ? SyncRun.from(run) : null;
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => Organization, { description: 'Protect a GitLab namespace reachable through a connection.' })
  async protectNamespace(@Arg('input') input: ProtectNamespaceInput, @Ctx() { services }: GraphQLContext) {
    return Organization.from(
      await services.organizations.protectNamespace({ ...input, repoSyncSchedule: schedule(input.repoSyncSchedule) }),
    );
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => Organization, {
    description: 'Change auto-add, include groups, the sync schedule (reschedules) or the default worker.',
  })
  async updateOrganization(
    @Arg('input') { id, ...changes }: UpdateOrganizationInput,
    @Ctx() { services }: GraphQLContext,
  ) {
    return Organization.from(
      await services.organizations.update(id, { ...changes, repoSyncSchedule: schedule(changes.repoSyncSchedule) }),
    );
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => SyncRun, {
    description: 'Re-discover repositories now; returns the queued (or already running) sync.',
  })
  async syncRepositories(@Arg('organizationId', () => ID) organizationId: string, @Ctx() { services }: GraphQLContext) {
    return SyncRun.from(await services.sync.requestSync(organizationId, 'MANUAL'));
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => [Repository], { description: 'Add repositories to, or remove them from, the backup selection.' })
  async setRepositoriesProtected(
    @Arg('input') input: SetRepositoriesProtectedInput,
    @Ctx() { services }: GraphQLContext,
  ) {
    return (
      await services.organizations.setProtected(input.organizationId, input.repositoryIds, input.isProtected)
    ).map(Repository.from);
  }

  @Authorized()
  @Subscription(() => SyncProgressEvent, {
    topics: 'SYNC_PROGRESS',
    topicId: ({ args }: { args: { organizationId: string } }) => args.organizationId,
    description: 'Progress and result of repository syncs of one organization.',
  })
  syncProgress(
    @Root() event: SyncProgressed,
    @Arg('organizationId', () => ID) _organizationId: string,
  ): SyncProgressEvent {
    return SyncProgressEvent.from(event);
  }
}

@Resolver(() => Repository)
export class RepositoryResolver {
  @Authorized()
  @Query(() => Repository, { nullable: true })
  async repository(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Repository | null> {
    const found = await services.organizations.repository(id);
    return found ? Repository.from(found) : null;
  }
}

@Resolver(() => Group)
export class GroupResolver {
  @Authorized()
  @Query(() => Group, { nullable: true, description: 'One discovered group or subgroup; null when there is none.' })
  async group(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Group | null> {
    const found = await services.organizations.group(id);
    return found ? Group.from(found) : null;
  }
}
