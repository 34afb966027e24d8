/**
 * GraphQL shapes of the BackupPolicy. Output and input mirror policy.types.ts field for field, so
 * `customizePolicy(input)` takes back exactly what `policy { … }` returns. The schedule is one
 * object with a `type` and the fields that type uses (GraphQL has no input unions).
 */
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { IsOptional, ValidateNested } from 'class-validator';
import type { BackupPolicyEntity } from './backup.entity.js';
import type { BackupPolicyValue, BackupSchedule, DrillPolicy } from './policy.types.js';

export enum CopyTypeEnum {
  FULL = 'FULL',
  INCREMENTAL = 'INCREMENTAL',
  DIFFERENTIAL = 'DIFFERENTIAL',
}
registerEnumType(CopyTypeEnum, { name: 'CopyType' });

export enum ScheduleTypeEnum {
  BASIC = 'BASIC',
  CUSTOM = 'CUSTOM',
  FOREVER_INCREMENTAL = 'FOREVER_INCREMENTAL',
  GFS = 'GFS',
  MANUAL = 'MANUAL',
}
registerEnumType(ScheduleTypeEnum, { name: 'BackupScheduleType' });

export enum RetentionModeEnum {
  KEEP_FOREVER = 'KEEP_FOREVER',
  BY_COUNT = 'BY_COUNT',
  BY_TIME = 'BY_TIME',
}
registerEnumType(RetentionModeEnum, { name: 'RetentionMode' });

export enum CompressionEnum {
  NONE = 'NONE',
  GZIP = 'GZIP',
  BROTLI = 'BROTLI',
}
registerEnumType(CompressionEnum, { name: 'Compression' });

@ObjectType('TimeOfDay', { simpleResolvers: true })
@InputType('TimeOfDayInput')
export class TimeOfDayShape {
  @Field(() => Int) hour!: number;
  @Field(() => Int) minute!: number;
}

@ObjectType('CopySchedule', { simpleResolvers: true })
@InputType('CopyScheduleInput')
export class CopyScheduleShape {
  @Field(() => [Int], { description: '0 = Sunday … 6 = Saturday; empty = every day (unless daysOfMonth).' })
  weekdays!: number[];
  @Field(() => [Int], { description: '1–31 (31 = last day of shorter months).' }) daysOfMonth!: number[];
  @Field(() => [TimeOfDayShape]) @ValidateNested({ each: true }) times!: TimeOfDayShape[];
}

@ObjectType('BackupSchedule', { simpleResolvers: true })
@InputType('BackupScheduleInput')
export class BackupScheduleShape {
  @Field(() => ScheduleTypeEnum) type!: ScheduleTypeEnum;
  @Field(() => TimeOfDayShape, { nullable: true, description: 'BASIC, FOREVER_INCREMENTAL, GFS' })
  time?: TimeOfDayShape | null;
  @Field(() => Int, { nullable: true, description: 'BASIC, GFS: day of the month of the full copy' }) fullDayOfMonth?:
    number | null;
  @Field(() => CopyScheduleShape, { nullable: true, description: 'CUSTOM' }) full?: CopyScheduleShape | null;
  @Field(() => CopyScheduleShape, { nullable: true, description: 'CUSTOM' }) incremental?: CopyScheduleShape | null;
  @Field(() => String, { nullable: true, description: 'FOREVER_INCREMENTAL: HOURLY, DAILY, WEEKLY or MONTHLY' })
  every?: string | null;
  @Field(() => Int, { nullable: true, description: 'FOREVER_INCREMENTAL (WEEKLY)' }) weekday?: number | null;
  @Field(() => Int, { nullable: true, description: 'FOREVER_INCREMENTAL (MONTHLY)' }) dayOfMonth?: number | null;
  @Field(() => Int, { nullable: true, description: 'GFS: weekday of the differential copy' }) differentialWeekday?:
    number | null;
}

@ObjectType('BackupWindow', { simpleResolvers: true })
@InputType('BackupWindowInput')
export class BackupWindowShape {
  @Field(() => TimeOfDayShape) start!: TimeOfDayShape;
  @Field(() => TimeOfDayShape) end!: TimeOfDayShape;
}

@ObjectType('Retention', { simpleResolvers: true })
@InputType('RetentionInput')
export class RetentionShape {
  @Field(() => RetentionModeEnum) mode!: RetentionModeEnum;
  @Field(() => Int, { nullable: true, description: 'BY_COUNT' }) keepLast?: number | null;
  @Field(() => Int, { nullable: true, description: 'BY_TIME' }) fullDays?: number | null;
  @Field(() => Int, { nullable: true, description: 'BY_TIME' }) differentialDays?: number | null;
  @Field(() => Int, { nullable: true, description: 'BY_TIME' }) incrementalDays?: number | null;
}

@ObjectType('BackupInclude', { simpleResolvers: true })
@InputType('BackupIncludeInput')
export class IncludeShape {
  @Field() repository!: boolean;
  @Field() wiki!: boolean;
  @Field() lfs!: boolean;
  @Field(() => [String], { description: 'Metadata types: see metadataTypes.' }) metadata!: string[];
  @Field(() => [String]) groupMetadata!: string[];
}

@ObjectType('BackupScope', { simpleResolvers: true })
@InputType('BackupScopeInput')
export class ScopeShape {
  @Field({ description: 'ALL protected repositories, or SELECTED ones' }) mode!: string;
  @Field(() => [ID], { nullable: true }) repositoryIds?: string[] | null;
}

@ObjectType('BackupStorage', { simpleResolvers: true })
@InputType('BackupStorageInput')
export class StorageShape {
  @Field({
    description: 'LOCAL (a directory; a mounted NFS/SMB path works the same) or STORAGE (the storage storageId: S3)',
  })
  kind!: string;
  @Field(() => String, { nullable: true, description: 'LOCAL only: null = <data dir>/backups' }) path?: string | null;
  @Field(() => ID, { nullable: true, description: 'STORAGE only: the id of a storage (see storages)' })
  storageId?: string | null;
  @Field(() => [ID], {
    nullable: true,
    description:
      'Replicas (3-2-1): storages each new snapshot is copied to once the primary has its manifest. Default none.',
  })
  replicaStorageIds?: string[] | null;
  @Field(() => String, {
    nullable: true,
    description:
      'DOWNLOAD restores: LABKEEPER (default: a signed Labkeeper link) or PRESIGNED (STORAGE only: the archive is written to the storage and handed over as a presigned S3 URL, valid as long as the link would be)',
  })
  downloadLink?: string | null;
}

export enum DrillTargetKindEnum {
  LOCAL_BARE = 'LOCAL_BARE',
  SCRATCH_NAMESPACE = 'SCRATCH_NAMESPACE',
}
registerEnumType(DrillTargetKindEnum, {
  name: 'DrillTargetKind',
  description:
    'LOCAL_BARE: git-only, into a scratch bare repository under the data dir (deleted afterwards). SCRATCH_NAMESPACE: a NEW_PROJECT restore into a group kept for drills (the drill project is deleted afterwards).',
});

@ObjectType('DrillTarget', { simpleResolvers: true })
@InputType('DrillTargetInput')
export class DrillTargetShape {
  @Field(() => DrillTargetKindEnum) kind!: DrillTargetKindEnum;
  @Field(() => ID, { nullable: true, description: 'SCRATCH_NAMESPACE: the Connection (api scope) to restore through' })
  connectionId?: string | null;
  @Field(() => String, { nullable: true, description: 'SCRATCH_NAMESPACE: the group that receives drill projects' })
  namespacePath?: string | null;
}

@ObjectType('DrillPolicy', {
  simpleResolvers: true,
  description:
    'Periodic restore drills of a sample of repositories and groups; the cadence is in the policy time zone.',
})
@InputType('DrillPolicyInput')
export class DrillPolicyShape {
  @Field({ description: 'Scheduled drills on or off (runDrill works either way).' }) enabled!: boolean;
  @Field({ description: 'DAILY, WEEKLY or MONTHLY' }) every!: string;
  @Field(() => TimeOfDayShape) @ValidateNested() time!: TimeOfDayShape;
  @Field(() => Int, { nullable: true, description: 'WEEKLY: 0 = Sunday … 6 = Saturday' }) weekday?: number | null;
  @Field(() => Int, { nullable: true, description: 'MONTHLY: 1–31' }) dayOfMonth?: number | null;
  @Field(() => Int, {
    description:
      'Repositories restored per drill (1–100), picked at random among those with a snapshot; as many groups again among the group snapshots.',
  })
  sampleSize!: number;
  @Field(() => DrillTargetShape) @ValidateNested() target!: DrillTargetShape;
}

@ObjectType('BackupPolicySettings', { simpleResolvers: true })
@InputType('CustomizePolicyInput')
export class PolicySettingsShape {
  @Field(() => ScopeShape) @ValidateNested() scope!: ScopeShape;
  @Field(() => IncludeShape) @ValidateNested() include!: IncludeShape;
  @Field(() => BackupScheduleShape) @ValidateNested() schedule!: BackupScheduleShape;
  @Field() timeZone!: string;
  @Field(() => BackupWindowShape, { nullable: true }) @IsOptional() @ValidateNested() window?: BackupWindowShape | null;
  @Field(() => RetentionShape) @ValidateNested() retention!: RetentionShape;
  @Field(() => StorageShape) @ValidateNested() storage!: StorageShape;
  @Field(() => CompressionEnum) compression!: CompressionEnum;
  @Field(() => ID, { nullable: true, description: 'An ENCRYPTION_KEY credential; null = not encrypted' })
  encryptionCredentialId?: string | null;
  @Field() verifyAfterBackup!: boolean;
  @Field(() => DrillPolicyShape, { nullable: true, description: 'Restore drills; null = none scheduled.' })
  @IsOptional()
  @ValidateNested()
  drill?: DrillPolicyShape | null;

  static from(v: BackupPolicyValue): PolicySettingsShape {
    return Object.assign(new PolicySettingsShape(), {
      scope: { mode: v.scope.mode, repositoryIds: v.scope.mode === 'SELECTED' ? v.scope.repositoryIds : null },
      include: v.include,
      schedule: v.schedule,
      timeZone: v.timeZone,
      window: v.window,
      retention: v.retention,
      storage: {
        ...v.storage,
        replicaStorageIds: v.storage.replicaStorageIds ?? [],
        downloadLink: v.storage.downloadLink ?? 'LABKEEPER',
      },
      compression: v.compression,
      encryptionCredentialId: v.encryption?.credentialId ?? null,
      verifyAfterBackup: v.verifyAfterBackup,
      drill: v.drill ? { ...v.drill, target: { connectionId: null, namespacePath: null, ...v.drill.target } } : null,
    });
  }

  /** To the domain value; validatePolicy then checks every field and names the wrong ones. */
  static toValue(input: PolicySettingsShape): BackupPolicyValue {
    const s = input.schedule;
    const schedule = { ...stripNulls(s), type: s.type } as unknown as BackupSchedule;
    return {
      // Passed on as sent: validatePolicy refuses what it does not know instead of guessing.
      scope: { mode: input.scope.mode, repositoryIds: input.scope.repositoryIds ?? [] } as BackupPolicyValue['scope'],
      include: { ...input.include } as BackupPolicyValue['include'],
      schedule,
      timeZone: input.timeZone,
      window: input.window ? { start: { ...input.window.start }, end: { ...input.window.end } } : null,
      retention: stripNulls(input.retention) as unknown as BackupPolicyValue['retention'],
      storage: {
        kind: input.storage.kind,
        path: input.storage.path ?? null,
        storageId: input.storage.storageId ?? null,
        replicaStorageIds: input.storage.replicaStorageIds ?? null,
        downloadLink: input.storage.downloadLink ?? null,
      } as BackupPolicyValue['storage'],
      compression: input.compression,
      encryption:
        input.encryptionCredentialId === null || input.encryptionCredentialId === undefined
          ? null
          : { credentialId: input.encryptionCredentialId },
      verifyAfterBackup: input.verifyAfterBackup,
      drill: input.drill
        ? (stripNulls({
            ...input.drill,
            time: { ...input.drill.time },
            target: { ...input.drill.target },
          }) as unknown as DrillPolicy)
        : null,
    };
  }
}

function stripNulls<T extends object>(value: T): Partial<T> {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v === null ? undefined : v))) as Partial<T>;
}

@ObjectType({ simpleResolvers: true, description: 'What to back up, when, how long to keep it, where and how.' })
export class BackupPolicy {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => PolicySettingsShape) settings!: PolicySettingsShape;
  @Field(() => Date, { nullable: true, description: 'When the schedule starts the next backup.' })
  nextBackupAt!: Date | null;
  @Field(() => CopyTypeEnum, { nullable: true }) nextCopyType!: string | null;
  @Field() updatedAt!: Date;

  static from(e: BackupPolicyEntity): BackupPolicy {
    return Object.assign(new BackupPolicy(), { ...e, settings: PolicySettingsShape.from(e.value) });
  }
}
