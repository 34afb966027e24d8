/**
 * graphql-ws on the API's http.Server (path /graphql), held to the same rules as HTTP:
 * - connection_init must carry a valid API token (`authorization: Bearer …`), else close 4401;
 *   failed attempts count towards the per-address throttle (4429 while throttled);
 * - every operation re-checks that the socket's token still authenticates, and a socket whose
 *   token is revoked (in this process at once, elsewhere or by expiry within a second) is closed
 *   with 4401 — a revoked token never runs another operation;
 * - messages are capped like HTTP bodies (PAYLOAD_TOO_LARGE), documents like HTTP documents
 *   (token limit, hardening rules), variables are coerced before execution (BAD_USER_INPUT);
 * - every error goes through the same mask as HTTP (error-masking.ts).
 */
import type { IncomingMessage, Server } from 'node:http';
import {
  GraphQLError,
  execute,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  subscribe,
  validate,
  type ExecutionArgs,
  OperationTypeNode,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, handleProtocols, makeServer, type SubscribePayload } from 'graphql-ws';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { AuthThrottle } from '../access/auth-throttle.js';
import type { Principal } from '../access/api-token.service.js';
import type { Logger } from '../shared/logger.js';
import type { Services } from '../services.js';
import { bearerToken, type GraphQLContext } from './context.js';
import { maskError } from './error-masking.js';
import { hardeningRules, LIMITS } from './hardening.js';
import { createLoaders } from './loaders.js';
import { auditOperation, auditSignIn, type AuditClient } from './audit-recorder.js';

/** How often open sockets' tokens are re-checked (revocation elsewhere, expiry). */
export const TOKEN_SWEEP_INTERVAL_MS = 500;
/** Close code for a socket whose token was revoked or expired (graphql-ws's Unauthorized). */
export const TOKEN_GONE_CLOSE = { code: CloseCode.Unauthorized, reason: 'API token revoked or expired' } as const;

export interface WsServerOptions {
  server: Server;
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  throttle: AuthThrottle;
  clientAddress(request: IncomingMessage): string;
  maxMessageBytes: number;
}

interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
  principal?: Principal;
}

const requestError = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

export function createWsServer(options: WsServerOptions): { dispose(): Promise<void> } {
  const { schema, services, logger: log, throttle, maxMessageBytes } = options;
  // Messages a little over the cap are answered with an error; far larger ones are cut off by ws (1009).
  const wss = new WebSocketServer({
    server: options.server,
    path: '/graphql',
    maxPayload: 4 * maxMessageBytes,
    handleProtocols,
  });
  const socketsByToken = new Map<string, Set<WebSocket>>();

  const closeTokenSockets = (tokenId: string) => {
    for (const socket of socketsByToken.get(tokenId) ?? [])
      socket.close(TOKEN_GONE_CLOSE.code, TOKEN_GONE_CLOSE.reason);
    socketsByToken.delete(tokenId);
  };
  const unsubscribeRevoked = services.apiTokens.onRevoked(closeTokenSockets);
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping || socketsByToken.size === 0) return;
    sweeping = true;
    services.apiTokens
      .inactiveAmong([...socketsByToken.keys()])
      .then((gone) => gone.forEach(closeTokenSockets))
      .catch((error: unknown) => log.warn({ err: error }, 'could not re-check the tokens of open WebSockets'))
      .finally(() => (sweeping = false));
  }, TOKEN_SWEEP_INTERVAL_MS);
  sweep.unref();

  const gql = makeServer<Record<string, unknown> | undefined, Extra>({
    schema,
    execute,
    subscribe,
    onConnect: async (ctx) => {
      const { socket, request } = ctx.extra;
      const address = options.clientAddress(request);
      const client = clientOf(ctx.extra, address);
      if (throttle.retryAfterSeconds(address) !== null) {
        await auditSignIn(services.audit, { principal: null, client, errorCode: 'TOO_MANY_REQUESTS' });
        socket.close(CloseCode.TooManyInitialisationRequests, 'Too many failed authentication attempts');
        return false;
      }
      const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
      const principal = await services.apiTokens.authenticate(bearerToken(typeof header === 'string' ? header : null));
      if (!principal) {
        throttle.recordFailure(address);
        await auditSignIn(services.audit, { principal: null, client, errorCode: 'UNAUTHENTICATED' });
        socket.close(CloseCode.Unauthorized, 'Unauthorized');
        return false;
      }
      await auditSignIn(services.audit, { principal, client, errorCode: null });
      ctx.extra.principal = principal;
      const sockets = socketsByToken.get(principal.tokenId) ?? new Set();
      socketsByToken.set(principal.tokenId, sockets.add(socket));
      return true;
    },
    onSubscribe: async (ctx, _id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
      const principal = ctx.extra.principal!;
      const [gone] = await services.apiTokens.inactiveAmong([principal.tokenId]);
      if (gone) {
        closeTokenSockets(principal.tokenId);
        return [requestError('The API token was revoked or has expired.', 'UNAUTHENTICATED')];
      }
      const client = clientOf(ctx.extra, options.clientAddress(ctx.extra.request));
      const prepared = prepare(schema, payload, (operation) => ({
        principal,
        services,
        // A subscription lives on: its loaders batch but never cache (no stale rows for later events).
        loaders: createLoaders(services, { cache: operation !== OperationTypeNode.SUBSCRIPTION }),
        client,
      }));
      // Variables that do not fit a valid mutation: refused before execution, audited like HTTP.
      if (Array.isArray(prepared) && (prepared as readonly GraphQLError[])[0]?.extensions.code === 'BAD_USER_INPUT') {
        await auditOperation(services.audit, {
          schema,
          document: parse(payload.query),
          operationName: payload.operationName,
          variables: payload.variables ?? null,
          errors: (prepared as readonly GraphQLError[]).map((e) => ({ extensions: e.extensions })),
          executed: false,
          principal,
          client,
        });
      }
      return prepared;
    },
    onNext: async (_ctx, _id, _payload, args, result) => {
      const masked = result.errors
        ? {
            ...result,
            errors: result.errors.map((e) => maskError(e, log, result.data === undefined ? 'request' : 'execution')),
          }
        : undefined;
      const context = args.contextValue as GraphQLContext | undefined;
      if (context?.client) {
        await auditOperation(services.audit, {
          schema,
          document: args.document,
          operationName: args.operationName,
          variables: args.variableValues ?? null,
          errors: (masked ?? result).errors?.map((e) => ('toJSON' in e ? e.toJSON() : e)),
          executed: result.data !== undefined,
          principal: context.principal,
          client: context.client,
        });
      }
      return masked;
    },
    onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskError(e, log, 'request')),
  });

  wss.on('connection', (socket, request) => {
    const extra: Extra = { socket, request };
    socket.once('error', (error) => {
      log.warn({ err: error }, 'WebSocket error');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    const closed = gql.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data: RawData) => {
            const text = messageText(data);
            void (async () => {
              try {
                if (Buffer.byteLength(text) > maxMessageBytes)
                  return await refuseOversized(socket, text, maxMessageBytes);
                await handle(text);
              } catch (error) {
                log.error({ err: error }, 'internal error while handling a WebSocket message');
                socket.close(CloseCode.InternalServerError, 'Internal server error');
              }
            })();
          }),
      },
      extra,
    );
    socket.once('close', (code, reason) => {
      const tokenId = extra.principal?.tokenId;
      const sockets = tokenId ? socketsByToken.get(tokenId) : undefined;
      sockets?.delete(socket);
      if (tokenId && sockets?.size === 0) socketsByToken.delete(tokenId);
      void closed(code, String(reason));
    });
  });

  return {
    dispose: async () => {
      clearInterval(sweep);
      unsubscribeRevoked();
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Parse (token limit), validate (hardening rules) and coerce variables, as HTTP does. */
function prepare(
  schema: GraphQLSchema,
  payload: SubscribePayload,
  contextFor: (operation: OperationTypeNode) => GraphQLContext,
): ExecutionArgs | readonly GraphQLError[] {
  if (typeof payload?.query !== 'string')
    return [requestError('The subscribe payload needs a query string.', 'BAD_REQUEST')];
  let document;
  try {
    document = parse(payload.query, { maxTokens: LIMITS.maxTokens });
  } catch (error) {
    const message = error instanceof GraphQLError ? error.message : 'The document could not be parsed.';
    return [requestError(message, 'GRAPHQL_PARSE_FAILED')];
  }
  const invalid = validate(schema, document, [...specifiedRules, ...hardeningRules]);
  if (invalid.length > 0)
    return invalid.map(
      (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    );
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation) return [requestError('Unable to identify the operation to run.', 'OPERATION_RESOLUTION_FAILURE')];
  const variables = payload.variables ?? {};
  if (typeof variables !== 'object' || Array.isArray(variables))
    return [requestError('Variables must be an object.', 'BAD_REQUEST')];
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 10 });
  if (coerced.errors)
    return coerced.errors.map(
      (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'BAD_USER_INPUT' } }),
    );
  return {
    schema,
    document,
    operationName: payload.operationName,
    variableValues: variables,
    contextValue: contextFor(operation.operation),
  };
}

function clientOf(extra: Extra, address: string): AuditClient {
  const agent = extra.request.headers['user-agent'];
  return { address, userAgent: typeof agent === 'string' ? agent : null, transport: 'WEBSOCKET' };
}

/** A WebSocket message as text, whichever form ws delivered it in. */
function messageText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.isBuffer(data) ? data.toString() : Buffer.from(data).toString();
}

/**
 * A message over the cap is not processed. A subscribe message gets an error for its id (the
 * operation fails like an oversized HTTP body); anything else closes the socket with 1009.
 */
async function refuseOversized(socket: WebSocket, text: string, limit: number): Promise<void> {
  let id: unknown;
  try {
    const message = JSON.parse(text) as { id?: unknown; type?: unknown };
    if (message.type === 'subscribe') id = message.id;
  } catch {
    id = undefined;
  }
  const error = {
    message: `The message is larger than the limit of ${limit} bytes.`,
    extensions: { code: 'PAYLOAD_TOO_LARGE' },
  };
  if (typeof id === 'string' && id.length <= 200) {
    await new Promise<void>((resolve) =>
      socket.send(JSON.stringify({ id, type: 'error', payload: [error] }), () => resolve()),
    );
    return;
  }
  socket.close(1009, JSON.stringify(error.extensions));
}
