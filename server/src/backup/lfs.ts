/**
 * Git LFS objects of a repository, without git-lfs: the pointers are found with git plumbing in
 * the bare mirror, and the objects are fetched through the LFS Batch API
 * (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md, basic transfer) over HTTP.
 *
 * Finding pointers does what `git lfs fetch --all` does: every blob reachable from the refs that
 * is smaller than 1024 bytes (git-lfs' blobSizeCutoff) and parses as a pointer, whatever
 * .gitattributes says (attributes change over history; pointers stay). The parser follows the
 * spec (docs/spec.md) strictly, so a text file that merely looks like a pointer is not one.
 *
 * Downloading asks the batch endpoint (`<repo>.git/info/lfs/objects/batch`) for at most 100
 * objects at a time, just before downloading them (the actions GitLab hands out carry a 2-hour
 * LFS token; object storage hands out 1-hour pre-signed URLs), and streams each body through a
 * verifier into the caller's sink: a body whose size or sha256 differs from the pointer errors
 * before it ends, so an atomic sink (ArtifactStore.put) never keeps it. Only the headers of the
 * action are sent to its href (never our credentials: a pre-signed URL refuses a second auth
 * mechanism, and the href may be another host). Transient failures (network, 5xx, 429) are
 * retried with backoff, honouring Retry-After; an action refused with 401/403 (expired token or
 * URL) is renewed by asking the batch endpoint again. Errors and logs carry oids, statuses and
 * URLs without query strings, never credentials or signatures.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { DomainError, type DomainErrorCode } from '../shared/errors.js';
import { GitError, redact } from '../git/git.js';
import { sleep } from '../shared/sleep.js';

export interface LfsPointer {
  /** sha256 of the content, 64 lowercase hex digits. */
  oid: string;
  /** Bytes of the content. */
  size: number;
}

// The storage layout of LFS objects is part of the snapshot format: snapshot/lfs-layout.ts.
export { lfsKey } from '../snapshot/lfs-layout.js';

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

// ---- pointers ---------------------------------------------------------------------------------

const OID = /^[0-9a-f]{64}$/;
/** git-lfs reads blobs below this size as possible pointers (lfs/scanner.go blobSizeCutoff). */
export const POINTER_MAX_SIZE = 1024;
/** The versions git-lfs accepts: the current one and the pre-release "hawser" one. */
const VERSIONS = new Set(['https://git-lfs.github.com/spec/v1', 'https://hawser.github.com/spec/v1']);
/** The shortest possible pointer (version, oid, `size 0`): anything smaller is not one. */
const POINTER_MIN_SIZE = Math.min(...[...VERSIONS].map((v) => Buffer.byteLength(`version ${v}\noid sha256:${'0'.repeat(64)}\nsize 0\n`)));

/**
 * Parses a pointer file per the spec, or returns null: UTF-8 lines `key value\n` (LF only, one
 * space), keys of [a-z0-9.-], `version` first and one of the known URLs, the other keys sorted
 * and unique, `oid sha256:<64 lowercase hex>` and a decimal `size` required, a final newline.
 */
export function parseLfsPointer(bytes: Buffer): LfsPointer | null {
  if (bytes.length < POINTER_MIN_SIZE || bytes.length >= POINTER_MAX_SIZE) return null;
  if (bytes[bytes.length - 1] !== 0x0a) return null;
  const text = bytes.toString('utf8');
  if (Buffer.byteLength(text) !== bytes.length || text.includes('\r') || text.includes('\0')) return null; // not valid UTF-8, or CR / NUL
  const lines = text.slice(0, -1).split('\n');
  let previous = '';
  const values = new Map<string, string>();
  for (const [index, line] of lines.entries()) {
    const space = line.indexOf(' ');
    if (space <= 0) return null;
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (!/^[a-z0-9.-]+$/.test(key) || value.length === 0 || value.startsWith(' ')) return null;
    if (index === 0) {
      if (key !== 'version' || !VERSIONS.has(value)) return null;
    } else {
      if (key === 'version' || (index > 1 && key <= previous)) return null;
      previous = key;
    }
    values.set(key, value);
  }
  const oid = /^sha256:([0-9a-f]{64})$/.exec(values.get('oid') ?? '')?.[1];
  const size = values.get('size') ?? '';
  if (!oid || !/^\d{1,15}$/.test(size)) return null;
  return { oid, size: Number(size) };
}

const GIT_ENV = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '/tmp',
  GIT_TERMINAL_PROMPT: '0',
  LC_ALL: 'C',
});

interface GitProcess {
  child: ChildProcessWithoutNullStreams;
  done: Promise<void>;
}

function startGit(args: string[], cwd: string, signal?: AbortSignal): GitProcess {
  const child = spawn('git', args, { cwd, env: GIT_ENV(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-16 * 1024);
  });
  child.stdin.on('error', () => undefined);
  const onAbort = () => child.kill('SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(canceled());
      else if (code !== 0) reject(new GitError('GIT_FAILED', `git ${args[0]} failed: ${redact(stderr.trim().split('\n').slice(-3).join(' | ')) || `exit code ${code}`}`, { details: { exitCode: code } }));
      else resolve();
    });
  });
  return { child, done };
}

async function* lines(stream: Readable): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of stream) {
    pending += (chunk as Buffer).toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop()!;
    yield* parts;
  }
  if (pending) yield pending;
}

/** The names (refs, shas) in `names` that resolve to an object in the repository. */
async function existing(mirrorDir: string, names: string[], signal?: AbortSignal): Promise<string[]> {
  if (names.length === 0) return [];
  const check = startGit(['cat-file', '--batch-check=%(objectname)'], mirrorDir, signal);
  check.child.stdin.end(`${names.join('\n')}\n`);
  const out: string[] = [];
  for await (const line of lines(check.child.stdout)) out.push(line);
  await check.done;
  return names.filter((_, i) => out[i] !== undefined && !out[i]!.endsWith(' missing'));
}

/**
 * LFS pointers reachable from `refs` (ref names or object ids) in a bare repository, and not from
 * `exclude` (the previous snapshot's tips, for an incremental: the result then holds the pointers
 * its bundle introduces; excluded names the repository lacks are ignored). One entry per oid,
 * sorted by oid. Two processes stream into each other: `rev-list --objects
 * --filter=blob:limit=1024` → `cat-file --batch-check`; then `cat-file --batch` reads the
 * candidate blobs.
 */
export async function findLfsPointers(mirrorDir: string, refs: string[], exclude: string[] = [], options: { signal?: AbortSignal } = {}): Promise<LfsPointer[]> {
  const { signal } = options;
  const include = [...new Set(refs)].filter((r) => r.length > 0);
  if (include.length === 0) return [];
  for (const name of [...include, ...exclude]) {
    if (name.startsWith('-') || /[\s\0]/.test(name)) throw new DomainError('VALIDATION_FAILED', `not a ref or object id: ${JSON.stringify(name.slice(0, 80))}`);
  }
  const negative = await existing(mirrorDir, [...new Set(exclude)], signal);

  // 1. Small blobs reachable from the refs.
  const revList = startGit(['rev-list', '--objects', '--no-object-names', `--filter=blob:limit=${POINTER_MAX_SIZE}`, '--stdin'], mirrorDir, signal);
  const check = startGit(['cat-file', '--batch-check=%(objecttype) %(objectname) %(objectsize)'], mirrorDir, signal);
  revList.child.stdout.pipe(check.child.stdin);
  revList.child.stdin.end(`${[...include, ...negative.map((n) => `^${n}`)].join('\n')}\n`);
  const candidates: string[] = [];
  const reading = (async () => {
    for await (const line of lines(check.child.stdout)) {
      const [type, name, size] = line.split(' ');
      if (type === 'blob' && Number(size) >= POINTER_MIN_SIZE && Number(size) < POINTER_MAX_SIZE) candidates.push(name!);
    }
  })();
  try {
    await Promise.all([revList.done, check.done, reading]);
  } catch (error) {
    revList.child.kill('SIGKILL');
    check.child.kill('SIGKILL');
    throw error;
  }
  if (candidates.length === 0) return [];

  // 2. Their contents, parsed.
  const found = new Map<string, number>();
  const batch = startGit(['cat-file', '--batch'], mirrorDir, signal);
  batch.child.stdin.end(`${candidates.join('\n')}\n`);
  const parsing = (async () => {
    let buffer: Buffer = Buffer.alloc(0);
    let want: number | null = null; // bytes of content + LF still to come for the current object
    for await (const chunk of batch.child.stdout) {
      buffer = buffer.length === 0 ? (chunk as Buffer) : Buffer.concat([buffer, chunk as Buffer]);
      for (;;) {
        if (want === null) {
          const nl = buffer.indexOf(0x0a);
          if (nl < 0) break;
          const header = buffer.subarray(0, nl).toString('utf8').split(' ');
          buffer = buffer.subarray(nl + 1);
          if (header[1] === 'missing') continue;
          want = Number(header[2]) + 1;
        } else {
          if (buffer.length < want) break;
          const pointer = parseLfsPointer(buffer.subarray(0, want - 1));
          if (pointer && !found.has(pointer.oid)) found.set(pointer.oid, pointer.size);
          buffer = buffer.subarray(want);
          want = null;
        }
      }
    }
  })();
  try {
    await Promise.all([batch.done, parsing]);
  } catch (error) {
    batch.child.kill('SIGKILL');
    throw error;
  }
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([oid, size]) => ({ oid, size }));
}

// ---- downloads --------------------------------------------------------------------------------

export interface LfsDownloadOptions {
  /** The repository's git HTTP URL (GitLab's http_url_to_repo). */
  repoHttpUrl: string;
  /** Basic-auth credentials for the batch endpoint (oauth2 + OAuth token, or any user + PAT); null: anonymous. */
  auth: { username: string; password: string } | null;
  objects: LfsPointer[];
  /**
   * Consumes one object's verified body (e.g. `store.put(lfsKey(…), body)`). The body errors
   * instead of ending when its bytes do not match the pointer; the sink must then reject and keep
   * nothing. It may be called again for the same oid after a failed attempt. A sink rejection
   * that is not the body's own error stops the whole download (storage trouble is the caller's).
   */
  sink(oid: string, size: number, body: Readable): Promise<void>;
  signal?: AbortSignal;
  /** Objects settled (any outcome) and bytes received so far. */
  onProgress?(done: number, bytes: number): void;
  fetchImpl?: typeof fetch;
  /** Objects per batch request (≤ 100, git-lfs' and GitLab's batch size). */
  batchSize?: number;
  /** Parallel object downloads (default 4). */
  concurrency?: number;
  /** Tries per request before giving up (default 5). */
  attempts?: number;
  /** First backoff step (default 1 s), doubled per retry, ±25 % jitter. */
  baseDelayMs?: number;
  /** Longest wait a Retry-After may impose (default 10 min); longer ones are capped. */
  maxRetryAfterMs?: number;
  logger?: { warn(object: Record<string, unknown>, message: string): void };
}

export interface LfsDownloadResult {
  /** Objects handed to the sink and verified. */
  downloaded: number;
  bytes: number;
  /** Oids the server does not have (batch error 404/410, or a 404 from the download). */
  missing: string[];
  /** Oids that could not be fetched intact: content that does not match the pointer, or errors after every retry. */
  failed: { oid: string; reason: string }[];
}

interface Action {
  href: string;
  header: Record<string, string>;
  /** ms since epoch after which the action must not be used, or null. */
  expiresAt: number | null;
}

const LFS_MEDIA_TYPE = 'application/vnd.git-lfs+json';
const EXPIRY_MARGIN_MS = 30_000;
const PROGRESS_STEP = 1024 * 1024;

const canceled = () => new DomainError('CANCELED', 'LFS transfer was canceled');

/** scheme://host/path of a URL: no credentials, query (pre-signed URLs carry signatures there) or fragment. */
export function safeUrl(href: string): string {
  try {
    const url = new URL(href);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

/** Milliseconds a Retry-After header asks for (delta-seconds or HTTP-date), or null. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}


class TransientError extends Error {
  constructor(
    message: string,
    readonly waitMs: number | null = null,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** Streams `size` bytes through, erroring (instead of ending) when the size or sha256 differ. */
class Verifier extends Transform {
  private readonly hash = createHash('sha256');
  received = 0;
  mismatch: string | null = null;
  verified = false;

  constructor(
    private readonly oid: string,
    private readonly size: number,
    private readonly onBytes: (n: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.size) {
      this.mismatch = `size mismatch: more than the pointer's ${this.size} bytes`;
      return callback(corrupt(this.oid, this.mismatch));
    }
    this.hash.update(chunk);
    this.onBytes(chunk.length);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.received !== this.size) {
      this.mismatch = `size mismatch: ${this.received} bytes, the pointer says ${this.size}`;
      return callback(corrupt(this.oid, this.mismatch));
    }
    const sha = this.hash.digest('hex');
    if (sha !== this.oid) {
      this.mismatch = `sha256 mismatch: the content hashes to ${sha}`;
      return callback(corrupt(this.oid, this.mismatch));
    }
    this.verified = true;
    callback();
  }
}

const corrupt = (oid: string, reason: string) => new DomainError('ARTIFACT_CORRUPT', `LFS object ${oid}: ${reason}`, { details: { oid } });

function batchError(status: number, message: string, url: string): DomainError {
  const code: DomainErrorCode =
    status === 401 ? 'GITLAB_UNAUTHORIZED'
    : status === 403 || status === 501 ? 'GITLAB_FORBIDDEN'
    : status === 404 ? 'GITLAB_NOT_FOUND'
    : 'GITLAB_BAD_RESPONSE';
  const text = message ? `: ${message.slice(0, 300)}` : '';
  return new DomainError(code, `LFS batch API ${safeUrl(url)} answered ${status}${text}`, { details: { status, lfs: true } });
}

/**
 * Downloads `objects` through the LFS Batch API into `sink`, verifying each. Throws only for
 * what concerns the whole repository (credentials refused, LFS disabled or forbidden — GitLab
 * answers 403 to a reader of a project with LFS off —, the batch endpoint down after every retry,
 * a sink failure, cancellation); per-object problems end up in `missing` and `failed`.
 */
export async function downloadLfsObjects(options: LfsDownloadOptions): Promise<LfsDownloadResult> {
  const doFetch = options.fetchImpl ?? fetch;
  const batchUrl = lfsBatchUrl(options.repoHttpUrl);
  const batchSize = Math.min(100, Math.max(1, options.batchSize ?? 100));
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const attempts = Math.max(1, options.attempts ?? 5);
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 10 * 60_000;
  const { signal, logger } = options;
  const authorization = options.auth ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` : null;

  const result: LfsDownloadResult = { downloaded: 0, bytes: 0, missing: [], failed: [] };
  let settled = 0;
  let received = 0;
  let reported = 0;
  const progress = (force = false) => {
    if (!options.onProgress) return;
    if (force || received - reported >= PROGRESS_STEP) {
      reported = received;
      options.onProgress(settled, received);
    }
  };
  const settle = () => {
    settled++;
    progress(true);
  };

  // Unique, valid objects; the first pointer of an oid wins.
  const unique = new Map<string, number>();
  for (const object of options.objects) {
    if (!OID.test(object.oid) || !Number.isSafeInteger(object.size) || object.size < 0) {
      result.failed.push({ oid: String(object.oid), reason: 'not a valid LFS pointer (oid or size)' });
      settle();
      continue;
    }
    if (!unique.has(object.oid)) unique.set(object.oid, object.size);
  }
  const objects = [...unique.entries()].map(([oid, size]) => ({ oid, size }));

  const backoff = (attempt: number) => baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);

  /** fetch without following redirects automatically: a redirect to another origin loses the Authorization header. */
  async function request(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<{ response: Response; url: string }> {
    let current = url;
    let headers = { ...init.headers };
    for (let hop = 0; ; hop++) {
      if (signal?.aborted) throw canceled();
      let response: Response;
      try {
        response = await doFetch(current, { method: init.method, headers, body: init.body, redirect: 'manual', signal });
      } catch (error) {
        if (signal?.aborted) throw canceled();
        throw new TransientError(`request to ${safeUrl(current)} failed: ${(error as Error).message}`);
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location && hop < 5) {
        await response.body?.cancel().catch(() => undefined);
        const next = new URL(location, current);
        if (next.origin !== new URL(current).origin) {
          headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
        }
        current = next.toString();
        continue;
      }
      return { response, url: current };
    }
  }

  /** Asks for download actions; throws DomainError for what concerns the whole repository. */
  async function requestBatch(chunk: LfsPointer[]): Promise<Map<string, Action | { error: number; message: string }>> {
    const body = JSON.stringify({ operation: 'download', transfers: ['basic'], objects: chunk.map(({ oid, size }) => ({ oid, size })), hash_algo: 'sha256' });
    const headers: Record<string, string> = { Accept: LFS_MEDIA_TYPE, 'Content-Type': LFS_MEDIA_TYPE, 'User-Agent': 'labkeeper' };
    if (authorization) headers.Authorization = authorization;
    for (let attempt = 1; ; attempt++) {
      try {
        const { response, url } = await request(batchUrl, { method: 'POST', headers, body });
        const started = Date.now();
        if (response.status === 429 || response.status >= 500 && response.status !== 501) {
          const wait = retryAfterMs(response.headers.get('retry-after'));
          await response.body?.cancel().catch(() => undefined);
          throw new TransientError(`LFS batch API ${safeUrl(url)} answered ${response.status}`, wait, response.status);
        }
        const text = await response.text().catch(() => {
          throw new TransientError(`LFS batch API ${safeUrl(url)}: the answer was cut off`);
        });
        if (response.status !== 200) {
          let message = '';
          try {
            message = String((JSON.parse(text) as { message?: unknown }).message ?? '');
          } catch {
            message = response.status === 401 ? '' : text.trim().split('\n')[0] ?? '';
          }
          throw batchError(response.status, redact(message), url);
        }
        let parsed: { transfer?: unknown; objects?: unknown };
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          throw new DomainError('GITLAB_BAD_RESPONSE', `LFS batch API ${safeUrl(url)} answered with something that is not JSON`);
        }
        if (parsed.transfer !== undefined && parsed.transfer !== 'basic') {
          throw new DomainError('GITLAB_BAD_RESPONSE', `LFS batch API chose the transfer adapter ${JSON.stringify(parsed.transfer)}; only basic is supported`);
        }
        if (!Array.isArray(parsed.objects)) throw new DomainError('GITLAB_BAD_RESPONSE', `LFS batch API ${safeUrl(url)} answered without objects`);
        const out = new Map<string, Action | { error: number; message: string }>();
        for (const entry of parsed.objects as Array<Record<string, unknown>>) {
          if (!entry || typeof entry.oid !== 'string') continue;
          const error = entry.error as { code?: unknown; message?: unknown } | undefined;
          const download = (entry.actions as { download?: Record<string, unknown> } | undefined)?.download;
          if (error) {
            out.set(entry.oid, { error: Number(error.code), message: String(error.message ?? '').slice(0, 300) });
          } else if (download && typeof download.href === 'string' && /^https?:\/\//i.test(download.href) && URL.canParse(download.href)) {
            const header = Object.fromEntries(Object.entries((download.header as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]));
            const expiresAt =
              typeof download.expires_at === 'string' && !Number.isNaN(Date.parse(download.expires_at)) ? Date.parse(download.expires_at)
              : typeof download.expires_in === 'number' && download.expires_in > 0 ? started + download.expires_in * 1000
              : null;
            out.set(entry.oid, { href: download.href, header, expiresAt });
          }
        }
        return out;
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        if (attempt >= attempts) {
          throw new DomainError(error.status === 429 ? 'GITLAB_RATE_LIMITED' : 'GITLAB_UNAVAILABLE', `${error.message} (after ${attempt} attempts)`, { retryable: true });
        }
        const wait = error.waitMs !== null ? Math.min(error.waitMs, maxRetryAfterMs) : backoff(attempt);
        logger?.warn({ attempt, status: error.status, waitMs: Math.round(wait) }, 'LFS batch request failed, retrying');
        await sleep(wait, signal, canceled);
      }
    }
  }

  type Outcome = { kind: 'ok' } | { kind: 'missing' } | { kind: 'failed'; reason: string };

  /** One object: download with retries, renewing its action when it expires or is refused. */
  async function fetchObject(object: LfsPointer, first: Action | { error: number; message: string } | undefined): Promise<Outcome> {
    let action = first;
    let renewals = 0;
    let mismatches = 0;
    const renew = async (): Promise<void> => {
      renewals++;
      action = (await requestBatch([object])).get(object.oid);
    };
    for (let attempt = 1; ; ) {
      if (!action) return { kind: 'failed', reason: 'the batch API gave no download action for it' };
      if ('error' in action) {
        if (action.error === 404 || action.error === 410) return { kind: 'missing' };
        return { kind: 'failed', reason: `the batch API refused it (${action.error}${action.message ? `: ${action.message}` : ''})` };
      }
      if (action.expiresAt !== null && action.expiresAt - EXPIRY_MARGIN_MS <= Date.now()) {
        if (renewals >= 3) return { kind: 'failed', reason: 'its download action kept expiring' };
        await renew();
        continue;
      }
      const current: Action = action;
      let failure: TransientError;
      try {
        const { response, url } = await request(current.href, { method: 'GET', headers: { ...current.header, 'User-Agent': 'labkeeper' } });
        if (response.status === 404 || response.status === 410) {
          await response.body?.cancel().catch(() => undefined);
          return { kind: 'missing' };
        }
        if ((response.status === 401 || response.status === 403) && renewals < 2) {
          // An expired LFS token or pre-signed URL: ask the batch endpoint for a fresh action.
          await response.body?.cancel().catch(() => undefined);
          logger?.warn({ oid: object.oid, status: response.status }, 'LFS download action refused, renewing it');
          await renew();
          continue;
        }
        if (response.status === 429 || response.status >= 500) {
          await response.body?.cancel().catch(() => undefined);
          throw new TransientError(`${safeUrl(url)} answered ${response.status}`, retryAfterMs(response.headers.get('retry-after')), response.status);
        }
        if (response.status !== 200 || !response.body) {
          await response.body?.cancel().catch(() => undefined);
          return { kind: 'failed', reason: `${safeUrl(url)} answered ${response.status}` };
        }
        const length = response.headers.get('content-length');
        if (length !== null && !response.headers.get('content-encoding') && Number(length) !== object.size) {
          await response.body.cancel().catch(() => undefined);
          return { kind: 'failed', reason: `size mismatch: the server has ${length} bytes, the pointer says ${object.size}` };
        }
        const verifier = new Verifier(object.oid, object.size, (n) => {
          received += n;
          progress();
        });
        const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
        let sourceError: unknown = null;
        source.on('error', (error) => {
          sourceError = error;
          verifier.destroy(error);
        });
        source.pipe(verifier);
        try {
          await options.sink(object.oid, object.size, verifier);
        } catch (error) {
          source.destroy();
          if (verifier.mismatch) {
            if (++mismatches >= 2) return { kind: 'failed', reason: verifier.mismatch };
            throw new TransientError(`${object.oid}: ${verifier.mismatch}`);
          }
          if (sourceError) throw new TransientError(`download of ${safeUrl(url)} broke off: ${(sourceError as Error).message}`);
          if (signal?.aborted) throw canceled();
          throw error; // the sink's own failure
        }
        if (!verifier.verified) {
          source.destroy();
          throw new Error(`the LFS sink returned before reading all of ${object.oid}`);
        }
        result.bytes += object.size;
        return { kind: 'ok' };
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        failure = error;
      }
      if (attempt >= attempts) return { kind: 'failed', reason: `${failure.message} (after ${attempt} attempts)` };
      const wait = failure.waitMs !== null ? Math.min(failure.waitMs, maxRetryAfterMs) : backoff(attempt);
      logger?.warn({ oid: object.oid, attempt, status: failure.status, waitMs: Math.round(wait) }, 'LFS object download failed, retrying');
      await sleep(wait, signal, canceled);
      attempt++;
    }
  }

  for (let start = 0; start < objects.length; start += batchSize) {
    if (signal?.aborted) throw canceled();
    const chunk = objects.slice(start, start + batchSize);
    const actions = await requestBatch(chunk);
    let next = 0;
    let stopped = false;
    const worker = async () => {
      while (next < chunk.length && !stopped) {
        const object = chunk[next++]!;
        const outcome = await fetchObject(object, actions.get(object.oid));
        if (outcome.kind === 'ok') result.downloaded++;
        else if (outcome.kind === 'missing') result.missing.push(object.oid);
        else {
          result.failed.push({ oid: object.oid, reason: outcome.reason });
          logger?.warn({ oid: object.oid, reason: outcome.reason }, 'LFS object not backed up');
        }
        settle();
      }
    };
    // A failure that concerns the whole download stops the other workers; they finish their current object first.
    const outcomes = await Promise.allSettled(
      Array.from({ length: Math.min(concurrency, chunk.length) }, () =>
        worker().catch((error: unknown) => {
          stopped = true;
          throw error;
        }),
      ),
    );
    const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (rejected) throw rejected.reason;
  }
  result.missing.sort();
  result.failed.sort((x, y) => (x.oid < y.oid ? -1 : x.oid > y.oid ? 1 : 0));
  return result;
}
