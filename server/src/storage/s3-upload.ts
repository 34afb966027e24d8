/**
 * One object's upload to S3, on @aws-sdk/client-s3 alone: the bytes are copied into part buffers
 * taken from a `PartPool` shared by the storage's uploads and given back once their part is
 * stored, so a backup's parts reuse a few buffers instead of allocating (and collecting) one per
 * part, as lib-storage's `Upload` did (it concatenated each part's chunks into a new buffer).
 *
 * - An object that ends within its first part is one PutObject of that part's bytes.
 * - A bigger one is a multipart upload: CreateMultipartUpload when the first part is full and more
 *   bytes come, at most `partsInFlight` UploadParts at once (the source waits meanwhile, so a slow
 *   bucket slows the source down), and CompleteMultipartUpload with the parts in order. A part is
 *   a buffer, so the SDK's retry strategy resends it whole; there is no retry loop here.
 * - Any failure (a part the SDK gave up on, the source's own error, a refused completion) stops
 *   reading, waits for the parts in flight and aborts the upload, so nothing stays behind but what
 *   a killed process leaves (see S3Storage.abortUploads). The first error is rethrown.
 * - The commit (PutObject, CompleteMultipartUpload) carries the caller's conditional headers
 *   (`If-None-Match: *` for write-once); what a refusal means is the caller's to decide.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';

/** S3 takes at most 10,000 parts per upload. */
const MAX_PARTS = 10_000;

/**
 * Part buffers of one size, reused across uploads, at most `limit` of them lent out at once (being
 * filled or in flight): a storage's uploads together hold at most `limit` × `partSize` bytes of
 * parts, however many run at once; an upload that finds none free waits (its source with it)
 * until one comes back, first come first served. Every upload can finish with one buffer (it
 * fills it, sends it and takes the next only after), so waiting never deadlocks. Buffers given
 * back are kept while any upload runs and dropped when the last one ends: an idle worker holds none.
 */
export class PartPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: (() => void)[] = [];
  private users = 0;
  private lent = 0;
  /** Buffers allocated over the pool's life. */
  allocated = 0;

  constructor(
    readonly partSize: number,
    readonly limit: number,
  ) {
    if (!(limit >= 1)) throw new RangeError('a part pool needs at least one buffer');
  }

  /** An upload starts using the pool. */
  open(): void {
    this.users += 1;
  }

  /** An upload is done with the pool; the last one out lets the idle buffers go. */
  close(): void {
    this.users -= 1;
    if (this.users === 0) this.free.length = 0;
  }

  /** A buffer to fill, once fewer than `limit` are lent out. */
  async take(): Promise<Buffer> {
    if (this.lent < this.limit) this.lent += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // handed a returned one's place
    const reused = this.free.pop();
    if (reused) return reused;
    this.allocated += 1;
    return Buffer.allocUnsafeSlow(this.partSize);
  }

  /** A buffer whose part is stored: free for the next part. */
  give(buffer: Buffer): void {
    if (this.users > 0) this.free.push(buffer);
    this.release();
  }

  /** A buffer not to be reused (a failed request may still hold it): its place only comes back. */
  drop(): void {
    this.release();
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.lent -= 1;
  }

  /** Idle buffers held now. */
  get idle(): number {
    return this.free.length;
  }
}

/** PutObject's parameters for the object, without its body: bucket, key, metadata, conditions, lock. */
export type UploadParams = Omit<PutObjectCommandInput, 'Body' | 'ContentLength'>;

export interface UploadOptions {
  client: S3Client;
  pool: PartPool;
  /** UploadParts sent at once (≥ 1). */
  partsInFlight: number;
  params: UploadParams;
  /** Called with every chunk before it is copied (the caller's hash and size). */
  onChunk: (bytes: Buffer) => void;
}

/** Uploads every byte of `chunks` as the object `params.Key`. */
export async function uploadObject(chunks: AsyncIterable<Buffer>, options: UploadOptions): Promise<void> {
  const { pool } = options;
  pool.open();
  try {
    await new ObjectUpload(options).run(chunks);
  } finally {
    pool.close();
  }
}

class ObjectUpload {
  private uploadId: string | null = null;
  private readonly parts: CompletedPart[] = [];
  private partsSent = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly o: UploadOptions) {}

  async run(chunks: AsyncIterable<Buffer>): Promise<void> {
    const { pool } = this.o;
    const partSize = pool.partSize;
    let part = await pool.take();
    let owned = true; // false while `part` is in flight (its upload gives it back)
    let filled = 0;
    try {
      for await (const bytes of chunks) {
        this.o.onChunk(bytes);
        for (let offset = 0; offset < bytes.length;) {
          if (filled === partSize) {
            // Full, and more bytes come: it is not the last part.
            await this.sendPart(part, filled);
            owned = false;
            await this.slot();
            part = await pool.take();
            owned = true;
            filled = 0;
          }
          const n = Math.min(bytes.length - offset, partSize - filled);
          bytes.copy(part, filled, offset, offset + n);
          filled += n;
          offset += n;
        }
        if (this.failure) break;
      }
      this.rethrow();
      if (this.uploadId === null) {
        await this.o.client.send(new PutObjectCommand({ ...this.o.params, Body: part.subarray(0, filled) }));
        return;
      }
      await this.sendPart(part, filled);
      owned = false;
      await this.settled();
      this.rethrow();
      await this.o.client.send(
        new CompleteMultipartUploadCommand({
          ...this.commitParams(),
          UploadId: this.uploadId,
          MultipartUpload: { Parts: [...this.parts].sort((x, y) => (x.PartNumber ?? 0) - (y.PartNumber ?? 0)) },
        }),
      );
    } catch (error) {
      if (owned) pool.drop(); // a request that failed may not have let go of it: left to the garbage collector
      owned = false;
      const first = this.failure ?? { error };
      this.failure = first;
      await this.settled();
      await this.abort();
      throw first.error;
    } finally {
      if (owned) pool.give(part);
    }
  }

  /** The first failure of a part, thrown in the reading loop. */
  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Starts the upload of `part[0, length)` as the next part (creating the multipart upload first). */
  private async sendPart(part: Buffer, length: number): Promise<void> {
    const { client, params, pool } = this.o;
    if (this.uploadId === null) {
      const created = await client.send(new CreateMultipartUploadCommand(this.createParams()));
      if (!created.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
      this.uploadId = created.UploadId;
    }
    const partNumber = this.partsSent + 1;
    if (partNumber > MAX_PARTS) throw new Error(`more than ${MAX_PARTS} parts of ${pool.partSize} bytes`);
    this.partsSent = partNumber;
    const sent: Promise<void> = client
      .send(
        new UploadPartCommand({
          Bucket: params.Bucket,
          Key: params.Key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: part.subarray(0, length),
          ...(params.ChecksumAlgorithm ? { ChecksumAlgorithm: params.ChecksumAlgorithm } : {}),
        }),
      )
      .then((result) => {
        if (!result.ETag) throw new Error(`UploadPart ${partNumber} answered without an ETag`);
        this.parts.push({
          PartNumber: partNumber,
          ETag: result.ETag,
          ...(result.ChecksumSHA256 ? { ChecksumSHA256: result.ChecksumSHA256 } : {}),
        });
        pool.give(part); // stored: the buffer is free again
      })
      .catch((error: unknown) => {
        // A part the SDK gave up on. Its buffer is left to the garbage collector: the request that
        // held it may not have let go of it.
        pool.drop();
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /** Waits until another part may be sent. */
  private async slot(): Promise<void> {
    while (this.inFlight.size >= this.o.partsInFlight) await Promise.race(this.inFlight);
    this.rethrow();
  }

  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
  }

  /** Removes the parts of a failed upload; a failure to do so leaves them to abortUploads or the bucket's lifecycle rule. */
  private async abort(): Promise<void> {
    if (this.uploadId === null) return;
    const { Bucket, Key } = this.o.params;
    await this.o.client
      .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: this.uploadId }))
      .catch(() => undefined);
  }

  /** CreateMultipartUpload takes what PutObject would, minus the commit's conditions. */
  private createParams(): Omit<UploadParams, 'IfNoneMatch' | 'IfMatch'> {
    const { IfNoneMatch: _ifNoneMatch, IfMatch: _ifMatch, ...create } = this.o.params;
    return create;
  }

  private commitParams() {
    const { Bucket, Key, IfNoneMatch, IfMatch } = this.o.params;
    return {
      Bucket,
      Key,
      ...(IfNoneMatch ? { IfNoneMatch } : {}),
      ...(IfMatch ? { IfMatch } : {}),
    };
  }
}
