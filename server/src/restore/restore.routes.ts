/**
 * GET /restore/:runId/archive.tar?expires&token&signature — the DOWNLOAD archive, streamed from
 * storage; refused once the API token that made the link is revoked or expired.
 */
import type { Express } from 'express';
import { isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RestoreService } from './restore.service.js';
import { writeTar } from './tar.js';

/** A query parameter given once, as text; a missing, repeated or nested one reads as '' (and fails the signature). */
const queryText = (value: unknown): string => (typeof value === 'string' ? value : '');

export function mountRestoreRoutes(
  app: Express,
  restores: RestoreService,
  logger: Logger,
  isTokenActive: (tokenId: string) => Promise<boolean>,
): void {
  app.get('/restore/:runId/archive.tar', async (req, res) => {
    try {
      const link = {
        runId: req.params.runId,
        expires: queryText(req.query.expires),
        tokenId: queryText(req.query.token),
        signature: queryText(req.query.signature),
      };
      const { run, entries } = await restores.openDownload(link, isTokenActive);
      res.set('Content-Type', 'application/x-tar');
      res.set('Content-Disposition', `attachment; filename="labkeeper-restore-${run.id}.tar"`);
      res.set('Cache-Control', 'no-store');
      await writeTar(entries, res);
      res.end();
    } catch (error) {
      if (res.headersSent) {
        logger.error({ err: error }, 'restore archive interrupted');
        res.destroy();
        return;
      }
      const refused = isDomainError(error, 'FORBIDDEN') || isDomainError(error, 'NOT_FOUND');
      res
        .status(refused ? 403 : 500)
        .json({ error: refused ? (error as Error).message : 'the archive could not be produced' });
    }
  });
}
