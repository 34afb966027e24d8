import type { DrillChanged } from './drill.events.js';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection as ConnectionOf } from '../graphql/pagination.js';
import { DrillTargetKindEnum } from '../backup/policy.type.js';
import type { DrillGroupResult, DrillRepositoryResult, DrillRunEntity } from './drill.entity.js';

export enum DrillStatusEnum {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  PASSED = 'PASSED',
  FAILED = 'FAILED',
}
registerEnumType(DrillStatusEnum, {
  name: 'DrillStatus',
  description: 'PASSED only when every sampled repository and group restored and matched its manifest.',
});

export enum DrillResultStatusEnum {
  PASSED = 'PASSED',
  FAILED = 'FAILED',
}
registerEnumType(DrillResultStatusEnum, { name: 'DrillResultStatus' });

@ObjectType({
  simpleResolvers: true,
  description: 'One sampled repository of a drill: its latest snapshot restored and compared.',
})
export class DrillRepositoryResultType {
  @Field(() => ID) repositoryId!: string;
  @Field() path!: string;
  @Field(() => ID) snapshotId!: string;
  @Field(() => Int) chainLength!: number;
  @Field(() => DrillResultStatusEnum) status!: string;
  @Field(() => [String], { description: 'What differed, each naming the artifact, ref, LFS object or metadata type.' })
  differences!: string[];
  @Field(() => Int) checkedRefs!: number;
  @Field(() => Int) checkedLfsObjects!: number;
  @Field(() => Int) checkedMetadataRecords!: number;
  @Field(() => Int) durationMs!: number;

  static from(r: DrillRepositoryResult): DrillRepositoryResultType {
    return Object.assign(new DrillRepositoryResultType(), {
      ...r,
      checkedRefs: r.checked.refs,
      checkedLfsObjects: r.checked.lfsObjects,
      checkedMetadataRecords: r.checked.metadataRecords,
    });
  }
}

@ObjectType({
  simpleResolvers: true,
  description:
    'One sampled group of a drill: its latest metadata snapshot (labels, milestones, members, epics) restored and compared.',
})
export class DrillGroupResultType {
  @Field(() => ID) groupId!: string;
  @Field() path!: string;
  @Field(() => ID) snapshotId!: string;
  @Field(() => Int) chainLength!: number;
  @Field(() => DrillResultStatusEnum) status!: string;
  @Field(() => [String], { description: 'What differed, each naming the artifact or metadata type.' })
  differences!: string[];
  @Field(() => Int) checkedMetadataRecords!: number;
  @Field(() => Int) durationMs!: number;

  static from(r: DrillGroupResult): DrillGroupResultType {
    return Object.assign(new DrillGroupResultType(), { ...r, checkedMetadataRecords: r.checked.metadataRecords });
  }
}

@ObjectType({
  simpleResolvers: true,
  description:
    'A restore drill: a sample of repositories and one of groups restored into a scratch target, with what differed.',
})
export class DrillRun {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field({ description: 'MANUAL (runDrill) or SCHEDULED (the policy drill cadence)' }) trigger!: string;
  @Field(() => DrillTargetKindEnum) target!: string;
  @Field(() => String, { nullable: true, description: 'SCRATCH_NAMESPACE: the group the drill restored into' })
  namespacePath!: string | null;
  @Field(() => Int) sampleSize!: number;
  @Field(() => DrillStatusEnum) status!: string;
  @Field(() => [DrillRepositoryResultType]) results!: DrillRepositoryResultType[];
  @Field(() => [DrillGroupResultType], {
    description: "The sampled groups (the organization's group snapshots, with include groups on).",
  })
  groupResults!: DrillGroupResultType[];
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
  @Field(() => Date, { nullable: true, description: 'SCHEDULED: the calendar slot it ran for' })
  scheduledFor!: Date | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;

  static from(e: DrillRunEntity): DrillRun {
    return Object.assign(new DrillRun(), {
      ...e,
      namespacePath: (e.targetOptions?.namespacePath as string | undefined) ?? null,
      results: e.results.map(DrillRepositoryResultType.from),
      groupResults: (e.groupResults ?? []).map(DrillGroupResultType.from),
    });
  }
}

export const DrillRunConnection = ConnectionOf(DrillRun, 'DrillRun');

@ObjectType({
  simpleResolvers: true,
  description: 'A drill was queued, started, finished a repository, or ended (refetch the drill for its results).',
})
export class DrillChangedEvent {
  @Field(() => ID) drillRunId!: string;
  @Field(() => ID) organizationId!: string;
  @Field() status!: string;
  @Field(() => Int) repositoriesDone!: number;
  @Field() isTerminal!: boolean;
  @Field() at!: string;

  static from(e: DrillChanged): DrillChangedEvent {
    return Object.assign(new DrillChangedEvent(), e);
  }
}
