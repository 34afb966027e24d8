import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { CreateCredentialInput, UpdateCredentialInput } from './credential.inputs.js';
import { Credential } from './credential.type.js';

@Resolver(() => Credential)
export class CredentialResolver {
  @Authorized('BACKUP_OPERATOR', 'RESTORE_OPERATOR')
  @Query(() => [Credential], { description: 'The Password Manager: every credential, without secrets.' })
  async credentials(@Ctx() { services }: GraphQLContext): Promise<Credential[]> {
    return (await services.credentials.list()).map(Credential.from);
  }

  @Authorized('ADMIN')
  @Mutation(() => Credential)
  async createCredential(@Arg('input') input: CreateCredentialInput, @Ctx() { services }: GraphQLContext) {
    return Credential.from(await services.credentials.create(input));
  }

  @Authorized('ADMIN')
  @Mutation(() => Credential, { description: 'Rename, describe or rotate the secret of a credential.' })
  async updateCredential(@Arg('input') { id, ...changes }: UpdateCredentialInput, @Ctx() { services }: GraphQLContext) {
    return Credential.from(await services.credentials.update(id, changes));
  }

  @Authorized('ADMIN')
  @Mutation(() => ID, { description: 'Deletes a credential; refused (CONFLICT) while a connection uses it.' })
  async deleteCredential(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<string> {
    await services.credentials.delete(id);
    return id;
  }
}
