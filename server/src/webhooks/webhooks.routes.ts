/**
 * POST /hooks/gitlab/:organizationId — GitLab's webhook deliveries for one organization. Answers
 * at once (GitLab waits 10 s, then retries, and disables hooks that keep failing): 200 when
 * stored (or already stored), 400 for an event Labkeeper does not take, 401 for a bad token.
 * Nothing from the payload is echoed back.
 */
import express, { type Express } from 'express';
import type { Logger } from '../shared/logger.js';
import type { WebhookReceiver } from './webhook-receiver.service.js';

export const WEBHOOK_PATH = '/hooks/gitlab/:organizationId';
/** GitLab caps webhook payloads well below this (merge requests with long descriptions are the largest). */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export function mountWebhookRoutes(app: Express, receiver: WebhookReceiver, logger: Logger): void {
  app.post(WEBHOOK_PATH, express.raw({ type: () => true, limit: MAX_BODY_BYTES }), async (req, res) => {
    try {
      const outcome = await receiver.receive({
        organizationId: String(req.params.organizationId),
        token: header(req.headers['x-gitlab-token']),
        event: header(req.headers['x-gitlab-event']),
        idempotencyKey: header(req.headers['idempotency-key']),
        eventUuid: header(req.headers['x-gitlab-event-uuid']),
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      });
      res.status(outcome.status).json({ message: outcome.message });
    } catch (error) {
      logger.error({ err: error, organizationId: req.params.organizationId }, 'webhook delivery could not be stored');
      res.status(500).json({ message: 'the delivery could not be stored; GitLab retries it' });
    }
  });
}
