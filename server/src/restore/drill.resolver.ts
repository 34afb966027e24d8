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
import type { GraphQLContext } from '../graphql/context.js';
import { PageArgs, toConnection, toPage } from '../graphql/pagination.js';
import { Organization } from '../organizations/organization.type.js';
import type { DrillChanged } from './drill.events.js';
import { DrillChangedEvent, DrillRun, DrillRunConnection } from './drill.type.js';

@Resolver(() => DrillRun)
export class DrillResolver {
  @Authorized()
  @Query(() => DrillRunConnection, { description: "An organization's restore drills, newest first." })
  async drillRuns(
    @Arg('organizationId', () => ID) organizationId: string,
    @Args() args: PageArgs,
    @Ctx() { services }: GraphQLContext,
  ) {
    const page = toPage(args);
    const { items, total } = await services.drills.list(organizationId, page);
    return toConnection(items.map(DrillRun.from), total, page);
  }

  @Authorized()
  @Query(() => DrillRun)
  async drillRun(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    return DrillRun.from(await services.drills.get(id));
  }

  @Authorized('RESTORE_OPERATOR')
  @Mutation(() => DrillRun, {
    description: "Start a restore drill now with the policy's drill settings; returns the QUEUED drill at once.",
  })
  async runDrill(@Arg('organizationId', () => ID) organizationId: string, @Ctx() { services }: GraphQLContext) {
    return DrillRun.from(await services.drills.runDrill(organizationId));
  }

  @Authorized()
  @Subscription(() => DrillChangedEvent, {
    topics: 'DRILL_CHANGED',
    topicId: ({ args }: { args: { organizationId: string } }) => args.organizationId, // scoped (graphql/pubsub.ts)
    description: "An organization's drills: queued, started, each repository done, ended (isTerminal).",
  })
  drillChanged(
    @Root() event: DrillChanged,
    @Arg('organizationId', () => ID) _organizationId: string,
  ): DrillChangedEvent {
    return DrillChangedEvent.from(event);
  }
}

@Resolver(() => Organization)
export class OrganizationDrillResolver {
  @FieldResolver(() => DrillRun, {
    nullable: true,
    description: 'The latest restore drill (queued, running or finished).',
  })
  async latestDrill(@Root() org: Organization, @Ctx() { services }: GraphQLContext) {
    const run = await services.drills.latest(org.id);
    return run ? DrillRun.from(run) : null;
  }

  @FieldResolver(() => Date, {
    nullable: true,
    description: 'When the next scheduled drill is due (null: drills off, or not booked yet).',
  })
  nextDrillAt(@Root() org: Organization, @Ctx() { services }: GraphQLContext) {
    return services.drillScheduler.nextDrillAt(org.id);
  }
}
