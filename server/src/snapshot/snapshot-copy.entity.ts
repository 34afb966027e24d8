/**
 * A replica of a snapshot: the same files (artifacts, LFS objects, the manifest last) under the same
 * keys in another storage, for a 3-2-1 setup. The snapshot's own row keeps the primary's root; each
 * replica has one row here, keyed by snapshot and storage.
 */
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { VerificationStatus } from './snapshot.entity.js';

/** PENDING (job queued), COPYING, COPIED (manifest stored on the replica), FAILED (see `error`). */
export type SnapshotCopyStatus = 'PENDING' | 'COPYING' | 'COPIED' | 'FAILED';

@Entity('snapshot_copies')
export class SnapshotCopyEntity {
  @PrimaryColumn('uuid', { name: 'snapshot_id' }) snapshotId!: string;
  @Index()
  @PrimaryColumn('uuid', { name: 'storage_id' })
  storageId!: string;
  /** `storage:<storageId>`: where the replica's files are, under the snapshot's own keys. */
  @Column('text', { name: 'storage_root' }) storageRoot!: string;
  @Column('text') status!: SnapshotCopyStatus;
  @Column('integer', { default: 0 }) attempts!: number;
  @Column('timestamptz', { name: 'copied_at', nullable: true }) copiedAt!: Date | null;
  @Column('text', { name: 'verification_status', default: 'UNVERIFIED' }) verificationStatus!: VerificationStatus;
  @Column('timestamptz', { name: 'verified_at', nullable: true }) verifiedAt!: Date | null;
  /**
   * When the replica storage writes under S3 Object Lock: the date the lock of the copy's last
   * object (its manifest) ends. Deleting the snapshot is refused, and retention keeps it, until then.
   */
  @Column('timestamptz', { name: 'locked_until', nullable: true }) lockedUntil!: Date | null;
  /** Why the last copy or verification failed (an operator's sentence, no credentials). */
  @Column('text', { nullable: true }) error!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}
