import {
  Arg,
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
import type { RestoreProgressed } from './restore.events.js';
import { RestoreProgressEvent, RestoreRun, RestoreSnapshotInput } from './restore.type.js';
import { NotCached } from '../graphql/response-cache.js';

@Resolver(() => RestoreRun)
export class RestoreResolver {
  @Authorized()
  @Query(() => [RestoreRun], { description: 'The latest 100 restore runs, newest first.' })
  async restoreRuns(
    @Arg('organizationId', () => ID, { nullable: true }) organizationId: string | null,
    @Ctx() { services }: GraphQLContext,
  ) {
    return (await services.restores.list(organizationId)).map(RestoreRun.from);
  }

  @Authorized()
  @Query(() => RestoreRun)
  async restoreRun(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    return RestoreRun.from(await services.restores.get(id));
  }

  @Authorized('RESTORE_OPERATOR')
  @UseMiddleware(NotCached)
  @FieldResolver(() => String, {
    nullable: true,
    description: 'DOWNLOAD: the signed archive link, valid for one hour.',
  })
  async downloadUrl(@Root() run: RestoreRun, @Ctx() { services, principal }: GraphQLContext) {
    return services.restores.downloadUrl(await services.restores.get(run.id), principal.tokenId);
  }

  @Authorized('RESTORE_OPERATOR')
  @Mutation(() => RestoreRun, {
    description: 'Restore snapshots (or a whole organization at a point in time); returns the QUEUED run at once.',
  })
  async restoreSnapshot(@Arg('input') input: RestoreSnapshotInput, @Ctx() { services }: GraphQLContext) {
    return RestoreRun.from(await services.restores.restore(input));
  }

  @Authorized('RESTORE_OPERATOR')
  @Mutation(() => RestoreRun, {
    description:
      'Start a new restore with the settings of an earlier run (target, snapshots, options), e.g. after a failure; returns the QUEUED run at once.',
  })
  async retryRestore(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    return RestoreRun.from(await services.restores.retry(id));
  }

  @Authorized()
  @Subscription(() => RestoreProgressEvent, {
    topics: 'RESTORE_PROGRESS',
    topicId: ({ args }: { args: { runId: string } }) => args.runId, // scoped delivery (graphql/pubsub.ts)
    description: 'Phases and counts of a restore run, ending with isTerminal.',
  })
  restoreProgress(@Root() event: RestoreProgressed, @Arg('runId', () => ID) _runId: string): RestoreProgressEvent {
    return RestoreProgressEvent.from(event);
  }
}
