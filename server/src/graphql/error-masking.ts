/**
 * The last net for every GraphQL error, shared by HTTP (Apollo's `formatError`) and graphql-ws, in
 * every mode: an error either carries a public `extensions.code` we chose (a mapped domain error, a
 * role refusal, a request error about the document or its variables) or it is unexpected, and
 * then the client sees only "Internal server error" with code INTERNAL_SERVER_ERROR while the log
 * keeps the full error. Database, runtime, library and file-system text never reaches a client.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../shared/logger.js';
import { toGraphQLError } from './errors.js';

/** Codes whose messages we wrote (or graphql-js wrote about the client's own document). */
const PUBLIC_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'FAILED_PRECONDITION',
  'UPSTREAM_ERROR',
  'UPSTREAM_UNAVAILABLE',
  'CANCELED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'TOO_MANY_REQUESTS',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

export const INTERNAL_ERROR: GraphQLFormattedError = {
  message: 'Internal server error',
  extensions: { code: 'INTERNAL_SERVER_ERROR' },
};

/**
 * `stage` says where the error arose when the transport knows it: `request` errors (parsing,
 * validation, variable coercion) are about the client's document and keep graphql-js's message.
 */
export function maskError(
  error: unknown,
  log: Logger,
  stage: 'request' | 'execution' = 'execution',
  /** The code the transport already gave (Apollo: request errors get theirs before formatError). */
  transportCode?: unknown,
): GraphQLFormattedError {
  const graphQLError = error instanceof GraphQLError ? error : null;
  const where = graphQLError
    ? {
        ...(graphQLError.locations ? { locations: graphQLError.locations } : {}),
        ...(graphQLError.path ? { path: graphQLError.path } : {}),
      }
    : {};
  // Follow the wrappers (graphql-js's located errors, Apollo's coded ones) to the first cause.
  let original: unknown = error;
  let code: unknown = transportCode;
  for (let e: unknown = error; e instanceof GraphQLError; e = e.originalError) {
    if (typeof e.extensions?.code === 'string' && e.extensions.code !== 'INTERNAL_SERVER_ERROR')
      code = e.extensions.code;
    original = e.originalError ?? e;
    if (!e.originalError) break;
  }

  const mapped = toGraphQLError(original);
  if (mapped instanceof GraphQLError && mapped !== original) {
    if (mapped.extensions.code === 'INTERNAL_SERVER_ERROR')
      log.error({ err: original }, 'internal error in GraphQL operation');
    return { message: mapped.message, ...where, extensions: { ...mapped.extensions } };
  }
  if (original instanceof GraphQLError) {
    if (typeof code === 'string' && PUBLIC_CODES.has(code)) {
      const { http: _http, stacktrace: _stack, ...extensions } = original.extensions as Record<string, unknown>;
      // graphql-js names the offending input in its wrapper ("Variable "$i" got invalid value … at
      // "i.kind"; …"), not in the cause it wraps: name the path (as a field too), without echoing
      // the whole value the wrapper prints (it may hold other inputs, secrets among them).
      const variable =
        graphQLError && /^Variable "\$[^"]+" got invalid value .*? at "([^"]+)"; /s.exec(graphQLError.message);
      if (variable)
        return {
          message: `Invalid value at "${variable[1]}": ${original.message}`,
          ...where,
          extensions: { ...extensions, code, fields: { [variable[1]]: original.message } },
        };
      return { message: original.message, ...where, extensions: { ...extensions, code } };
    }
    // graphql-js's own request errors (no path): about the client's document or variables.
    if (!graphQLError?.path && stage === 'request') {
      const isVariable = /^Variable "\$/.test(original.message);
      return {
        message: original.message,
        ...where,
        extensions: { code: isVariable ? 'BAD_USER_INPUT' : 'GRAPHQL_VALIDATION_FAILED' },
      };
    }
  }
  log.error({ err: original }, 'internal error in GraphQL operation');
  return { ...INTERNAL_ERROR, ...where };
}
