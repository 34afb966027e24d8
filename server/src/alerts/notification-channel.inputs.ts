import { Field, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { IsOptional, MaxLength } from 'class-validator';
import { CHANNEL_KINDS, EMAIL_SECURITY, SUMMARY_CADENCES } from './alert.entity.js';

export enum NotificationChannelKind {
  EMAIL = 'EMAIL',
  WEBHOOK = 'WEBHOOK',
  SLACK = 'SLACK',
  HEARTBEAT = 'HEARTBEAT',
}
registerEnumType(NotificationChannelKind, {
  name: 'NotificationChannelKind',
  description:
    'EMAIL: over SMTP. WEBHOOK: a signed JSON POST. SLACK: a Slack/Mattermost incoming webhook. HEARTBEAT: a URL pinged after each finished run (healthchecks.io style, `<url>/fail` when it failed).',
});

export enum EmailSecurity {
  NONE = 'NONE',
  STARTTLS = 'STARTTLS',
  TLS = 'TLS',
}
registerEnumType(EmailSecurity, {
  name: 'EmailSecurity',
  description: 'NONE: plain SMTP. STARTTLS: upgrade required (default, port 587). TLS: implicit TLS (port 465).',
});

export enum SummaryCadence {
  DAILY = 'DAILY',
  WEEKLY = 'WEEKLY',
}
registerEnumType(SummaryCadence, {
  name: 'SummaryCadence',
  description: 'DAILY: after each UTC day. WEEKLY: after each week, Monday to Monday (UTC).',
});

// The enums mirror the domain's lists; a drift is a compile error here.
const _kinds: readonly `${NotificationChannelKind}`[] = CHANNEL_KINDS;
const _security: readonly `${EmailSecurity}`[] = EMAIL_SECURITY;
const _cadences: readonly `${SummaryCadence}`[] = SUMMARY_CADENCES;
void _kinds;
void _security;
void _cadences;

@InputType({ description: 'What a channel is told about; a rule left out keeps its current value (or default).' })
export class AlertRulesInput {
  @Field(() => Boolean, { nullable: true, description: 'A backup run FAILED or TIMED_OUT (default on)' })
  @IsOptional()
  runFailed?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: 'A backup run ended PARTIAL (default on)' })
  @IsOptional()
  runPartial?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: 'A backup run SUCCEEDED (default off)' })
  @IsOptional()
  runSucceeded?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: 'A restore drill FAILED (default on)' })
  @IsOptional()
  drillFailed?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: 'An anomaly on a new snapshot (default on)' })
  @IsOptional()
  anomalies?: boolean | null;
  @Field(() => Int, {
    nullable: true,
    description: "A connection's token expires within this many days, or has expired (default 14; null: off)",
  })
  @IsOptional()
  tokenExpiringWithinDays?: number | null;
  @Field(() => Int, {
    nullable: true,
    description: 'A protected repository has no successful snapshot for this many hours (default 48; null: off)',
  })
  @IsOptional()
  staleAfterHours?: number | null;
  @Field(() => Boolean, { nullable: true, description: 'A repository sync FAILED (default on)' })
  @IsOptional()
  syncFailed?: boolean | null;
  @Field(() => Boolean, {
    nullable: true,
    description: 'A replica copy FAILED, or a snapshot failed verification (default on)',
  })
  @IsOptional()
  storageErrors?: boolean | null;
  @Field(() => SummaryCadence, {
    nullable: true,
    description:
      'A summary report per organization (runs, failures, new and deleted repositories, storage growth) after each day or week (default none; null: none)',
  })
  @IsOptional()
  summary?: SummaryCadence | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'The hour (0–23, in summaryTimeZone) at which each day (and each week, on Monday) ends and its summary is sent (default 0; null: 0)',
  })
  @IsOptional()
  summaryHour?: number | null;
  @Field(() => String, {
    nullable: true,
    description:
      "The IANA time zone of summaryHour and of the summary's days, e.g. Europe/Warsaw (default UTC; null: UTC)",
  })
  @IsOptional()
  @MaxLength(64)
  summaryTimeZone?: string | null;
}

@InputType({ description: 'The SMTP server, sender and recipients of an EMAIL channel.' })
export class EmailSettingsInput {
  @Field() @MaxLength(255) host!: string;
  @Field(() => Int, { nullable: true, description: 'Default: 587 (STARTTLS), 465 (TLS), 25 (NONE)' })
  @IsOptional()
  port?: number | null;
  @Field(() => EmailSecurity, { nullable: true, description: 'Default STARTTLS' })
  @IsOptional()
  security?: EmailSecurity | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(320) username?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Saved as a PASSWORD credential, never returned; left out on update: kept',
  })
  @IsOptional()
  @MaxLength(10000)
  password?: string | null;
  @Field() @MaxLength(320) from!: string;
  @Field(() => [String]) to!: string[];
  @Field(() => String, {
    nullable: true,
    description:
      "PEM of the CA that signed the SMTP server's certificate (a private CA or a self-signed certificate), trusted besides the public roots; STARTTLS and TLS only",
  })
  @IsOptional()
  @MaxLength(100000)
  caCertificate?: string | null;
}

@InputType({
  description:
    'A notification channel. Its one secret (signingSecret, secretUrl, or the e-mail password) goes to the Password Manager; on update, a secret left out is kept.',
})
export class NotificationChannelInput {
  @Field() @MaxLength(200) name!: string;
  @Field(() => NotificationChannelKind) kind!: NotificationChannelKind;
  @Field(() => ID, { nullable: true, description: 'Only this organization; null: every organization' })
  @IsOptional()
  organizationId?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Default true' }) @IsOptional() isEnabled?: boolean | null;
  @Field(() => AlertRulesInput, { nullable: true }) @IsOptional() rules?: AlertRulesInput | null;
  @Field(() => String, { nullable: true, description: "WEBHOOK: the receiver's http(s) URL" })
  @IsOptional()
  @MaxLength(2000)
  url?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'SLACK: the incoming webhook URL. HEARTBEAT: the ping URL. A capability: kept as a secret.',
  })
  @IsOptional()
  @MaxLength(2000)
  secretUrl?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'WEBHOOK: the HMAC-SHA256 signing secret (at least 16 characters)',
  })
  @IsOptional()
  @MaxLength(1000)
  signingSecret?: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      "WEBHOOK, SLACK, HEARTBEAT: PEM of the CA that signed the receiver's HTTPS certificate (a private authority), trusted besides the public roots. Left out on an update: kept; null: none",
  })
  @IsOptional()
  @MaxLength(100000)
  caCertificate?: string | null;
  @Field(() => ID, { nullable: true, description: 'A PASSWORD credential holding the secret, instead of typing it' })
  @IsOptional()
  secretCredentialId?: string | null;
  @Field(() => EmailSettingsInput, { nullable: true, description: 'EMAIL only' })
  @IsOptional()
  email?: EmailSettingsInput | null;
}
