/**
 * The built web client at `/`: its files from the client directory (hashed assets cached for a
 * year, index.html never), and index.html for any other page a browser asks for, so deep links
 * and reloads of client-side routes work — but only for HTML navigations: a request whose Accept
 * header names text/html explicitly (a browser's address bar or link), for a path without a file
 * extension. Anything else that matches no route (`curl /does-not-exist`, a Prometheus scrape of
 * `/metrics` when metrics are off, `/api/x`, `/graphq`, a missing `/favicon.ico`) falls through to
 * the server's JSON 404. API paths are never answered here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express } from 'express';
import type { Logger } from '../shared/logger.js';

const API_PREFIXES = ['/graphql', '/oauth/', '/restore/', '/healthz', '/readyz', '/metrics', '/api/', '/audit/'];

/** A browser's navigation: text/html named in Accept (a bare wildcard is a script, not a page). */
export function isHtmlNavigation(accept: string | undefined, path: string): boolean {
  if (!accept || !/(^|[,\s])text\/html([;,\s]|$)/i.test(accept)) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.');
}

export function mountClient(app: Express, clientDir: string, logger: Logger): void {
  const index = join(clientDir, 'index.html');
  if (!existsSync(index)) {
    logger.warn({ clientDir }, 'the web client is not built (npm run client:build); the API works without it');
  }
  app.use(
    express.static(clientDir, {
      index: false,
      setHeaders: (res, path) => {
        if (path.includes(`${join(clientDir, 'assets')}`))
          res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      },
    }),
  );
  app.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (API_PREFIXES.some((p) => req.path === p.replace(/\/$/, '') || req.path.startsWith(p))) return next();
    if (!isHtmlNavigation(req.get('accept'), req.path)) return next();
    if (!existsSync(index)) {
      res
        .status(503)
        .type('text/plain')
        .send(
          'The Labkeeper web client is not built. Run `npm run client:build` (npm start does it), or use the GraphQL API at /graphql.',
        );
      return;
    }
    res.set('Cache-Control', 'no-cache').sendFile(index);
  });
}
