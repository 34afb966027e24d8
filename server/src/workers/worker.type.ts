import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { WorkerEntity } from './worker.entity.js';
import type { WorkerStatus } from './worker.service.js';
import type { WorkerChanged } from './worker.events.js';

export enum WorkerStatusEnum {
  ONLINE = 'ONLINE',
  OFFLINE = 'OFFLINE',
}
registerEnumType(WorkerStatusEnum, { name: 'WorkerStatus' });

@ObjectType({ simpleResolvers: true, description: 'A process that executes sync, backup and restore jobs.' })
export class Worker {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() host!: string;
  @Field(() => Int, { nullable: true }) pid!: number | null;
  @Field() version!: string;
  @Field(() => Int) concurrency!: number;
  @Field(() => Int, {
    description:
      'Jobs it was running at its last heartbeat; with concurrency, its load. Backups finishing their snapshot outside a transfer slot count too, so it may exceed concurrency by half.',
  })
  runningJobs!: number;
  @Field({ description: 'Runs inside an API process (npm start) rather than on its own (npm run worker).' })
  isInProcess!: boolean;
  @Field(() => WorkerStatusEnum) status!: WorkerStatus;
  @Field() startedAt!: Date;
  @Field() lastHeartbeatAt!: Date;
  @Field(() => Date, { nullable: true }) stoppedAt!: Date | null;

  static from(e: WorkerEntity, status: WorkerStatus): Worker {
    return Object.assign(new Worker(), { ...e, status });
  }
}

@ObjectType({
  simpleResolvers: true,
  description: 'A worker registered, stopped, or now runs a different number of jobs (refetch `workers` for the rest).',
})
export class WorkerChangedEvent {
  @Field(() => ID) workerId!: string;
  @Field() name!: string;
  @Field(() => Int) runningJobs!: number;
  @Field({ description: 'True when it has just stopped.' }) stopped!: boolean;
  @Field() at!: string;

  static from(e: WorkerChanged): WorkerChangedEvent {
    return Object.assign(new WorkerChangedEvent(), e);
  }
}
