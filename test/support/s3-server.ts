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
 * Faults: `dropConnections(match)` makes the server cut the TCP connection of matching requests
 * after their first body bytes arrived (a dropped connection mid-upload).
 */
import crypto, { randomUUID, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
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
  /** Files of multipart uploads not completed nor aborted, in every bucket. */
  pendingUploadParts(): Promise<string[]>;
  /** Temp files of writes in progress or interrupted. */
  tempFiles(): Promise<string[]>;
  close(): Promise<void>;
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

  // Runs before s3rver's own middleware (logger, router).
  server.middleware.unshift(async (ctx, next) => {
    const request = describeRequest(ctx);
    if (drops.some((match) => match(request))) {
      ctx.respond = false;
      ctx.req.once('data', () => ctx.req.socket.destroy());
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
    dropConnections(match) {
      drops.push(match);
      return () => {
        const index = drops.indexOf(match);
        if (index >= 0) drops.splice(index, 1);
      };
    },
    pendingUploadParts: () => filesBelow(directory, (path) => path.includes('._S3rver_uploads/')),
    tempFiles: () => filesBelow(directory, (path) => path.includes('._S3rver_tmp/')),
    async close() {
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
