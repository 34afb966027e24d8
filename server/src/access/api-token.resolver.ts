import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { ApiToken, CreateApiTokenInput, CreatedApiToken } from './api-token.type.js';

@Resolver(() => ApiToken)
export class ApiTokenResolver {
  @Authorized('ADMIN')
  @Query(() => [ApiToken])
  async apiTokens(@Ctx() { services }: GraphQLContext): Promise<ApiToken[]> {
    return (await services.apiTokens.list()).map(ApiToken.from);
  }

  @Authorized('ADMIN')
  @Mutation(() => CreatedApiToken)
  async createApiToken(@Arg('input') input: CreateApiTokenInput, @Ctx() { services }: GraphQLContext) {
    const { token, entity } = await services.apiTokens.create(input);
    return Object.assign(new CreatedApiToken(), { token, apiToken: ApiToken.from(entity) });
  }

  @Authorized('ADMIN')
  @Mutation(() => ApiToken)
  async revokeApiToken(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    return ApiToken.from(await services.apiTokens.revoke(id));
  }
}
