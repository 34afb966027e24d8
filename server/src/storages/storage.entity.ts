import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { S3StorageSettings } from '../storage/s3-storage.js';

export const STORAGE_KINDS = ['S3'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

/**
 * An S3 storage's settings as stored: the backend's settings without the secret access key (a
 * Password Manager credential, never here). Nullable options are always written (null: the
 * bucket's default); the lock (absent in older rows) stays optional.
 */
export type S3StorageConfig = Required<
  Omit<S3StorageSettings, 'secretAccessKey' | 'objectLockMode' | 'objectLockDays'>
> &
  Pick<S3StorageSettings, 'objectLockMode' | 'objectLockDays'>;

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
