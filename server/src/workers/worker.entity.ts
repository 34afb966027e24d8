import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A process that executes jobs. ONLINE/OFFLINE is derived from `last_heartbeat_at`, never stored. */
@Entity('workers')
export class WorkerEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index({ unique: true })
  @Column('text')
  name!: string;
  @Column('text') host!: string;
  @Column('integer', { nullable: true }) pid!: number | null;
  @Column('text') version!: string;
  @Column('integer') concurrency!: number;
  @Column('boolean', { name: 'is_in_process' }) isInProcess!: boolean;
  @Column('timestamptz', { name: 'started_at' }) startedAt!: Date;
  @Column('timestamptz', { name: 'last_heartbeat_at' }) lastHeartbeatAt!: Date;
  @Column('timestamptz', { name: 'stopped_at', nullable: true }) stoppedAt!: Date | null;
  /** Jobs it was running at its last heartbeat (0 once stopped). */
  @Column('integer', { name: 'running_jobs', default: 0 }) runningJobs!: number;
}
