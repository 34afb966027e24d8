import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ArrayMaxSize, IsOptional } from 'class-validator';
import type { RestoreRunEntity, RestoreSnapshotDetailRecord } from './restore.entity.js';
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

@InputType({
  description:
    'NEW_PROJECT: the secret token of a captured project webhook, which GitLab never returns (so a backup cannot hold it). Never logged or returned; stored encrypted with the run (retryRestore reuses it).',
})
export class WebhookSecretTokenInput {
  @Field({ description: "The captured webhook's URL, exactly as GitLab lists it." }) url!: string;
  @Field({ description: 'The secret token GitLab sends in X-Gitlab-Token.' }) token!: string;
}

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
  @Field(() => [WebhookSecretTokenInput], {
    nullable: true,
    description:
      'NEW_PROJECT: secret tokens for captured webhooks, by URL (a hook restored without one is named in the report).',
  })
  @IsOptional()
  @ArrayMaxSize(1000)
  webhookSecretTokens?: WebhookSecretTokenInput[];
}

@ObjectType({
  simpleResolvers: true,
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

@ObjectType({ simpleResolvers: true, description: 'A ref a restore did not push, and why.' })
export class RestoreRefOutcome {
  @Field() ref!: string;
  @Field() reason!: string;
}

@ObjectType({ simpleResolvers: true, description: 'LFS objects of a restored snapshot.' })
export class RestoreLfsCounts {
  @Field(() => Int) uploaded!: number;
  @Field(() => Int, { description: 'Already in the target.' }) present!: number;
  @Field(() => Int) failed!: number;
}

@ObjectType({ simpleResolvers: true, description: "A record a restore could not write, and GitLab's reason." })
export class RestoreRecordFailure {
  @Field() sourceId!: string;
  @Field() reason!: string;
}

@ObjectType({
  simpleResolvers: true,
  description: 'One metadata type of a NEW_PROJECT restore: created, already there, failed.',
})
export class RestoreMetadataCounts {
  @Field() type!: string;
  @Field(() => Int) created!: number;
  @Field(() => Int, { description: 'Already in the target (a mapping, or the same name/title/marker).' })
  skipped!: number;
  @Field(() => [RestoreRecordFailure]) failed!: RestoreRecordFailure[];
}

@ObjectType({
  simpleResolvers: true,
  description: 'NEW_PROJECT and ORIGINAL: what was done to one snapshot (or, in a dry run, would be).',
})
export class RestoreSnapshotDetail {
  @Field({ description: 'NEW_PROJECT: whether the project was created by this run.' }) created!: boolean;
  @Field(() => [String], { description: 'Groups created on the target (dry run: would be), parents first.' })
  groupsCreated!: string[];
  @Field(() => [String]) refsPushed!: string[];
  @Field(() => [RestoreRefOutcome], { description: 'Refs left alone (already equal, or GitLab keeps them).' })
  refsSkipped!: RestoreRefOutcome[];
  @Field(() => [RestoreRefOutcome]) refsRejected!: RestoreRefOutcome[];
  @Field(() => [String], { description: 'Refs of the target that the snapshot does not have (left as they are).' })
  refsExtra!: string[];
  @Field(() => Int) wikiRefsPushed!: number;
  @Field(() => RestoreLfsCounts, { nullable: true }) lfs!: RestoreLfsCounts | null;
  @Field(() => [RestoreMetadataCounts], { nullable: true, description: 'Null when metadata was not restored.' })
  metadata!: RestoreMetadataCounts[] | null;
  @Field(() => [String], {
    description: 'A group snapshot: metadata types it holds that a restore does not write back.',
  })
  notRestored!: string[];
}

/** The stored detail (restore.entity.ts) as typed GraphQL fields. */
export function detailOf(stored: RestoreSnapshotDetailRecord | null | undefined): RestoreSnapshotDetail | null {
  if (!stored) return null;
  return Object.assign(new RestoreSnapshotDetail(), {
    created: stored.created ?? false,
    groupsCreated: stored.groupsCreated ?? [],
    refsPushed: stored.refsPushedList ?? [],
    refsSkipped: stored.refsSkipped ?? [],
    refsRejected: stored.refsRejected ?? [],
    refsExtra: stored.refsExtra ?? [],
    wikiRefsPushed: stored.wikiRefsPushed ?? 0,
    lfs: stored.lfs ?? null,
    metadata: stored.metadata ? Object.entries(stored.metadata).map(([type, section]) => ({ type, ...section })) : null,
    notRestored: stored.notRestored ?? [],
  });
}

@ObjectType({ simpleResolvers: true })
export class RestoredSnapshotReport {
  @Field(() => ID) snapshotId!: string;
  @Field() path!: string;
  @Field() copyType!: string;
  @Field(() => Int) chainLength!: number;
  @Field(() => Boolean, { nullable: true }) verified!: boolean | null;
  @Field(() => [String]) problems!: string[];
  @Field(() => String, { nullable: true, description: 'NEW_PROJECT: the new project.' }) targetPath?: string | null;
  @Field(() => String, { nullable: true }) targetUrl?: string | null;
  @Field(() => RestoreSnapshotDetail, {
    nullable: true,
    description: 'NEW_PROJECT and ORIGINAL: what was done (refs, wiki, LFS, metadata counts).',
  })
  detail?: RestoreSnapshotDetail | null;
  @Field(() => [RestoreTypeOutcome], {
    nullable: true,
    description:
      'NEW_PROJECT and ORIGINAL: per type, captured / restored / skipped / failed with reasons. A run that left out anything it captured is not SUCCEEDED.',
  })
  types?: RestoreTypeOutcome[] | null;
}

@ObjectType({ simpleResolvers: true })
export class RestoreReportType {
  @Field(() => [RestoredSnapshotReport]) snapshots!: RestoredSnapshotReport[];
  @Field(() => Int) files!: number;
  @Field(() => Number) bytes!: number;
  @Field(() => Int) lfsObjects!: number;
}

@ObjectType({ simpleResolvers: true, description: 'Replaying snapshots into a target, with progress and a result.' })
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
          snapshots: e.report.snapshots.map((s) => ({ ...s, detail: detailOf(s.detail) })),
        }
      : null;
    return Object.assign(new RestoreRun(), { ...e, report });
  }
}

@ObjectType({ simpleResolvers: true })
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
