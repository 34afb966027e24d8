/**
 * The API process's HTTP face: one http.Server carrying Apollo Server (HTTP, /graphql), graphql-ws
 * (WebSocket, same path), health endpoints, OAuth routes and, later, the built web client.
 * Every GraphQL operation needs `Authorization: Bearer <api token>`: HTTP answers 401 otherwise,
 * and a WebSocket whose connection_init carries no valid token is closed with 4401.
 */
import { createServer, type Server } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import { GraphQLError, execute, specifiedRules, subscribe, validate, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Principal } from '../access/api-token.service.js';
import type { Logger } from '../shared/logger.js';
import type { Services } from '../services.js';
import { bearerToken, type GraphQLContext } from './context.js';
import { toGraphQLError } from './errors.js';
import { hardeningRules, LIMITS } from './hardening.js';

export interface HttpServerOptions {
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  isProduction: boolean;
  /** Extra routes (OAuth callback, client) mounted before /graphql. */
  routes?: (app: Express) => void;
  /** /readyz: resolves when the database and job store answer. */
  readiness: () => Promise<Record<string, boolean>>;
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

export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { schema, services, logger } = options;
  const log = logger.child({ component: 'api' });
  const app = express();
  app.disable('x-powered-by');
  const server = createServer(app);

  const authenticate = (header: string | string[] | undefined | null): Promise<Principal | null> =>
    services.apiTokens.authenticate(bearerToken(header));

  // graphql-ws on the same server and path
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const wsCleanup = useServer<{ authorization?: string; Authorization?: string }, { principal?: Principal }>(
    {
      schema,
      execute,
      subscribe,
      validate: (s, doc) => validate(s, doc, [...specifiedRules, ...hardeningRules]),
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const principal = await authenticate(typeof header === 'string' ? header : null);
        if (!principal) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized');
          return false;
        }
        (ctx.extra as { principal?: Principal }).principal = principal;
        return true;
      },
      context: (ctx): GraphQLContext => ({
        principal: (ctx.extra as { principal: Principal }).principal,
        services,
      }),
      onError: (_ctx, _id, _payload, errors) => {
        for (const e of errors) log.warn({ err: e }, 'subscription error');
      },
    },
    wss,
  );

  const drainWs: ApolloServerPlugin = {
    async serverWillStart() {
      return {
        async drainServer() {
          await wsCleanup.dispose();
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
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer: server }), drainWs],
    formatError: (formatted, error) => {
      const mapped = toGraphQLError((error as GraphQLError)?.originalError ?? error);
      if (mapped instanceof GraphQLError && mapped !== error) {
        return { ...formatted, message: mapped.message, extensions: { ...mapped.extensions } };
      }
      const code = formatted.extensions?.code;
      if (code === 'INTERNAL_SERVER_ERROR' || code === undefined) {
        log.error({ err: (error as GraphQLError)?.originalError ?? error }, 'internal error in GraphQL operation');
        if (options.isProduction) return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      }
      return formatted;
    },
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
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const principal = await authenticate(req.headers.authorization);
        if (!principal) throw unauthenticated();
        return { principal, services };
      },
    }),
  );

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
      wss.close();
    },
  };
}
