/**
 * `GET /audit/events.jsonl`: the audit log as JSON Lines, oldest first, for archiving or a SIEM.
 * ADMIN tokens only (`Authorization: Bearer …`); the same filters as `auditEvents` as query
 * parameters (`operation`, `tokenId`, `result`, `since`, `until`).
 */
import type { Express } from 'express';
import type { Logger } from '../shared/logger.js';
import type { AuditFilter, AuditService } from './audit.service.js';

export const AUDIT_EXPORT_PATH = '/audit/events.jsonl';

const errorBody = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

export function mountAuditRoutes(
  app: Express,
  audit: AuditService,
  isAdmin: (authorization: string | undefined) => Promise<boolean | null>,
  logger: Logger,
): void {
  app.get(AUDIT_EXPORT_PATH, async (req, res) => {
    const admin = await isAdmin(req.get('authorization'));
    if (admin === null) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json(errorBody('A valid API token is required.', 'UNAUTHENTICATED'));
      return;
    }
    if (!admin) {
      res.status(403).json(errorBody('Only ADMIN tokens may read the audit log.', 'FORBIDDEN'));
      return;
    }
    const filter = parseFilter(req.query);
    if (typeof filter === 'string') {
      res.status(400).json(errorBody(filter, 'BAD_USER_INPUT'));
      return;
    }
    res.status(200).type('application/x-ndjson').set('Cache-Control', 'no-store');
    try {
      for await (const line of audit.exportJsonLines(filter)) {
        if (!res.write(line)) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    } catch (error) {
      logger.error({ err: error }, 'audit export failed');
      res.destroy();
    }
  });
}

function parseFilter(query: Record<string, unknown>): AuditFilter | string {
  const text = (name: string) => (typeof query[name] === 'string' && query[name] !== '' ? query[name] : null);
  const date = (name: string) => {
    const value = text(name);
    if (value === null) return null;
    const at = new Date(value);
    return Number.isNaN(at.getTime()) ? undefined : at;
  };
  const since = date('since');
  const until = date('until');
  if (since === undefined) return 'since: must be an ISO date';
  if (until === undefined) return 'until: must be an ISO date';
  const result = text('result');
  if (result !== null && result !== 'OK' && result !== 'ERROR') return 'result: must be OK or ERROR';
  const tokenId = text('tokenId');
  if (tokenId !== null && !/^[0-9a-f-]{36}$/i.test(tokenId)) return 'tokenId: must be an API token id';
  return { operation: text('operation'), tokenId, result, since, until };
}
