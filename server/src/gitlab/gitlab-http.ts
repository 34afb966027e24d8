/**
 * The one HTTP transport to GitLab: every byte Labkeeper exchanges with a GitLab instance — REST
 * (gitbeaker's requester), OAuth, the LFS Batch API and LFS objects, git's smart HTTP (protocol v2
 * fetch) — goes through one `GitLabHttp`, which holds
 * - one keep-alive agent per custom CA (TransportPool), so a private CA is trusted everywhere;
 * - one retry policy (retry-policy.ts): Retry-After, backoff with jitter, a per-attempt deadline,
 *   a total wait budget; redirects are never followed (answers 3xx go to the caller);
 * - one way to renew a token GitLab rejects (`withRenewal`): once per exchange, on 401.
 * Errors map through gitlab.errors.ts; texts are cleaned by redact.ts.
 *
 * The application builds one and hands it to every factory and transfer; tests and tools that
 * build none share `defaultGitLabHttp()`.
 */
import type { ProxySettings } from '../shared/http-proxy.js';
import { isDomainError } from '../shared/errors.js';
import type { GitLabAccess } from './gitlab.port.js';
import { createRequesterFn, type ObservedAnswer, type RequesterFn } from './gitbeaker.requester.js';
import { TransportPool, type PooledTransport } from './http-transport.js';
import {
  resolveRetryOptions,
  retrying,
  type ResolvedRetryOptions,
  type RetryEvent,
  type RetryOptions,
} from './retry-policy.js';

/**
 * Told about every exchange of the transport, for metrics: observers count, they never throw or
 * wait (a throwing observer is ignored).
 */
export interface GitLabHttpObserver {
  /** One attempt ended: GitLab's HTTP status, or null when no answer came (timeout, network). */
  answered(event: { method: string; status: number | null }): void;
  /** One retry is about to wait (`reason` rate_limited for a 429, with the Retry-After wait). */
  retried(event: RetryEvent): void;
}

export interface GitLabHttpOptions extends RetryOptions {
  /** Metrics' ears on the transport (one observer for the process). */
  observer?: GitLabHttpObserver;
  /** Deadline of one buffered HTTP attempt, connect to last byte. Default 30 s. */
  requestTimeoutMs?: number;
  /** Pages one listing may take before it is treated as a pagination loop. Default 10,000 (1M items). */
  maxPages?: number;
  /** A transfer (git, LFS object) that moves no byte for this long is given up and retried. Default 5 min. */
  idleTimeoutMs?: number;
  /** The outbound proxy to GitLab (HTTPS_PROXY, HTTP_PROXY, NO_PROXY); none by default. */
  proxy?: ProxySettings | null;
}

export class GitLabHttp {
  readonly retry: ResolvedRetryOptions;
  readonly requestTimeoutMs: number;
  readonly maxPages: number;
  readonly idleTimeoutMs: number;
  readonly proxy: ProxySettings | null;
  private readonly pool: TransportPool;

  private readonly observer: GitLabHttpObserver | null;

  constructor(options: GitLabHttpOptions = {}) {
    const observer = options.observer ?? null;
    this.observer = observer;
    const onRetry = options.onRetry;
    this.retry = resolveRetryOptions({
      ...options,
      onRetry:
        observer || onRetry
          ? (event) => {
              onRetry?.(event);
              quietly(() => observer?.retried(event));
            }
          : undefined,
    });
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxPages = options.maxPages ?? 10_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 5 * 60_000;
    this.proxy = options.proxy ?? null;
    this.pool = new TransportPool(this.proxy);
  }

  /** The shared instance when one is given, else a new one with these options. */
  static of(options: GitLabHttpOptions & { http?: GitLabHttp } = {}): GitLabHttp {
    return options.http ?? new GitLabHttp(options);
  }

  /** The transport (buffered and streamed exchanges) that trusts `caCertificate` besides the public roots. */
  transport(caCertificate?: string | null): PooledTransport {
    const transport = this.pool.get(caCertificate ?? null);
    return this.observer ? observed(transport, this.observer) : transport;
  }

  /** gitbeaker's requester for one access: the token is read at each request and renewed on 401. */
  requesterFn(access: GitLabAccess, onAnswer?: (answer: ObservedAnswer) => void): RequesterFn {
    return createRequesterFn({
      transport: this.transport(access.caCertificate),
      retry: this.retry,
      requestTimeoutMs: this.requestTimeoutMs,
      access,
      onAnswer,
    });
  }

  /**
   * Runs a whole transfer (git fetch, LFS object, push) under the retry policy, with the same
   * budget as an API request: a retryable GITLAB_* error is tried again, after GitLab's
   * Retry-After when it named one (see retry-policy.ts `retrying`).
   */
  retrying<T>(
    operation: string,
    attempt: () => Promise<T>,
    options: { signal?: AbortSignal; onRetry?: (event: RetryEvent, error: unknown) => void } | AbortSignal = {},
  ): Promise<T> {
    return retrying(this.retry, operation, attempt, options instanceof AbortSignal ? { signal: options } : options);
  }

  /** Destroys the custom CAs' agents; later calls create fresh ones. */
  close(): void {
    this.pool.close();
  }
}

function quietly(tell: () => void): void {
  try {
    tell();
  } catch {
    // metrics never break a transfer
  }
}

/** The transport, telling the observer how each attempt ended. */
function observed(transport: PooledTransport, observer: GitLabHttpObserver): PooledTransport {
  const tell = (method: string, status: number | null) => quietly(() => observer.answered({ method, status }));
  const buffered = async (exchange: Parameters<PooledTransport>[0]) => {
    try {
      const answer = await transport(exchange);
      tell(exchange.method, answer.status);
      return answer;
    } catch (error) {
      tell(exchange.method, null);
      throw error;
    }
  };
  return Object.assign(buffered, {
    open: async (exchange: Parameters<PooledTransport['open']>[0]) => {
      try {
        const response = await transport.open(exchange);
        tell(exchange.method, response.statusCode ?? null);
        return response;
      } catch (error) {
        tell(exchange.method, null);
        throw error;
      }
    },
    close: () => transport.close(),
  });
}

let shared: GitLabHttp | null = null;

/** The instance for callers given none (tests, tools): default policy, agents kept for the process. */
export function defaultGitLabHttp(): GitLabHttp {
  return (shared ??= new GitLabHttp());
}

/**
 * Basic-auth credentials for git over HTTP and the LFS API. `renew`, when present, replaces
 * `password` after GitLab rejected it (OAuth refresh) and resolves with the new one.
 */
export interface GitAuth {
  username: string;
  password: string;
  renew?: (rejected: string) => Promise<string>;
  /** PEM of the connection's private CA (git command and protocol v2 client). */
  caCertificate?: string | null;
  /** The outbound proxy to GitLab, for the git command (the protocol v2 client's transport has its own). */
  proxy?: ProxySettings | null;
}

/** Git's credentials for an access: `oauth2` + the token (GitLab ignores the login for PATs), renewed with it. */
export function gitAuthOf(access: GitLabAccess, http?: GitLabHttp): GitAuth & { caCertificate: string | null } {
  const auth: GitAuth & { caCertificate: string | null } = {
    username: 'oauth2',
    password: access.token,
    caCertificate: access.caCertificate ?? null,
    proxy: http?.proxy ?? null,
  };
  if (access.renew) {
    const renew = access.renew.bind(access);
    auth.renew = async (rejected) => {
      await renew(rejected);
      auth.password = access.token;
      return access.token;
    };
  }
  return auth;
}

/** The Authorization header of Basic credentials. */
export function basicAuthorization(auth: Pick<GitAuth, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/**
 * Runs `attempt` with the current secret; when it fails with GITLAB_UNAUTHORIZED and the secret
 * can be renewed, renews it once (the connection's OAuth refresh, under its row lock: parallel
 * transfers that all got 401 refresh once) and runs it again with the new one.
 */
export async function withRenewal<T>(
  credentials: { readonly password: string; renew?: (rejected: string) => Promise<string> } | null | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  const used = credentials?.password;
  try {
    return await attempt();
  } catch (error) {
    if (!credentials?.renew || used === undefined || !isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
    await credentials.renew(used);
    return attempt();
  }
}
