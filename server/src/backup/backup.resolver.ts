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
  UseMiddleware,
} from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { toConnection, toPage } from '../graphql/pagination.js';
import { validationError } from '../shared/errors.js';
import type { BackupProgressed } from './backup.events.js';
import {
  BackupProgressEvent,
  BackupRun,
  BackupRunConnection,
  BackupRunItem,
  BackupRunsArgs,
  RunNowInput,
  Snapshot,
  SnapshotCopy,
  SnapshotConnection,
  SnapshotContents,
  SnapshotsArgs,
  VerificationReport,
} from './backup.type.js';
import { BackupPolicy, PolicySettingsShape } from './policy.type.js';
import { Repository } from '../organizations/organization.type.js';
import { METADATA_TYPES } from './policy.types.js';
import { NotCached } from '../graphql/response-cache.js';

@Resolver(() => BackupRun)
export class BackupRunResolver {
  @Authorized()
  @Query(() => BackupRunConnection)
  async backupRuns(@Args() args: BackupRunsArgs, @Ctx() { services }: GraphQLContext) {
    const page = toPage(args);
    const { items, total } = await services.backupRuns.list(args, page);
    return toConnection(items.map(BackupRun.from), total, page);
  }

  @Authorized()
  @Query(() => BackupRun)
  async backupRun(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    return BackupRun.from(await services.backupRuns.get(id));
  }

  @FieldResolver(() => [BackupRunItem])
  async items(@Root() run: BackupRun, @Ctx() { loaders }: GraphQLContext) {
    return (await loaders.backupRunItems.load(run.id)).map(BackupRunItem.from);
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => BackupRun, { description: 'Back up now with the current policy; returns the QUEUED run at once.' })
  async runNow(@Arg('input') input: RunNowInput, @Ctx() { services }: GraphQLContext) {
    return BackupRun.from(
      await services.backupRuns.runNow(input.organizationId, {
        repositoryIds: input.repositoryIds,
        copyType: input.copyType,
      }),
    );
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => BackupRun)
  async cancelBackupRun(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    return BackupRun.from(await services.backupRuns.cancel(id));
  }

  @Authorized()
  @Subscription(() => BackupProgressEvent, {
    topics: 'BACKUP_PROGRESS',
    // Scoped delivery (graphql/pubsub.ts): a run's events, or an organization's; neither → all
    // (and the resolver refuses). The filter only checks the second argument when both are given.
    topicId: ({ args }: { args: { runId?: string | null; organizationId?: string | null } }) =>
      args.runId ? `run:${args.runId}` : args.organizationId ? `org:${args.organizationId}` : undefined,
    filter: ({
      payload,
      args,
    }: {
      payload: BackupProgressed;
      args: { runId?: string | null; organizationId?: string | null };
    }) =>
      (!args.runId || payload.runId === args.runId) &&
      (!args.organizationId || payload.organizationId === args.organizationId),
    description:
      'Run and per-repository progress of one run (runId) or of an organization; ends each run with isTerminal.',
  })
  backupProgress(
    @Root() event: BackupProgressed,
    @Arg('runId', () => ID, { nullable: true }) runId?: string,
    @Arg('organizationId', () => ID, { nullable: true }) organizationId?: string,
  ): BackupProgressEvent {
    if (!runId && !organizationId) throw validationError({ runId: 'give runId or organizationId' });
    return BackupProgressEvent.from(event);
  }
}

@Resolver(() => BackupRunItem)
export class BackupRunItemResolver {
  @FieldResolver(() => Snapshot, {
    nullable: true,
    description:
      'The snapshot this item made (or, for UNCHANGED, the one that still holds): its copy type and metadata records; null before it is committed or after retention deleted it.',
  })
  async snapshot(@Root() item: BackupRunItem, @Ctx() { loaders }: GraphQLContext): Promise<Snapshot | null> {
    // Batched per request: a run's items cost one statement (graphql/loaders.ts).
    const found = item.snapshotId ? await loaders.snapshot.load(item.snapshotId) : null;
    return found ? Snapshot.from(found) : null;
  }
}

@Resolver(() => Snapshot)
export class SnapshotResolver {
  @Authorized()
  @Query(() => SnapshotConnection, { description: 'Snapshots of a repository or an organization, newest first.' })
  async snapshots(@Args() args: SnapshotsArgs, @Ctx() { services }: GraphQLContext) {
    const page = toPage(args);
    const { items, total } = await services.snapshots.list(args, page);
    return toConnection(items.map(Snapshot.from), total, page);
  }

  @Authorized()
  @Query(() => Snapshot)
  async snapshot(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    return Snapshot.from(await services.snapshots.get(id));
  }

  @UseMiddleware(NotCached)
  @FieldResolver(() => String, {
    description:
      'manifest.json as stored (artifacts, refs, metadata counts), for inspection; contents has the typed facts.',
  })
  async manifest(@Root() snapshot: Snapshot, @Ctx() { services }: GraphQLContext) {
    return JSON.stringify(await services.snapshots.reader.manifest(await services.snapshots.get(snapshot.id)));
  }

  @FieldResolver(() => [SnapshotCopy], {
    description:
      'Where the snapshot is kept: its primary first, then each replica with its copy and verification state.',
  })
  async copies(@Root() snapshot: Snapshot, @Ctx() { loaders }: GraphQLContext): Promise<SnapshotCopy[]> {
    const root = snapshot.storageRoot ?? '';
    const named = root.startsWith('storage:') ? root.slice('storage:'.length) : null;
    const primary = Object.assign(new SnapshotCopy(), {
      storageId: named,
      isPrimary: true,
      status: 'COPIED',
      copiedAt: snapshot.createdAt,
      verificationStatus: snapshot.verificationStatus,
      verifiedAt: snapshot.verifiedAt,
      error: snapshot.verificationError,
      lockedUntil: snapshot.lockedUntil ?? null,
    });
    const replicas = (await loaders.snapshotCopies.load(snapshot.id)).map((c) =>
      Object.assign(new SnapshotCopy(), {
        storageId: c.storageId,
        isPrimary: false,
        status: c.status,
        copiedAt: c.copiedAt,
        verificationStatus: c.verificationStatus,
        verifiedAt: c.verifiedAt,
        error: c.error,
        lockedUntil: c.lockedUntil,
      }),
    );
    return [primary, ...replicas];
  }

  @UseMiddleware(NotCached)
  @FieldResolver(() => SnapshotContents, {
    description: 'What the snapshot holds (encryption, wiki, LFS objects), read from its manifest.',
  })
  async contents(@Root() snapshot: Snapshot, @Ctx() { services }: GraphQLContext) {
    return SnapshotContents.from(await services.snapshots.reader.manifest(await services.snapshots.get(snapshot.id)));
  }

  @Authorized('BACKUP_OPERATOR', 'RESTORE_OPERATOR')
  @Mutation(() => VerificationReport, {
    description: 'Re-reads every artifact, checks sizes and sha256, and reads the bundle chain as a restore would.',
  })
  async verifySnapshot(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    const { snapshot, result } = await services.snapshots.verify(id);
    return Object.assign(new VerificationReport(), { snapshot: Snapshot.from(snapshot), ...result });
  }

  @Authorized('ADMIN')
  @Mutation(() => ID, {
    description: 'Refused (CONFLICT) while the snapshot is pinned (unpin it first) or another snapshot depends on it.',
  })
  async deleteSnapshot(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    await services.snapshots.delete(id, { reason: 'deleted through the API' });
    return id;
  }
}

@Resolver(() => BackupPolicy)
export class PolicyResolver {
  @Authorized()
  @Query(() => [BackupPolicy])
  async policies(@Ctx() { services }: GraphQLContext) {
    return (await services.policies.list()).map(BackupPolicy.from);
  }

  @Authorized()
  @Query(() => BackupPolicy, { description: "An organization's policy (created with defaults on first read)." })
  async policy(@Arg('organizationId', () => ID) organizationId: string, @Ctx() { services }: GraphQLContext) {
    return BackupPolicy.from(await services.policies.forOrganization(organizationId));
  }

  @Authorized()
  @Query(() => [String], { description: 'Metadata types a policy can include.' })
  metadataTypes(): string[] {
    return [...METADATA_TYPES];
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => BackupPolicy)
  async customizePolicy(
    @Arg('organizationId', () => ID) organizationId: string,
    @Arg('input') input: PolicySettingsShape,
    @Ctx() { services, principal }: GraphQLContext,
  ) {
    const options = { mayChangeStorage: principal.role === 'ADMIN' };
    return BackupPolicy.from(
      await services.policies.customize(organizationId, PolicySettingsShape.toValue(input), options),
    );
  }
}

@Resolver(() => Repository)
export class RepositorySnapshotResolver {
  @FieldResolver(() => Snapshot, {
    nullable: true,
    description: 'Its newest snapshot (of any chain), or null before its first backup.',
  })
  async latestSnapshot(@Root() repository: Repository, @Ctx() { loaders }: GraphQLContext): Promise<Snapshot | null> {
    // Batched per request: a page of repositories costs one statement (graphql/loaders.ts).
    const found = await loaders.latestSnapshot.load(repository.id);
    return found ? Snapshot.from(found) : null;
  }
}
