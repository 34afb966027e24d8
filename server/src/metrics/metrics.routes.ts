/**
 * `GET /metrics` on the API port: Prometheus text format of this process's registry (its own
 * counters plus the installation's, read from PostgreSQL: see cluster-metrics.ts). With a token
 * configured, a scrape without `Authorization: Bearer <token>` gets 401.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';

export const METRICS_PATH = '/metrics';

export function mountMetrics(app: Express, registry: Registry, token: string | null, logger: Logger): void {
  app.get(METRICS_PATH, async (req, res) => {
    if (token !== null && !bearerMatches(req.get('authorization'), token)) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json({ errors: [{ message: 'The metrics token is required.', extensions: { code: 'UNAUTHENTICATED' } }] });
      return;
    }
    try {
      const text = await registry.metrics();
      res.set('Content-Type', registry.contentType).set('Cache-Control', 'no-store').send(text);
    } catch (error) {
      logger.error({ err: error }, 'metrics could not be collected');
      res.status(500).json({
        errors: [{ message: 'Metrics could not be collected.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      });
    }
  });
}

/** Compares in constant time, so the token cannot be guessed byte by byte. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
