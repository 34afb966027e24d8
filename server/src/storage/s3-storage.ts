/**
 * S3Storage: a StorageBackend in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Wasabi,
 * Backblaze B2's S3 API), on @aws-sdk/client-s3 alone (multipart uploads: s3-upload.ts).
 * Key `a/b/c` is the object `<prefix>/a/b/c`, so the bucket stays browsable with any S3 tool.
 *
 * - **Streaming.** `put` copies the source into part buffers of `partSizeBytes` and sends at most
 *   `queueSize` parts of an object at once, while the next one fills. The buffers come from a pool
 *   the storage's uploads share, at most `partBuffers` of them (6 × 8 MiB) at once however many
 *   uploads run, and go back to it once their part is stored: a backup reuses a few instead of
 *   allocating one per part, and an idle storage keeps none. The sha256 is computed as the
 *   bytes pass by. An object that fits one part goes as one PutObject.
 * - **Atomic.** S3 shows an object only once its PutObject or CompleteMultipartUpload succeeds, so
 *   readers never see a partial object. A failed upload is aborted once its parts in flight settled;
 *   parts of a process killed mid-upload stay invisible but billed until the retry of its snapshot
 *   aborts them (`abortUploads`, called when leftovers are cleared) or the bucket's lifecycle rule
 *   `AbortIncompleteMultipartUpload` (README) removes them.
 * - **Write-once.** A HEAD refuses an existing key before the source is read (the interface asks
 *   for it); the commit itself carries `If-None-Match: *` (PutObject and CompleteMultipartUpload),
 *   so of two racing writers the server lets exactly one win and answers the other 412. A server
 *   that ignores the header (older MinIO/Ceph, `testStorage` reports it) leaves only the HEAD: two
 *   writers of one key that both pass it before either commits both succeed and the later one
 *   wins. Labkeeper never races on a key by design (a snapshot id is new, a repository's backup is
 *   serialized by an advisory lock), so the fallback only loses the belt, not the braces. Servers
 *   that reject the header outright take `conditionalWrites: false`. A commit the SDK sent again
 *   after its response was lost meets its own object (412): the object's write id
 *   (`x-amz-meta-labkeeper-write`, random per `put`) tells it from another writer's.
 * - **Retries.** The SDK's own retry strategy (`maxAttempts`, `retryMode: 'adaptive'`: backoff with
 *   jitter, client-side rate limiting on throttling) retries throttling, 5xx and dropped
 *   connections of each request; parts are buffers, so a part is resent whole. No loop of our own.
 * - **One pass per byte besides ours.** `put` hashes the stream once (the artifact's sha256). The
 *   SDK's SigV4 signer hashes each request's body once more (`x-amz-content-sha256`, the sha256 of
 *   the part), which AWS S3 and MinIO check against the bytes they received (XAmzContentSHA256Mismatch):
 *   that is the transfer's integrity check, per part. Nothing else reads the bytes: no MD5/ETag of
 *   our own (a write recognises itself by its write id, below), no CRC32 of the SDK; only Object
 *   Lock adds one (the checksum S3 requires there, below).
 * - **Checksums.** `requestChecksumCalculation: 'WHEN_REQUIRED'`: the SDK's default CRC32 trailers
 *   (aws-chunked encoding) are refused or stored verbatim by several S3-compatible servers; the
 *   sha256 in the manifest, checked by verification, is our end-to-end integrity check. Writes with
 *   Object Lock are the exception: S3 requires Content-MD5 or an `x-amz-checksum-*` on them, so
 *   they carry `x-amz-checksum-sha256` (PutObject and every UploadPart; parts are buffers, so the
 *   checksum is a plain header, not a trailer).
 */
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { proxyFor, type ProxySettings } from '../shared/http-proxy.js';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
  S3Client,
  type PutObjectCommandInput,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { DomainError, validationError } from '../shared/errors.js';
import { chunksOf } from '../shared/stream-chunks.js';
import { discardSource } from './put-source.js';
import { isNotFound, isPreconditionFailed, isUnnamed, s3Unavailable } from './s3-errors.js';
import { PartPool, uploadObject } from './s3-upload.js';
import { isBelow, parseKey, parsePrefix } from './storage-key.js';
import { artifactExists, artifactNotFound } from './storage.errors.js';
import type { ObjectInfo, PutOptions, PutResult, StorageBackend } from './storage.port.js';

export interface S3StorageSettings {
  /** `https://s3.eu-central-1.wasabisys.com`, `http://minio:9000`; null for AWS S3 itself. */
  endpoint: string | null;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket (`labkeeper/prod`), '' for none. */
  prefix: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), needed by MinIO and Ceph without wildcard DNS. */
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /** Server-side encryption: `AES256` (SSE-S3) or `aws:kms` (with `kmsKeyId`); null for the bucket default. */
  serverSideEncryption?: 'AES256' | 'aws:kms' | null;
  kmsKeyId?: string | null;
  /** `STANDARD`, `STANDARD_IA`, `GLACIER_IR`…; null for the bucket default. */
  storageClass?: string | null;
  /** Send `If-None-Match: *` on commits (default true); false for servers that reject the header. */
  conditionalWrites?: boolean;
  /**
   * S3 Object Lock: every object is written with this retention mode and a retain-until date
   * `objectLockDays` after the write (the bucket must have Object Lock enabled). Null: no lock.
   */
  objectLockMode?: 'GOVERNANCE' | 'COMPLIANCE' | null;
  objectLockDays?: number | null;
}

export interface S3StorageOptions {
  /** Bytes per multipart part (≥ 5 MiB, S3's minimum). Default 8 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded at once per object. Default 2. */
  queueSize?: number;
  /**
   * Part buffers all of this storage's uploads hold at most, being filled or in flight (≥ 1).
   * Default 6: 48 MiB with 8 MiB parts, whatever the worker's concurrency.
   */
  partBuffers?: number;
  /** Attempts per request, first included (SDK retry strategy). Default 5. */
  maxAttempts?: number;
  /** Keys per ListObjectsV2 page and per DeleteObjects request (S3 takes up to 1000). Default 1000. */
  pageSize?: number;
  /** TCP connect timeout. Default 10 s. */
  connectionTimeoutMs?: number;
  /**
   * The outbound proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY): an https endpoint through a CONNECT
   * tunnel, an http one by its absolute URLs; an endpoint NO_PROXY names directly.
   */
  proxy?: ProxySettings | null;
}

const MiB = 1024 * 1024;
/**
 * User metadata (`x-amz-meta-labkeeper-write`) naming the write that made an object, a random id
 * per `put`: a conditional create the SDK sent again after its response was lost is refused (412)
 * by its own object, and this id tells that object from someone else's. Unlike the ETag (an MD5
 * of the body on S3, not even that with SSE-KMS) it costs no pass over the bytes, and two writers
 * of identical bytes stay two writers.
 */
const WRITE_ID = 'labkeeper-write';

export class S3Storage implements StorageBackend {
  readonly location: string;
  readonly client: S3Client;
  private readonly base: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly pageSize: number;
  /** Part buffers shared by this storage's uploads (s3-upload.ts). */
  private readonly parts: PartPool;

  constructor(
    private readonly settings: S3StorageSettings,
    options: S3StorageOptions = {},
  ) {
    const prefixSegments = parsePrefix(settings.prefix);
    this.base = prefixSegments.length ? `${prefixSegments.join('/')}/` : '';
    if (!settings.bucket) throw validationError({ bucket: 'must not be empty' });
    this.location = `s3://${settings.bucket}/${this.base}${settings.endpoint ? ` at ${settings.endpoint}` : ''}`;
    this.partSize = options.partSizeBytes ?? 8 * MiB;
    this.queueSize = options.queueSize ?? 2;
    this.pageSize = options.pageSize ?? 1000;
    this.parts = new PartPool(this.partSize, options.partBuffers ?? 6);
    this.client = new S3Client({
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      maxAttempts: options.maxAttempts ?? 5,
      retryMode: 'adaptive',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 10_000,
        ...proxyAgents(settings, options.proxy),
      },
    });
  }

  /** Part buffers this storage's uploads allocated so far, and how many it holds idle now. */
  partBuffers(): { allocated: number; idle: number } {
    return { allocated: this.parts.allocated, idle: this.parts.idle };
  }

  /** The bucket's key of a storage key. */
  objectKey(key: string): string {
    return `${this.base}${key}`;
  }

  get bucket(): string {
    return this.settings.bucket;
  }

  async put(key: string, source: Readable | Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    try {
      parseKey(key);
      if (!options.overwrite && (await this.stat(key))) throw artifactExists(key);
    } catch (error) {
      discardSource(source);
      throw error;
    }
    const hash = createHash('sha256');
    const writeId = randomUUID();
    let size = 0;
    let sourceError: unknown = null;
    const chunks: AsyncIterable<unknown> | Iterable<unknown> =
      source instanceof Uint8Array ? [source] : chunksOf(source);
    async function* bytesOf() {
      try {
        for await (const chunk of chunks) yield toBuffer(chunk);
      } catch (error) {
        sourceError = error;
        throw error;
      }
    }
    const retainUntil = this.retainUntil();
    try {
      await uploadObject(bytesOf(), {
        client: this.client,
        pool: this.parts,
        partsInFlight: this.queueSize,
        params: {
          ...this.writeParams(key, options),
          Metadata: { [WRITE_ID]: writeId },
          ...(retainUntil
            ? {
                ObjectLockMode: this.settings.objectLockMode!,
                ObjectLockRetainUntilDate: retainUntil,
                // S3 refuses lock parameters without Content-MD5 or an x-amz-checksum-*: the SDK
                // computes one per request (each part is a buffer, so it goes as a header).
                ChecksumAlgorithm: 'SHA256' as const,
              }
            : {}),
        },
        onChunk: (bytes) => {
          hash.update(bytes);
          size += bytes.length;
        },
      });
    } catch (error) {
      discardSource(source);
      // The source's own error, rethrown unchanged as the interface promises.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (sourceError) throw sourceError;
      // Absent before the upload, there now: our own write whose response was lost and that the
      // SDK sent again — or someone else's, which stays a write-once conflict.
      if (options.overwrite || !isPreconditionFailed(error)) throw s3Unavailable('write', key, error);
      if (!(await this.holds(key, size, writeId))) throw artifactExists(key);
    }
    return { size, sha256: hash.digest('hex'), ...(retainUntil ? { retainUntil } : {}) };
  }

  /** Whether the object at `key` is this very write: its write id (user metadata) and size. */
  private async holds(key: string, size: number, writeId: string): Promise<boolean> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return head.ContentLength === size && head.Metadata?.[WRITE_ID] === writeId;
    } catch {
      return false;
    }
  }

  /**
   * A presigned GET of `key`, valid until `expiresAt` (SigV4 query signing allows at most 7 days),
   * signed by this client's own signer: the request GetObject would send is built by the SDK's
   * middleware (endpoint, path or virtual-host style) and captured before it leaves.
   */
  async presignGet(key: string, expiresAt: Date): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) });
    let request: HttpRequestLike | null = null;
    command.middlewareStack.add(
      () => (args) => {
        request = args.request as HttpRequestLike;
        return Promise.reject(new Error(PRESIGN_CAPTURED));
      },
      { step: 'finalizeRequest', priority: 'low', name: 'labkeeperPresignCapture' },
    );
    await this.client.send(command).catch((error: unknown) => {
      if ((error as Error).message !== PRESIGN_CAPTURED) throw error;
    });
    const built = request as HttpRequestLike | null;
    if (!built) throw new DomainError('STORAGE_UNAVAILABLE', `could not build a presigned URL for ${key}`);
    // Only the host is signed: whoever opens the URL sends none of the SDK's other headers.
    const unsigned = { ...built, headers: { host: built.headers.host } };
    // S3's signer (SignatureV4MultiRegion) presigns as well as it signs.
    const signer = (await this.client.config.signer({} as never)) as unknown as {
      presign(request: HttpRequestLike, options: { expiresIn: number }): Promise<HttpRequestLike>;
    };
    const expiresIn = Math.max(1, Math.min(604_800, Math.floor((expiresAt.getTime() - Date.now()) / 1000)));
    const signed = await signer.presign(unsigned, { expiresIn });
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(signed.query ?? {}))
      for (const one of Array.isArray(value) ? value : [value]) query.append(name, one ?? '');
    return `${signed.protocol}//${signed.hostname}${signed.port ? `:${signed.port}` : ''}${signed.path}?${query.toString()}`;
  }

  /** The retain-until date of an object written now, or null without Object Lock (whole seconds, as S3 keeps them). */
  private retainUntil(): Date | null {
    const { objectLockMode, objectLockDays } = this.settings;
    if (!objectLockMode || !objectLockDays) return null;
    return new Date(Math.ceil((Date.now() + objectLockDays * 86_400_000) / 1000) * 1000);
  }

  private writeParams(key: string, options: PutOptions): Omit<PutObjectCommandInput, 'Body'> {
    const s = this.settings;
    return {
      Bucket: s.bucket,
      Key: this.objectKey(key),
      ...(!options.overwrite && s.conditionalWrites !== false ? { IfNoneMatch: '*' } : {}),
      ...(s.serverSideEncryption ? { ServerSideEncryption: s.serverSideEncryption } : {}),
      ...(s.serverSideEncryption === 'aws:kms' && s.kmsKeyId ? { SSEKMSKeyId: s.kmsKeyId } : {}),
      ...(s.storageClass ? { StorageClass: s.storageClass as StorageClass } : {}),
    };
  }

  async open(key: string): Promise<Readable> {
    parseKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return response.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw artifactNotFound(key);
      throw s3Unavailable('read', key, error);
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    parseKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw s3Unavailable('stat', key, await this.explain(error));
    }
  }

  /**
   * A HEAD's error has a status but no S3 error code; a listing of the same key gets the server to
   * say why (AccessDenied, InvalidAccessKeyId, NoSuchBucket, PermanentRedirect).
   */
  private async explain(error: unknown): Promise<unknown> {
    if (!isUnnamed(error)) return error;
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.base, MaxKeys: 1 }));
      return error;
    } catch (named) {
      return isUnnamed(named) ? error : named;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const segments = parsePrefix(prefix);
    const listPrefix = segments.length ? `${this.base}${segments.join('/')}/` : this.base;
    try {
      const pages = paginateListObjectsV2(
        { client: this.client, pageSize: this.pageSize },
        { Bucket: this.bucket, Prefix: listPrefix },
      );
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const key = object.Key?.slice(this.base.length);
          if (key && isStorageKey(key) && isBelow(key, segments)) yield key;
        }
      }
    } catch (error) {
      throw s3Unavailable('list', prefix, error);
    }
  }

  async delete(key: string): Promise<void> {
    parseKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw s3Unavailable('delete', key, error);
    }
  }

  /**
   * Lists a page and deletes it, then lists again from the start until nothing is left: no
   * continuation token outlives the deletions it would have to skip (some servers fail a listing
   * whose position was deleted).
   */
  async deletePrefix(prefix: string): Promise<void> {
    const segments = parsePrefix(prefix);
    if (segments.length === 0) throw validationError({ prefix: 'must not be empty' });
    const listPrefix = `${this.base}${segments.join('/')}/`;
    for (;;) {
      let keys: string[];
      try {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: listPrefix, MaxKeys: this.pageSize }),
        );
        keys = (page.Contents ?? []).map((object) => object.Key!).filter(Boolean);
      } catch (error) {
        throw s3Unavailable('list', prefix, error);
      }
      if (keys.length === 0) return;
      await this.deleteBatch(prefix, keys);
    }
  }

  /** Deletes bucket keys (prefix included) in one request. */
  private async deleteBatch(prefix: string, keys: string[]): Promise<void> {
    let errors: { Key?: string; Code?: string }[];
    try {
      const result = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((key) => ({ Key: key })), Quiet: true },
        }),
      );
      errors = result.Errors ?? [];
    } catch (error) {
      throw s3Unavailable('delete', prefix, error);
    }
    if (errors.length) {
      const first = errors[0];
      throw s3Unavailable('delete', first.Key?.slice(this.base.length) ?? prefix, {
        Code: first.Code ?? 'Unknown',
        name: first.Code ?? 'Unknown',
      });
    }
  }

  /**
   * Aborts the incomplete multipart uploads below `prefix` (a worker killed mid-upload leaves one:
   * no object, but parts kept and billed until a lifecycle rule removes them). Lists them with
   * ListMultipartUploads and aborts each; one already gone (NoSuchUpload) counts as done.
   */
  async abortUploads(prefix: string): Promise<number> {
    const segments = parsePrefix(prefix);
    if (segments.length === 0) throw validationError({ prefix: 'must not be empty' });
    const listPrefix = `${this.base}${segments.join('/')}/`;
    let aborted = 0;
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: listPrefix, ...markers }),
        );
      } catch (error) {
        throw s3Unavailable('list', prefix, error);
      }
      for (const upload of page.Uploads ?? []) {
        try {
          await this.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }),
          );
          aborted += 1;
        } catch (error) {
          if (!isNoSuchUpload(error)) throw s3Unavailable('delete', upload.Key ?? prefix, error);
        }
      }
      if (!page.IsTruncated) return aborted;
      markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
    }
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}

function isNoSuchUpload(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'NoSuchUpload';
}

function isStorageKey(key: string): boolean {
  try {
    parseKey(key);
    return true;
  } catch {
    return false; // another tool's object under our prefix: not ours to list
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`a storage source must yield bytes, not ${typeof chunk}`);
}

const PRESIGN_CAPTURED = 'labkeeper: presign request captured';

/** The parts of the SDK's HttpRequest a presigned URL is made of. */
interface HttpRequestLike {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
}

/** The request handler's agent through the proxy for this storage's endpoint (AWS's own when none is given), if any. */
function proxyAgents(
  settings: S3StorageSettings,
  proxy: ProxySettings | null | undefined,
): { httpAgent?: HttpProxyAgent<string>; httpsAgent?: HttpsProxyAgent<string> } {
  const endpoint = new URL(settings.endpoint ?? `https://s3.${settings.region}.amazonaws.com`);
  const via = proxyFor(endpoint, proxy);
  if (!via) return {};
  return endpoint.protocol === 'https:'
    ? { httpsAgent: new HttpsProxyAgent(via.href, { keepAlive: true }) }
    : { httpAgent: new HttpProxyAgent(via.href, { keepAlive: true }) };
}
