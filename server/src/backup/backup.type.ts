import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ArrayMaxSize, IsOptional } from 'class-validator';
import { Connection as ConnectionOf, PageArgs } from '../graphql/pagination.js';
import type { BackupRunEntity, BackupRunItemEntity, BackupRunStatus } from './backup.entity.js';
import type { BackupProgressed } from './backup.events.js';
import { CopyTypeEnum } from './policy.type.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { Manifest } from '../snapshot/manifest.js';

export enum BackupRunStatusEnum {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  PARTIAL = 'PARTIAL',
  FAILED = 'FAILED',
  CANCELED = 'CANCELED',
  TIMED_OUT = 'TIMED_OUT',
}
registerEnumType(BackupRunStatusEnum, { name: 'BackupRunStatus' });

@ObjectType({ simpleResolvers: true, description: 'One repository within a backup run.' })
export class BackupRunItem {
  @Field(() => ID) id!: string;
  @Field(() => ID, { nullable: true, description: 'The repository; null for a group item.' }) repositoryId!:
    string | null;
  @Field(() => ID, { nullable: true, description: 'The group whose metadata this item backs up (include groups).' })
  groupId!: string | null;
  @Field() pathWithNamespace!: string;
  @Field({ description: 'QUEUED, RUNNING, SUCCEEDED, PARTIAL, UNCHANGED, FAILED or CANCELED' }) status!: string;
  @Field({
    description:
      'QUEUED, FETCHING, BUNDLING, METADATA, WRITING, VERIFYING or DONE. Written once a phase has lasted a second: backupProgress events carry every change as it happens.',
  })
  phase!: string;
  @Field(() => Int) attempts!: number;
  @Field(() => Number) bytesReceived!: number;
  @Field(() => Int) objectsReceived!: number;
  @Field(() => Number) bytesWritten!: number;
  @Field(() => ID, {
    nullable: true,
    description: 'The snapshot made (or, for UNCHANGED, the latest one that still holds).',
  })
  snapshotId!: string | null;
  @Field(() => [String], { description: 'What went wrong or could not be read, e.g. a metadata type GitLab refused.' })
  warnings!: string[];
  @Field(() => [String], {
    description:
      'Plain facts that are not problems, e.g. epics not available on the GitLab tier (the snapshot records them as SKIPPED with the reason).',
  })
  notes!: string[];
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;

  static from(e: BackupRunItemEntity): BackupRunItem {
    return Object.assign(new BackupRunItem(), {
      ...e,
      bytesReceived: Number(e.bytesReceived),
      bytesWritten: Number(e.bytesWritten),
    });
  }
}

@ObjectType({ simpleResolvers: true, description: 'One execution of a backup policy.' })
export class BackupRun {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field({ description: 'MANUAL, SCHEDULED or EVENT' }) trigger!: string;
  @Field(() => CopyTypeEnum, { description: 'What was asked for; repositories without a usable chain get a FULL.' })
  copyType!: string;
  @Field(() => BackupRunStatusEnum) status!: BackupRunStatus;
  @Field(() => Int) itemsTotal!: number;
  @Field(() => Number) bytesWritten!: number;
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => Date, { nullable: true }) cancelRequestedAt!: Date | null;

  static from(e: BackupRunEntity): BackupRun {
    return Object.assign(new BackupRun(), { ...e, bytesWritten: Number(e.bytesWritten) });
  }
}

@ObjectType({ simpleResolvers: true, description: 'How many records of one metadata type a snapshot holds.' })
export class MetadataCount {
  @Field({ description: 'The metadata type, e.g. issues (see metadataTypes).' }) type!: string;
  @Field(() => Int) records!: number;
}

@ObjectType({ simpleResolvers: true, description: "The encryption of a snapshot's artifacts." })
export class SnapshotEncryption {
  @Field() algorithm!: string;
  @Field({ description: 'A fingerprint of the key that wrote them (not secret).' }) keyId!: string;
}

@ObjectType({
  simpleResolvers: true,
  description: 'What a snapshot holds, as its manifest says: typed, so clients never read the storage format.',
})
export class SnapshotContents {
  @Field(() => SnapshotEncryption, { nullable: true, description: 'null when the artifacts are not encrypted.' })
  encryption!: SnapshotEncryption | null;
  @Field({ description: 'The wiki repository is in the snapshot.' }) hasWiki!: boolean;
  @Field(() => Int, { description: 'Git LFS objects the snapshot references.' }) lfsObjectCount!: number;

  static from(manifest: Manifest): SnapshotContents {
    return Object.assign(new SnapshotContents(), {
      encryption: manifest.encryption ? Object.assign(new SnapshotEncryption(), manifest.encryption) : null,
      hasWiki: !!manifest.wiki,
      lfsObjectCount: manifest.lfs?.objects.length ?? 0,
    });
  }
}

@ObjectType({
  simpleResolvers: true,
  description: 'One copy of a snapshot: the primary (where it was written) or a replica on another storage (3-2-1).',
})
export class SnapshotCopy {
  @Field(() => ID, { nullable: true, description: 'The storage (see storages); null for a LOCAL primary.' })
  storageId!: string | null;
  @Field({ description: 'True for the copy the backup wrote; replicas are copied from it.' }) isPrimary!: boolean;
  @Field({ description: 'PENDING, COPYING, COPIED (its manifest stored) or FAILED (see error)' }) status!: string;
  @Field(() => Date, { nullable: true }) copiedAt!: Date | null;
  @Field({ description: 'UNVERIFIED, VERIFIED or FAILED (verifySnapshot checks every copy)' })
  verificationStatus!: string;
  @Field(() => Date, { nullable: true }) verifiedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Why the last copy or verification failed' }) error!:
    string | null;
  @Field(() => Date, {
    nullable: true,
    description: 'S3 Object Lock: the copy cannot be deleted before this date (retention keeps it until then)',
  })
  lockedUntil!: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'An immutable restore point of one repository.' })
export class Snapshot {
  @Field(() => ID) id!: string;
  @Field(() => ID, { nullable: true, description: "The repository; null for a group's metadata snapshot." })
  repositoryId!: string | null;
  @Field(() => ID, { nullable: true, description: "The group, for a group's metadata snapshot." }) groupId!:
    string | null;
  @Field(() => ID) organizationId!: string;
  @Field(() => ID) runId!: string;
  @Field(() => CopyTypeEnum) copyType!: string;
  @Field(() => ID, { nullable: true, description: 'The snapshot this one builds on (null for FULL).' }) parentId!:
    string | null;
  @Field(() => Number) sizeBytes!: number;
  @Field(() => Int) artifactCount!: number;
  @Field(() => Int) refCount!: number;
  @Field(() => String, {
    description: 'JSON object: metadata type → records.',
    deprecationReason: 'Use metadataRecords (typed).',
  })
  metadataCounts!: string;
  @Field(() => [MetadataCount], { description: 'Records per metadata type included in the snapshot.' })
  metadataRecords!: MetadataCount[];
  @Field(() => Boolean, {
    nullable: true,
    description: 'The restore point holds a wiki with pages; null for a snapshot written before this was recorded.',
  })
  holdsWiki!: boolean | null;
  @Field(() => Boolean, {
    nullable: true,
    description:
      'The restore point holds Git LFS objects (this snapshot or the ones it builds on); null for a snapshot written before this was recorded.',
  })
  holdsLfsObjects!: boolean | null;
  @Field({ description: 'UNVERIFIED, VERIFIED or FAILED' }) verificationStatus!: string;
  @Field(() => Date, { nullable: true }) verifiedAt!: Date | null;
  @Field(() => String, { nullable: true }) verificationError!: string | null;
  @Field() manifestSha256!: string;
  @Field({ description: 'Where the artifacts live, relative to the storage root.' }) storagePrefix!: string;
  storageRoot!: string;
  /** Its primary's Object Lock (see `copies`). */
  lockedUntil!: Date | null;
  @Field() createdAt!: Date;

  static from(e: SnapshotEntity): Snapshot {
    const metadataRecords = Object.entries(e.metadataCounts)
      .filter(([, records]) => typeof records === 'number')
      .map(([type, records]) => Object.assign(new MetadataCount(), { type, records }));
    return Object.assign(new Snapshot(), {
      ...e,
      sizeBytes: Number(e.sizeBytes),
      metadataCounts: JSON.stringify(e.metadataCounts),
      metadataRecords,
    });
  }
}

export const BackupRunConnection = ConnectionOf(BackupRun, 'BackupRun');
export const SnapshotConnection = ConnectionOf(Snapshot, 'Snapshot');

@ArgsType()
export class BackupRunsArgs extends PageArgs {
  @Field(() => ID, { nullable: true }) organizationId?: string;
  @Field(() => BackupRunStatusEnum, { nullable: true }) status?: BackupRunStatus;
}

@ArgsType()
export class SnapshotsArgs extends PageArgs {
  @Field(() => ID, { nullable: true }) organizationId?: string;
  @Field(() => ID, { nullable: true }) repositoryId?: string;
  @Field(() => ID, { nullable: true }) groupId?: string;
}

@InputType()
export class RunNowInput {
  @Field(() => ID) organizationId!: string;
  @Field(() => [ID], { nullable: true, description: 'Only these protected repositories (default: the policy scope).' })
  @IsOptional()
  @ArrayMaxSize(10_000)
  repositoryIds?: string[];
  @Field(() => CopyTypeEnum, { nullable: true, description: 'Default INCREMENTAL (FULL where no chain exists yet).' })
  copyType?: CopyTypeEnum;
}

@ObjectType({ simpleResolvers: true })
export class BackupItemProgress {
  @Field(() => ID) itemId!: string;
  @Field(() => ID, { nullable: true }) repositoryId!: string | null;
  @Field(() => ID, { nullable: true }) groupId!: string | null;
  @Field() pathWithNamespace!: string;
  @Field() status!: string;
  @Field() phase!: string;
  @Field(() => Number) bytesReceived!: number;
  @Field(() => Int) objectsReceived!: number;
  @Field(() => Int, { nullable: true }) totalObjects!: number | null;
  @Field(() => Int) metadataRecords!: number;
  @Field(() => String, { nullable: true }) errorMessage!: string | null;
}

@ObjectType({ simpleResolvers: true })
export class BackupProgressEvent {
  @Field(() => ID) organizationId!: string;
  @Field(() => ID) runId!: string;
  @Field(() => BackupRunStatusEnum) runStatus!: BackupRunStatus;
  @Field(() => Int) itemsTotal!: number;
  @Field(() => Int) itemsDone!: number;
  @Field(() => Int) itemsFailed!: number;
  @Field(() => BackupItemProgress, { nullable: true }) item!: BackupItemProgress | null;
  @Field() isTerminal!: boolean;
  @Field() at!: string;

  static from(e: BackupProgressed): BackupProgressEvent {
    return Object.assign(new BackupProgressEvent(), e);
  }
}

@ObjectType({ simpleResolvers: true })
export class VerificationReport {
  @Field(() => Snapshot) snapshot!: Snapshot;
  @Field() ok!: boolean;
  @Field(() => [String]) problems!: string[];
}
