import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { AttentionItem, StoragePoint } from './dashboard.type.js';

@Resolver()
export class DashboardResolver {
  @Authorized()
  @Query(() => [StoragePoint], {
    description:
      'Stored bytes per day (oldest first, ending today UTC) of one organization or all; days 1–366, default 30.',
  })
  async storageHistory(
    @Ctx() { services }: GraphQLContext,
    @Arg('organizationId', () => ID, { nullable: true }) organizationId?: string | null,
    @Arg('days', () => Int, { nullable: true }) days?: number | null,
  ): Promise<StoragePoint[]> {
    return services.storageHistory.history({ organizationId, days });
  }

  @Authorized()
  @Query(() => [AttentionItem], {
    description:
      'What needs attention across every organization, worst kinds first: runs that did not succeed, connections, failed drills, storage errors, stale repositories, anomalies.',
  })
  async needsAttention(@Ctx() { services }: GraphQLContext): Promise<AttentionItem[]> {
    return services.needsAttention.list();
  }
}
