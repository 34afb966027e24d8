/**
 * Notification channels: where alerts go. Settings are checked before anything is saved (each bad
 * field named); a channel's one secret — a webhook's signing secret, a Slack/Mattermost incoming
 * webhook URL, a heartbeat URL, an SMTP password — is a PASSWORD credential of the Password
 * Manager, never a column of the channel, never returned. `test` sends a test alert at once,
 * says how it went, in words, and records it in the channel's delivery log (one attempt, SENT or FAILED).
 */
import type { ProxySettings } from '../shared/http-proxy.js';
import type { DataSource, Repository } from 'typeorm';
import type { CredentialService } from '../credentials/credential.service.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, refuseEmpty, validationError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { alertMessage } from './alert-message.js';
import { send, SendError } from './alert-senders.js';
import { AlertDeliveryEntity, AlertEntity, NotificationChannelEntity } from './alert.entity.js';
import { checkChannel, secretField, type ChannelInput } from './notification-channel.validation.js';

export type { ChannelInput } from './notification-channel.validation.js';

export interface ChannelTestResult {
  channelId: string;
  isDelivered: boolean;
  /** What happened, in words (never a URL or a secret). */
  message: string;
  durationMs: number;
}

export class NotificationChannelService {
  private readonly repo: Repository<NotificationChannelEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly credentials: CredentialService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly requestTimeoutMs: number,
    /** The outbound proxy for HTTP channels' test messages. */
    private readonly proxy: ProxySettings | null = null,
  ) {
    this.repo = dataSource.getRepository(NotificationChannelEntity);
  }

  list(): Promise<NotificationChannelEntity[]> {
    return this.repo.find({ order: { name: 'ASC' } });
  }

  async get(id: string): Promise<NotificationChannelEntity> {
    const found = await this.repo.findOneBy({ id });
    if (!found)
      throw new DomainError('NOTIFICATION_CHANNEL_NOT_FOUND', `notification channel ${id} does not exist`, {
        details: { id },
      });
    return found;
  }

  async create(input: ChannelInput): Promise<NotificationChannelEntity> {
    const checked = checkChannel(input, null);
    await this.checkReferences(input);
    await this.refuseTakenName(checked.name);
    const credentialId = await this.secretCredential(input, checked.name, null);
    const now = this.clock.now();
    const entity = this.repo.create({
      id: newId(),
      ...checked,
      secretCredentialId: credentialId,
      createdAt: now,
      updatedAt: now,
    });
    try {
      await this.repo.insert(entity);
    } catch (error) {
      if (credentialId && credentialId !== input.secretCredentialId)
        await this.credentials.delete(credentialId).catch(() => undefined);
      throw error;
    }
    this.logger.info({ channelId: entity.id, kind: entity.kind }, 'notification channel created');
    return this.get(entity.id);
  }

  /** Replaces the settings; a secret left out keeps the current one (when the kind stays the same). */
  async update(id: string, input: ChannelInput): Promise<NotificationChannelEntity> {
    const current = await this.get(id);
    const checked = checkChannel(input, current);
    await this.checkReferences(input);
    if (checked.name !== current.name) await this.refuseTakenName(checked.name);
    const credentialId = await this.secretCredential(input, checked.name, current);
    await this.repo.update({ id }, { ...checked, secretCredentialId: credentialId, updatedAt: this.clock.now() });
    this.logger.info({ channelId: id, kind: checked.kind }, 'notification channel updated');
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.repo.delete({ id }); // its deliveries go with it (ON DELETE CASCADE)
    this.logger.info({ channelId: id }, 'notification channel deleted');
  }

  /**
   * Sends a test alert now (not through a job) and reports how it went. The attempt is recorded as a
   * TEST alert with one delivery (SENT, or FAILED with the reason), so the delivery log shows it; it is
   * never retried.
   */
  async test(id: string): Promise<ChannelTestResult> {
    const channel = await this.get(id);
    const now = this.clock.now();
    const alert = Object.assign(new AlertEntity(), {
      id: newId(),
      key: `test:${newId()}`,
      kind: 'TEST',
      organizationId: channel.organizationId,
      title: `Test of notification channel ${channel.name}`,
      message: 'This is a test alert from Labkeeper: the channel works.',
      link: null,
      details: { channelId: channel.id },
      occurredAt: now,
      createdAt: now,
    } satisfies AlertEntity);
    const started = Date.now();
    const deliveryId = newId();
    try {
      const secret = channel.secretCredentialId ? await this.credentials.reveal(channel.secretCredentialId) : null;
      await send({ kind: channel.kind, settings: channel.settings, secret }, alertMessage(alert, deliveryId), {
        timeoutMs: this.requestTimeoutMs,
        proxy: this.proxy,
        deliveryId,
        now,
      });
      this.logger.info({ channelId: id }, 'notification channel test delivered');
      await this.recordTest(alert, deliveryId, channel.id, null);
      return { channelId: id, isDelivered: true, message: 'delivered', durationMs: Date.now() - started };
    } catch (error) {
      const message = error instanceof SendError ? error.message : 'the test alert could not be sent';
      this.logger.warn({ channelId: id, reason: message }, 'notification channel test failed');
      await this.recordTest(alert, deliveryId, channel.id, message);
      return { channelId: id, isDelivered: false, message, durationMs: Date.now() - started };
    }
  }

  /** The test alert and its one delivery, in the log like any other (deleted with the channel). */
  private async recordTest(alert: AlertEntity, deliveryId: string, channelId: string, error: string | null) {
    const now = this.clock.now();
    await this.dataSource.transaction(async (tx) => {
      await tx.getRepository(AlertEntity).save(alert);
      await tx.getRepository(AlertDeliveryEntity).insert({
        id: deliveryId,
        alertId: alert.id,
        channelId,
        status: error === null ? 'SENT' : 'FAILED',
        attempts: 1,
        nextAttemptAt: null,
        leaseUntil: null,
        lastError: error,
        sentAt: error === null ? now : null,
        createdAt: now,
      });
    });
  }

  private async checkReferences(input: ChannelInput): Promise<void> {
    refuseEmpty({ organizationId: input.organizationId, secretCredentialId: input.secretCredentialId });
    if (input.organizationId) {
      const [found] = await this.dataSource.query<unknown[]>(`SELECT 1 FROM organizations WHERE id::text = $1`, [
        input.organizationId,
      ]);
      if (!found)
        throw validationError({
          organizationId: `must be the id of an organization, or null for all; none has id "${input.organizationId}"`,
        });
    }
    if (input.secretCredentialId)
      await this.credentials.requireKind(input.secretCredentialId, 'PASSWORD', 'secretCredentialId');
  }

  /** The credential holding the channel's secret: a typed secret becomes a new PASSWORD credential. */
  private async secretCredential(
    input: ChannelInput,
    name: string,
    current: NotificationChannelEntity | null,
  ): Promise<string | null> {
    const field = secretField(input.kind);
    const typed = field ? (readSecret(input, field) ?? null) : null;
    if (typed !== null) {
      const created = await this.credentials.create({
        name: `Secret of notification channel ${name} (${newId().slice(0, 8)})`,
        kind: 'PASSWORD',
        secret: typed,
        username: input.kind === 'EMAIL' ? (input.email?.username ?? null) : null,
      });
      return created.id;
    }
    if (input.secretCredentialId) return input.secretCredentialId;
    if (current && current.kind === input.kind) return current.secretCredentialId;
    return null;
  }

  private async refuseTakenName(name: string): Promise<void> {
    if (await this.repo.existsBy({ name }))
      throw new DomainError(
        'NOTIFICATION_CHANNEL_NAME_TAKEN',
        `a notification channel named "${name}" already exists`,
        {
          details: { fields: { name: 'is taken by another notification channel' } },
        },
      );
  }
}

function readSecret(input: ChannelInput, field: string): string | null | undefined {
  if (field === 'email.password') return input.email?.password;
  return (input as unknown as Record<string, string | null | undefined>)[field];
}

/** Channels whose secret is the credential `id` (the Password Manager refuses to delete it). */
export async function channelsUsingCredential(dataSource: DataSource, id: string): Promise<string[]> {
  const rows = await dataSource.query<{ name: string }[]>(
    `SELECT name FROM notification_channels WHERE secret_credential_id = $1`,
    [id],
  );
  return rows.map((r) => `notification channel ${r.name}`);
}
