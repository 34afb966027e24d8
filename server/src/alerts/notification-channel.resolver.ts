import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { NotificationChannelInput } from './notification-channel.inputs.js';
import { AlertDelivery, NotificationChannel, NotificationChannelTest } from './notification-channel.type.js';

@Resolver(() => NotificationChannel)
export class NotificationChannelResolver {
  @Authorized()
  @Query(() => [NotificationChannel], { description: 'Every notification channel, without secrets.' })
  async notificationChannels(@Ctx() { services }: GraphQLContext): Promise<NotificationChannel[]> {
    return (await services.notificationChannels.list()).map(NotificationChannel.from);
  }

  @Authorized()
  @Query(() => [AlertDelivery], { description: 'The delivery log, newest first: of one channel, or of all.' })
  async alertDeliveries(
    @Arg('channelId', () => ID, { nullable: true }) channelId: string | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Ctx() { services }: GraphQLContext,
  ): Promise<AlertDelivery[]> {
    if (channelId !== null) await services.notificationChannels.get(channelId);
    return (await services.alerts.deliveries(channelId, first)).map(AlertDelivery.from);
  }

  @Authorized('ADMIN')
  @Mutation(() => NotificationChannel, {
    description: 'Saves a channel after checking its settings; BAD_USER_INPUT naming each bad field, nothing saved.',
  })
  async createNotificationChannel(
    @Arg('input') input: NotificationChannelInput,
    @Ctx() { services }: GraphQLContext,
  ): Promise<NotificationChannel> {
    return NotificationChannel.from(await services.notificationChannels.create(input));
  }

  @Authorized('ADMIN')
  @Mutation(() => NotificationChannel, { description: 'Replaces the settings (a secret left out is kept).' })
  async updateNotificationChannel(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: NotificationChannelInput,
    @Ctx() { services }: GraphQLContext,
  ): Promise<NotificationChannel> {
    return NotificationChannel.from(await services.notificationChannels.update(id, input));
  }

  @Authorized('ADMIN', 'BACKUP_OPERATOR')
  @Mutation(() => NotificationChannelTest, {
    description: 'Sends a test alert now and says how it went (a heartbeat channel is pinged as after a success).',
  })
  async testNotificationChannel(
    @Arg('id', () => ID) id: string,
    @Ctx() { services }: GraphQLContext,
  ): Promise<NotificationChannelTest> {
    return NotificationChannelTest.from(await services.notificationChannels.test(id));
  }

  @Authorized('ADMIN')
  @Mutation(() => ID, {
    description: 'Deletes a channel and its delivery log (its credential stays in the Password Manager).',
  })
  async deleteNotificationChannel(
    @Arg('id', () => ID) id: string,
    @Ctx() { services }: GraphQLContext,
  ): Promise<string> {
    await services.notificationChannels.delete(id);
    return id;
  }
}
