import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { StorageEntity } from './storage.entity.js';
import type { StorageTestResult } from './storage.service.js';

@ObjectType({
  simpleResolvers: true,
  description:
    'An S3-compatible bucket (and prefix) a policy can store its snapshots in. The secret key is never returned.',
})
export class Storage {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: 'S3 (AWS S3, MinIO, Ceph, Wasabi, Backblaze B2…)' }) kind!: string;
  @Field(() => String, { nullable: true, description: 'null = AWS S3' }) endpoint!: string | null;
  @Field() region!: string;
  @Field() bucket!: string;
  @Field({ description: "Key prefix inside the bucket; '' for none" }) prefix!: string;
  @Field() forcePathStyle!: boolean;
  @Field() accessKeyId!: string;
  @Field(() => ID, { description: 'The PASSWORD credential holding the secret access key' })
  secretCredentialId!: string;
  @Field(() => String, { nullable: true }) serverSideEncryption!: string | null;
  @Field(() => String, { nullable: true }) kmsKeyId!: string | null;
  @Field(() => String, { nullable: true }) storageClass!: string | null;
  @Field() conditionalWrites!: boolean;
  @Field(() => String, { nullable: true, description: 'S3 Object Lock mode of every object written; null: none' })
  objectLockMode!: string | null;
  @Field(() => Int, { nullable: true, description: 'Days each object is locked after it is written' })
  objectLockDays!: number | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;

  static from(e: StorageEntity): Storage {
    return Object.assign(new Storage(), {
      id: e.id,
      name: e.name,
      kind: e.kind,
      objectLockMode: null,
      objectLockDays: null,
      ...e.settings,
      secretCredentialId: e.secretCredentialId,
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
    });
  }
}

@ObjectType({
  simpleResolvers: true,
  description: 'What testStorage found: a probe object written, read, listed and deleted, with timings.',
})
export class StorageTest {
  @Field(() => ID, { nullable: true }) storageId!: string | null;
  @Field({ description: 'Where the probe went (never credentials)' }) location!: string;
  @Field(() => Int) writeMs!: number;
  @Field(() => Int) readMs!: number;
  @Field(() => Int) listMs!: number;
  @Field(() => Int) deleteMs!: number;
  @Field({ description: 'The server refuses a second If-None-Match: * write of one key (race-free write-once)' })
  conditionalWrites!: boolean;
  @Field({ description: 'The bucket has S3 Object Lock enabled (GetObjectLockConfiguration)' })
  objectLock!: boolean;

  static from(t: StorageTestResult): StorageTest {
    return Object.assign(new StorageTest(), t);
  }
}

@ObjectType({ simpleResolvers: true })
export class StoragePayload {
  @Field(() => Storage) storage!: Storage;
  @Field(() => StorageTest, { description: 'The check the settings passed before they were saved' }) test!: StorageTest;
}

@ObjectType({ simpleResolvers: true, description: 'What a storage holds, as the database knows it.' })
export class StorageUsage {
  @Field(() => Int, { description: 'Snapshots a backup wrote there (their primary copy)' }) primarySnapshots!: number;
  @Field(() => Int, { description: 'Replica copies of snapshots kept there, whatever their status' })
  replicaCopies!: number;
  @Field(() => Float, { description: 'Bytes of those snapshots and of the replica copies completed' }) bytes!: number;
}
