import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { StorageSettingsInput } from './storage.inputs.js';
import { Storage, StoragePayload, StorageTest, StorageUsage } from './storage.type.js';

const payload = (r: { storage: Parameters<typeof Storage.from>[0]; test: Parameters<typeof StorageTest.from>[0] }) =>
  Object.assign(new StoragePayload(), { storage: Storage.from(r.storage), test: StorageTest.from(r.test) });

@Resolver(() => Storage)
export class StorageResolver {
  @Authorized()
  @Query(() => [Storage], { description: 'Every storage a policy can name, without secrets.' })
  async storages(@Ctx() { services }: GraphQLContext): Promise<Storage[]> {
    return (await services.storages.list()).map(Storage.from);
  }

  @FieldResolver(() => StorageUsage, { description: 'Snapshots and bytes kept there (primaries and replica copies).' })
  async usage(@Root() storage: Storage, @Ctx() { services }: GraphQLContext): Promise<StorageUsage> {
    return Object.assign(new StorageUsage(), await services.storages.usage(storage.id));
  }

  @Authorized('ADMIN')
  @Mutation(() => StoragePayload, {
    description:
      'Checks the settings against the server (probe object), then saves them; BAD_USER_INPUT naming the setting otherwise.',
  })
  async createStorage(@Arg('input') input: StorageSettingsInput, @Ctx() { services }: GraphQLContext) {
    return payload(await services.storages.create(input));
  }

  @Authorized('ADMIN')
  @Mutation(() => StoragePayload, {
    description: 'Replaces the settings after the same check (a secret left out is kept).',
  })
  async updateStorage(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: StorageSettingsInput,
    @Ctx() { services }: GraphQLContext,
  ) {
    return payload(await services.storages.update(id, input));
  }

  @Authorized('ADMIN', 'BACKUP_OPERATOR')
  @Mutation(() => StorageTest, {
    description: 'Writes, reads, lists and deletes a probe object; reports timings and what the server supports.',
  })
  async testStorage(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<StorageTest> {
    return StorageTest.from(await services.storages.test(id));
  }

  @Authorized('ADMIN')
  @Mutation(() => ID, {
    description: 'Deletes a storage; refused (CONFLICT) while snapshots live there or a policy names it.',
  })
  async deleteStorage(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<string> {
    await services.storages.delete(id);
    return id;
  }
}
