import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ArrayMaxSize, IsOptional } from 'class-validator';
import type { RestoreRunEntity } from './restore.entity.js';
import type { RestoreProgressed } from './restore.events.js';

export enum RestoreTargetEnum {
  DOWNLOAD = 'DOWNLOAD',
  NEW_PROJECT = 'NEW_PROJECT',
  ORIGINAL = 'ORIGINAL',
}

export enum RefRestoreModeEnum {
  PREFIX = 'PREFIX',
  MISSING_ONLY = 'MISSING_ONLY',
  OVERWRITE = 'OVERWRITE',
}
registerEnumType(RefRestoreModeEnum, {
  name: 'RefRestoreMode',
  description:
    'ORIGINAL: PREFIX puts every branch and tag under a prefix and changes nothing existing (default); MISSING_ONLY restores only refs the project lacks; OVERWRITE makes refs equal to the snapshot, except protected branches (reported, never forced).',
});
registerEnumType(RestoreTargetEnum, {
  name: 'RestoreTarget',
  description:
    'DOWNLOAD: an archive of the snapshots (bundles, metadata, manifests, LFS) behind a short-lived signed link. NEW_PROJECT: new GitLab projects (this or another instance, through targetConnectionId) with every ref, the wiki, LFS objects and metadata. ORIGINAL: refs back into the original project, as refMode says.',
});

@InputType()
export class RestoreSnapshotInput {
  @Field(() => RestoreTargetEnum) target!: RestoreTargetEnum;
  @Field(() => [ID], { nullable: true, description: 'Snapshots to restore (each with the chain it needs).' })
  @IsOptional()
  @ArrayMaxSize(10_000)
  snapshotIds?: string[];
  @Field(() => ID, { nullable: true, description: 'Bulk: every repository and group of this organization…' })
  organizationId?: string;
  @Field(() => Date, { nullable: true, description: '…as it was at this time (default: now).' }) at?: Date;
  @Field(() => Boolean, { nullable: true, description: 'Report what would be restored, write nothing.' })
  dryRun?: boolean;
  @Field(() => ID, {
    nullable: true,
    description: "NEW_PROJECT: the Connection to restore through (default: the organization's); needs the api scope.",
  })
  targetConnectionId?: string;
  @Field(() => String, { nullable: true, description: 'NEW_PROJECT: the group that receives the projects.' })
  namespacePath?: string;
  @Field(() => String, {
    nullable: true,
    description: "NEW_PROJECT, one snapshot: the new project's path (default: the original's).",
  })
  projectPath?: string;
  @Field(() => Boolean, { nullable: true, description: 'NEW_PROJECT: recreate metadata too (default true).' })
  includeMetadata?: boolean;
  @Field(() => RefRestoreModeEnum, { nullable: true, description: 'ORIGINAL: how refs are restored (default PREFIX).' })
  refMode?: RefRestoreModeEnum;
  @Field(() => String, {
    nullable: true,
    description: 'ORIGINAL with PREFIX: the prefix (default restored/<snapshot time>).',
  })
  refPrefix?: string;
}

@ObjectType({
  description: 'The fidelity of one type of a restored snapshot (repository, wiki, lfs, or a metadata type).',
})
export class RestoreTypeOutcome {
  @Field() type!: string;
  @Field(() => Int, { description: 'Items the snapshot captured (refs, LFS objects, records).' }) captured!: number;
  @Field(() => Int, { description: 'Created on the target, or already there.' }) restored!: number;
  @Field(() => Int, { description: 'Left out on purpose; reasons say why.' }) skipped!: number;
  @Field(() => Int) failed!: number;
  @Field(() => [String]) reasons!: string[];
}

@ObjectType()
export class RestoredSnapshotReport {
  @Field(() => ID) snapshotId!: string;
  @Field() path!: string;
  @Field() copyType!: string;
  @Field(() => Int) chainLength!: number;
  @Field(() => Boolean, { nullable: true }) verified!: boolean | null;
  @Field(() => [String]) problems!: string[];
  @Field(() => String, { nullable: true, description: 'NEW_PROJECT: the new project.' }) targetPath?: string | null;
  @Field(() => String, { nullable: true }) targetUrl?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'NEW_PROJECT: what was done, as JSON (refs, LFS, metadata counts).',
  })
  detail?: string | null;
  @Field(() => [RestoreTypeOutcome], {
    nullable: true,
    description:
      'NEW_PROJECT and ORIGINAL: per type, captured / restored / skipped / failed with reasons. A run that left out anything it captured is not SUCCEEDED.',
  })
  types?: RestoreTypeOutcome[] | null;
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
    const report = e.report
      ? {
          ...e.report,
          snapshots: e.report.snapshots.map((s) => ({ ...s, detail: s.detail ? JSON.stringify(s.detail) : null })),
        }
      : null;
    return Object.assign(new RestoreRun(), { ...e, report });
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
