/**
 * GitLab's Git LFS Batch API client (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md,
 * basic transfer), for downloads (backups) and uploads (restores), on the one GitLab transport:
 * the connection's private CA is trusted, its retry policy applies, a 401 renews the token once.
 *
 * - `batch` asks `<repo>.git/info/lfs/objects/batch` about at most 100 objects. Answers other
 *   than 200 map through gitlab.errors.ts (401 → GITLAB_UNAUTHORIZED, 403/501 → GITLAB_FORBIDDEN
 *   — GitLab answers so when LFS is off —, 404 → GITLAB_NOT_FOUND); 429 and 5xx are retried,
 *   honouring Retry-After; redirects of the batch endpoint are refused.
 * - Object transfers (`download`, `upload`, `verify`) go to the action's href with the action's
 *   headers only (an LFS token or a pre-signed URL: never our credentials — a pre-signed URL
 *   refuses a second auth mechanism, and the href may be another host). One attempt each: the
 *   caller retries whole objects through `retrying` (same policy), because a body has to be
 *   re-read. A download follows redirects (object storage), dropping Authorization across origins.
 * Errors and logs carry oids, statuses and URLs without query strings, never credentials.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { DomainError } from '../shared/errors.js';
import { badPayload, fromTransferFailure, toGitLabError, transferCanceled } from './gitlab.errors.js';
import { basicAuthorization, defaultGitLabHttp, withRenewal, type GitAuth, type GitLabHttp } from './gitlab-http.js';
import { bareUrl } from './redact.js';

export interface LfsObjectRef {
  /** sha256 of the content, 64 lowercase hex digits. */
  oid: string;
  size: number;
}

export interface LfsAction {
  href: string;
  header: Record<string, string>;
  /** ms since epoch after which the action must not be used, or null. */
  expiresAt: number | null;
}

/** What the batch endpoint said about one object. */
export type LfsBatchEntry =
  | { error: { code: number; message: string } }
  | { actions: { download?: LfsAction; upload?: LfsAction; verify?: LfsAction } };

export interface LfsBatchClientOptions {
  /** The repository's git HTTP URL (GitLab's http_url_to_repo). */
  repoHttpUrl: string;
  /** Basic-auth credentials for the batch endpoint (oauth2 + OAuth token, or any user + PAT); null: anonymous. */
  auth: GitAuth | null;
  /** PEM of the connection's private CA, trusted besides the public roots. */
  caCertificate?: string | null;
  /** The application's transport; default the shared one. */
  http?: GitLabHttp;
  signal?: AbortSignal;
}

const LFS_MEDIA_TYPE = 'application/vnd.git-lfs+json';
const USER_AGENT = 'labkeeper';
const MAX_REDIRECTS = 5;
/** Headers node sets itself from the body we send. */
const FRAMING = ['transfer-encoding', 'content-length', 'connection'];

/** The LFS endpoint of a git HTTP remote (spec: "append /info/lfs to the remote URL"; GitLab's end in .git). */
export function lfsBatchUrl(repoHttpUrl: string): string {
  const url = new URL(repoHttpUrl);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  let path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('.git')) path += '.git';
  url.pathname = `${path}/info/lfs/objects/batch`;
  return url.toString();
}

export class LfsBatchClient {
  readonly batchUrl: string;
  private readonly http: GitLabHttp;

  constructor(private readonly options: LfsBatchClientOptions) {
    this.batchUrl = lfsBatchUrl(options.repoHttpUrl);
    this.http = options.http ?? defaultGitLabHttp();
  }

  /** Runs a whole object transfer under the transport's retry policy; cancellation stops it. */
  async retrying<T>(operation: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await this.http.retrying(operation, attempt, this.options.signal);
    } catch (error) {
      if (this.options.signal?.aborted) throw transferCanceled('LFS transfer');
      throw error;
    }
  }

  /** Asks the batch endpoint about `objects` (≤ 100); throws DomainError for what concerns the whole repository. */
  async batch(operation: 'download' | 'upload', objects: LfsObjectRef[]): Promise<Map<string, LfsBatchEntry>> {
    const body = JSON.stringify({
      operation,
      transfers: ['basic'],
      objects: objects.map(({ oid, size }) => ({ oid, size })),
      hash_algo: 'sha256',
    });
    const text = await this.retrying(`POST ${this.batchUrl}`, () =>
      withRenewal(this.options.auth, () => this.postBatch(body)),
    );
    return parseBatch(text.body, text.started, this.batchUrl);
  }

  private async postBatch(body: string): Promise<{ body: string; started: number }> {
    const headers: Record<string, string> = {
      accept: LFS_MEDIA_TYPE,
      'content-type': LFS_MEDIA_TYPE,
      'user-agent': USER_AGENT,
    };
    if (this.options.auth) headers.authorization = basicAuthorization(this.options.auth);
    const response = await this.open({ method: 'POST', url: this.batchUrl, headers, body });
    const started = Date.now();
    const text = await readText(response).catch(() => {
      throw new DomainError('GITLAB_UNAVAILABLE', `LFS batch API ${bareUrl(this.batchUrl)}: the answer was cut off`, {
        retryable: true,
      });
    });
    const status = response.statusCode ?? 0;
    if (status !== 200) {
      const failure = {
        status,
        headers: flatHeaders(response),
        body: parseJson(text) ?? text,
        text: lfsMessage(text, status),
      };
      throw fromTransferFailure(failure, `LFS batch API ${bareUrl(this.batchUrl)} answered ${status}`);
    }
    return { body: text, started };
  }

  /**
   * The body of a download action (status 200), for the caller to read or destroy. Throws
   * GITLAB_NOT_FOUND for 404/410 (the object is gone), GITLAB_UNAUTHORIZED/FORBIDDEN for 401/403 (an
   * expired LFS token or URL: ask `batch` again), retryable errors for 429/5xx and broken connections.
   */
  async download(action: LfsAction): Promise<{ body: IncomingMessage; url: string }> {
    let url = action.href;
    let headers: Record<string, string> = { ...action.header, 'user-agent': USER_AGENT };
    for (let hop = 0; ; hop++) {
      const response = await this.open({ method: 'GET', url, headers });
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location && hop < MAX_REDIRECTS) {
        response.resume();
        const next = new URL(location, url);
        if (next.origin !== new URL(url).origin)
          headers = Object.fromEntries(
            Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'),
          );
        url = next.toString();
        continue;
      }
      if (status === 200) return { body: response, url };
      await this.failed(response, url);
    }
  }

  /** PUTs `size` bytes of `body` to an upload action's href. */
  async upload(action: LfsAction, body: Readable, size: number): Promise<void> {
    const headers = {
      'content-type': 'application/octet-stream',
      ...withoutFraming(action.header),
      'content-length': String(size),
      'user-agent': USER_AGENT,
    };
    const response = await this.open({ method: 'PUT', url: action.href, headers, body });
    if ((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300) return void response.resume();
    await this.failed(response, action.href);
  }

  /** POSTs `{oid, size}` to a verify action's href. */
  async verify(action: LfsAction, object: LfsObjectRef): Promise<void> {
    const headers = {
      accept: LFS_MEDIA_TYPE,
      'content-type': LFS_MEDIA_TYPE,
      ...withoutFraming(action.header),
      'user-agent': USER_AGENT,
    };
    const response = await this.open({
      method: 'POST',
      url: action.href,
      headers,
      body: JSON.stringify({ oid: object.oid, size: object.size }),
    });
    if (response.statusCode === 200) return void response.resume();
    await this.failed(response, `verification at ${action.href}`);
  }

  private async failed(response: IncomingMessage, what: string): Promise<never> {
    const status = response.statusCode ?? 0;
    const text = await readText(response, 2048).catch(() => '');
    const url = what.startsWith('verification at ') ? `verification at ${bareUrl(what.slice(16))}` : bareUrl(what);
    throw fromTransferFailure(
      { status, headers: flatHeaders(response), body: parseJson(text) ?? text, text: lfsMessage(text, status) },
      `${url} answered ${status}`,
    );
  }

  private async open(request: {
    method: string;
    url: string;
    headers: Record<string, string>;
    body?: string | Readable;
  }): Promise<IncomingMessage> {
    const { signal } = this.options;
    if (signal?.aborted) throw transferCanceled('LFS transfer');
    try {
      return await this.http
        .transport(this.options.caCertificate)
        .open({ ...request, url: new URL(request.url), signal, idleTimeoutMs: this.http.idleTimeoutMs });
    } catch (error) {
      if (signal?.aborted) throw transferCanceled('LFS transfer');
      throw toGitLabError(error, { operation: `${request.method} ${bareUrl(request.url)}` });
    }
  }
}

function parseBatch(text: string, started: number, batchUrl: string): Map<string, LfsBatchEntry> {
  let parsed: { transfer?: unknown; objects?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw badPayload('not JSON', { operation: `LFS batch API ${bareUrl(batchUrl)}` });
  }
  if (parsed.transfer !== undefined && parsed.transfer !== 'basic') {
    throw new DomainError(
      'GITLAB_BAD_RESPONSE',
      `LFS batch API chose the transfer adapter ${JSON.stringify(parsed.transfer)}; only basic is supported`,
    );
  }
  if (!Array.isArray(parsed.objects))
    throw badPayload('no objects', { operation: `LFS batch API ${bareUrl(batchUrl)}` });
  const out = new Map<string, LfsBatchEntry>();
  for (const entry of parsed.objects as Array<Record<string, unknown>>) {
    if (!entry || typeof entry.oid !== 'string') continue;
    const error = entry.error as { code?: unknown; message?: unknown } | undefined;
    if (error) {
      out.set(entry.oid, {
        error: {
          code: Number(error.code),
          message: (typeof error.message === 'string' ? error.message : '').slice(0, 300),
        },
      });
      continue;
    }
    const actions = (entry.actions ?? {}) as Record<string, unknown>;
    const parsedActions: Record<string, LfsAction> = {};
    for (const name of ['download', 'upload', 'verify']) {
      const action = parseAction(actions[name], started);
      if (action) parsedActions[name] = action;
    }
    out.set(entry.oid, { actions: parsedActions });
  }
  return out;
}

function parseAction(value: unknown, started: number): LfsAction | null {
  const action = value as { href?: unknown; header?: unknown; expires_at?: unknown; expires_in?: unknown } | undefined;
  if (!action || typeof action.href !== 'string' || !/^https?:\/\//i.test(action.href) || !URL.canParse(action.href))
    return null;
  const header = Object.fromEntries(
    Object.entries((action.header as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]),
  );
  const expiresAt =
    typeof action.expires_at === 'string' && !Number.isNaN(Date.parse(action.expires_at))
      ? Date.parse(action.expires_at)
      : typeof action.expires_in === 'number' && action.expires_in > 0
        ? started + action.expires_in * 1000
        : null;
  return { href: action.href, header, expiresAt };
}

/** GitLab's text of a failed LFS answer: the JSON `message`, else the first line (nothing for a bare 401). */
function lfsMessage(text: string, status: number): string {
  const json = parseJson(text) as { message?: unknown } | null;
  if (json && typeof json === 'object' && 'message' in json)
    return typeof json.message === 'string' ? json.message : '';
  return status === 401 ? '' : (text.trim().split('\n')[0] ?? '');
}

const withoutFraming = (header: Record<string, string>) =>
  Object.fromEntries(Object.entries(header).filter(([name]) => !FRAMING.includes(name.toLowerCase())));

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function flatHeaders(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers))
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

async function readText(response: IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      response.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
