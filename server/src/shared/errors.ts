/**
 * Typed domain errors. Every domain lists its codes in `<domain>.errors.ts`; the GraphQL edge maps
 * them to `extensions.code` in one place (graphql/errors.ts), so adding a code without a mapping
 * is a compile error there.
 */
export const DOMAIN_ERROR_CODES = [
  // generic
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'CONFLICT',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  /** The operation stopped because it was canceled (a run canceled by a user, a job shutting down). */
  'CANCELED',
  // credentials
  'CREDENTIAL_NOT_FOUND',
  'CREDENTIAL_IN_USE',
  'CREDENTIAL_NAME_TAKEN',
  'MASTER_KEY_MISMATCH',
  // access
  'API_TOKEN_NOT_FOUND',
  // connections
  'CONNECTION_NOT_FOUND',
  'CONNECTION_NOT_CONNECTED',
  'OAUTH_NOT_CONFIGURED',
  'OAUTH_STATE_INVALID',
  'OAUTH_ATTEMPT_EXPIRED',
  'OAUTH_CONSENT_DENIED',
  'TOKEN_INVALID',
  'TOKEN_REVOKED',
  'TOKEN_EXPIRED',
  'TOKEN_SCOPE_INSUFFICIENT',
  'WRITE_AUTHORIZATION_REQUIRED',
  // organizations
  'ORGANIZATION_NOT_FOUND',
  'ORGANIZATION_ALREADY_PROTECTED',
  'NAMESPACE_NOT_FOUND',
  'SYNC_ALREADY_RUNNING',
  // workers
  'WORKER_NOT_FOUND',
  // backup
  'BACKUP_RUN_NOT_FOUND',
  'BACKUP_ALREADY_RUNNING',
  'SNAPSHOT_NOT_FOUND',
  'SNAPSHOT_HAS_DEPENDENTS',
  /** Pinned (by a person or an anomaly): kept until someone unpins it. */
  'SNAPSHOT_PINNED',
  /** Written under S3 Object Lock: not deletable before its lock date. */
  'SNAPSHOT_LOCKED',
  'POLICY_NOT_FOUND',
  'MANIFEST_CHECKSUM_MISMATCH',
  'GIT_FAILED',
  // restore
  'DRILL_RUN_NOT_FOUND',
  'DRILL_ALREADY_RUNNING',
  // gitlab adapter
  'GITLAB_UNAUTHORIZED',
  'GITLAB_FORBIDDEN',
  'GITLAB_NOT_FOUND',
  'GITLAB_RATE_LIMITED',
  'GITLAB_UNAVAILABLE',
  'GITLAB_BAD_RESPONSE',
  // storage and artifacts
  'ARTIFACT_NOT_FOUND',
  'ARTIFACT_EXISTS',
  'ARTIFACT_CORRUPT',
  'ENCRYPTION_KEY_MISMATCH',
  'STORAGE_UNAVAILABLE',
  // storages
  'STORAGE_NOT_FOUND',
  'STORAGE_IN_USE',
  'STORAGE_NAME_TAKEN',
  // alerts
  'NOTIFICATION_CHANNEL_NOT_FOUND',
  'NOTIFICATION_CHANNEL_NAME_TAKEN',
] as const;

export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export interface DomainErrorOptions {
  /** Machine-readable extra facts; never secrets. `fields` names offending inputs (field → message). */
  details?: Record<string, unknown> & {
    fields?: Record<string, string>;
    /** GitLab's own words (`message`/`error` of its response), for GITLAB_* codes. */
    gitlabMessage?: string;
    /** The OAuth `error` GitLab answered (`invalid_grant`, `insufficient_scope`…). */
    oauthError?: string;
    /** Why a token was refused (GITLAB_UNAUTHORIZED) or a check failed, in a word. */
    reason?: string;
    /** Why a metadata type was skipped rather than failed (gitlab/metadata.errors.ts). */
    skipReason?: string;
  };
  /** Retrying the same operation later may succeed (rate limits, outages). */
  retryable?: boolean;
  cause?: unknown;
}

export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly details?: DomainErrorOptions['details'];
  readonly retryable: boolean;

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * A validation failure naming each offending field (`instanceUrl` → "must be an https URL").
 * Domains name fields as their input value names them, without transport prefixes; the GraphQL
 * edge adds the argument (`input.instanceUrl`).
 */
export function validationError(fields: Record<string, string>, message?: string): DomainError {
  const summary =
    message ??
    Object.entries(fields)
      .map(([f, m]) => `${f}: ${m}`)
      .join('; ');
  return new DomainError('VALIDATION_FAILED', summary, { details: { fields } });
}

/**
 * Optional values a client may leave out: null or undefined mean "not given", but an empty or
 * blank string is refused rather than read as "not given" (an empty credential id must not turn
 * encryption off, an empty worker id must not mean "any worker"). Lists are checked item by item.
 * Throws one VALIDATION_FAILED naming every empty field.
 */
export function refuseEmpty(values: Record<string, string | readonly string[] | null | undefined>): void {
  const isEmpty = (v: unknown) => typeof v === 'string' && v.trim() === '';
  const fields: Record<string, string> = {};
  for (const [field, value] of Object.entries(values)) {
    if (isEmpty(value)) fields[field] = 'must not be empty: leave it out (or null) for none';
    else if (Array.isArray(value) && value.some(isEmpty)) fields[field] = 'must not contain empty ids';
  }
  if (Object.keys(fields).length > 0) throw validationError(fields);
}

export function isDomainError(error: unknown, code?: DomainErrorCode): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code);
}
