/**
 * One request of git's smart-HTTP protocol (gitprotocol-http(5)), shared by the fetch side
 * (upload-pack.ts) and the push side (receive-pack.ts) so that both keep the same rules:
 *
 * - HTTP goes through the one GitLab transport (gitlab/gitlab-http.ts), with the connection's
 *   private CA trusted;
 * - credentials travel in the Authorization header only (never in URLs), and only to the origin
 *   the caller asked for: a redirect to another host, or from https to http, drops them;
 * - a canceled transfer fails as CANCELED before and after the request is opened; any other
 *   failure without an answer is mapped like the API's (a certificate error is not retried).
 *
 * The status of the answer is the caller's to check (upload-pack.ts `expectOk`).
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { toGitLabError, transferCanceled } from '../gitlab/gitlab.errors.js';
import { basicAuthorization, defaultGitLabHttp, type GitAuth, type GitLabHttp } from '../gitlab/gitlab-http.js';
import { redactSecrets } from '../gitlab/redact.js';
import { GitError } from './git.js';

export interface SmartHttpOptions {
  /** Basic credentials, sent to the origin of the URL the caller asked for only. */
  auth?: GitAuth | null;
  /** PEM of a private CA a self-managed instance's certificate is signed by (trusted besides the public roots). */
  caCertificate?: string | null;
  signal?: AbortSignal;
  /** Sent as User-Agent and as git's `agent=` capability; default "labkeeper". */
  userAgent?: string;
  /** The application's GitLab transport; default the shared one. */
  http?: GitLabHttp;
}

export interface SmartHttpRequest {
  service: 'git-upload-pack' | 'git-receive-pack';
  method: 'GET' | 'POST';
  /** Where the request goes: info/refs?service=…, or the service's endpoint after redirects. */
  target: string;
  /** What the caller asked for (…/project.git): credentials only go to its origin. */
  originalUrl: string;
  /** The request body (a POST's): sent as it is, a stream as it comes. */
  body?: Buffer | AsyncIterable<Buffer>;
  /** Headers the protocol version adds (`Git-Protocol: version=2`). */
  headers?: Record<string, string>;
  /** Names the transfer in a cancellation: "git push" → "git push was canceled". */
  operation: string;
}

/** Opens one smart-HTTP request and resolves with the answer, whatever its status. */
export async function openSmartHttp(request: SmartHttpRequest, options: SmartHttpOptions): Promise<IncomingMessage> {
  const { service, method, target, originalUrl, body, operation } = request;
  const url = new URL(target);
  const original = new URL(originalUrl);
  const sameHost = original.host === url.host && !(original.protocol === 'https:' && url.protocol !== 'https:');
  const headers: Record<string, string> = {
    ...request.headers,
    'User-Agent': gitAgent(options),
    Accept: method === 'GET' ? '*/*' : `application/x-${service}-result`,
    ...(body ? { 'Content-Type': `application/x-${service}-request` } : {}),
  };
  if (options.auth && sameHost) headers.Authorization = basicAuthorization(options.auth);
  const http = options.http ?? defaultGitLabHttp();
  if (options.signal?.aborted) throw transferCanceled(operation);
  try {
    return await http.transport(options.caCertificate).open({
      method,
      url,
      headers,
      body: body === undefined || Buffer.isBuffer(body) ? body : Readable.from(body, { objectMode: false }),
      signal: options.signal,
      idleTimeoutMs: http.idleTimeoutMs,
    });
  } catch (error) {
    if (options.signal?.aborted) throw transferCanceled(operation);
    throw transportError(error, target, options.signal);
  }
}

/** What Labkeeper calls itself to a git server (User-Agent, `agent=`). */
export function gitAgent(options: SmartHttpOptions): string {
  return options.userAgent ?? 'labkeeper';
}

/** A failure without an answer: canceled, or the network / TLS error mapped like the API's (a certificate is not retried). */
export function transportError(error: unknown, target: string, signal?: AbortSignal): Error {
  if (signal?.aborted) return transferCanceled('git transfer');
  const mapped = toGitLabError(error, { operation: `git transfer from ${redactUrl(target)}` });
  if (mapped.details?.tlsError || mapped.details?.proxyStatus) return mapped;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return new GitError(
    'GITLAB_UNAVAILABLE',
    `git transfer from ${redactUrl(target)} failed: ${code || (error as Error).message} (Connection reset or refused)`,
    {
      retryable: mapped.retryable || mapped.code === 'GITLAB_BAD_RESPONSE',
      details: mapped.details,
    },
  );
}

/** A URL for messages: no credentials, no query. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return redactSecrets(url);
  }
}
