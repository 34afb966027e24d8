import { Field, ID, InputType, Int } from 'type-graphql';
import { IsOptional, Length, MaxLength } from 'class-validator';

@InputType({ description: 'An S3-compatible storage. Checked against the server before it is saved.' })
export class StorageSettingsInput {
  @Field() @Length(1, 200) name!: string;
  @Field(() => String, { nullable: true, description: 'http(s) URL of the S3 API; null for AWS S3' })
  @IsOptional()
  @MaxLength(2000)
  endpoint?: string | null;
  @Field() @Length(1, 40) region!: string;
  @Field() @Length(1, 63) bucket!: string;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(512) prefix?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Path-style URLs (MinIO, Ceph); default: on with an endpoint' })
  @IsOptional()
  forcePathStyle?: boolean | null;
  @Field() @Length(1, 256) accessKeyId!: string;
  @Field(() => String, {
    nullable: true,
    description: 'Typed secret access key: saved as a PASSWORD credential, never returned. Or give secretCredentialId.',
  })
  @IsOptional()
  @MaxLength(10000)
  secretAccessKey?: string | null;
  @Field(() => ID, { nullable: true, description: 'A PASSWORD credential holding the secret access key' })
  @IsOptional()
  secretCredentialId?: string | null;
  @Field(() => String, { nullable: true, description: 'AES256, aws:kms, or null for the bucket default' })
  @IsOptional()
  serverSideEncryption?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(2048) kmsKeyId?: string | null;
  @Field(() => String, { nullable: true, description: 'STANDARD, STANDARD_IA…; null for the bucket default' })
  @IsOptional()
  storageClass?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Send If-None-Match: * on commits (default true)' })
  @IsOptional()
  conditionalWrites?: boolean | null;
  @Field(() => String, {
    nullable: true,
    description:
      'S3 Object Lock: GOVERNANCE or COMPLIANCE, with objectLockDays; the bucket must have Object Lock enabled. Null: no lock.',
  })
  @IsOptional()
  objectLockMode?: string | null;
  @Field(() => Int, { nullable: true, description: 'Days each object is locked after it is written (1-36500)' })
  @IsOptional()
  objectLockDays?: number | null;
}
