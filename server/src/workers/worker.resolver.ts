import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { Worker } from './worker.type.js';

@Resolver(() => Worker)
export class WorkerResolver {
  @Authorized()
  @Query(() => [Worker])
  async workers(@Ctx() { services }: GraphQLContext): Promise<Worker[]> {
    return (await services.workers.list()).map((w) => Worker.from(w, services.workers.status(w)));
  }
}
