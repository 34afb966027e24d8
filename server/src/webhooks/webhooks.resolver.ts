import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { EventDrivenBackups, SetEventDrivenBackupsInput } from './webhooks.type.js';

@Resolver(() => EventDrivenBackups)
export class EventDrivenBackupsResolver {
  @Authorized()
  @Query(() => EventDrivenBackups)
  async eventDrivenBackups(
    @Arg('organizationId', () => ID) organizationId: string,
    @Ctx() { services }: GraphQLContext,
  ): Promise<EventDrivenBackups> {
    return EventDrivenBackups.from(await services.eventHooks.view(organizationId));
  }

  @Authorized('BACKUP_OPERATOR')
  @Mutation(() => EventDrivenBackups, {
    description:
      "Turns event-driven backups on (registers the organization's group webhook in GitLab now) or off (removes it).",
  })
  async setEventDrivenBackups(
    @Arg('input') input: SetEventDrivenBackupsInput,
    @Ctx() { services }: GraphQLContext,
  ): Promise<EventDrivenBackups> {
    return EventDrivenBackups.from(await services.eventHooks.setEnabled(input.organizationId, input.isEnabled));
  }
}
