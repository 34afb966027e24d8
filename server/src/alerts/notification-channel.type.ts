import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { NotificationChannelEntity } from './alert.entity.js';
import type { DeliveryView } from './alert.service.js';
import type { ChannelTestResult } from './notification-channel.service.js';
import { EmailSecurity, NotificationChannelKind, SummaryCadence } from './notification-channel.inputs.js';
import { rulesOf } from './notification-channel.validation.js';

@ObjectType({ simpleResolvers: true })
export class AlertRules {
  @Field() runFailed!: boolean;
  @Field() runPartial!: boolean;
  @Field() runSucceeded!: boolean;
  @Field() drillFailed!: boolean;
  @Field() anomalies!: boolean;
  @Field(() => Int, { nullable: true }) tokenExpiringWithinDays!: number | null;
  @Field(() => Int, { nullable: true }) staleAfterHours!: number | null;
  @Field() syncFailed!: boolean;
  @Field() storageErrors!: boolean;
  @Field(() => SummaryCadence, { nullable: true }) summary!: SummaryCadence | null;
  @Field(() => Int, {
    description: 'The hour (0–23, in summaryTimeZone) at which a day or week ends and its summary is sent',
  })
  summaryHour!: number;
  @Field({ description: "The IANA time zone of summaryHour and of the summary's days" }) summaryTimeZone!: string;
}

@ObjectType({ simpleResolvers: true, description: 'An EMAIL channel without its password.' })
export class EmailSettings {
  @Field() host!: string;
  @Field(() => Int) port!: number;
  @Field(() => EmailSecurity) security!: EmailSecurity;
  @Field(() => String, { nullable: true }) username!: string | null;
  @Field() from!: string;
  @Field(() => [String]) to!: string[];
  @Field(() => String, { nullable: true, description: "PEM of the CA trusted for the SMTP server's certificate" })
  caCertificate!: string | null;
}

@ObjectType({
  simpleResolvers: true,
  description: 'Where alerts go. Its secret (signing secret, secret URL, SMTP password) is never returned.',
})
export class NotificationChannel {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => NotificationChannelKind) kind!: NotificationChannelKind;
  @Field(() => ID, { nullable: true, description: 'null: every organization' }) organizationId!: string | null;
  @Field() isEnabled!: boolean;
  @Field(() => AlertRules, { description: 'HEARTBEAT channels ignore them: they hear of every finished run' })
  rules!: AlertRules;
  @Field(() => String, { nullable: true, description: "WEBHOOK: the receiver's URL" }) url!: string | null;
  @Field(() => String, {
    nullable: true,
    description: "WEBHOOK, SLACK, HEARTBEAT: PEM of the CA trusted for the receiver's HTTPS certificate",
  })
  caCertificate!: string | null;
  @Field(() => EmailSettings, { nullable: true }) email!: EmailSettings | null;
  @Field(() => ID, { nullable: true, description: 'The PASSWORD credential holding the secret' })
  secretCredentialId!: string | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;

  static from(e: NotificationChannelEntity): NotificationChannel {
    return Object.assign(new NotificationChannel(), {
      id: e.id,
      name: e.name,
      kind: e.kind as NotificationChannelKind,
      organizationId: e.organizationId,
      isEnabled: e.isEnabled,
      rules: Object.assign(new AlertRules(), rulesOf(e.rules)),
      url: e.settings.url,
      caCertificate: e.settings.caCertificate ?? null,
      email: e.settings.email ? Object.assign(new EmailSettings(), { caCertificate: null, ...e.settings.email }) : null,
      secretCredentialId: e.secretCredentialId,
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
    });
  }
}

@ObjectType({ simpleResolvers: true, description: 'What testNotificationChannel found: a test alert sent at once.' })
export class NotificationChannelTest {
  @Field(() => ID) channelId!: string;
  @Field() isDelivered!: boolean;
  @Field({ description: 'What happened, in words' }) message!: string;
  @Field(() => Int) durationMs!: number;

  static from(r: ChannelTestResult): NotificationChannelTest {
    return Object.assign(new NotificationChannelTest(), r);
  }
}

@ObjectType({ simpleResolvers: true, description: 'One alert sent (or being sent) to one channel: the delivery log.' })
export class AlertDelivery {
  @Field(() => ID) id!: string;
  @Field(() => ID) channelId!: string;
  @Field(() => ID) alertId!: string;
  @Field({
    description:
      'RUN_FAILED, RUN_PARTIAL, RUN_SUCCEEDED, DRILL_FAILED, TOKEN_EXPIRING, REPOSITORY_STALE, ANOMALY, SYNC_FAILED, STORAGE_ERROR, DIGEST, SUMMARY, TEST (sent by testNotificationChannel)',
  })
  alertKind!: string;
  @Field() title!: string;
  @Field() message!: string;
  @Field(() => String, { nullable: true }) link!: string | null;
  @Field(() => ID, { nullable: true }) organizationId!: string | null;
  @Field({
    description: 'PENDING, SENDING, SENT, FAILED (gave up) or DIGESTED (sent within a DIGEST alert to the channel)',
  })
  status!: string;
  @Field(() => Int) attempts!: number;
  @Field(() => String, { nullable: true, description: 'Why the last attempt failed, in words' })
  lastError!: string | null;
  @Field(() => Date, { nullable: true }) nextAttemptAt!: Date | null;
  @Field(() => Date, { nullable: true }) sentAt!: Date | null;
  @Field() occurredAt!: Date;
  @Field() createdAt!: Date;

  static from(d: DeliveryView): AlertDelivery {
    return Object.assign(new AlertDelivery(), {
      id: d.id,
      channelId: d.channelId,
      alertId: d.alert.id,
      alertKind: d.alert.kind,
      title: d.alert.title,
      message: d.alert.message,
      link: d.alert.link,
      organizationId: d.alert.organizationId,
      status: d.status,
      attempts: d.attempts,
      lastError: d.lastError,
      nextAttemptAt: d.nextAttemptAt,
      sentAt: d.sentAt,
      occurredAt: d.alert.occurredAt,
      createdAt: d.createdAt,
    });
  }
}
