/**
 * The webhook receiver's domain side. A delivery is verified (X-Gitlab-Token against the
 * organization's secret, in constant time), read, stored and acknowledged within one short
 * transaction — GitLab gives a hook 10 s and disables hooks that keep failing, so nothing slow
 * (no GitLab call, no backup) happens here. The delivery row is unique per organization and
 * delivery key: a retried delivery, or one that reached two API processes, is stored once and
 * touches the pending backup once. The touched repository's pending EVENT backup is created or
 * pushed back (debounce), and an `events.backup` job is scheduled for its due time when it has
 * none yet; EventBackupScheduler turns due ones into BackupRuns.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { SecretBox } from '../credentials/secret-box.js';
import { RepositoryEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { armEventBackup } from './event-backup-scheduler.js';
import { parseGitLabEvent, type GitLabEvent } from './gitlab-events.js';
import { EventHookEntity } from './webhook.entity.js';

export interface EventTiming {
  /** A repository is due once no event touched it for this long. */
  quietPeriodMs: number;
  /** ... and at the latest this long after the first event of a burst. */
  maxDelayMs: number;
}

export interface Delivery {
  organizationId: string;
  /** X-Gitlab-Token as received (undefined when absent). */
  token: string | undefined;
  /** X-Gitlab-Event. */
  event: string | undefined;
  /** Idempotency-Key, else X-Gitlab-Event-UUID (see deliveryKey). */
  idempotencyKey: string | undefined;
  eventUuid: string | undefined;
  body: Buffer;
}

/** What the route answers: 200 stored (or a duplicate), 400 not an event we take, 401 bad token. */
export type DeliveryOutcome =
  | { status: 200; result: 'QUEUED' | 'DUPLICATE' | 'IGNORED'; message: string }
  | { status: 400; message: string }
  | { status: 401; message: string };

export const secretContext = (organizationId: string) => `webhook-secret:${organizationId}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNAUTHORIZED: DeliveryOutcome = { status: 401, message: 'invalid or missing X-Gitlab-Token' };

/** Constant-time comparison whatever the lengths: both sides are hashed to 32 bytes first. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The key a delivery is deduplicated by. GitLab (17.4+) sends Idempotency-Key, the same on every
 * retry of a delivery; older versions only X-Gitlab-Event-UUID (one per event); without either the
 * body's sha256 (a retry carries the same bytes).
 */
export function deliveryKey(delivery: Pick<Delivery, 'idempotencyKey' | 'eventUuid' | 'body'>): string {
  if (delivery.idempotencyKey) return `idempotency:${delivery.idempotencyKey.slice(0, 200)}`;
  if (delivery.eventUuid) return `event:${delivery.eventUuid.slice(0, 200)}`;
  return `sha256:${createHash('sha256').update(delivery.body).digest('hex')}`;
}

export interface WebhookReceiverDeps {
  dataSource: DataSource;
  box: SecretBox;
  /** For `events.backup` jobs at due times (see event-backup-scheduler.ts). */
  queue: JobQueue;
  clock: Clock;
  logger: Logger;
  timing: EventTiming;
}

export class WebhookReceiver {
  private readonly dataSource: DataSource;
  private readonly box: SecretBox;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timing: EventTiming;

  constructor(private readonly deps: WebhookReceiverDeps) {
    ({
      dataSource: this.dataSource,
      box: this.box,
      clock: this.clock,
      logger: this.logger,
      timing: this.timing,
    } = deps);
  }

  async receive(delivery: Delivery): Promise<DeliveryOutcome> {
    const { organizationId } = delivery;
    if (!UUID.test(organizationId) || !delivery.token) return UNAUTHORIZED;
    const hook = await this.dataSource.getRepository(EventHookEntity).findOneBy({ organizationId });
    if (!hook?.isEnabled || !hook.secretCiphertext) return UNAUTHORIZED;
    const secret = this.box.open(hook.secretCiphertext, secretContext(organizationId));
    if (!tokensMatch(delivery.token, secret)) {
      this.logger.warn({ organizationId }, 'webhook delivery refused: bad X-Gitlab-Token');
      return UNAUTHORIZED;
    }
    let body: unknown;
    try {
      body = JSON.parse(delivery.body.toString('utf8'));
    } catch {
      return { status: 400, message: 'the body is not JSON' };
    }
    const parsed = parseGitLabEvent(delivery.event, body);
    if (!parsed.ok) return { status: 400, message: parsed.reason };
    return this.store(organizationId, deliveryKey(delivery), parsed.value);
  }

  private async store(organizationId: string, key: string, event: GitLabEvent): Promise<DeliveryOutcome> {
    const now = this.clock.now();
    const repository = await this.dataSource
      .getRepository(RepositoryEntity)
      .findOneBy({ organizationId, gitlabProjectId: event.gitlabProjectId });
    let armAt: Date | null = null;
    const outcome = await this.dataSource.transaction(async (tx) => {
      const inserted: unknown[] = await tx.query(
        `INSERT INTO webhook_deliveries (id, organization_id, delivery_key, event, kind, gitlab_project_id, repository_id, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (organization_id, delivery_key) DO NOTHING RETURNING id`,
        [newId(), organizationId, key, event.event, event.kind, event.gitlabProjectId, repository?.id ?? null, now],
      );
      if (inserted.length === 0) return 'DUPLICATE' as const;
      if (!repository?.isProtected) return 'IGNORED' as const;
      armAt = await this.touch(tx, repository, event, now);
      return 'QUEUED' as const;
    });
    // After the commit, so the job never runs before the row it is for exists. Should this fail,
    // the delivery is still stored and acknowledged: the 5-minute safety net schedules it.
    if (armAt)
      await armEventBackup(this.deps, organizationId, armAt).catch((error: unknown) =>
        this.logger.warn({ err: error, organizationId }, 'event backup not scheduled; the safety net will'),
      );
    this.logger.info(
      { organizationId, event: event.kind, gitlabProjectId: event.gitlabProjectId, result: outcome },
      'webhook delivery received',
    );
    const message =
      outcome === 'QUEUED'
        ? 'queued'
        : outcome === 'DUPLICATE'
          ? 'already received'
          : 'not a protected repository of this organization';
    return { status: 200, result: outcome, message };
  }

  /**
   * Creates or extends the repository's pending backup. A normal event moves the due time to
   * quiet period after it, capped at max delay after the burst's first event; an urgent one
   * (project destroy/transfer/rename) makes it due now, and a due-now row stays due now.
   * Returns the due time when a job must be scheduled for it: the row is new or due earlier than
   * before (a later due time is found by the job already waiting, which re-arms).
   */
  private async touch(
    tx: { query(sql: string, params: unknown[]): Promise<unknown> },
    repository: RepositoryEntity,
    event: GitLabEvent,
    now: Date,
  ): Promise<Date | null> {
    const { quietPeriodMs, maxDelayMs } = this.timing;
    const due = event.isUrgent ? now : new Date(now.getTime() + Math.min(quietPeriodMs, maxDelayMs));
    const before = (await tx.query(`SELECT due_at FROM event_backup_pending WHERE repository_id = $1 FOR UPDATE`, [
      repository.id,
    ])) as { due_at: Date }[];
    const [after] = (await tx.query(
      `INSERT INTO event_backup_pending AS p (repository_id, organization_id, first_event_at, last_event_at, due_at, events, kinds)
       VALUES ($1, $2, $3, $3, $4, 1, $5::jsonb)
       ON CONFLICT (repository_id) DO UPDATE SET
         last_event_at = GREATEST(p.last_event_at, EXCLUDED.last_event_at),
         events = p.events + 1,
         kinds = (SELECT jsonb_agg(DISTINCT k ORDER BY k) FROM jsonb_array_elements_text(p.kinds || EXCLUDED.kinds) AS k),
         due_at = CASE
           WHEN $6 OR p.due_at <= p.first_event_at THEN LEAST(p.due_at, EXCLUDED.due_at)
           ELSE LEAST(GREATEST(p.due_at, EXCLUDED.due_at), p.first_event_at + make_interval(secs => $7::double precision / 1000))
         END
       RETURNING due_at`,
      [repository.id, repository.organizationId, now, due, JSON.stringify([event.kind]), event.isUrgent, maxDelayMs],
    )) as { due_at: Date }[];
    const previous = before[0]?.due_at;
    return !previous || after.due_at < previous ? after.due_at : null;
  }
}
