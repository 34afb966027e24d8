/**
 * Uploading Git LFS objects to a restored project through the LFS Batch API (operation `upload`,
 * basic transfer; https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md):
 *
 * - the batch endpoint is asked about at most 100 objects at a time; an object the server already
 *   has comes back without `actions.upload` and is not sent again;
 * - each body is PUT to the action's href with only the action's headers (an LFS token, not our
 *   credentials), streamed from `open(oid)` (the decoded content), re-opened on a retry;
 * - when the server offers a `verify` action, it is POSTed `{oid, size}` afterwards;
 * - transient failures (network, 5xx, 429) are retried with backoff, honouring Retry-After.
 * Per-object problems end up in `failed`; refusals that concern the whole repository (401, 403,
 * 404 from the batch endpoint) throw. URLs in errors carry no query string or credentials.
 */
import { Readable } from 'node:stream';
import { DomainError, isDomainError, type DomainErrorCode } from '../shared/errors.js';
import { redact } from '../git/git.js';
import { lfsBatchUrl, retryAfterMs, safeUrl, type LfsPointer } from '../backup/lfs.js';
import { sleep } from '../shared/sleep.js';

export interface LfsUploadOptions {
  /** The target repository's git HTTP URL (http_url_to_repo). */
  repoHttpUrl: string;
  /** Basic-auth credentials for the batch endpoint (a user that may push). */
  auth: { username: string; password: string } | null;
  objects: LfsPointer[];
  /** The object's content, decoded (decrypted, decompressed). Called once per attempt. */
  open(oid: string): Promise<Readable>;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  /** Objects per batch request (≤ 100). */
  batchSize?: number;
  /** Tries per request (default 4). */
  attempts?: number;
  /** First backoff step (default 1 s), doubled per retry. */
  baseDelayMs?: number;
}

export interface LfsUploadResult {
  /** Oids sent to the server. */
  uploaded: string[];
  /** Oids the server already had. */
  present: string[];
  failed: { oid: string; reason: string }[];
  bytes: number;
}

const LFS_MEDIA_TYPE = 'application/vnd.git-lfs+json';
const OID = /^[0-9a-f]{64}$/;

class Transient extends Error {
  constructor(message: string, readonly waitMs: number | null = null) {
    super(message);
  }
}

const canceled = () => new DomainError('CANCELED', 'LFS upload was canceled');


interface Action {
  href: string;
  header: Record<string, string>;
}

function parseAction(value: unknown): Action | null {
  const action = value as { href?: unknown; header?: unknown } | undefined;
  if (!action || typeof action.href !== 'string' || !/^https?:\/\//i.test(action.href) || !URL.canParse(action.href)) return null;
  const header = Object.fromEntries(Object.entries((action.header as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]));
  return { href: action.href, header };
}

/** Headers fetch sets itself from the body (undici refuses a Transfer-Encoding header). */
const withoutFraming = (header: Record<string, string>) =>
  Object.fromEntries(Object.entries(header).filter(([name]) => !['transfer-encoding', 'content-length', 'connection'].includes(name.toLowerCase())));

export async function uploadLfsObjects(options: LfsUploadOptions): Promise<LfsUploadResult> {
  const doFetch = options.fetchImpl ?? fetch;
  const { signal } = options;
  const batchUrl = lfsBatchUrl(options.repoHttpUrl);
  const batchSize = Math.min(100, Math.max(1, options.batchSize ?? 100));
  const attempts = Math.max(1, options.attempts ?? 4);
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const authorization = options.auth ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` : null;
  const result: LfsUploadResult = { uploaded: [], present: [], failed: [], bytes: 0 };

  const unique = new Map<string, number>();
  for (const object of options.objects) {
    if (!OID.test(object.oid) || !Number.isSafeInteger(object.size) || object.size < 0) {
      result.failed.push({ oid: String(object.oid), reason: 'not a valid LFS pointer (oid or size)' });
    } else if (!unique.has(object.oid)) unique.set(object.oid, object.size);
  }
  const objects = [...unique.entries()].map(([oid, size]) => ({ oid, size }));

  async function withRetries<T>(what: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw canceled();
      try {
        return await what();
      } catch (error) {
        if (signal?.aborted) throw canceled();
        if (!(error instanceof Transient)) throw error;
        if (attempt >= attempts) throw new Transient(`${error.message} (after ${attempt} attempts)`);
        await sleep(error.waitMs ?? baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2), signal, canceled);
      }
    }
  }

  async function send(url: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await doFetch(url, { ...init, redirect: 'error', signal });
    } catch (error) {
      if (signal?.aborted) throw canceled();
      throw new Transient(`request to ${safeUrl(url)} failed: ${(error as Error).message}`);
    }
    if (response.status === 429 || (response.status >= 500 && response.status !== 501)) {
      await response.body?.cancel().catch(() => undefined);
      throw new Transient(`${safeUrl(url)} answered ${response.status}`, retryAfterMs(response.headers.get('retry-after')));
    }
    return response;
  }

  async function requestBatch(chunk: LfsPointer[]): Promise<Map<string, { upload: Action | null; verify: Action | null } | { error: string }>> {
    const headers: Record<string, string> = { Accept: LFS_MEDIA_TYPE, 'Content-Type': LFS_MEDIA_TYPE, 'User-Agent': 'labkeeper' };
    if (authorization) headers.Authorization = authorization;
    const body = JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: chunk, hash_algo: 'sha256' });
    const response = await withRetries(() => send(batchUrl, { method: 'POST', headers, body })).catch((error: unknown) => {
      if (error instanceof Transient) throw new DomainError('GITLAB_UNAVAILABLE', `LFS batch API: ${error.message}`, { retryable: true });
      throw error;
    });
    const text = await response.text();
    if (response.status !== 200) {
      let message = '';
      try {
        message = String((JSON.parse(text) as { message?: unknown }).message ?? '');
      } catch {
        message = text.trim().split('\n')[0] ?? '';
      }
      const code: DomainErrorCode =
        response.status === 401 ? 'GITLAB_UNAUTHORIZED'
        : response.status === 403 || response.status === 501 ? 'GITLAB_FORBIDDEN'
        : response.status === 404 ? 'GITLAB_NOT_FOUND'
        : 'GITLAB_BAD_RESPONSE';
      throw new DomainError(code, `LFS batch API ${safeUrl(batchUrl)} answered ${response.status}${message ? `: ${redact(message).slice(0, 300)}` : ''}`, { details: { status: response.status, lfs: true } });
    }
    let parsed: { transfer?: unknown; objects?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new DomainError('GITLAB_BAD_RESPONSE', `LFS batch API ${safeUrl(batchUrl)} answered with something that is not JSON`);
    }
    if (parsed.transfer !== undefined && parsed.transfer !== 'basic') {
      throw new DomainError('GITLAB_BAD_RESPONSE', `LFS batch API chose the transfer adapter ${JSON.stringify(parsed.transfer)}; only basic is supported`);
    }
    if (!Array.isArray(parsed.objects)) throw new DomainError('GITLAB_BAD_RESPONSE', `LFS batch API ${safeUrl(batchUrl)} answered without objects`);
    const out = new Map<string, { upload: Action | null; verify: Action | null } | { error: string }>();
    for (const entry of parsed.objects as Array<Record<string, unknown>>) {
      if (!entry || typeof entry.oid !== 'string') continue;
      const error = entry.error as { code?: unknown; message?: unknown } | undefined;
      if (error) {
        out.set(entry.oid, { error: `the batch API refused it (${String(error.code)}${error.message ? `: ${String(error.message).slice(0, 300)}` : ''})` });
        continue;
      }
      const actions = (entry.actions ?? {}) as { upload?: unknown; verify?: unknown };
      out.set(entry.oid, { upload: parseAction(actions.upload), verify: parseAction(actions.verify) });
    }
    return out;
  }

  async function uploadOne(object: LfsPointer, upload: Action, verify: Action | null): Promise<void> {
    await withRetries(async () => {
      const body = await options.open(object.oid);
      let response: Response;
      try {
        response = await send(upload.href, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/octet-stream', ...withoutFraming(upload.header), 'User-Agent': 'labkeeper' },
          body: body as unknown as BodyInit,
          duplex: 'half',
        } as RequestInit);
      } finally {
        body.destroy();
      }
      const text = await response.text().catch(() => '');
      if (response.status < 200 || response.status >= 300) {
        throw new DomainError('GITLAB_BAD_RESPONSE', `${safeUrl(upload.href)} answered ${response.status}${text ? `: ${redact(text.trim().split('\n')[0] ?? '').slice(0, 200)}` : ''}`);
      }
    });
    if (verify) {
      await withRetries(async () => {
        const response = await send(verify.href, {
          method: 'POST',
          headers: { Accept: LFS_MEDIA_TYPE, 'Content-Type': LFS_MEDIA_TYPE, ...withoutFraming(verify.header), 'User-Agent': 'labkeeper' },
          body: JSON.stringify({ oid: object.oid, size: object.size }),
        });
        await response.body?.cancel().catch(() => undefined);
        if (response.status !== 200) throw new DomainError('GITLAB_BAD_RESPONSE', `verification at ${safeUrl(verify.href)} answered ${response.status}`);
      });
    }
  }

  for (let start = 0; start < objects.length; start += batchSize) {
    if (signal?.aborted) throw canceled();
    const chunk = objects.slice(start, start + batchSize);
    const answers = await requestBatch(chunk);
    for (const object of chunk) {
      const answer = answers.get(object.oid);
      if (!answer) {
        result.failed.push({ oid: object.oid, reason: 'the batch API did not answer for it' });
      } else if ('error' in answer) {
        result.failed.push({ oid: object.oid, reason: answer.error });
      } else if (!answer.upload) {
        result.present.push(object.oid);
      } else {
        try {
          await uploadOne(object, answer.upload, answer.verify);
          result.uploaded.push(object.oid);
          result.bytes += object.size;
        } catch (error) {
          if (signal?.aborted || isDomainError(error, 'CANCELED')) throw canceled();
          result.failed.push({ oid: object.oid, reason: (error as Error).message });
        }
      }
    }
  }
  return result;
}
