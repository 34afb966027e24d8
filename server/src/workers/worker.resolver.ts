import { Authorized, Ctx, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import type { WorkerChanged } from './worker.events.js';
import { Worker, WorkerChangedEvent } from './worker.type.js';

@Resolver(() => Worker)
export class WorkerResolver {
  @Authorized()
  @Query(() => [Worker])
  async workers(@Ctx() { services }: GraphQLContext): Promise<Worker[]> {
    return (await services.workers.list()).map((w) => Worker.from(w, services.workers.status(w)));
  }

  @Authorized()
  @Subscription(() => WorkerChangedEvent, {
    topics: 'WORKER_CHANGED',
    description: 'Workers registering, stopping, or changing how many jobs they run.',
  })
  workerChanged(@Root() event: WorkerChanged): WorkerChangedEvent {
    return WorkerChangedEvent.from(event);
  }
}
