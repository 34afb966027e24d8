import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { SnapshotDiff } from './snapshot-diff.js';
import type { SnapshotAnomalyEntity, SnapshotPinEntity } from './webhook.entity.js';

@ObjectType({ description: 'A ref added, removed or moved between two snapshots.' })
export class RefChange {
  @Field() ref!: string;
  @Field(() => String, { nullable: true }) from!: string | null;
  @Field(() => String, { nullable: true }) to!: string | null;
  @Field({ description: 'Moved to a commit that does not contain the old one (history rewritten).' })
  isForced!: boolean;
}

@ObjectType({ description: "What changed in a repository's refs between two of its snapshots." })
export class SnapshotDiffResult {
  @Field(() => ID) fromSnapshotId!: string;
  @Field(() => ID) toSnapshotId!: string;
  @Field(() => ID) repositoryId!: string;
  @Field(() => String, { nullable: true }) defaultBranch!: string | null;
  @Field(() => Int) refCountBefore!: number;
  @Field(() => Int) refCountAfter!: number;
  @Field(() => [RefChange]) added!: RefChange[];
  @Field(() => [RefChange]) removed!: RefChange[];
  @Field(() => [RefChange]) moved!: RefChange[];

  static from(diff: SnapshotDiff): SnapshotDiffResult {
    return Object.assign(new SnapshotDiffResult(), diff);
  }
}

@ObjectType({ description: 'A destructive change seen when a new snapshot was compared with the one before.' })
export class SnapshotAnomaly {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => ID) repositoryId!: string;
  @Field(() => ID) snapshotId!: string;
  @Field(() => ID, { description: 'The last good snapshot, pinned when the anomaly was recorded.' })
  previousSnapshotId!: string;
  @Field({ description: 'FORCE_PUSH_DEFAULT_BRANCH, MASS_REF_DELETION or REPOSITORY_EMPTIED.' }) kind!: string;
  @Field() message!: string;
  @Field() createdAt!: Date;

  static from(e: SnapshotAnomalyEntity): SnapshotAnomaly {
    const { id, organizationId, repositoryId, snapshotId, previousSnapshotId, kind, message, createdAt } = e;
    return Object.assign(new SnapshotAnomaly(), {
      id,
      organizationId,
      repositoryId,
      snapshotId,
      previousSnapshotId,
      kind,
      message,
      createdAt,
    });
  }
}

@ObjectType({ description: 'A snapshot retention keeps until a person unpins it.' })
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
