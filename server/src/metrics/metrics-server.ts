/**
 * A worker-only process has no API port: with `LABKEEPER_METRICS_PORT` it serves its own
 * process-level metrics (GitLab requests and retries, backup step durations, Node's process
 * metrics) on a small HTTP server of its own. The installation's metrics come from the API.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';
import { bearerMatches, METRICS_PATH } from './metrics.routes.js';

export async function startMetricsServer(options: {
  registry: Registry;
  port: number;
  token: string | null;
  logger: Logger;
}): Promise<{ port: number; close(): Promise<void> }> {
  const { registry, token, logger } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== METRICS_PATH) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"message":"Not found","extensions":{"code":"NOT_FOUND"}}]}');
      return;
    }
    if (token !== null && !bearerMatches(req.headers.authorization, token)) {
      res
        .writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'application/json' })
        .end('{"errors":[{"message":"The metrics token is required.","extensions":{"code":"UNAUTHENTICATED"}}]}');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics could not be collected');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ port }, `worker metrics served (http://localhost:${port}${METRICS_PATH})`);
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
