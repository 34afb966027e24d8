/**
 * The snapshot's row: where its artifacts live and what its manifest's sha256 was when it was
 * written. The table and its columns are the ones migrations created; only the class moved here.
 */
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { CopyType } from './manifest.js';

export type VerificationStatus = 'UNVERIFIED' | 'VERIFIED' | 'FAILED';

/**
 * An immutable restore point of one repository. The row is written only after the snapshot's
 * manifest is stored, so a snapshot without a manifest never exists for the API.
 */
@Index('IDX_snapshots_repository_created', ['repositoryId', 'createdAt', 'id'])
@Entity('snapshots')
export class SnapshotEntity {
  @PrimaryColumn('uuid') id!: string;
  /** A repository's snapshot, or (repositoryId null) a group's metadata snapshot. */
  @Index()
  @Column('uuid', { name: 'repository_id', nullable: true })
  repositoryId!: string | null;
  @Index()
  @Column('uuid', { name: 'group_id', nullable: true })
  groupId!: string | null;
  @Index()
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  @Column('uuid', { name: 'run_id' }) runId!: string;
  @Column('text', { name: 'copy_type' }) copyType!: CopyType;
  /** The snapshot whose tips this one's bundle builds on (null for FULL). */
  @Column('uuid', { name: 'parent_id', nullable: true }) parentId!: string | null;
  @Column('text', { name: 'chain_key' }) chainKey!: string;
  /** The storage root (a directory for LOCAL) and the snapshot's folder below it. */
  @Column('text', { name: 'storage_root' }) storageRoot!: string;
  @Column('text', { name: 'storage_prefix' }) storagePrefix!: string;
  @Column('text', { name: 'manifest_sha256' }) manifestSha256!: string;
  /** The ENCRYPTION_KEY credential its artifacts were encrypted with (null: not encrypted). */
  @Index()
  @Column('uuid', { name: 'encryption_credential_id', nullable: true })
  encryptionCredentialId!: string | null;
  @Column('bigint', { name: 'size_bytes' }) sizeBytes!: string;
  @Column('integer', { name: 'artifact_count' }) artifactCount!: number;
  @Column('integer', { name: 'ref_count' }) refCount!: number;
  /**
   * False when data the policy asked for is missing (a metadata type FAILED or incomplete, LFS objects missing
   * or failed; see `missingData`): such a snapshot is a restore point, but never proof that a
   * repository can be skipped as unchanged — the next run fetches it again.
   */
  @Column('boolean', { name: 'is_complete', default: true }) isComplete!: boolean;
  /** The restore point holds a wiki with pages (null: written before this was recorded). */
  @Column('boolean', { name: 'holds_wiki', nullable: true }) holdsWiki!: boolean | null;
  /**
   * The restore point holds Git LFS objects: this snapshot's range lists some, or the snapshot it
   * builds on holds some (restore takes the union along the chain). Null: written before this was recorded.
   */
  @Column('boolean', { name: 'holds_lfs_objects', nullable: true }) holdsLfsObjects!: boolean | null;
  @Column('jsonb', { name: 'metadata_counts', default: () => "'{}'" }) metadataCounts!: Record<string, number>;
  @Column('text', { name: 'verification_status', default: 'UNVERIFIED' }) verificationStatus!: VerificationStatus;
  @Column('timestamptz', { name: 'verified_at', nullable: true }) verifiedAt!: Date | null;
  @Column('text', { name: 'verification_error', nullable: true }) verificationError!: string | null;
  /** Written under S3 Object Lock: no copy of it can be deleted before this date (null: not locked). */
  @Column('timestamptz', { name: 'locked_until', nullable: true }) lockedUntil!: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}
