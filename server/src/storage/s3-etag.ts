/**
 * The ETag S3 gives an object, computed from its bytes as they stream to it, so a write can
 * recognise itself. A conditional create (`If-None-Match: *`) that the SDK retries after a
 * response was lost finds its own object there and is refused (412): without a way to tell
 * "the object I just wrote" from "someone else's object", a successful write would be reported as
 * a write-once conflict.
 *
 * S3's ETag of an unencrypted or SSE-S3 object is the MD5 of the body for a single PUT, and for a
 * multipart upload the MD5 of the parts' MD5s (binary, concatenated) followed by `-<parts>`.
 * lib-storage cuts parts at exactly `partSize` bytes (the last one shorter). With SSE-KMS the
 * ETag is not an MD5, so nothing can be proven and the conflict stands.
 */
import { createHash, type Hash } from 'node:crypto';

export class StreamingETag {
  private readonly whole = createHash('md5');
  private readonly parts: Buffer[] = [];
  private part: Hash = createHash('md5');
  private inPart = 0;

  constructor(private readonly partSize: number) {}

  update(bytes: Buffer): void {
    this.whole.update(bytes);
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(this.partSize - this.inPart, bytes.length - offset);
      this.part.update(bytes.subarray(offset, offset + take));
      this.inPart += take;
      offset += take;
      if (this.inPart === this.partSize) {
        this.parts.push(this.part.digest());
        this.part = createHash('md5');
        this.inPart = 0;
      }
    }
  }

  /** The ETags S3 may have given the object: the single-PUT one and, when it spans parts, the multipart one (quoted). */
  candidates(): string[] {
    const single = `"${this.whole.digest('hex')}"`;
    const parts = this.inPart > 0 || this.parts.length === 0 ? [...this.parts, this.part.digest()] : this.parts;
    if (parts.length < 2) return [single];
    const multipart = createHash('md5').update(Buffer.concat(parts)).digest('hex');
    return [single, `"${multipart}-${parts.length}"`];
  }
}
