import type { TypeOutcome } from './fidelity.js';
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** What a NEW_PROJECT or ORIGINAL restore did to one snapshot, as stored (restore.type.ts exposes it typed). */
export interface RestoreSnapshotDetailRecord {
  created?: boolean;
  groupsCreated?: string[];
  /** How many refs were pushed (refsPushedList names them). */
  refsPushed?: number;
  refsPushedList?: string[];
  refsSkipped?: { ref: string; reason: string }[];
  refsRejected?: { ref: string; reason: string }[];
  refsExtra?: string[];
  wikiRefsPushed?: number;
  lfs?: { uploaded: number; present: number; failed: number } | null;
  metadata?: Record<
    string,
    { created: number; skipped: number; failed: { sourceId: string; reason: string }[] }
  > | null;
  notRestored?: string[];
}

export type RestoreTarget = 'DOWNLOAD' | 'NEW_PROJECT' | 'ORIGINAL';
export type RestoreStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'PARTIAL' | 'FAILED';
export type RestorePhase = 'QUEUED' | 'PLANNING' | 'VERIFYING' | 'PREPARING' | 'RESTORING' | 'DONE';

export interface RestoreReport {
  snapshots: {
    snapshotId: string;
    path: string;
    copyType: string;
    chainLength: number;
    verified: boolean | null;
    problems: string[];
    /** NEW_PROJECT: where it went and what was done (refs, LFS, metadata counts). */
    targetPath?: string | null;
    targetUrl?: string | null;
    detail?: RestoreSnapshotDetailRecord | null;
    /** NEW_PROJECT and ORIGINAL: the fidelity report, per type (fidelity.ts). */
    types?: TypeOutcome[];
  }[];
  files: number;
  bytes: number;
  lfsObjects: number;
}

/**
 * Replaying snapshots into a target. DOWNLOAD: an archive behind a short-lived signed link.
 * NEW_PROJECT: new GitLab projects (same or another instance) with refs, wiki, LFS and metadata.
 */
@Entity('restore_runs')
export class RestoreRunEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index()
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  @Column('text') target!: RestoreTarget;
  @Column('uuid', { name: 'snapshot_ids', array: true }) snapshotIds!: string[];
  @Column('boolean', { name: 'is_dry_run' }) isDryRun!: boolean;
  @Column('text') status!: RestoreStatus;
  @Column('text') phase!: RestorePhase;
  @Column('jsonb', { nullable: true }) report!: RestoreReport | null;
  /** NEW_PROJECT: { connectionId, namespacePath, projectPath, includeMetadata }. */
  @Column('jsonb', { nullable: true }) options!: Record<string, unknown> | null;
  @Column('text', { name: 'error_message', nullable: true }) errorMessage!: string | null;
  @Column('timestamptz', { name: 'download_expires_at', nullable: true }) downloadExpiresAt!: Date | null;
  /**
   * DOWNLOAD under a policy with `downloadLink: PRESIGNED`: the storage root the archive was written
   * to (key `restores/<runId>/archive.tar`), handed over as a presigned URL; null: a Labkeeper link.
   */
  @Column('text', { name: 'download_root', nullable: true }) downloadRoot!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}
