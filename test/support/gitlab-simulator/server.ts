/**
 * The simulator's HTTP surface: an Express app with the REST API under /api/v4, OAuth under
 * /oauth, the sign-in page, and git smart HTTP under /<full_path>.git/.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { ANONYMOUS, authenticateApi, type AuthKind, type Caller } from './auth.js';
import type { SimContext } from './context.js';
import type { Faults } from './faults.js';
import { handleGitRequest, isGitPath } from './git-http.js';
import { handleLfsRequest, isLfsPath } from './lfs-http.js';
import type { LfsStore } from './lfs-store.js';
import { registerOAuthRoutes } from './oauth.js';
import { ApiError } from './pagination.js';
import { registerGroupRoutes } from './rest/groups.js';
import { registerGroupMetadataRoutes } from './rest/group-metadata.js';
import { registerGroupHookRoutes } from './rest/group-hooks.js';
import type { HookDispatcher } from './hooks.js';
import { registerIssueRoutes } from './rest/issues.js';
import { registerMergeRequestRoutes } from './rest/merge-requests.js';
import { registerProjectMetadataRoutes } from './rest/project-metadata.js';
import { registerProjectRoutes } from './rest/projects.js';
import { registerUserRoutes } from './rest/users.js';

export interface RecordedRequest {
  method: string;
  /** Path as sent, still URL-encoded (e.g. /api/v4/groups/a%2Fb). */
  path: string;
  query: Record<string, string>;
  status: number;
  auth: AuthKind | 'lfs_token';
  /** When the request arrived (ms since the epoch, real time). */
  at: number;
  /** The answer's Retry-After (seconds), when it had one. */
  retryAfter?: number;
  /** The client's User-Agent (git sends `git/<version>`). */
  userAgent?: string;
}

export interface ServerDeps {
  ctx: SimContext;
  faults: Faults;
  requests: RecordedRequest[];
  /** Called after each request is recorded (its response has finished). */
  onRecorded?: () => void;
  /** Git LFS objects, links and tokens (lfs-store.ts). */
  lfs: LfsStore;
  /** Child processes (git http-backend) to kill on close. */
  children: Set<import('node:child_process').ChildProcess>;
  /** Group and system hooks (hooks.ts). */
  hooks: HookDispatcher;
}

export function createApp(deps: ServerDeps): express.Express {
  const { ctx, faults, requests } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    res.locals.authKind = 'none';
    const at = Date.now();
    res.on('finish', () => {
      const [path, search = ''] = req.originalUrl.split('?');
      requests.push({
        method: req.method,
        path,
        query: Object.fromEntries(new URLSearchParams(search)),
        status: res.statusCode,
        auth: res.locals.authKind as RecordedRequest['auth'],
        at,
        ...(req.get('user-agent') ? { userAgent: req.get('user-agent') } : {}),
        ...(res.getHeader('retry-after') !== undefined ? { retryAfter: Number(res.getHeader('retry-after')) } : {}),
      });
      deps.onRecorded?.();
    });
    if (faults.injectFailure(req.originalUrl.split('?')[0], res)) return;
    if (faults.throttleGit(req.originalUrl.split('?')[0], res)) return;
    faults.injectReset(req.originalUrl.split('?')[0], res);
    faults.injectCorruption(req.originalUrl.split('?')[0], res);
    faults.injectHold(req.method, req.originalUrl.split('?')[0], res);
    next();
  });

  // Git must see the raw (possibly gzip-encoded) request body, so it comes before any body parser.
  app.use((req, res, next) => {
    if (!isGitPath(req.path)) return next();
    handleGitRequest(deps, req, res).catch(next);
  });
  // Git LFS (lfs-http.ts): uploads stream their raw body, so also before the body parsers.
  app.use((req, res, next) => {
    if (!isLfsPath(req.path)) return next();
    handleLfsRequest(deps, req, res, next).catch(next);
  });

  app.use(express.json({ limit: '10mb' }));
  app.use(express.urlencoded({ extended: true, limit: '10mb' }));

  const api = express.Router();
  api.use((req: Request, res: Response, next: NextFunction) => {
    let caller: Caller = ANONYMOUS;
    let authError: unknown;
    try {
      caller = authenticateApi(ctx.state, req);
    } catch (error) {
      authError = error;
    }
    res.locals.caller = caller;
    res.locals.authKind = caller.kind;
    const discriminator = caller.user ? `user:${caller.user.id}` : `ip:${req.socket.remoteAddress}`;
    if (faults.throttle(req.originalUrl.split('?')[0], discriminator, !!caller.user, res)) return;
    next(authError);
  });
  registerUserRoutes(ctx, api);
  registerGroupRoutes(ctx, api);
  registerProjectRoutes(ctx, api);
  registerIssueRoutes(ctx, api);
  registerMergeRequestRoutes(ctx, api);
  registerProjectMetadataRoutes(ctx, api);
  registerGroupMetadataRoutes(ctx, api);
  registerGroupHookRoutes(ctx, deps.hooks, api);
  // doc/api/rest/index.md "Unknown route": {"error":"404 Not Found"}
  api.use((_req: Request, res: Response) => {
    res.status(404).json({ error: '404 Not Found' });
  });
  app.use('/api/v4', api);

  registerOAuthRoutes(ctx, app);

  app.use((_req: Request, res: Response) => {
    res
      .status(404)
      .type('text/html')
      .send('<!DOCTYPE html><html><body><h1>404</h1><p>Page Not Found</p></body></html>\n');
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
      if (typeof error.body === 'string') res.status(error.status).type('text/plain').send(error.body);
      else res.status(error.status).json(error.body);
      return;
    }
    const status =
      (error as { status?: number; statusCode?: number }).status ?? (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      // Malformed JSON and the like: Grape answers 400 with a message.
      res.status(status).json({ error: (error as Error).message });
      return;
    }
    console.error('gitlab-simulator: unexpected error', error);
    res.status(500).json({ message: '500 Internal Server Error' });
  });

  return app;
}
