import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const CHANNEL_KINDS = ['EMAIL', 'WEBHOOK', 'SLACK', 'HEARTBEAT'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export const EMAIL_SECURITY = ['NONE', 'STARTTLS', 'TLS'] as const;
export type EmailSecurity = (typeof EMAIL_SECURITY)[number];

export const SUMMARY_CADENCES = ['DAILY', 'WEEKLY'] as const;
export type SummaryCadence = (typeof SUMMARY_CADENCES)[number];

/** What a channel is told about (HEARTBEAT channels ignore these: they hear of every finished run). */
export interface AlertRules {
  runFailed: boolean;
  runPartial: boolean;
  runSucceeded: boolean;
  drillFailed: boolean;
  anomalies: boolean;
  /** A connection whose token expires within this many days (or has expired); null: off. */
  tokenExpiringWithinDays: number | null;
  /** A protected repository without a successful snapshot for this many hours; null: off. */
  staleAfterHours: number | null;
  /** A repository sync that FAILED (absent in rows saved before it existed: on). */
  syncFailed?: boolean;
  /** A replica copy that FAILED, a snapshot whose verification FAILED (absent: on). */
  storageErrors?: boolean;
  /** A summary report after each day or week (absent: none). */
  summary?: SummaryCadence | null;
  /** The hour (0–23, in summaryTimeZone) at which a day or week ends and its summary is sent (absent: 0). */
  summaryHour?: number;
  /** The IANA time zone of summaryHour and of the summary's days (absent: UTC). */
  summaryTimeZone?: string;
}

/** A channel's settings; its one secret (signing secret, Slack or heartbeat URL, SMTP password) is a credential. */
export interface ChannelSettings {
  /** WEBHOOK: the receiver's URL (the signing secret is the credential). */
  url: string | null;
  /**
   * WEBHOOK, SLACK, HEARTBEAT: PEM of the CA that signed the receiver's HTTPS certificate (a
   * private authority), trusted besides the public roots. Absent on channels saved before it.
   */
  caCertificate?: string | null;
  /** EMAIL: the SMTP server and the message's sender and recipients. */
  email: {
    host: string;
    port: number;
    security: EmailSecurity;
    username: string | null;
    from: string;
    to: string[];
    /** PEM of the CA that signed the SMTP server's certificate, trusted besides the public roots (STARTTLS, TLS). */
    caCertificate?: string | null;
  } | null;
}

/**
 * A notification channel: where alerts go (e-mail over SMTP, a signed webhook, a Slack/Mattermost
 * incoming webhook, a heartbeat URL), for one organization or all (`organizationId` null).
 */
@Entity('notification_channels')
export class NotificationChannelEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index({ unique: true })
  @Column('text')
  name!: string;
  @Column('text') kind!: ChannelKind;
  @Column('uuid', { name: 'organization_id', nullable: true }) organizationId!: string | null;
  @Column('boolean', { name: 'is_enabled', default: true }) isEnabled!: boolean;
  @Column('jsonb') rules!: AlertRules;
  @Column('jsonb') settings!: ChannelSettings;
  /** The PASSWORD credential holding the channel's secret (none for e-mail without auth). */
  @Column('uuid', { name: 'secret_credential_id', nullable: true }) secretCredentialId!: string | null;
  /** From the clock: a channel hears only of what happened after it was created. */
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}

export const ALERT_KINDS = [
  'RUN_FAILED',
  'RUN_PARTIAL',
  'RUN_SUCCEEDED',
  'DRILL_FAILED',
  'TOKEN_EXPIRING',
  'REPOSITORY_STALE',
  'ANOMALY',
  'SYNC_FAILED',
  'STORAGE_ERROR',
  /** Many occurrences found by one evaluation, sent to a channel as one message. */
  'DIGEST',
  'SUMMARY',
  'TEST',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** One occurrence (a run that failed, a token about to expire…), recorded once under its `key`. */
@Entity('alerts')
export class AlertEntity {
  @PrimaryColumn('uuid') id!: string;
  /** The occurrence: `run:<id>`, `drill:<id>`, `token:<connection>:<expiry>`, `stale:<repository>:<last snapshot>`… */
  @Index({ unique: true })
  @Column('text')
  key!: string;
  @Column('text') kind!: AlertKind;
  @Column('uuid', { name: 'organization_id', nullable: true }) organizationId!: string | null;
  @Column('text') title!: string;
  @Column('text') message!: string;
  @Column('text', { nullable: true }) link!: string | null;
  @Column('jsonb') details!: Record<string, unknown>;
  @Column('timestamptz', { name: 'occurred_at' }) occurredAt!: Date;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

/** DIGESTED: not sent on its own, but as part of a DIGEST alert's delivery to the same channel. */
export type DeliveryStatus = 'PENDING' | 'SENDING' | 'SENT' | 'FAILED' | 'DIGESTED';

/** One alert to one channel: claimed before it is sent, so two jobs never both send it. */
@Entity('alert_deliveries')
@Index(['alertId', 'channelId'], { unique: true })
export class AlertDeliveryEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'alert_id' }) alertId!: string;
  @Column('uuid', { name: 'channel_id' }) channelId!: string;
  @Column('text') status!: DeliveryStatus;
  @Column('integer', { default: 0 }) attempts!: number;
  @Column('timestamptz', { name: 'next_attempt_at', nullable: true }) nextAttemptAt!: Date | null;
  /** While SENDING: until when the claim holds (a crashed sender's delivery is taken over after it). */
  @Column('timestamptz', { name: 'lease_until', nullable: true }) leaseUntil!: Date | null;
  @Column('text', { name: 'last_error', nullable: true }) lastError!: string | null;
  @Column('timestamptz', { name: 'sent_at', nullable: true }) sentAt!: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}
