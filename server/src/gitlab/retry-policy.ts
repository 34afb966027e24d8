/**
 * Bounded retries for one HTTP exchange with GitLab.
 *
 * A 429 waits exactly what GitLab asks for (`Retry-After` in seconds or as an HTTP date, else
 * `RateLimit-Reset`, a Unix time), falling back to backoff when it names no time. 5xx answers,
 * timeouts and connection failures wait an exponential backoff with jitter: half of
 * min(maxDelayMs, baseDelayMs·2^(attempt−1)) plus a random share of the other half. Both stop after
 * `maxAttempts` attempts, or earlier when the next wait would push the total past `maxTotalWaitMs`
 * (a long Retry-After is then left to the caller — a job retried later — instead of blocking here).
 *
 * Only exchanges that may safely run twice are retried on 5xx and resets; a POST to /oauth/token is
 * retried only when GitLab cannot have acted on it (429, or the connection was never made), because
 * a lost answer to a refresh grant would otherwise burn the rotated refresh token.
 *
 * The same policy (and budget) retries whole transfers — a git fetch, an LFS object — through
 * `retrying`, which judges the GITLAB_* errors they end with: `retryable` ones are retried, after
 * `details.retryAfterMs` when GitLab named a time (gitlab.errors.ts reads it from the answer).
 */
import { isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

export interface RetryOptions {
  /** Attempts in total, the first included. Default 5. */
  maxAttempts?: number;
  /** First backoff step. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap of one backoff step (not of a Retry-After). Default 30 s. */
  maxDelayMs?: number;
  /** Cap of all waits for one exchange, Retry-After included. Default 120 s. */
  maxTotalWaitMs?: number;
  /** Waits between attempts; tests inject one that records the delay. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** Current time in ms, for Retry-After dates. Default Date.now. */
  now?: () => number;
  /** Told about every retry before its wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Retries are logged at warn. */
  logger?: Logger;
}

export interface RetryEvent {
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  reason: 'rate_limited' | 'unavailable';
  /** HTTP status, or null for a timeout or network failure. */
  status: number | null;
  /** Method and redacted URL. */
  operation: string;
}

export type ResolvedRetryOptions = Required<Omit<RetryOptions, 'onRetry' | 'logger'>> &
  Pick<RetryOptions, 'onRetry' | 'logger'>;

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  return {
    maxAttempts: Math.max(1, options.maxAttempts ?? 5),
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    maxTotalWaitMs: options.maxTotalWaitMs ?? 120_000,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
    onRetry: options.onRetry,
    logger: options.logger,
  };
}

/** How one attempt ended, as far as retrying is concerned. */
export type AttemptVerdict =
  { retry: false } | { retry: true; reason: RetryEvent['reason']; status: number | null; delayMs: number | null };

/**
 * Runs `attempt` until `judge` says stop or the budget is spent; resolves or rejects with the last
 * outcome and the number of attempts made.
 */
export async function withRetries<T>(
  options: ResolvedRetryOptions,
  operation: string,
  attempt: () => Promise<T>,
  judge: (outcome: { value: T } | { error: unknown }) => AttemptVerdict,
  signal?: AbortSignal,
): Promise<{ outcome: { value: T } | { error: unknown }; attempts: number }> {
  let waited = 0;
  for (let n = 1; ; n += 1) {
    let outcome: { value: T } | { error: unknown };
    if (signal?.aborted) return { outcome: { error: signal.reason }, attempts: n - 1 };
    try {
      outcome = { value: await attempt() };
    } catch (error) {
      outcome = { error };
    }
    const verdict = judge(outcome);
    if (!verdict.retry || n >= options.maxAttempts) return { outcome, attempts: n };
    const delayMs = verdict.delayMs ?? backoffMs(options, n);
    if (waited + delayMs > options.maxTotalWaitMs) return { outcome, attempts: n };
    const event: RetryEvent = { attempt: n, delayMs, reason: verdict.reason, status: verdict.status, operation };
    options.onRetry?.(event);
    options.logger?.warn(
      { attempt: n, delayMs, status: verdict.status, reason: verdict.reason },
      `GitLab request failed, retrying (${operation}, attempt=${n}, delayMs=${delayMs})`,
    );
    await sleepUnlessAborted(options.sleep, delayMs, signal);
    waited += delayMs;
  }
}

/** Waits, but wakes up early when the signal aborts (the next round then stops). */
function sleepUnlessAborted(sleep: (ms: number) => Promise<void>, ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    sleep(ms).then(done, done);
  });
}

/**
 * Runs a whole transfer (a git fetch, an LFS object, a push) under the policy: an attempt that
 * ends with a retryable DomainError is tried again, after GitLab's Retry-After when it named one.
 * Resolves with the value, or rejects with the last error. A canceled `signal` stops at once.
 */
export async function retrying<T>(
  options: ResolvedRetryOptions,
  operation: string,
  attempt: () => Promise<T>,
  extra: { signal?: AbortSignal; onRetry?: (event: RetryEvent, error: unknown) => void } = {},
): Promise<T> {
  const { signal } = extra;
  let lastError: unknown = null;
  const policy = extra.onRetry
    ? { ...options, onRetry: (event: RetryEvent) => (options.onRetry?.(event), extra.onRetry!(event, lastError)) }
    : options;
  const judge = (result: { value: T } | { error: unknown }): AttemptVerdict => {
    if (!('error' in result) || signal?.aborted) return { retry: false };
    lastError = result.error;
    return judgeError(result.error);
  };
  const { outcome } = await withRetries(policy, operation, attempt, judge, signal);
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/** Judges a failed transfer by its DomainError (see gitlab.errors.ts): retryable or not, and how long GitLab asked to wait. */
export function judgeError(error: unknown): AttemptVerdict {
  if (!isDomainError(error) || !error.retryable) return { retry: false };
  const status =
    typeof error.details?.status === 'number'
      ? error.details.status
      : typeof error.details?.httpStatus === 'number'
        ? error.details.httpStatus
        : null;
  const delayMs = typeof error.details?.retryAfterMs === 'number' ? error.details.retryAfterMs : null;
  return {
    retry: true,
    reason: error.code === 'GITLAB_RATE_LIMITED' ? 'rate_limited' : 'unavailable',
    status,
    delayMs,
  };
}

export function backoffMs(
  options: Pick<ResolvedRetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
  attempt: number,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + options.random() * (ceiling / 2));
}

/**
 * The wait GitLab asks for after a 429, in ms, or null when it names none. `Retry-After` wins; then
 * `RateLimit-Reset` (GitLab: Unix seconds; small values are read as delta seconds, as the IETF
 * RateLimit draft defines them); then `RateLimit-ResetTime` (an HTTP date).
 */
export function requestedDelayMs(headers: Record<string, string>, nowMs: number): number | null {
  const retryAfter = headers['retry-after']?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - nowMs);
  }
  const reset = headers['ratelimit-reset']?.trim();
  if (reset && /^\d+$/.test(reset)) {
    const value = Number(reset);
    return value > 1_000_000_000 ? Math.max(0, value * 1000 - nowMs) : value * 1000;
  }
  const resetTime = headers['ratelimit-resettime']?.trim();
  if (resetTime) {
    const at = Date.parse(resetTime);
    if (!Number.isNaN(at)) return Math.max(0, at - nowMs);
  }
  return null;
}

/** Network failures after which the request may have reached GitLab. */
const RETRYABLE_NETWORK = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);
/** Network failures before any byte was sent: safe to retry any method. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN']);

/** Judges a transport failure (no answer at all). */
export function judgeFailure(error: unknown, idempotent: boolean): AttemptVerdict {
  const name = (error as { name?: unknown } | null)?.name;
  const code = (error as { code?: unknown } | null)?.code;
  if (name === 'TimeoutError') {
    return idempotent ? { retry: true, reason: 'unavailable', status: null, delayMs: null } : { retry: false };
  }
  const isSocketHangUp = error instanceof Error && /socket hang up/i.test(error.message);
  if (typeof code === 'string' && (RETRYABLE_NETWORK.has(code) || isSocketHangUp)) {
    if (idempotent || NOT_SENT.has(code)) return { retry: true, reason: 'unavailable', status: null, delayMs: null };
  }
  return { retry: false };
}

/** Judges an answer by its status. */
export function judgeStatus(
  status: number,
  headers: Record<string, string>,
  idempotent: boolean,
  nowMs: number,
): AttemptVerdict {
  if (status === 429) return { retry: true, reason: 'rate_limited', status, delayMs: requestedDelayMs(headers, nowMs) };
  if (idempotent && [500, 502, 503, 504].includes(status)) {
    // A 503 during maintenance may say when to come back.
    return { retry: true, reason: 'unavailable', status, delayMs: retryAfterOnly(headers, nowMs) };
  }
  return { retry: false };
}

/** Only an explicit Retry-After counts after a 5xx: GitLab sends RateLimit-* on every answer. */
function retryAfterOnly(headers: Record<string, string>, nowMs: number): number | null {
  const retryAfter = headers['retry-after'];
  return retryAfter ? requestedDelayMs({ 'retry-after': retryAfter }, nowMs) : null;
}
