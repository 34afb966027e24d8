/**
 * A real S3 server for tests: s3rver 3, in-process on loopback, its files in a temp directory.
 *
 * s3rver is weaker than S3 in four documented behaviours our storage relies on, so this helper
 * brings it to S3's word before any test uses it (as the GitLab simulator follows GitLab's docs):
 * - PutObject is atomic in S3 ("Amazon S3 never adds partial objects"); s3rver writes the final
 *   file as bytes arrive (readers and listings see half an object, an overwrite truncates a file an
 *   open GET is still reading). Here objects are written to a temp file and renamed into place.
 * - Conditional writes: S3 honours `If-None-Match: *` on PutObject and CompleteMultipartUpload
 *   (412 PreconditionFailed when the key exists, one winner among racing writers); s3rver
 *   ignores the header. Here commits carrying it are checked and serialized per key.
 * - AbortMultipartUpload (DELETE ?uploadId) is not implemented by s3rver (405); here it removes
 *   the upload's parts (204), or answers 404 NoSuchUpload.
 * - ListObjectsV2 continuation tokens: s3rver encrypts them with DES, which OpenSSL 3 (Node 18+)
 *   no longer offers, so any listing longer than a page failed with 500. Its DES is mapped to
 *   AES-128-CTR (same key and IV, zero-padded), in this process only.
 * - Object Lock (S3 only; s3rver has none), as AWS documents it: a bucket made with
 *   `enableObjectLock` (CreateBucket with `x-amz-bucket-object-lock-enabled: true` does the same)
 *   answers GetObjectLockConfiguration with `ObjectLockEnabled: Enabled`, any other bucket with 404
 *   ObjectLockConfigurationNotFoundError. PutObject and CreateMultipartUpload carrying
 *   `x-amz-object-lock-mode` (GOVERNANCE, COMPLIANCE) and `x-amz-object-lock-retain-until-date` are
 *   refused with 400 InvalidRequest "Bucket is missing Object Lock Configuration" elsewhere, and
 *   otherwise protect the object until that date; HeadObject and GetObject return both headers.
 *   The helper keeps one version per key (no versioning), so its DeleteObject of a locked object is
 *   refused with 403 AccessDenied, as S3 refuses deleting a locked version (S3 itself would hide the
 *   object behind a delete marker when no version id is given, and keep the locked version).
 *   `advanceTime(ms)` moves the server's clock for lock dates.
 *   A PutObject carrying lock parameters, and an UploadPart of an upload created with them, must
 *   carry `Content-MD5` or an `x-amz-checksum-*` header (or trailer), as AWS requires ("The
 *   Content-MD5 or x-amz-sdk-checksum-algorithm header is required for any request to upload an
 *   object with a retention period configured using Amazon S3 Object Lock"): without one, 400
 *   InvalidRequest. The checksum's value is not checked here (S3 checks it).
 * - ListMultipartUploads (GET ?uploads) is not implemented by s3rver; here it lists the bucket's
 *   uploads below `prefix` in one page.
 * Faults: `holdNext(match)` holds a request before s3rver handles it until released (a worker
 * killed mid-upload); `dropConnections(match)` makes the server cut the TCP connection of matching requests
 * after their first body bytes arrived (a dropped connection mid-upload); `loseResponses(match)` lets
 * s3rver handle matching requests, then cuts the connection instead of answering (a write that was
 * done although its client never heard so, and retries it).
 */
import crypto, { randomUUID, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';
import S3Error from 's3rver/lib/models/error.js';
import type { S3StorageSettings } from '../../server/src/storage/s3-storage.js';

/** s3rver's one account: any other key pair is refused (InvalidAccessKeyId / SignatureDoesNotMatch). */
export const S3RVER_ACCESS_KEY = 'S3RVER';
export const S3RVER_SECRET_KEY = 'S3RVER';

interface RequestInfo {
  method: string;
  bucket: string;
  key: string;
  query: Record<string, string>;
}

export interface TestS3Server {
  endpoint: string;
  directory: string;
  /** Settings of a storage on `bucket` (created at start) with s3rver's credentials. */
  settings(overrides?: Partial<S3StorageSettings>): S3StorageSettings;
  createBucket(name: string): Promise<void>;
  /** Cuts the connection of every request `match` accepts, after its first body bytes; returns how to stop. */
  dropConnections(match: (request: RequestInfo) => boolean): () => void;
  /** Handles every request `match` accepts, then cuts its connection instead of answering; returns how to stop. */
  loseResponses(match: (request: RequestInfo) => boolean): () => void;
  /** Holds the next request `match` accepts before s3rver handles it, until released. */
  holdNext(match: (request: RequestInfo) => boolean): { reached: Promise<RequestInfo>; release(): void };
  /** Files of multipart uploads not completed nor aborted, in every bucket. */
  pendingUploadParts(): Promise<string[]>;
  /** Temp files of writes in progress or interrupted. */
  tempFiles(): Promise<string[]>;
  /** Creates `name` (if needed) with Object Lock enabled, as CreateBucket with x-amz-bucket-object-lock-enabled. */
  enableObjectLock(name: string): Promise<void>;
  /** Moves the clock the server judges lock dates by. */
  advanceTime(ms: number): void;
  close(): Promise<void>;
}

/** ListMultipartUploads (s3rver answers NotImplemented): every upload of the bucket below `prefix`, one page. */
async function listUploads(store: FilesystemStore, bucket: string, prefix: string): Promise<string> {
  const root = store.getResourcePath(bucket, undefined, 'uploads');
  const uploads: string[] = [];
  for (const uploadId of await readdir(root).catch(() => [] as string[])) {
    const key = await readFile(join(root, uploadId, 'key'), 'utf8').catch(() => null);
    if (key === null || !key.startsWith(prefix)) continue;
    const initiated = (await stat(join(root, uploadId))).mtime.toISOString();
    uploads.push(
      `<Upload><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId><Initiated>${initiated}</Initiated></Upload>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${escapeXml(bucket)}</Bucket><Prefix>${escapeXml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

let desMapped = false;
function mapDesToAes(): void {
  if (desMapped) return;
  desMapped = true;
  const pad = (bytes: crypto.BinaryLike | crypto.KeyObject | null) =>
    Buffer.concat([Buffer.from(bytes as Buffer), Buffer.alloc(16)]).subarray(0, 16);
  const { createCipheriv, createDecipheriv } = crypto;
  type Factory = (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null) => unknown;
  (crypto as { createCipheriv: Factory }).createCipheriv = (algorithm, key, iv) =>
    algorithm === 'des' ? createCipheriv('aes-128-ctr', pad(key), pad(iv)) : createCipheriv(algorithm, key, iv);
  (crypto as { createDecipheriv: Factory }).createDecipheriv = (algorithm, key, iv) =>
    algorithm === 'des' ? createDecipheriv('aes-128-ctr', pad(key), pad(iv)) : createDecipheriv(algorithm, key, iv);
}

class AtomicFilesystemStore extends FilesystemStore {
  override async putObject(object: { bucket: string; key: string; content: unknown; metadata: unknown }) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    const tempDir = this.getResourcePath(object.bucket, undefined, 'tmp');
    await mkdir(tempDir, { recursive: true });
    const temp = join(tempDir, randomUUID());
    const md5 = createHash('md5');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      const content = Buffer.isBuffer(object.content) ? [object.content] : object.content;
      await pipeline(content as AsyncIterable<Buffer>, counter, createWriteStream(temp));
      await mkdir(dirname(objectPath), { recursive: true });
      await rename(temp, objectPath);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  }
}

function describeRequest(ctx: { method: string; path: string; query: Record<string, string> }): RequestInfo {
  const [bucket = '', ...rest] = ctx.path.slice(1).split('/');
  return {
    method: ctx.method,
    bucket: decodeURIComponent(bucket),
    key: rest.map(decodeURIComponent).join('/'),
    query: ctx.query,
  };
}

async function filesBelow(root: string, match: (path: string) => boolean): Promise<string[]> {
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  const files: string[] = [];
  for (const entry of entries) {
    if (!match(entry)) continue;
    if ((await stat(join(root, entry))).isFile()) files.push(entry);
  }
  return files;
}

const CHECKSUM_HEADERS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'].map((a) => `x-amz-checksum-${a}`);

interface Retention {
  mode: string;
  until: Date;
}

/** S3 Object Lock over s3rver (see the overview): bucket configuration, retention on write, refusal of deletes. */
function createObjectLock() {
  const buckets = new Set<string>();
  const retained = new Map<string, Retention>();
  const pendingUploads = new Map<string, Retention>();
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  const lockError = (code: string, message: string, status: number) =>
    Object.assign(new S3Error(code, message), { status, expose: true });

  type Ctx = Parameters<S3rver['middleware'][number]>[0];
  /** AWS refuses a write carrying Object Lock parameters without an integrity checksum of its body. */
  function requireChecksum(ctx: Ctx, operation: string): void {
    const trailer = ctx.get('x-amz-trailer');
    const given =
      ctx.get('content-md5') ||
      Object.keys(ctx.headers).some((name) => CHECKSUM_HEADERS.includes(name)) ||
      CHECKSUM_HEADERS.includes(trailer.toLowerCase());
    if (!given)
      throw lockError(
        'InvalidRequest',
        `Content-MD5 OR x-amz-checksum- HTTP header is required for ${operation} requests with Object Lock parameters`,
        400,
      );
  }
  async function middleware(ctx: Ctx, next: () => Promise<void>): Promise<void> {
    const request = describeRequest(ctx);
    const id = `${request.bucket}/${request.key}`;
    if (!request.key) {
      if (request.method === 'PUT' && ctx.get('x-amz-bucket-object-lock-enabled') === 'true') {
        await next();
        buckets.add(request.bucket);
        return;
      }
      if (!('object-lock' in request.query)) return void (await next());
      if (request.method === 'GET') {
        if (!buckets.has(request.bucket))
          throw lockError(
            'ObjectLockConfigurationNotFoundError',
            'Object Lock configuration does not exist for this bucket',
            404,
          );
        ctx.type = 'application/xml';
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`;
        return;
      }
      return void (await next());
    }
    const held = retained.get(id);
    const locked = held !== undefined && held.until > now();
    const mode = ctx.get('x-amz-object-lock-mode');
    const until = ctx.get('x-amz-object-lock-retain-until-date');
    const creates =
      (request.method === 'PUT' && !('uploadId' in request.query)) ||
      (request.method === 'POST' && 'uploads' in request.query);
    // One version per key: overwriting a locked object would destroy it (S3 would add a version).
    if (creates && locked) throw lockError('AccessDenied', 'Access Denied', 403);
    if (creates && (mode || until)) {
      if (!buckets.has(request.bucket))
        throw lockError('InvalidRequest', 'Bucket is missing Object Lock Configuration', 400);
      const date = new Date(until);
      if (!['GOVERNANCE', 'COMPLIANCE'].includes(mode) || !until || Number.isNaN(date.getTime()))
        throw lockError('InvalidArgument', 'x-amz-object-lock-mode and retain-until-date must be given together', 400);
      if (date <= now()) throw lockError('InvalidArgument', 'The retain until date must be in the future!', 400);
      if (request.method === 'PUT') requireChecksum(ctx, 'Put Object');
      await next();
      if (ctx.status !== 200) return;
      if (request.method === 'POST') pendingUploads.set(id, { mode, until: date });
      else retained.set(id, { mode, until: date });
      return;
    }
    if (request.method === 'PUT' && 'uploadId' in request.query && pendingUploads.has(id))
      requireChecksum(ctx, 'Upload Part');
    if (request.method === 'DELETE' && !('uploadId' in request.query) && locked)
      throw lockError('AccessDenied', 'Access Denied', 403);
    await next();
    if (request.method === 'POST' && 'uploadId' in request.query && ctx.status === 200) {
      const pending = pendingUploads.get(id);
      pendingUploads.delete(id);
      if (pending) retained.set(id, pending);
      else retained.delete(id);
    } else if (request.method === 'PUT' && !('uploadId' in request.query) && ctx.status === 200) retained.delete(id);
    else if (request.method === 'DELETE' && ctx.status < 300) retained.delete(id);
    else if ((request.method === 'GET' || request.method === 'HEAD') && held && ctx.status < 300) {
      ctx.set('x-amz-object-lock-mode', held.mode);
      ctx.set('x-amz-object-lock-retain-until-date', held.until.toISOString());
    }
  }
  return { buckets, middleware, advance: (ms: number) => void (offsetMs += ms) };
}

export async function startS3Server(bucket = 'labkeeper'): Promise<TestS3Server> {
  mapDesToAes();
  const directory = await mkdtemp(join(tmpdir(), 'labkeeper-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: !process.env.S3RVER_LOG,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  const store = new AtomicFilesystemStore(directory);
  server.store = store;
  server.context.store = store;
  const locks = new Map<string, Promise<void>>();
  const drops: ((request: RequestInfo) => boolean)[] = [];
  const losses: ((request: RequestInfo) => boolean)[] = [];
  const holds: { match: (r: RequestInfo) => boolean; reached: (r: RequestInfo) => void; released: Promise<void> }[] =
    [];
  const objectLock = createObjectLock();

  // Object Lock, before everything else s3rver does.
  server.middleware.unshift(objectLock.middleware);

  // Runs before s3rver's own middleware (logger, router).
  server.middleware.unshift(async (ctx, next) => {
    const request = describeRequest(ctx);
    if (drops.some((match) => match(request))) {
      ctx.respond = false;
      ctx.req.once('data', () => ctx.req.socket.destroy());
      return;
    }
    if (losses.some((match) => match(request))) {
      await next().catch(() => undefined); // done (or refused) as usual; the client hears nothing either way
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    for (const hold of holds.splice(0)) {
      if (hold.match(request)) {
        hold.reached(request);
        await hold.released;
        if (ctx.req.socket.destroyed) return void (ctx.respond = false); // the client died meanwhile
      } else holds.push(hold);
    }
    if (request.method === 'GET' && !request.key && 'uploads' in request.query) {
      ctx.type = 'application/xml';
      ctx.body = await listUploads(store, request.bucket, request.query.prefix ?? '');
      return;
    }
    if (request.method === 'DELETE' && request.key && 'uploadId' in request.query) {
      const uploadDir = join(store.getResourcePath(request.bucket, undefined, 'uploads'), request.query.uploadId);
      const exists = await stat(uploadDir).then(
        () => true,
        () => false,
      );
      if (!exists) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
      await rm(uploadDir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    const commits =
      (request.method === 'PUT' && !('uploadId' in request.query) && !ctx.get('x-amz-copy-source')) ||
      (request.method === 'POST' && 'uploadId' in request.query);
    if (!commits || ctx.get('if-none-match') !== '*' || !request.key) return next();
    const lockKey = `${request.bucket}/${request.key}`;
    const before = locks.get(lockKey) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chain = before.then(() => mine);
    locks.set(lockKey, chain);
    await before;
    try {
      if (await store.existsObject(request.bucket, request.key))
        throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
          Condition: 'If-None-Match',
        });
      await next();
    } finally {
      release();
      if (locks.get(lockKey) === chain) locks.delete(lockKey);
    }
  });

  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    directory,
    settings: (overrides = {}) => ({
      endpoint,
      region: 'us-east-1',
      bucket,
      prefix: '',
      forcePathStyle: true,
      accessKeyId: S3RVER_ACCESS_KEY,
      secretAccessKey: S3RVER_SECRET_KEY,
      ...overrides,
    }),
    createBucket: async (name) => {
      await mkdir(store.getBucketPath(name), { recursive: true });
    },
    holdNext(match) {
      let reached!: (r: RequestInfo) => void;
      let release!: () => void;
      const hold = {
        match,
        reached: (r: RequestInfo) => reached(r),
        released: new Promise<void>((resolve) => (release = resolve)),
      };
      const reachedPromise = new Promise<RequestInfo>((resolve) => (reached = resolve));
      holds.push(hold);
      return { reached: reachedPromise, release: () => release() };
    },
    dropConnections(match) {
      drops.push(match);
      return () => {
        const index = drops.indexOf(match);
        if (index >= 0) drops.splice(index, 1);
      };
    },
    loseResponses(match) {
      losses.push(match);
      return () => {
        const index = losses.indexOf(match);
        if (index >= 0) losses.splice(index, 1);
      };
    },
    pendingUploadParts: () => filesBelow(directory, (path) => path.includes('._S3rver_uploads/')),
    tempFiles: () => filesBelow(directory, (path) => path.includes('._S3rver_tmp/')),
    enableObjectLock: async (name) => {
      await mkdir(store.getBucketPath(name), { recursive: true });
      objectLock.buckets.add(name);
    },
    advanceTime: (ms) => objectLock.advance(ms),
    async close() {
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
