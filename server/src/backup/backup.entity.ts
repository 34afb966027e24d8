import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { BackupPolicyValue, CopyType } from './policy.types.js';

export type BackupRunStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'PARTIAL' | 'FAILED' | 'CANCELED' | 'TIMED_OUT';
export type BackupTrigger = 'MANUAL' | 'SCHEDULED' | 'EVENT';
export type ItemStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'PARTIAL' | 'UNCHANGED' | 'FAILED' | 'CANCELED';
export type ItemPhase = 'QUEUED' | 'FETCHING' | 'BUNDLING' | 'METADATA' | 'WRITING' | 'VERIFYING' | 'DONE';

export const TERMINAL_RUN_STATUSES: BackupRunStatus[] = ['SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELED', 'TIMED_OUT'];
export const TERMINAL_ITEM_STATUSES: ItemStatus[] = ['SUCCEEDED', 'PARTIAL', 'UNCHANGED', 'FAILED', 'CANCELED'];

/** One per organization; `value` is the whole policy (policy.types.ts). */
@Entity('backup_policies')
export class BackupPolicyEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index({ unique: true })
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  @Column('jsonb') value!: BackupPolicyValue;
  /** Changes when compression or encryption changes: snapshots never chain across it. */
  @Column('text', { name: 'chain_key' }) chainKey!: string;
  @Column('timestamptz', { name: 'next_backup_at', nullable: true }) nextBackupAt!: Date | null;
  @Column('text', { name: 'next_copy_type', nullable: true }) nextCopyType!: CopyType | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** One execution of a policy over an organization's repositories. */
@Index('IDX_backup_runs_org_created', ['organizationId', 'createdAt', 'id'])
@Entity('backup_runs')
export class BackupRunEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index()
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  @Column('text') trigger!: BackupTrigger;
  /** What the schedule asked for; a repository without a usable parent gets a FULL anyway. */
  @Column('text', { name: 'copy_type' }) copyType!: CopyType;
  @Index()
  @Column('text')
  status!: BackupRunStatus;
  /** The policy as it was when the run was created. */
  @Column('jsonb') policy!: BackupPolicyValue;
  @Column('text', { name: 'chain_key' }) chainKey!: string;
  @Column('integer', { name: 'items_total', default: 0 }) itemsTotal!: number;
  @Column('bigint', { name: 'bytes_written', default: 0 }) bytesWritten!: string;
  @Column('text', { name: 'error_code', nullable: true }) errorCode!: string | null;
  @Column('text', { name: 'error_message', nullable: true }) errorMessage!: string | null;
  @Column('timestamptz', { name: 'window_ends_at', nullable: true }) windowEndsAt!: Date | null;
  @Column('timestamptz', { name: 'cancel_requested_at', nullable: true }) cancelRequestedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
  /**
   * When the anomaly rules were through with the run's snapshots (webhooks/anomaly.service.ts);
   * null while a finished run still waits for them: retention forgets nothing of its organization.
   */
  @Column('timestamptz', { name: 'anomalies_evaluated_at', nullable: true }) anomaliesEvaluatedAt!: Date | null;
  /** Until when an evaluation holds the run (one that stopped mid-way is taken over after it). */
  @Column('timestamptz', { name: 'anomalies_lease_until', nullable: true }) anomaliesLeaseUntil!: Date | null;
  @Column('integer', { name: 'anomaly_attempts', default: 0 }) anomalyAttempts!: number;
}

/** One repository (or, with *include groups*, one group's metadata) within a run. */
@Entity('backup_run_items')
@Index(['runId', 'repositoryId'], { unique: true })
export class BackupRunItemEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index()
  @Column('uuid', { name: 'run_id' })
  runId!: string;
  @Index()
  @Column('uuid', { name: 'repository_id', nullable: true })
  repositoryId!: string | null;
  @Column('uuid', { name: 'group_id', nullable: true }) groupId!: string | null;
  @Column('text', { name: 'path_with_namespace' }) pathWithNamespace!: string;
  @Column('text') status!: ItemStatus;
  @Column('text') phase!: ItemPhase;
  @Column('integer', { default: 0 }) attempts!: number;
  @Column('bigint', { name: 'size_hint', default: 0 }) sizeHint!: string;
  @Column('bigint', { name: 'bytes_received', default: 0 }) bytesReceived!: string;
  @Column('integer', { name: 'objects_received', default: 0 }) objectsReceived!: number;
  @Column('bigint', { name: 'bytes_written', default: 0 }) bytesWritten!: string;
  @Column('uuid', { name: 'snapshot_id', nullable: true }) snapshotId!: string | null;
  @Column('jsonb', { default: () => "'[]'" }) warnings!: string[];
  /** Plain facts that are not problems (a metadata type the GitLab tier does not offer). */
  @Column('jsonb', { default: () => "'[]'" }) notes!: string[];
  @Column('text', { name: 'error_code', nullable: true }) errorCode!: string | null;
  @Column('text', { name: 'error_message', nullable: true }) errorMessage!: string | null;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}
