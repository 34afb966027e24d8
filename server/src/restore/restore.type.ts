import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ArrayMaxSize, IsOptional } from 'class-validator';
import type { RestoreRunEntity } from './restore.entity.js';
import type { RestoreProgressed } from './restore.events.js';

export enum RestoreTargetEnum {
  DOWNLOAD = 'DOWNLOAD',
}
registerEnumType(RestoreTargetEnum, {
  name: 'RestoreTarget',
  description: 'DOWNLOAD: an archive of the snapshots (bundles, metadata, manifests, LFS) behind a short-lived signed link.',
});

@InputType()
export class RestoreSnapshotInput {
  @Field(() => RestoreTargetEnum) target!: RestoreTargetEnum;
  @Field(() => [ID], { nullable: true, description: 'Snapshots to restore (each with the chain it needs).' })
  @IsOptional()
  @ArrayMaxSize(10_000)
  snapshotIds?: string[];
  @Field(() => ID, { nullable: true, description: 'Bulk: every repository and group of this organization…' }) organizationId?: string;
  @Field(() => Date, { nullable: true, description: '…as it was at this time (default: now).' }) at?: Date;
  @Field(() => Boolean, { nullable: true, description: 'Report what would be restored, write nothing.' }) dryRun?: boolean;
}

@ObjectType()
export class RestoredSnapshotReport {
  @Field(() => ID) snapshotId!: string;
  @Field() path!: string;
  @Field() copyType!: string;
  @Field(() => Int) chainLength!: number;
  @Field(() => Boolean, { nullable: true }) verified!: boolean | null;
  @Field(() => [String]) problems!: string[];
}

@ObjectType()
export class RestoreReportType {
  @Field(() => [RestoredSnapshotReport]) snapshots!: RestoredSnapshotReport[];
  @Field(() => Int) files!: number;
  @Field(() => Number) bytes!: number;
  @Field(() => Int) lfsObjects!: number;
}

@ObjectType({ description: 'Replaying snapshots into a target, with progress and a result.' })
export class RestoreRun {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => RestoreTargetEnum) target!: string;
  @Field(() => [ID]) snapshotIds!: string[];
  @Field() isDryRun!: boolean;
  @Field({ description: 'QUEUED, RUNNING, SUCCEEDED, PARTIAL or FAILED' }) status!: string;
  @Field({ description: 'QUEUED, PLANNING, VERIFYING, PREPARING or DONE' }) phase!: string;
  @Field(() => RestoreReportType, { nullable: true }) report!: RestoreReportType | null;
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
  @Field(() => Date, { nullable: true }) downloadExpiresAt!: Date | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;

  static from(e: RestoreRunEntity): RestoreRun {
    return Object.assign(new RestoreRun(), e);
  }
}

@ObjectType()
export class RestoreProgressEvent {
  @Field(() => ID) runId!: string;
  @Field(() => ID) organizationId!: string;
  @Field() status!: string;
  @Field() phase!: string;
  @Field(() => Int) done!: number;
  @Field(() => Int) total!: number;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field() isTerminal!: boolean;
  @Field() at!: string;

  static from(e: RestoreProgressed): RestoreProgressEvent {
    return Object.assign(new RestoreProgressEvent(), e);
  }
}
