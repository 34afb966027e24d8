/**
 * The one place where failures talking to GitLab become DomainErrors (see gitlab.port.ts for the
 * contract). Inputs are whatever escapes the HTTP layer: gitbeaker's GitbeakerRequestError (status
 * in `cause.response.status`, GitLab's text in `cause.description`, and — when our requester threw
 * it — the parsed body in `cause.body`), GitbeakerTimeoutError, GitbeakerRetryError, fetch's
 * TypeError('fetch failed') and node:http's system errors (ECONNRESET, …).
 *
 * Nothing here may leak a credential: messages name the method and a redacted URL, and GitLab's
 * own text is passed through `redactSecrets` and truncated.
 */
import { PROXY_LOGIN_HINT } from '../shared/http-proxy.js';
import { GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';
import { DomainError, isDomainError, type DomainErrorCode } from '../shared/errors.js';
import { redactSecrets, redactUrl } from './redact.js';
import { requestedDelayMs } from './retry-policy.js';

export { redactSecrets, redactUrl } from './redact.js';

/** The codes this adapter raises (a subset of DomainErrorCode). */
export type GitLabErrorCode = Extract<DomainErrorCode, `GITLAB_${string}`>;

/** Why GitLab refused a token (`details.reason` of GITLAB_UNAUTHORIZED). */
export type UnauthorizedReason = 'expired' | 'revoked' | 'invalid';

/** What was being done when it failed; every field is safe to show an operator. */
export interface GitLabErrorContext {
  /** e.g. "GET https://gitlab.example.com/api/v4/groups/42/projects" — already redacted. */
  operation?: string;
  /** Attempts made, when retries were exhausted. */
  attempts?: number;
}

/** A non-2xx answer, normalised from whichever client received it. */
export interface GitLabFailedResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when GitLab sent JSON, else the text. */
  body: unknown;
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Failures of name resolution or certificates do not heal by waiting. */
const PERMANENT_NETWORK_CODES = new Set(['ENOTFOUND']);

/** Turns anything thrown while talking to GitLab into one of the GITLAB_* DomainErrors. */
export function toGitLabError(error: unknown, context: GitLabErrorContext = {}): DomainError {
  if (isDomainError(error)) return error;
  if (error instanceof GitbeakerRequestError) {
    const failure = failureFromGitbeaker(error);
    if (failure) return fromFailedResponse(failure, context, error);
  }
  if (error instanceof GitbeakerTimeoutError || isTimeout(error)) {
    return new DomainError('GITLAB_UNAVAILABLE', `GitLab did not answer in time${where(context)}`, {
      retryable: true,
      details: { timeout: true, ...attempts(context) },
      cause: error,
    });
  }
  if (error instanceof GitbeakerRetryError) {
    const status = /last status code: (\d{3})/.exec(error.message)?.[1];
    const code = status === '429' ? 'GITLAB_RATE_LIMITED' : 'GITLAB_UNAVAILABLE';
    return new DomainError(code, `GitLab kept failing (last status ${status ?? 'unknown'})${where(context)}`, {
      retryable: true,
      details: { status: status ? Number(status) : null },
      cause: error,
    });
  }
  const networkCode = networkErrorCode(error);
  if (networkCode) {
    const retryable = !PERMANENT_NETWORK_CODES.has(networkCode);
    return new DomainError('GITLAB_UNAVAILABLE', `Could not reach GitLab (${networkCode})${where(context)}`, {
      retryable,
      details: { networkError: networkCode, ...attempts(context) },
      cause: error,
    });
  }
  const tlsCode = tlsErrorCode(error);
  if (tlsCode) {
    return new DomainError(
      'GITLAB_UNAVAILABLE',
      `GitLab's TLS certificate was not accepted (${tlsCode})${where(context)}; ` +
        'for a private certificate authority, configure its CA certificate on the connection',
      { retryable: false, details: { tlsError: tlsCode }, cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new DomainError(
    'GITLAB_BAD_RESPONSE',
    `Unexpected failure talking to GitLab${where(context)}: ${clip(message)}`,
    {
      cause: error,
    },
  );
}

/** Maps a non-2xx answer (API or OAuth endpoint) to its DomainError. */
export function fromFailedResponse(
  failure: GitLabFailedResponse,
  context: GitLabErrorContext = {},
  cause?: unknown,
): DomainError {
  const { status } = failure;
  const body = asRecord(failure.body);
  const said = gitlabSaid(failure.body);
  const suffix = said ? `: ${said}` : '';
  const base = { status, ...(said ? { gitlabMessage: said } : {}) };

  if (status === 401) {
    const description = stringField(body, 'error_description') ?? bearerParam(failure.headers, 'error_description');
    const reason = unauthorizedReason(description);
    const text: Record<UnauthorizedReason, string> = {
      expired: 'the token has expired',
      revoked: 'the token was revoked',
      invalid: 'the token is not valid',
    };
    return new DomainError('GITLAB_UNAUTHORIZED', `GitLab rejected the token: ${text[reason]}${where(context)}`, {
      details: { ...base, reason },
      cause,
    });
  }
  if (status === 403) {
    const oauthError = stringField(body, 'error') ?? bearerParam(failure.headers, 'error');
    if (oauthError === 'insufficient_scope') {
      const requiredScopes = scopesOf(body?.scope ?? bearerParam(failure.headers, 'scope'));
      const needs = requiredScopes.length > 0 ? `; it needs one of: ${requiredScopes.join(', ')}` : '';
      return new DomainError('GITLAB_FORBIDDEN', `The token's scopes are insufficient${needs}${where(context)}`, {
        details: { ...base, requiredScopes },
        cause,
      });
    }
    return new DomainError('GITLAB_FORBIDDEN', `GitLab refused access${where(context)}${suffix}`, {
      details: base,
      cause,
    });
  }
  if (status === 407) {
    // Only a proxy answers 407 (GitLab never does): the outbound proxy wants credentials.
    return new DomainError(
      'GITLAB_UNAVAILABLE',
      `The HTTP proxy to GitLab asks for credentials (407)${where(context)}: ${PROXY_LOGIN_HINT}`,
      { details: base, cause },
    );
  }
  if (status === 404) {
    return new DomainError('GITLAB_NOT_FOUND', `GitLab found nothing${where(context)}${suffix}`, {
      details: base,
      cause,
    });
  }
  if (status === 429) {
    return new DomainError('GITLAB_RATE_LIMITED', `GitLab's rate limit was hit${where(context)}${tries(context)}`, {
      retryable: true,
      details: { ...base, ...attempts(context), ...retryAfter(failure, status) },
      cause,
    });
  }
  if (status === 501) {
    // "Not implemented": a feature switched off on the instance (GitLab answers so for LFS when it is disabled).
    return new DomainError('GITLAB_FORBIDDEN', `GitLab does not offer this${where(context)}${suffix}`, {
      details: base,
      cause,
    });
  }
  if (status >= 500) {
    return new DomainError(
      'GITLAB_UNAVAILABLE',
      `GitLab answered ${status}${where(context)}${tries(context)}${suffix}`,
      {
        retryable: true,
        details: { ...base, ...attempts(context), ...retryAfter(failure, status) },
        cause,
      },
    );
  }
  if (status >= 300 && status < 400) {
    const location = failure.headers.location;
    const to = location ? ` to ${redactUrl(location)}` : '';
    return new DomainError(
      'GITLAB_BAD_RESPONSE',
      `GitLab redirected${to}${where(context)}; use the final address as the instance URL`,
      { details: base, cause },
    );
  }
  return new DomainError('GITLAB_BAD_RESPONSE', `GitLab answered ${status}${where(context)}${suffix}`, {
    details: base,
    cause,
  });
}

/**
 * The wait GitLab asked for, kept on a retryable error so that a retry of the whole transfer
 * honours it. After a 5xx only an explicit Retry-After counts (RateLimit-* come with every answer).
 */
function retryAfter(failure: GitLabFailedResponse, status: number): { retryAfterMs?: number } {
  const headers = status === 429 ? failure.headers : { 'retry-after': failure.headers['retry-after'] ?? '' };
  const ms = requestedDelayMs(headers, Date.now());
  return ms === null ? {} : { retryAfterMs: ms };
}

/**
 * A failed answer of git's smart HTTP or of the LFS API: the code, retryability and details come
 * from the same map as the API's (fromFailedResponse); the message is the one given (git's style,
 * "… returned error: 503"), with GitLab's first line of text added after a colon.
 */
export function fromTransferFailure(failure: GitLabFailedResponse & { text: string }, message: string): DomainError {
  const mapped = fromFailedResponse(failure);
  const said = failure.text.trim().split('\n')[0]?.replace(/\s+/g, ' ').trim() ?? '';
  return new DomainError(mapped.code, `${message}${said ? `: ${clip(said, 300)}` : ''}`, {
    retryable: mapped.retryable,
    details: { ...mapped.details, httpStatus: failure.status },
  });
}

/** What git prints of an HTTP failure: "The requested URL returned error: 503", or a refused login. */
function gitHttpStatus(stderr: string): number | null {
  const status = /The requested URL returned error: (\d{3})/.exec(stderr)?.[1];
  if (status) return Number(status);
  return /Authentication failed|HTTP Basic: Access denied/i.test(stderr) ? 401 : null;
}

/** Network trouble git reports; another attempt may go through. */
const GIT_TRANSIENT =
  /(Could not resolve host|Connection (reset|refused|timed out)|early EOF|RPC failed|unexpected disconnect|remote end hung up|transfer closed)/i;

/**
 * A failed git command that talked to GitLab (clone, fetch, ls-remote, push), judged by its
 * stderr: git prints the HTTP status (not the headers), which maps like any other answer.
 */
export function fromGitCommandFailure(command: string, stderr: string, exitCode: number | null): DomainError {
  const said = redactSecrets(stderr.trim().split('\n').slice(-5).join(' | ')) || `exit code ${exitCode}`;
  const message = `git ${command} failed: ${said}`;
  const status = gitHttpStatus(stderr);
  if (status !== null) {
    const mapped = fromFailedResponse({ status, headers: {}, body: null });
    return new DomainError(mapped.code, message, {
      retryable: mapped.retryable,
      details: { exitCode, httpStatus: status, status },
    });
  }
  const transient = GIT_TRANSIENT.test(stderr);
  return new DomainError(transient ? 'GITLAB_UNAVAILABLE' : 'GITLAB_BAD_RESPONSE', message, {
    retryable: transient,
    details: { exitCode },
  });
}

/** The error of a transfer stopped by its AbortSignal (a canceled run or restore): one helper for every transport. */
export function transferCanceled(what: string): DomainError {
  return new DomainError('CANCELED', `${what} was canceled`);
}

/** OAuth 2 errors (RFC 6749 §5.2) that mean "this grant or client is no good": re-authorize. */
const REJECTED_GRANT_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'access_denied']);

/**
 * Maps a failed answer of /oauth/token or /oauth/revoke. A rejected grant or client is
 * GITLAB_UNAUTHORIZED with `details.oauthError`; anything else as for the API, plus `oauthError`.
 */
export function fromOAuthFailure(failure: GitLabFailedResponse, context: GitLabErrorContext = {}): DomainError {
  const body = asRecord(failure.body);
  const oauthError = stringField(body, 'error');
  const description = stringField(body, 'error_description');
  if (oauthError && REJECTED_GRANT_ERRORS.has(oauthError)) {
    const why = description ? `: ${clip(description)}` : '';
    return new DomainError(
      'GITLAB_UNAUTHORIZED',
      `GitLab rejected the OAuth request (${oauthError})${where(context)}${why}`,
      {
        details: { status: failure.status, oauthError, reason: unauthorizedReason(description) },
      },
    );
  }
  const mapped = fromFailedResponse(failure, context);
  if (!oauthError) return mapped;
  return new DomainError(mapped.code, mapped.message, {
    details: { ...mapped.details, oauthError },
    retryable: mapped.retryable,
  });
}

/** A 2xx answer whose payload is not what GitLab documents. */
export function badPayload(what: string, context: GitLabErrorContext = {}): DomainError {
  return new DomainError('GITLAB_BAD_RESPONSE', `GitLab sent an unexpected payload${where(context)}: ${what}`);
}

export function unauthorizedReason(description: string | null | undefined): UnauthorizedReason {
  if (description && /expired/i.test(description)) return 'expired';
  if (description && /revoked/i.test(description)) return 'revoked';
  return 'invalid';
}

function failureFromGitbeaker(error: GitbeakerRequestError): GitLabFailedResponse | null {
  const cause: (GitbeakerRequestError['cause'] & { body?: unknown }) | undefined = error.cause; // GitBeaker puts the parsed body there
  const response = cause?.response;
  if (!response || typeof response.status !== 'number') return null;
  const headers: Record<string, string> = {};
  response.headers?.forEach?.((value: string, key: string) => {
    headers[key.toLowerCase()] = value;
  });
  const body = cause.body !== undefined ? cause.body : (cause.description ?? null);
  return { status: response.status, headers, body };
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function networkErrorCode(error: unknown): string | null {
  for (const candidate of [error, (error as { cause?: unknown } | null)?.cause]) {
    const code = (candidate as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
  }
  const message = error instanceof Error ? error.message : '';
  if (/socket hang up/i.test(message)) return 'ECONNRESET';
  if (error instanceof TypeError && message === 'fetch failed') return 'ECONNRESET';
  return null;
}

function tlsErrorCode(error: unknown): string | null {
  for (const candidate of [error, (error as { cause?: unknown } | null)?.cause]) {
    const code = (candidate as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL/.test(code)) return code;
  }
  return null;
}

function gitlabSaid(body: unknown): string | null {
  if (typeof body === 'string') return body.trim() ? clip(body.trim()) : null;
  const record = asRecord(body);
  if (!record) return null;
  const parts: string[] = [];
  for (const key of ['message', 'error', 'error_description']) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    parts.push(typeof value === 'string' ? value : JSON.stringify(value));
  }
  return parts.length > 0 ? clip(parts.join(' — ')) : null;
}

function scopesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/** Reads a parameter of `WWW-Authenticate: Bearer realm="…", error="…", error_description="…"`. */
function bearerParam(headers: Record<string, string>, name: string): string | null {
  const header = headers['www-authenticate'];
  if (!header) return null;
  const match = new RegExp(`${name}="([^"]*)"`).exec(header);
  return match ? match[1] : null;
}

function stringField(record: Record<string, unknown> | null, key: string): string | null {
  const value = record?.[key];
  return typeof value === 'string' ? value : null;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function clip(text: string, max = 300): string {
  const clean = redactSecrets(text);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function where(context: GitLabErrorContext): string {
  return context.operation ? ` (${context.operation})` : '';
}

function tries(context: GitLabErrorContext): string {
  return context.attempts && context.attempts > 1 ? ` after ${context.attempts} attempts` : '';
}

function attempts(context: GitLabErrorContext): { attempts?: number } {
  return context.attempts ? { attempts: context.attempts } : {};
}
