/**
 * The one place where errors become GraphQL errors. Every DomainError code maps to a public
 * `extensions.code`; the domain code travels in `extensions.reason`, offending inputs in
 * `extensions.fields`. The exhaustive switch makes an unmapped code a compile error.
 */
import { GraphQLError } from 'graphql';
import { ArgumentValidationError, AuthenticationError, AuthorizationError, type MiddlewareFn } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import { DomainError, type DomainErrorCode } from '../shared/errors.js';

export type PublicErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'FAILED_PRECONDITION'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

export function publicCode(code: DomainErrorCode): PublicErrorCode {
  switch (code) {
    case 'VALIDATION_FAILED':
    case 'TOKEN_INVALID':
    case 'TOKEN_REVOKED':
    case 'TOKEN_EXPIRED':
    case 'TOKEN_SCOPE_INSUFFICIENT':
    case 'NAMESPACE_NOT_FOUND':
      return 'BAD_USER_INPUT';
    case 'NOT_FOUND':
    case 'CREDENTIAL_NOT_FOUND':
    case 'API_TOKEN_NOT_FOUND':
    case 'CONNECTION_NOT_FOUND':
    case 'ORGANIZATION_NOT_FOUND':
    case 'WORKER_NOT_FOUND':
    case 'BACKUP_RUN_NOT_FOUND':
    case 'SNAPSHOT_NOT_FOUND':
    case 'POLICY_NOT_FOUND':
    case 'ARTIFACT_NOT_FOUND':
    case 'DRILL_RUN_NOT_FOUND':
    case 'STORAGE_NOT_FOUND':
    case 'NOTIFICATION_CHANNEL_NOT_FOUND':
      return 'NOT_FOUND';
    case 'CONFLICT':
    case 'CANCELED':
    case 'CREDENTIAL_IN_USE':
    case 'CREDENTIAL_NAME_TAKEN':
    case 'ORGANIZATION_ALREADY_PROTECTED':
    case 'SYNC_ALREADY_RUNNING':
    case 'BACKUP_ALREADY_RUNNING':
    case 'SNAPSHOT_HAS_DEPENDENTS':
    case 'SNAPSHOT_PINNED':
    case 'SNAPSHOT_LOCKED':
    case 'ARTIFACT_EXISTS':
    case 'DRILL_ALREADY_RUNNING':
    case 'STORAGE_IN_USE':
    case 'STORAGE_NAME_TAKEN':
    case 'NOTIFICATION_CHANNEL_NAME_TAKEN':
      return 'CONFLICT';
    case 'FORBIDDEN':
      return 'FORBIDDEN';
    case 'UNAUTHENTICATED':
      return 'UNAUTHENTICATED';
    case 'CONNECTION_NOT_CONNECTED':
    case 'WRITE_AUTHORIZATION_REQUIRED':
    case 'OAUTH_NOT_CONFIGURED':
    case 'OAUTH_STATE_INVALID':
    case 'OAUTH_ATTEMPT_EXPIRED':
    case 'OAUTH_CONSENT_DENIED':
    case 'ARTIFACT_CORRUPT':
    case 'ENCRYPTION_KEY_MISMATCH':
      return 'FAILED_PRECONDITION';
    case 'GITLAB_UNAUTHORIZED':
    case 'GITLAB_FORBIDDEN':
    case 'GITLAB_NOT_FOUND':
    case 'GITLAB_BAD_RESPONSE':
      return 'UPSTREAM_ERROR';
    case 'GITLAB_RATE_LIMITED':
    case 'GITLAB_UNAVAILABLE':
      return 'UPSTREAM_UNAVAILABLE';
    case 'MASTER_KEY_MISMATCH':
    case 'MANIFEST_CHECKSUM_MISMATCH':
    case 'GIT_FAILED':
    case 'STORAGE_UNAVAILABLE':
      return 'INTERNAL_SERVER_ERROR';
    default: {
      const unmapped: never = code;
      throw new Error(`unmapped domain error code ${String(unmapped)}`);
    }
  }
}

/**
 * Field paths name what the client sent: `input.secret`, not `secret`. Domain errors name fields
 * as their input value does (`namespacePath`, `schedule.time.hour`), without transport prefixes;
 * here a path whose first segment is not an argument of the operation is taken to be inside its
 * `input` argument and gets the `input.` prefix. Operations without an `input` argument keep the
 * domain's path.
 */
function qualify(fields: Record<string, string> | undefined, args?: Record<string, unknown>, target?: unknown) {
  if (!fields || !args) return fields;
  const owner = target === undefined ? undefined : Object.keys(args).find((k) => args[k] === target);
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(fields)) {
    const first = path.split('.')[0];
    const prefix = owner ?? (first in args ? null : 'input' in args ? 'input' : null);
    out[prefix && !(owner === undefined && first in args) ? `${prefix}.${path}` : path] = message;
  }
  return out;
}

export function toGraphQLError(error: unknown, args?: Record<string, unknown>): unknown {
  if (error instanceof DomainError) {
    const { fields: rawFields, ...details } = error.details ?? {};
    const fields = qualify(rawFields, args);
    return new GraphQLError(error.message, {
      extensions: {
        code: publicCode(error.code),
        reason: error.code,
        ...(fields ? { fields } : {}),
        ...(Object.keys(details).length > 0 ? { details } : {}),
        ...(error.retryable ? { retryable: true } : {}),
      },
    });
  }
  if (error instanceof AuthorizationError) {
    return new GraphQLError("Your API token's role may not do this.", {
      extensions: { code: 'FORBIDDEN', reason: 'FORBIDDEN' },
    });
  }
  if (error instanceof AuthenticationError) {
    return new GraphQLError('A valid API token is required.', {
      extensions: { code: 'UNAUTHENTICATED', reason: 'UNAUTHENTICATED' },
    });
  }
  if (error instanceof ArgumentValidationError) {
    const errors = error.extensions.validationErrors;
    const fields = qualify(flattenValidation(errors), args, errors[0]?.target) ?? {};
    const summary = Object.entries(fields)
      .map(([f, m]) => `${f}: ${m}`)
      .join('; ');
    return new GraphQLError(`Invalid input: ${summary}`, {
      extensions: { code: 'BAD_USER_INPUT', reason: 'VALIDATION_FAILED', fields },
    });
  }
  return error;
}

function flattenValidation(errors: ValidationError[] = [], prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) out[path] = Object.values(e.constraints).join('; ');
    Object.assign(out, flattenValidation(e.children ?? [], path));
  }
  return out;
}

/** Global type-graphql middleware: the same mapping for queries, mutations and subscriptions. */
export const ErrorMappingMiddleware: MiddlewareFn = async ({ args }, next) => {
  try {
    return (await next()) as unknown;
  } catch (error) {
    throw toGraphQLError(error, args);
  }
};
