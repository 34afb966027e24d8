import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { OrganizationDiff } from './organization-diff.js';
import type { SnapshotDiff } from './snapshot-diff.js';
import type { SnapshotAnomalyEntity, SnapshotPinEntity } from './webhook.entity.js';

@ObjectType({ simpleResolvers: true, description: 'A ref added, removed or moved between two snapshots.' })
export class RefChange {
  @Field() ref!: string;
  @Field(() => String, { nullable: true }) from!: string | null;
  @Field(() => String, { nullable: true }) to!: string | null;
  @Field({ description: 'Moved to a commit that does not contain the old one (history rewritten).' })
  isForced!: boolean;
  @Field({ description: 'A branch matching a protected-branch rule of either snapshot.' })
  isProtected!: boolean;
}

@ObjectType({
  simpleResolvers: true,
  description: 'A metadata record added, removed or changed between two snapshots (never its values).',
})
export class MetadataRecordChange {
  @Field({ description: "The record's GitLab id (a CI/CD variable: key@scope; a protected branch or tag: name)." })
  key!: string;
  @Field(() => String, { nullable: true, description: 'Its title, name or key, where it has one.' })
  label!: string | null;
  @Field(() => [String], { description: 'Changed records: the top-level fields whose values differ.' })
  fields!: string[];
}

@ObjectType({ simpleResolvers: true, description: 'What changed in one metadata type between two snapshots.' })
export class MetadataTypeDiffResult {
  @Field() type!: string;
  @Field({ description: 'False when the type was not captured OK on both sides (see reason): nothing is inferred.' })
  isCompared!: boolean;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => Int) recordsBefore!: number;
  @Field(() => Int) recordsAfter!: number;
  @Field(() => Int) addedCount!: number;
  @Field(() => Int) removedCount!: number;
  @Field(() => Int) changedCount!: number;
  @Field(() => [MetadataRecordChange], { description: 'At most 200; addedCount is complete.' })
  added!: MetadataRecordChange[];
  @Field(() => [MetadataRecordChange], { description: 'At most 200; removedCount is complete.' })
  removed!: MetadataRecordChange[];
  @Field(() => [MetadataRecordChange], { description: 'At most 200; changedCount is complete.' })
  changed!: MetadataRecordChange[];
}

@ObjectType({
  simpleResolvers: true,
  description: 'What changed in a repository (or a group) between two of its snapshots.',
})
export class SnapshotDiffResult {
  @Field(() => ID) fromSnapshotId!: string;
  @Field(() => ID) toSnapshotId!: string;
  @Field(() => ID, { nullable: true }) repositoryId!: string | null;
  @Field(() => ID, { nullable: true, description: "Set for a group's metadata snapshots." }) groupId!: string | null;
  @Field(() => String, { nullable: true }) defaultBranch!: string | null;
  @Field(() => Int) refCountBefore!: number;
  @Field(() => Int) refCountAfter!: number;
  @Field(() => [RefChange]) added!: RefChange[];
  @Field(() => [RefChange]) removed!: RefChange[];
  @Field(() => [RefChange]) moved!: RefChange[];
  @Field(() => Float, {
    nullable: true,
    description:
      'Bytes on disk of the objects reachable from the refs; measured only when a ref was removed or force-moved.',
  })
  gitBytesBefore!: number | null;
  @Field(() => Float, { nullable: true }) gitBytesAfter!: number | null;
  @Field(() => [MetadataTypeDiffResult]) metadata!: MetadataTypeDiffResult[];

  static from(diff: SnapshotDiff): SnapshotDiffResult {
    return Object.assign(new SnapshotDiffResult(), diff);
  }
}

@ObjectType({
  simpleResolvers: true,
  description: 'A destructive change seen when a new snapshot was compared with the one before.',
})
export class SnapshotAnomaly {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => ID, { nullable: true, description: 'Null for an anomaly of a group (see groupId).' })
  repositoryId!: string | null;
  @Field(() => ID, { nullable: true, description: "Set for an anomaly seen in a group's metadata snapshot." })
  groupId!: string | null;
  @Field(() => ID) snapshotId!: string;
  @Field(() => ID, { description: 'The last good snapshot, pinned when the anomaly was recorded.' })
  previousSnapshotId!: string;
  @Field({
    description:
      'FORCE_PUSH_DEFAULT_BRANCH, FORCE_PUSH_PROTECTED_BRANCH, BRANCH_PROTECTION_REMOVED, MASS_REF_DELETION, ' +
      'MASS_RECORD_DELETION, REPOSITORY_EMPTIED, SIZE_DROP or REPOSITORY_DELETED_UPSTREAM (then snapshotId and ' +
      'previousSnapshotId are both the last snapshot, the one pinned); for a group, SUBGROUP_DELETED or ' +
      'MASS_RECORD_DELETION.',
  })
  kind!: string;
  @Field() message!: string;
  @Field() createdAt!: Date;

  static from(e: SnapshotAnomalyEntity): SnapshotAnomaly {
    const { id, organizationId, repositoryId, groupId, snapshotId, previousSnapshotId, kind, message, createdAt } = e;
    return Object.assign(new SnapshotAnomaly(), {
      id,
      organizationId,
      repositoryId,
      groupId,
      snapshotId,
      previousSnapshotId,
      kind,
      message,
      createdAt,
    });
  }
}

@ObjectType({ simpleResolvers: true, description: 'A snapshot retention keeps until a person unpins it.' })
export class SnapshotPin {
  @Field(() => ID) snapshotId!: string;
  @Field() isPinned!: boolean;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => Date, { nullable: true }) pinnedAt!: Date | null;

  static from(snapshotId: string, pin: SnapshotPinEntity | null): SnapshotPin {
    return Object.assign(new SnapshotPin(), {
      snapshotId,
      isPinned: pin !== null,
      reason: pin?.reason ?? null,
      pinnedAt: pin?.pinnedAt ?? null,
    });
  }
}

@ObjectType({
  simpleResolvers: true,
  description: 'One repository or group whose snapshot changed between the two points in time.',
})
export class OrganizationDiffEntry {
  @Field(() => ID, { nullable: true }) repositoryId!: string | null;
  @Field(() => ID, { nullable: true }) groupId!: string | null;
  @Field() path!: string;
  @Field(() => ID, { nullable: true, description: 'Null: first backed up in between.' })
  fromSnapshotId!: string | null;
  @Field(() => ID) toSnapshotId!: string;
  @Field(() => Date, { nullable: true, description: 'Deleted upstream in between.' }) deletedUpstreamAt!: Date | null;
  @Field(() => Int) refsAdded!: number;
  @Field(() => Int) refsRemoved!: number;
  @Field(() => Int) refsMoved!: number;
  @Field(() => [String], { description: 'Refs moved to a commit that does not contain the old one.' })
  forcedRefs!: string[];
  @Field(() => Int) recordsAdded!: number;
  @Field(() => Int) recordsRemoved!: number;
  @Field(() => Int) recordsChanged!: number;
  @Field(() => String, { nullable: true }) problem!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'What changed in an organization between two points in time.' })
export class OrganizationDiffResult {
  @Field(() => ID) organizationId!: string;
  @Field() from!: Date;
  @Field() to!: Date;
  @Field(() => Int, { description: 'Repositories and groups with a snapshot at `to`.' }) compared!: number;
  @Field(() => Int, { description: 'Of those, the ones whose snapshot was the same at both points.' })
  unchanged!: number;
  @Field(() => [OrganizationDiffEntry]) entries!: OrganizationDiffEntry[];

  static from(diff: OrganizationDiff): OrganizationDiffResult {
    return Object.assign(new OrganizationDiffResult(), diff);
  }
}
