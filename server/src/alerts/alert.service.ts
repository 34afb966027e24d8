/**
 * Alerts: occurrences become one `alerts` row each (unique key) and one `alert_deliveries` row per
 * channel that wants them (unique per alert and channel), both inserted with ON CONFLICT DO
 * NOTHING. Only the process whose insert created a delivery enqueues its `alerts.deliver` job, and
 * the job claims the row with a conditional UPDATE before sending. So two API processes, two
 * workers or two schedulers evaluating the same facts never send one alert twice; a job that is
 * lost (a crash between the insert and the enqueue) is enqueued again by the minute's
 * `alerts.evaluate`. Deliveries are at-least-once: a sender that dies after sending and before
 * recording it sends again after its lease, with the same idempotency key.
 */
import type { ProxySettings } from '../shared/http-proxy.js';
import type { DataSource, EntityManager } from 'typeorm';
import type { CredentialService } from '../credentials/credential.service.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { alertMessage } from './alert-message.js';
import {
  anomalyOccurrence,
  drillOccurrence,
  runOccurrence,
  staleOccurrences,
  tokenOccurrences,
  type Occurrence,
} from './alert-rules.js';
import { digestOccurrence, DIGEST_AT } from './alert-digest.js';
import { storageErrorOccurrences, syncFailureOccurrences } from './alert-scans.js';
import { send, SendError } from './alert-senders.js';
import { lastPeriod, summaryOccurrence } from './alert-summary.js';
import { rulesOf } from './notification-channel.validation.js';
import {
  AlertDeliveryEntity,
  AlertEntity,
  NotificationChannelEntity,
  type AlertKind,
  type AlertRules,
} from './alert.entity.js';

export interface AlertOptions {
  publicUrl: string;
  retryBaseMs: number;
  maxAttempts: number;
  requestTimeoutMs: number;
  /** The outbound proxy for HTTP channels (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). */
  proxy?: ProxySettings | null;
}

/** How far back the minute's catch-up looks for finished runs, failed drills and anomalies. */
const CATCH_UP_MS = 24 * 3_600_000;

const WANTS: Partial<Record<AlertKind, keyof AlertRules>> = {
  RUN_FAILED: 'runFailed',
  RUN_PARTIAL: 'runPartial',
  RUN_SUCCEEDED: 'runSucceeded',
  DRILL_FAILED: 'drillFailed',
  ANOMALY: 'anomalies',
};

/** Whether `channel` is told of an event occurrence of `kind` (heartbeats: every finished run). */
function wants(channel: NotificationChannelEntity, kind: AlertKind): boolean {
  if (channel.kind === 'HEARTBEAT') return kind === 'RUN_SUCCEEDED' || kind === 'RUN_FAILED' || kind === 'RUN_PARTIAL';
  const rule = WANTS[kind];
  return rule !== undefined && rulesOf(channel.rules)[rule] === true;
}

export interface DeliveryView {
  id: string;
  channelId: string;
  alert: AlertEntity;
  status: AlertDeliveryEntity['status'];
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date | null;
  sentAt: Date | null;
  createdAt: Date;
}

export class AlertService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly credentials: CredentialService,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: AlertOptions,
  ) {}

  /** A finished backup run: FAILED/PARTIAL/SUCCEEDED to the channels whose rules want it, and heartbeats. */
  async recordRun(runId: string): Promise<number> {
    return this.raise(await runOccurrence(this.dataSource, this.options.publicUrl, runId));
  }

  /** A finished drill: FAILED ones to the channels that want failed drills. */
  async recordDrill(drillRunId: string): Promise<number> {
    return this.raise(await drillOccurrence(this.dataSource, this.options.publicUrl, drillRunId));
  }

  /** An anomaly recorded on a new snapshot (the anomaly rules' seam). */
  async recordAnomaly(anomalyId: string): Promise<number> {
    return this.raise(await anomalyOccurrence(this.dataSource, this.options.publicUrl, anomalyId));
  }

  /**
   * The rules found by scanning (token expiry within each channel's window, repositories stale past
   * each channel's hours, failed syncs, storage errors), grouped per channel: five or more new ones
   * in one pass go out as one DIGEST message. Then a catch-up of the event rules over the last day
   * and of deliveries whose job was lost. Safe to run in any number of processes at once.
   */
  async evaluate(): Promise<{ deliveries: number; requeued: number }> {
    const now = this.clock.now();
    let deliveries = 0;
    for (const channel of await this.enabledChannels()) {
      if (channel.kind === 'HEARTBEAT') continue;
      deliveries += await this.raiseGrouped(await this.scan(channel, now), channel);
    }
    const since = new Date(now.getTime() - CATCH_UP_MS);
    const runs = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM backup_runs r WHERE finished_at >= $1 AND status IN ('SUCCEEDED', 'PARTIAL', 'FAILED', 'TIMED_OUT')
          AND NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'run:' || r.id)`,
      [since],
    );
    for (const { id } of runs) deliveries += await this.recordRun(id);
    const drills = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM drill_runs d WHERE finished_at >= $1 AND status = 'FAILED'
          AND NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'drill:' || d.id)`,
      [since],
    );
    for (const { id } of drills) deliveries += await this.recordDrill(id);
    const anomalies = await this.dataSource.query<{ id: string }[]>(
      `SELECT id FROM snapshot_anomalies x WHERE created_at >= $1
          AND NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'anomaly:' || x.id)`,
      [since],
    );
    for (const { id } of anomalies) deliveries += await this.recordAnomaly(id);
    return { deliveries, requeued: await this.requeueLost() };
  }

  /**
   * The `alerts.summarize` job: each channel with a DAILY or WEEKLY summary gets the report of the
   * last complete period (ending at its summary hour, in its time zone) once (its key names channel and period), if the period ended after the
   * channel was created.
   */
  async summarize(): Promise<number> {
    const now = this.clock.now();
    let sent = 0;
    for (const channel of await this.enabledChannels()) {
      const rules = rulesOf(channel.rules);
      const cadence = rules.summary;
      if (channel.kind === 'HEARTBEAT' || !cadence) continue;
      const clock = { hour: rules.summaryHour, timeZone: rules.summaryTimeZone };
      const period = lastPeriod(cadence, now, clock);
      if (period.end <= channel.createdAt) continue;
      const key = `summary:${channel.id}:${cadence}:${period.start.toISOString()}`;
      const [done] = await this.dataSource.query<unknown[]>(`SELECT 1 FROM alerts WHERE key = $1`, [key]);
      if (done) continue;
      sent += await this.raiseFor(
        await summaryOccurrence(this.dataSource, this.options.publicUrl, channel, cadence, period, clock),
        [channel],
      );
    }
    return sent;
  }

  /** The occurrences of one channel's scanned rules; events only since the channel was created. */
  private async scan(channel: NotificationChannelEntity, now: Date): Promise<Occurrence[]> {
    const rules = rulesOf(channel.rules);
    const { publicUrl } = this.options;
    const org = channel.organizationId;
    const found: Occurrence[] = [];
    if (rules.tokenExpiringWithinDays !== null) {
      const limit = new Date(now.getTime() + rules.tokenExpiringWithinDays * 86_400_000);
      found.push(...(await tokenOccurrences(this.dataSource, publicUrl, now, limit, org)));
    }
    if (rules.staleAfterHours !== null) {
      const cutoff = new Date(now.getTime() - rules.staleAfterHours * 3_600_000);
      found.push(...(await staleOccurrences(this.dataSource, publicUrl, now, cutoff, org)));
    }
    const since = new Date(Math.max(now.getTime() - CATCH_UP_MS, channel.createdAt.getTime()));
    if (rules.syncFailed) found.push(...(await syncFailureOccurrences(this.dataSource, publicUrl, since, org)));
    if (rules.storageErrors) found.push(...(await storageErrorOccurrences(this.dataSource, publicUrl, since, org)));
    return found;
  }

  /** Sends one delivery once it is claimed; a retryable failure is tried again later with backoff. */
  async deliver(deliveryId: string): Promise<void> {
    const leaseMs = 2 * this.options.requestTimeoutMs + 30_000;
    // UPDATE … RETURNING answers [rows, count] through TypeORM.
    const [claimed] = await this.dataSource.query<
      [{ id: string; alert_id: string; channel_id: string; attempts: number }[], number]
    >(
      `UPDATE alert_deliveries SET status = 'SENDING', attempts = attempts + 1, lease_until = now() + ($2::int * interval '1 millisecond')
        WHERE id = $1 AND (status = 'PENDING' OR (status = 'SENDING' AND lease_until < now()))
        RETURNING id, alert_id, channel_id, attempts`,
      [deliveryId, leaseMs],
    );
    const delivery = claimed[0];
    if (!delivery) return; // sent, given up, or being sent by another job
    const alert = await this.dataSource.getRepository(AlertEntity).findOneBy({ id: delivery.alert_id });
    const channel = await this.dataSource
      .getRepository(NotificationChannelEntity)
      .findOneBy({ id: delivery.channel_id });
    if (!alert || !channel) return; // the channel was deleted meanwhile (its deliveries with it)
    const log = this.logger.child({ deliveryId, channelId: channel.id, alertKind: alert.kind });
    if (!channel.isEnabled) {
      await this.dataSource.query(
        `UPDATE alert_deliveries SET status = 'FAILED', lease_until = NULL, last_error = $2 WHERE id = $1`,
        [deliveryId, 'the channel was disabled before the alert was sent'],
      );
      return;
    }
    try {
      const secret = channel.secretCredentialId ? await this.credentials.reveal(channel.secretCredentialId) : null;
      await send({ kind: channel.kind, settings: channel.settings, secret }, alertMessage(alert, deliveryId), {
        timeoutMs: this.options.requestTimeoutMs,
        proxy: this.options.proxy,
        deliveryId,
        now: this.clock.now(),
      });
    } catch (error) {
      const reason = error instanceof SendError ? error.message : 'the alert could not be sent';
      const retry = (!(error instanceof SendError) || error.retryable) && delivery.attempts < this.options.maxAttempts;
      const delayMs = this.options.retryBaseMs * 2 ** (delivery.attempts - 1);
      await this.dataSource.query(
        `UPDATE alert_deliveries SET status = $2, last_error = $3, lease_until = NULL,
                next_attempt_at = CASE WHEN $2 = 'PENDING' THEN now() + ($4::int * interval '1 millisecond') ELSE NULL END
          WHERE id = $1`,
        [deliveryId, retry ? 'PENDING' : 'FAILED', reason, delayMs],
      );
      if (retry) {
        log.warn({ attempt: delivery.attempts, reason, retryInMs: delayMs }, 'alert delivery failed; will retry');
        await this.queue.enqueue('alerts.deliver', { deliveryId }, { delayMs });
      } else {
        log.error({ attempt: delivery.attempts, reason }, 'alert delivery failed; giving up');
        if (!(error instanceof SendError)) log.debug({ err: error }, 'alert delivery error');
      }
      return;
    }
    await this.dataSource.query(
      `UPDATE alert_deliveries SET status = 'SENT', sent_at = now(), lease_until = NULL, last_error = NULL, next_attempt_at = NULL WHERE id = $1`,
      [deliveryId],
    );
    log.info({ attempt: delivery.attempts }, 'alert delivered');
  }

  /** The delivery log, newest first: of one channel, or of all. */
  async deliveries(channelId: string | null, first: number): Promise<DeliveryView[]> {
    const rows = await this.dataSource.getRepository(AlertDeliveryEntity).find({
      where: channelId ? { channelId } : {},
      order: { createdAt: 'DESC', id: 'ASC' },
      take: Math.min(Math.max(first, 1), 200),
    });
    const alerts = new Map(
      (rows.length
        ? await this.dataSource.getRepository(AlertEntity).findBy(rows.map((r) => ({ id: r.alertId })))
        : []
      ).map((a) => [a.id, a]),
    );
    return rows.flatMap((r) => {
      const alert = alerts.get(r.alertId);
      return alert ? [{ ...r, alert }] : [];
    });
  }

  private async enabledChannels(): Promise<NotificationChannelEntity[]> {
    return this.dataSource.getRepository(NotificationChannelEntity).find({ where: { isEnabled: true } });
  }

  /** The channels an event occurrence goes to: enabled, in scope, created before it, wanting its kind. */
  private async raise(occurrence: Occurrence | null): Promise<number> {
    if (!occurrence) return 0;
    const channels = (await this.enabledChannels()).filter(
      (c) =>
        (c.organizationId === null || c.organizationId === occurrence.organizationId) &&
        c.createdAt <= occurrence.occurredAt &&
        wants(c, occurrence.kind),
    );
    return this.raiseFor(occurrence, channels);
  }

  /**
   * Records the occurrence once and a delivery per channel once, in one transaction (so an alert
   * row never exists without the deliveries it was raised for); enqueues only what this call
   * created, after the commit.
   */
  private async raiseFor(o: Occurrence, channels: NotificationChannelEntity[]): Promise<number> {
    if (channels.length === 0) return 0;
    const created = await this.dataSource.transaction(async (tx) => {
      const alertId = await this.insertAlert(tx, o);
      const ids: string[] = [];
      for (const channel of channels) {
        const id = await insertDelivery(tx, alertId, channel.id);
        if (id) ids.push(id);
      }
      return ids;
    });
    await this.enqueue(created, o);
    return created.length;
  }

  /**
   * Records many occurrences for one channel. Of the deliveries this call created, fewer than
   * DIGEST_AT are sent one by one; more are marked DIGESTED and sent as one DIGEST alert listing
   * them. Two processes racing over the same occurrences create disjoint sets of deliveries (the
   * unique index serializes them), so none is sent twice.
   */
  private async raiseGrouped(found: Occurrence[], channel: NotificationChannelEntity): Promise<number> {
    if (found.length === 0) return 0;
    const { created, digest } = await this.dataSource.transaction(async (tx) => {
      const created: { deliveryId: string; alertId: string; occurrence: Occurrence }[] = [];
      for (const occurrence of found) {
        const alertId = await this.insertAlert(tx, occurrence);
        const deliveryId = await insertDelivery(tx, alertId, channel.id);
        if (deliveryId) created.push({ deliveryId, alertId, occurrence });
      }
      if (created.length < DIGEST_AT) return { created, digest: null };
      await tx.query(
        `UPDATE alert_deliveries SET status = 'DIGESTED', next_attempt_at = NULL WHERE id = ANY($1::uuid[])`,
        [created.map((c) => c.deliveryId)],
      );
      const digest = digestOccurrence(channel, created, this.clock.now(), this.options.publicUrl);
      const deliveryId = await insertDelivery(tx, await this.insertAlert(tx, digest), channel.id);
      return { created, digest: { occurrence: digest, deliveryId: deliveryId! } };
    });
    if (!digest) {
      for (const c of created) await this.enqueue([c.deliveryId], c.occurrence);
      return created.length;
    }
    await this.enqueue([digest.deliveryId], digest.occurrence);
    return 1;
  }

  private async insertAlert(tx: EntityManager, o: Occurrence): Promise<string> {
    await tx.query(
      `INSERT INTO alerts (id, key, kind, organization_id, title, message, link, details, occurred_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10) ON CONFLICT (key) DO NOTHING`,
      [
        newId(),
        o.key,
        o.kind,
        o.organizationId,
        o.title,
        o.message,
        o.link,
        JSON.stringify(o.details),
        o.occurredAt,
        this.clock.now(),
      ],
    );
    const [{ id }] = await tx.query<{ id: string }[]>(`SELECT id FROM alerts WHERE key = $1`, [o.key]);
    return id;
  }

  private async enqueue(deliveryIds: string[], o: Occurrence): Promise<void> {
    for (const deliveryId of deliveryIds) {
      this.logger.info({ deliveryId, alertKey: o.key, alertKind: o.kind }, 'alert raised');
      await this.queue.enqueue('alerts.deliver', { deliveryId });
    }
  }

  /** Deliveries due for more than two minutes with no job taking them (their enqueue was lost). */
  private async requeueLost(): Promise<number> {
    const [rows] = await this.dataSource.query<[{ id: string }[], number]>(
      `UPDATE alert_deliveries SET next_attempt_at = now()
        WHERE (status = 'PENDING' AND next_attempt_at < now() - interval '2 minutes')
           OR (status = 'SENDING' AND lease_until < now())
        RETURNING id`,
    );
    for (const { id } of rows) await this.queue.enqueue('alerts.deliver', { deliveryId: id });
    return rows.length;
  }
}

/** A delivery of one alert to one channel, unless it exists: its id, or null. */
async function insertDelivery(tx: EntityManager, alertId: string, channelId: string): Promise<string | null> {
  const rows = await tx.query<{ id: string }[]>(
    `INSERT INTO alert_deliveries (id, alert_id, channel_id, status, attempts, next_attempt_at, created_at)
     VALUES ($1, $2, $3, 'PENDING', 0, now(), now()) ON CONFLICT (alert_id, channel_id) DO NOTHING RETURNING id`,
    [newId(), alertId, channelId],
  );
  return rows[0]?.id ?? null;
}
