import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const STORAGE_KINDS = ['S3'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

/** An S3 storage's settings; the secret access key is a Password Manager credential, never here. */
export interface S3StorageConfig {
  endpoint: string | null;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  serverSideEncryption: 'AES256' | 'aws:kms' | null;
  kmsKeyId: string | null;
  storageClass: string | null;
  conditionalWrites: boolean;
  /** S3 Object Lock: objects written with this mode, locked `objectLockDays` days; null (absent in older rows): none. */
  objectLockMode?: 'GOVERNANCE' | 'COMPLIANCE' | null;
  objectLockDays?: number | null;
}

/**
 * A storage a policy can name as its primary: an S3-compatible bucket (and prefix). Snapshots
 * written there record the root `storage:<id>`, so they stay readable whatever the policy says later.
 */
@Entity('storages')
export class StorageEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index({ unique: true })
  @Column('text')
  name!: string;
  @Column('text') kind!: StorageKind;
  @Column('jsonb') settings!: S3StorageConfig;
  /** The PASSWORD credential holding the secret access key. */
  @Column('uuid', { name: 'secret_credential_id' }) secretCredentialId!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
