import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * Where an organization's group webhook stands:
 * DISABLED       event-driven backups are off (no hook upstream, no secret kept)
 * ACTIVE         the hook exists upstream with our URL, events and secret
 * MISSING        it should exist but could not be created yet (GitLab unreachable); the next check retries
 * FORBIDDEN      the connection may not manage the group's webhooks (needs Owner and the `api` scope, Premium)
 * UNSUPPORTED    a user namespace: GitLab has no group webhooks there
 */
export type EventHookState = 'DISABLED' | 'ACTIVE' | 'MISSING' | 'FORBIDDEN' | 'UNSUPPORTED';

/** One per organization that ever turned event-driven backups on. */
@Entity('event_hooks')
export class EventHookEntity {
  @PrimaryColumn('uuid', { name: 'organization_id' }) organizationId!: string;
  @Column('boolean', { name: 'is_enabled' }) isEnabled!: boolean;
  /** The X-Gitlab-Token secret, sealed by the Password Manager's box (context `webhook-secret:<org>`). */
  @Column('bytea', { name: 'secret_ciphertext', nullable: true }) secretCiphertext!: Buffer | null;
  @Column('integer', { name: 'gitlab_hook_id', nullable: true }) gitlabHookId!: number | null;
  @Column('text') state!: EventHookState;
  /** Why the state is not ACTIVE, for an operator (never a token or a URL with credentials). */
  @Column('text', { nullable: true }) problem!: string | null;
  @Column('timestamptz', { name: 'checked_at', nullable: true }) checkedAt!: Date | null;
  /** When the hook was (re-)created upstream by Labkeeper. */
  @Column('timestamptz', { name: 'registered_at', nullable: true }) registeredAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/**
 * A webhook delivery received and acknowledged. The key is GitLab's Idempotency-Key (the same on
 * every retry of a delivery), else X-Gitlab-Event-UUID, else the body's sha256: a retry, or the
 * same delivery reaching two API processes, inserts nothing the second time.
 */
@Entity('webhook_deliveries')
@Index(['organizationId', 'deliveryKey'], { unique: true })
export class WebhookDeliveryEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'organization_id' }) organizationId!: string;
  @Column('text', { name: 'delivery_key' }) deliveryKey!: string;
  /** X-Gitlab-Event, e.g. "Push Hook". */
  @Column('text') event!: string;
  /** object_kind or a system hook's event_name, e.g. push, project_destroy. */
  @Column('text') kind!: string;
  @Column('integer', { name: 'gitlab_project_id', nullable: true }) gitlabProjectId!: number | null;
  @Column('uuid', { name: 'repository_id', nullable: true }) repositoryId!: string | null;
  @Index()
  @Column('timestamptz', { name: 'received_at' })
  receivedAt!: Date;
}

/**
 * A repository waiting for its event-triggered backup: due once no event touched it for the quiet
 * period, or the maximum delay after the burst's first event; a destroy/transfer is due at once.
 */
@Entity('event_backup_pending')
export class PendingEventBackupEntity {
  @PrimaryColumn('uuid', { name: 'repository_id' }) repositoryId!: string;
  @Index()
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  @Column('timestamptz', { name: 'first_event_at' }) firstEventAt!: Date;
  @Column('timestamptz', { name: 'last_event_at' }) lastEventAt!: Date;
  @Index()
  @Column('timestamptz', { name: 'due_at' })
  dueAt!: Date;
  @Column('integer') events!: number;
  /** The kinds seen in the burst (push, merge_request, project_destroy...). */
  @Column('jsonb') kinds!: string[];
}

export type AnomalyKind =
  | 'FORCE_PUSH_DEFAULT_BRANCH'
  | 'FORCE_PUSH_PROTECTED_BRANCH'
  | 'BRANCH_PROTECTION_REMOVED'
  | 'MASS_REF_DELETION'
  | 'MASS_RECORD_DELETION'
  | 'REPOSITORY_EMPTIED'
  | 'REPOSITORY_DELETED_UPSTREAM'
  | 'SIZE_DROP'
  | 'SUBGROUP_DELETED';

/**
 * A destructive change seen between a snapshot and the one before it of the same repository (or
 * group); for
 * REPOSITORY_DELETED_UPSTREAM both snapshot ids are the repository's last snapshot (the one pinned).
 */
@Entity('snapshot_anomalies')
@Index(['snapshotId', 'kind'], { unique: true })
export class SnapshotAnomalyEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index()
  @Column('uuid', { name: 'organization_id' })
  organizationId!: string;
  /** The repository, or (null) the group whose snapshot it was seen in. */
  @Column('uuid', { name: 'repository_id', nullable: true }) repositoryId!: string | null;
  @Column('uuid', { name: 'group_id', nullable: true }) groupId!: string | null;
  @Column('uuid', { name: 'snapshot_id' }) snapshotId!: string;
  /** The last good snapshot, pinned when the anomaly was recorded. */
  @Column('uuid', { name: 'previous_snapshot_id' }) previousSnapshotId!: string;
  @Column('text') kind!: AnomalyKind;
  @Column('text') message!: string;
  @Column('jsonb') details!: Record<string, unknown>;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

/** A snapshot retention keeps until a person unpins it. */
@Entity('snapshot_pins')
export class SnapshotPinEntity {
  @PrimaryColumn('uuid', { name: 'snapshot_id' }) snapshotId!: string;
  @Column('uuid', { name: 'organization_id' }) organizationId!: string;
  @Column('text') reason!: string;
  @Column('uuid', { name: 'anomaly_id', nullable: true }) anomalyId!: string | null;
  @Column('timestamptz', { name: 'pinned_at' }) pinnedAt!: Date;
}
