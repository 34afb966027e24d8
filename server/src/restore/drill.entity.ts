import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export type DrillStatus = 'QUEUED' | 'RUNNING' | 'PASSED' | 'FAILED';
export type DrillTrigger = 'MANUAL' | 'SCHEDULED';
export type DrillTargetKind = 'LOCAL_BARE' | 'SCRATCH_NAMESPACE';

/** One sampled repository of a drill: what was restored and, when it failed, what differed. */
export interface DrillRepositoryResult {
  repositoryId: string;
  path: string;
  snapshotId: string;
  chainLength: number;
  status: 'PASSED' | 'FAILED';
  /** Each a sentence naming the artifact, ref, object or metadata type that differed. */
  differences: string[];
  /** Refs, LFS objects and metadata records checked (a PASSED drill that checked nothing says so). */
  checked: { refs: number; lfsObjects: number; metadataRecords: number };
  durationMs: number;
}

/** One sampled group of a drill: its metadata snapshot (labels, milestones, members, epics) restored and compared. */
export interface DrillGroupResult {
  groupId: string;
  path: string;
  snapshotId: string;
  chainLength: number;
  status: 'PASSED' | 'FAILED';
  /** Each a sentence naming the artifact or metadata type that differed. */
  differences: string[];
  checked: { metadataRecords: number };
  durationMs: number;
}

/**
 * A restore drill: a sample of repositories, and one of groups, restored into a scratch target
 * (their latest snapshot each, with its chain) and compared with their manifests. PASSED only when
 * every sampled repository and group passed.
 */
@Entity('drill_runs')
@Index(['organizationId', 'createdAt'])
export class DrillRunEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'organization_id' }) organizationId!: string;
  @Column('text') trigger!: DrillTrigger;
  @Column('text') target!: DrillTargetKind;
  /** SCRATCH_NAMESPACE: { connectionId, namespacePath }. */
  @Column('jsonb', { name: 'target_options', nullable: true }) targetOptions!: Record<string, unknown> | null;
  @Column('integer', { name: 'sample_size' }) sampleSize!: number;
  @Column('text') status!: DrillStatus;
  @Column('jsonb', { default: () => `'[]'` }) results!: DrillRepositoryResult[];
  @Column('jsonb', { name: 'group_results', default: () => `'[]'` }) groupResults!: DrillGroupResult[];
  @Column('text', { name: 'error_message', nullable: true }) errorMessage!: string | null;
  /** SCHEDULED: the calendar slot this drill was started for (one drill per slot, across workers). */
  @Column('timestamptz', { name: 'scheduled_for', nullable: true }) scheduledFor!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}

/**
 * When an organization's next scheduled drill is due. Kept apart from the policy row: the
 * scheduler creates it the first time it sees drills enabled and recomputes it when the drill
 * settings change (`basis` is those settings as JSON).
 */
@Entity('drill_schedules')
export class DrillScheduleEntity {
  @PrimaryColumn('uuid', { name: 'organization_id' }) organizationId!: string;
  @Column('timestamptz', { name: 'next_drill_at', nullable: true }) nextDrillAt!: Date | null;
  @Column('text') basis!: string;
}
