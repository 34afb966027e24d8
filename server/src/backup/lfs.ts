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
 * mechanism, and the href may be another host). The HTTP side is GitLab's LFS Batch API client
 * (gitlab/lfs-batch.ts) on the one GitLab transport: a connection's private CA is trusted, and
 * transient failures (network, 5xx, 429) are retried by its policy, honouring Retry-After. An
 * action refused with 401/403 (expired token or URL) is renewed by asking the batch endpoint
 * again. Errors and logs carry oids, statuses and URLs without query strings, never credentials.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { DomainError, isDomainError } from '../shared/errors.js';
import { GitError, redact } from '../git/git.js';
import { transferCanceled } from '../gitlab/gitlab.errors.js';
import type { GitAuth, GitLabHttp } from '../gitlab/gitlab-http.js';
import { LfsBatchClient, type LfsAction, type LfsBatchEntry } from '../gitlab/lfs-batch.js';
import { bareUrl } from '../gitlab/redact.js';
import { uniqueObjects, type LfsPointer } from '../snapshot/lfs-layout.js';

// The storage layout of LFS objects and what an object is (oid and size) are part of the snapshot
// format (snapshot/lfs-layout.ts); the batch endpoint's URL belongs to the GitLab client
// (gitlab/lfs-batch.ts).
export { lfsKey, type LfsPointer } from '../snapshot/lfs-layout.js';
export { lfsBatchUrl } from '../gitlab/lfs-batch.js';

// ---- pointers ---------------------------------------------------------------------------------

/** git-lfs reads blobs below this size as possible pointers (lfs/scanner.go blobSizeCutoff). */
export const POINTER_MAX_SIZE = 1024;
/** The versions git-lfs accepts: the current one and the pre-release "hawser" one. */
const VERSIONS = new Set(['https://git-lfs.github.com/spec/v1', 'https://hawser.github.com/spec/v1']);
/** The shortest possible pointer (version, oid, `size 0`): anything smaller is not one. */
const POINTER_MIN_SIZE = Math.min(
  ...[...VERSIONS].map((v) => Buffer.byteLength(`version ${v}\noid sha256:${'0'.repeat(64)}\nsize 0\n`)),
);

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
      else if (code !== 0)
        reject(
          new GitError(
            'GIT_FAILED',
            `git ${args[0]} failed: ${redact(stderr.trim().split('\n').slice(-3).join(' | ')) || `exit code ${code}`}`,
            { details: { exitCode: code } },
          ),
        );
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
  return names.filter((_, i) => out[i] !== undefined && !out[i].endsWith(' missing'));
}

/**
 * LFS pointers reachable from `refs` (ref names or object ids) in a bare repository, and not from
 * `exclude` (the previous snapshot's tips, for an incremental: the result then holds the pointers
 * its bundle introduces; excluded names the repository lacks are ignored). One entry per oid,
 * sorted by oid. Two processes stream into each other: `rev-list --objects
 * --filter=blob:limit=1024` → `cat-file --batch-check`; then `cat-file --batch` reads the
 * candidate blobs.
 */
export async function findLfsPointers(
  mirrorDir: string,
  refs: string[],
  exclude: string[] = [],
  options: { signal?: AbortSignal } = {},
): Promise<LfsPointer[]> {
  const { signal } = options;
  const include = [...new Set(refs)].filter((r) => r.length > 0);
  if (include.length === 0) return [];
  for (const name of [...include, ...exclude]) {
    if (name.startsWith('-') || /[\s\0]/.test(name))
      throw new DomainError('VALIDATION_FAILED', `not a ref or object id: ${JSON.stringify(name.slice(0, 80))}`);
  }
  const negative = await existing(mirrorDir, [...new Set(exclude)], signal);

  // 1. Small blobs reachable from the refs.
  const revList = startGit(
    ['rev-list', '--objects', '--no-object-names', `--filter=blob:limit=${POINTER_MAX_SIZE}`, '--stdin'],
    mirrorDir,
    signal,
  );
  const check = startGit(['cat-file', '--batch-check=%(objecttype) %(objectname) %(objectsize)'], mirrorDir, signal);
  revList.child.stdout.pipe(check.child.stdin);
  revList.child.stdin.end(`${[...include, ...negative.map((n) => `^${n}`)].join('\n')}\n`);
  const candidates: string[] = [];
  const reading = (async () => {
    for await (const line of lines(check.child.stdout)) {
      const [type, name, size] = line.split(' ');
      if (type === 'blob' && Number(size) >= POINTER_MIN_SIZE && Number(size) < POINTER_MAX_SIZE) candidates.push(name);
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
  auth: GitAuth | null;
  /** PEM of the connection's private CA. */
  caCertificate?: string | null;
  /** The application's GitLab transport (its retry policy applies); default the shared one. */
  http?: GitLabHttp;
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
  onProgress?: (done: number, bytes: number) => void;
  /** Objects per batch request (≤ 100, git-lfs' and GitLab's batch size). */
  batchSize?: number;
  /** Parallel object downloads (default 4). */
  concurrency?: number;
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

const EXPIRY_MARGIN_MS = 30_000;
const PROGRESS_STEP = 1024 * 1024;

const canceled = () => transferCanceled('LFS transfer');

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

const corrupt = (oid: string, reason: string) =>
  new DomainError('ARTIFACT_CORRUPT', `LFS object ${oid}: ${reason}`, { details: { oid } });

/** This object cannot be had intact (its reason goes to `failed`); the others go on. */
class ObjectRejected extends Error {}
/** The sink failed on its own (storage): the whole download stops with its error. */
class SinkFailure extends Error {
  constructor(readonly failure: unknown) {
    super('the LFS sink failed');
  }
}

type Outcome = { kind: 'ok' } | { kind: 'missing' } | { kind: 'failed'; reason: string };

/** Counts settled objects and received bytes, and reports them (bytes at most every MiB). */
class Tally {
  settled = 0;
  received = 0;
  private reported = 0;

  constructor(private readonly onProgress?: (done: number, bytes: number) => void) {}

  bytes(n: number): void {
    this.received += n;
    if (this.received - this.reported >= PROGRESS_STEP) this.report();
  }

  settle(): void {
    this.settled++;
    this.report();
  }

  private report(): void {
    this.reported = this.received;
    this.onProgress?.(this.settled, this.received);
  }
}

/**
 * Downloads `objects` through the LFS Batch API into `sink`, verifying each. Throws only for
 * what concerns the whole repository (credentials refused, LFS disabled or forbidden — GitLab
 * answers 403 to a reader of a project with LFS off —, the batch endpoint down after every retry,
 * a sink failure, cancellation); per-object problems end up in `missing` and `failed`.
 */
export async function downloadLfsObjects(options: LfsDownloadOptions): Promise<LfsDownloadResult> {
  const client = new LfsBatchClient({
    repoHttpUrl: options.repoHttpUrl,
    auth: options.auth,
    caCertificate: options.caCertificate,
    http: options.http,
    signal: options.signal,
  });
  const batchSize = Math.min(100, Math.max(1, options.batchSize ?? 100));
  const tally = new Tally(options.onProgress);
  const result: LfsDownloadResult = { downloaded: 0, bytes: 0, missing: [], failed: [] };
  const { objects, invalid } = uniqueObjects(options.objects);
  for (const oid of invalid) {
    result.failed.push({ oid, reason: 'not a valid LFS pointer (oid or size)' });
    tally.settle();
  }
  const download = new ObjectDownload(client, options, tally);
  for (let start = 0; start < objects.length; start += batchSize) {
    if (options.signal?.aborted) throw canceled();
    const chunk = objects.slice(start, start + batchSize);
    const entries = await client.batch('download', chunk);
    await inParallel(chunk, Math.max(1, options.concurrency ?? 4), async (object) => {
      const outcome = await download.fetch(object, entries.get(object.oid));
      if (outcome.kind === 'ok') {
        result.downloaded++;
        result.bytes += object.size;
      } else if (outcome.kind === 'missing') {
        result.missing.push(object.oid);
      } else {
        result.failed.push({ oid: object.oid, reason: outcome.reason });
        options.logger?.warn({ oid: object.oid, reason: outcome.reason }, 'LFS object not backed up');
      }
      tally.settle();
    });
  }
  result.missing.sort();
  result.failed.sort((x, y) => (x.oid < y.oid ? -1 : x.oid > y.oid ? 1 : 0));
  return result;
}

/**
 * Runs `work` over `items` with at most `concurrency` at once. A failure stops the others from
 * taking new items (they finish their current one) and is thrown once all have stopped.
 */
async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (next < items.length && !stopped) await work(items[next++]);
  };
  const outcomes = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, items.length) }, () =>
      worker().catch((error: unknown) => {
        stopped = true;
        throw error;
      }),
    ),
  );
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** One object at a time: its action renewed when it expires or is refused, its transfer retried by the transport's policy. */
class ObjectDownload {
  constructor(
    private readonly client: LfsBatchClient,
    private readonly options: LfsDownloadOptions,
    private readonly tally: Tally,
  ) {}

  async fetch(object: LfsPointer, first: LfsBatchEntry | undefined): Promise<Outcome> {
    let entry = first;
    let renewals = 0;
    const renew = async () => {
      renewals++;
      entry = (await this.client.batch('download', [object])).get(object.oid);
    };
    for (;;) {
      if (!entry) return { kind: 'failed', reason: 'the batch API gave no download action for it' };
      if ('error' in entry) {
        if (entry.error.code === 404 || entry.error.code === 410) return { kind: 'missing' };
        return {
          kind: 'failed',
          reason: `the batch API refused it (${entry.error.code}${entry.error.message ? `: ${entry.error.message}` : ''})`,
        };
      }
      const action = entry.actions.download;
      if (!action) return { kind: 'failed', reason: 'the batch API gave no download action for it' };
      if (action.expiresAt !== null && action.expiresAt - EXPIRY_MARGIN_MS <= Date.now()) {
        if (renewals >= 3) return { kind: 'failed', reason: 'its download action kept expiring' };
        await renew();
        continue;
      }
      try {
        let mismatches = 0;
        await this.client.retrying(`GET ${bareUrl(action.href)}`, () =>
          this.transfer(object, action, () => ++mismatches),
        );
        return { kind: 'ok' };
      } catch (error) {
        if (this.options.signal?.aborted) throw canceled();
        if (error instanceof SinkFailure) throw error.failure;
        if (error instanceof ObjectRejected) return { kind: 'failed', reason: error.message };
        if (isDomainError(error, 'GITLAB_NOT_FOUND')) return { kind: 'missing' };
        if ((isDomainError(error, 'GITLAB_UNAUTHORIZED') || isDomainError(error, 'GITLAB_FORBIDDEN')) && renewals < 2) {
          // An expired LFS token or pre-signed URL: ask the batch endpoint for a fresh action.
          this.options.logger?.warn(
            { oid: object.oid, status: error.details?.status },
            'LFS download action refused, renewing it',
          );
          await renew();
          continue;
        }
        if (isDomainError(error) && error.code.startsWith('GITLAB_')) return { kind: 'failed', reason: error.message };
        throw error;
      }
    }
  }

  /** One attempt: the body through the verifier into the sink. Retryable DomainErrors for what another attempt may cure. */
  private async transfer(object: LfsPointer, action: LfsAction, mismatched: () => number): Promise<void> {
    const { body, url } = await this.client.download(action);
    const length = body.headers['content-length'];
    if (length !== undefined && !body.headers['content-encoding'] && Number(length) !== object.size) {
      body.destroy();
      throw new ObjectRejected(`size mismatch: the server has ${length} bytes, the pointer says ${object.size}`);
    }
    const verifier = new Verifier(object.oid, object.size, (n) => this.tally.bytes(n));
    let sourceError: unknown = null;
    body.on('error', (error) => {
      sourceError = error;
      verifier.destroy(error);
    });
    body.on('aborted', () => {
      sourceError ??= new Error('the connection was closed');
      verifier.destroy(sourceError as Error);
    });
    body.pipe(verifier);
    try {
      await this.options.sink(object.oid, object.size, verifier);
    } catch (error) {
      body.destroy();
      if (verifier.mismatch) {
        if (mismatched() >= 2) throw new ObjectRejected(verifier.mismatch);
        throw new DomainError('GITLAB_UNAVAILABLE', `${object.oid}: ${verifier.mismatch}`, { retryable: true });
      }
      if (sourceError)
        throw new DomainError(
          'GITLAB_UNAVAILABLE',
          `download of ${bareUrl(url)} broke off: ${(sourceError as Error).message}`,
          { retryable: true },
        );
      if (this.options.signal?.aborted) throw canceled();
      throw new SinkFailure(error);
    }
    if (!verifier.verified) {
      body.destroy();
      throw new Error(`the LFS sink returned before reading all of ${object.oid}`);
    }
  }
}
