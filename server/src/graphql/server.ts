/**
 * The API process's HTTP face: one http.Server carrying Apollo Server (HTTP, /graphql), graphql-ws
 * (WebSocket, same path: ws-server.ts), health endpoints, OAuth routes and the built web client.
 * Every GraphQL operation needs `Authorization: Bearer <api token>`: HTTP answers 401 otherwise,
 * and a WebSocket whose connection_init carries no valid token is closed with 4401. Failed
 * authentication is throttled per client address (429). Every answer of /graphql is a GraphQL JSON
 * response with `extensions.code` on each error — also for malformed, oversized or badly encoded
 * bodies — and every page carries helmet's security headers (CSP without inline script).
 */
import { createServer, type Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import helmet from 'helmet';
import { AuthThrottle } from '../access/auth-throttle.js';
import type { Clock } from '../shared/clock.js';
import { systemClock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { Services } from '../services.js';
import { bearerToken, type GraphQLContext } from './context.js';
import { maskError } from './error-masking.js';
import { hardeningRules, LIMITS } from './hardening.js';
import { createLoaders } from './loaders.js';
import { responseCachePlugins, type ResponseCacheOptions } from './response-cache.js';
import { createWsServer } from './ws-server.js';
import { auditOperation, auditSignIn } from './audit-recorder.js';

/** The largest HTTP body and WebSocket message /graphql accepts. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export interface HttpServerOptions {
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  isProduction: boolean;
  /** Extra routes (OAuth callback, client) mounted before /graphql. */
  routes?: (app: Express) => void;
  /** /readyz: resolves when the database and job store answer. */
  readiness: () => Promise<Record<string, boolean>>;
  clock?: Clock;
  /** Failed-authentication throttle (default AUTH_THROTTLE_DEFAULTS; null: none). */
  authThrottle?: { maxFailures: number; windowMs: number } | null;
  /** Queries answered again from memory while the database is unchanged (response-cache.ts); absent: none. */
  responseCache?: Omit<ResponseCacheOptions, 'clock'>;
}

export interface HttpServer {
  server: Server;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

const unauthenticated = () =>
  new GraphQLError('A valid API token is required: send "Authorization: Bearer <token>".', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: new Map([['www-authenticate', 'Bearer']]) } },
  });

/** The client's address as this server sees it (proxies' X-Forwarded-For is not trusted). */
const clientAddress = (req: { socket: { remoteAddress?: string } }) => req.socket.remoteAddress ?? 'unknown';

const jsonErrors = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

/** Body-parser failures (malformed JSON, bad gzip, too large, wrong charset) as GraphQL JSON errors. */
const bodyErrors: ErrorRequestHandler = (error: { status?: number; type?: string }, _req, res, next) => {
  if (res.headersSent) return next(error);
  const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 400;
  const [message, code] =
    status === 413
      ? [`The request body is larger than the limit of ${MAX_REQUEST_BYTES} bytes.`, 'PAYLOAD_TOO_LARGE']
      : error?.type === 'entity.parse.failed'
        ? ['The request body is not valid JSON.', 'BAD_REQUEST']
        : status === 415
          ? ['The request body has an unsupported encoding or charset.', 'BAD_REQUEST']
          : ['The request body could not be read (bad encoding or an interrupted upload).', 'BAD_REQUEST'];
  res.status(status).type('application/json').json(jsonErrors(message, code));
};

export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { schema, services, logger } = options;
  const log = logger.child({ component: 'api' });
  const throttle = new AuthThrottle(
    options.clock ?? systemClock,
    log,
    options.authThrottle === null ? { maxFailures: Number.POSITIVE_INFINITY, windowMs: 60_000 } : options.authThrottle,
  );
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
  const server = createServer(app);

  const ws = createWsServer({
    server,
    schema,
    services,
    logger: log,
    throttle,
    clientAddress,
    maxMessageBytes: MAX_REQUEST_BYTES,
  });

  const drainWs: ApolloServerPlugin = {
    async serverWillStart() {
      return {
        async drainServer() {
          await ws.dispose();
        },
      };
    },
  };

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: true,
    csrfPrevention: true,
    parseOptions: { maxTokens: LIMITS.maxTokens },
    validationRules: hardeningRules,
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints anywhere (every answer is per token and live): without this, Apollo's default
      // cache-control plugin wraps every field's resolver to compute a policy nobody reads.
      ApolloServerPluginCacheControlDisabled(),
      drainWs,
      auditPlugin(schema),
      ...(options.responseCache
        ? responseCachePlugins({ ...options.responseCache, clock: options.clock ?? systemClock })
        : []),
    ],
    formatError: (formatted, error) => maskError(error, log, 'execution', formatted.extensions?.code),
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await options.readiness().catch(() => ({ database: false }));
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  options.routes?.(app);
  const throttled: RequestHandler = (req, res, next) => {
    const retryAfter = throttle.retryAfterSeconds(clientAddress(req));
    if (retryAfter === null) return next();
    res
      .status(429)
      .set('Retry-After', String(retryAfter))
      .json(jsonErrors('Too many failed authentication attempts; try again later.', 'TOO_MANY_REQUESTS'));
  };
  app.use(
    '/graphql',
    throttled,
    express.json({ limit: MAX_REQUEST_BYTES }),
    bodyErrors,
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const principal = await services.apiTokens.authenticate(bearerToken(req.headers.authorization));
        const client = {
          address: clientAddress(req),
          userAgent: req.get('user-agent') ?? null,
          transport: 'HTTP' as const,
        };
        if (!principal) {
          throttle.recordFailure(client.address);
          await auditSignIn(services.audit, { principal: null, client, errorCode: 'UNAUTHENTICATED' });
          throw unauthenticated();
        }
        return { principal, services, loaders: createLoaders(services), client };
      },
    }),
  );
  // A path no route answered (the client answers only HTML navigations): a real 404, in JSON.
  app.use((req, res) => {
    res.status(404).json(jsonErrors(`There is nothing at ${req.method} ${req.path}.`, 'NOT_FOUND'));
  });
  // The last net for every route: JSON, never Express's HTML page with a stack.
  app.use(((error, req, res, next) => {
    if (res.headersSent) return next(error);
    log.error({ err: error, path: req.path }, 'unhandled error in an HTTP route');
    res.status(500).json(jsonErrors('Internal server error', 'INTERNAL_SERVER_ERROR'));
  }) as ErrorRequestHandler);

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      }),
    close: async () => {
      await apollo.stop(); // drains HTTP and WebSocket connections
    },
  };
}

/** Every mutation over HTTP into the audit log, once its response (and any error code) is known. */
function auditPlugin(schema: GraphQLSchema): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, document, operation, operationName, request, response }) {
          // No operation: the document did not parse or validate, so nothing of the schema ran.
          if (!document || !operation || !contextValue?.client || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          await auditOperation(contextValue.services.audit, {
            schema,
            document,
            operationName,
            variables: request.variables ?? null,
            errors: result.errors,
            executed: result.data !== undefined,
            principal: contextValue.principal,
            client: contextValue.client,
          });
        },
      };
    },
  };
}

/**
 * helmet's headers on every response: a CSP that allows only our own scripts, styles, images and
 * connections (no inline script; `frame-ancestors 'none'`), nosniff, no referrer.
 */
function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
    xContentTypeOptions: true,
    // No Cross-Origin-Opener-Policy: the OAuth pop-ups go to GitLab and come back to our callback
    // page, which must still reach `window.opener` to tell the main window and close itself; COOP
    // (helmet's default is same-origin) severs that link and the pop-up never closes.
    crossOriginOpenerPolicy: false,
  });
}
