/** How every backend reads the `source` of a `put`: chunk by chunk, hashing as it goes. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { chunksOf } from '../shared/stream-chunks.js';
import type { PutResult } from './storage.port.js';

/**
 * Feeds each chunk of `source` to `sink` (awaited, so a slow medium slows the source down) and
 * returns the size and SHA-256 of everything fed. An error from `sink` stops reading and destroys
 * a stream source; an error of the source itself is rethrown unchanged.
 */
export async function drainSource(
  source: Readable | Uint8Array,
  sink: (chunk: Buffer) => Promise<void> | void,
): Promise<PutResult> {
  const hash = createHash('sha256');
  let size = 0;
  const chunks: AsyncIterable<unknown> | Iterable<unknown> = source instanceof Uint8Array ? [source] : chunksOf(source);
  for await (const chunk of chunks) {
    const bytes = toBuffer(chunk);
    if (bytes.length === 0) continue;
    hash.update(bytes);
    size += bytes.length;
    await sink(bytes);
  }
  return { size, sha256: hash.digest('hex') };
}

/** Releases a source `put` will not read (refusal, invalid key). */
export function discardSource(source: Readable | Uint8Array): void {
  if (source instanceof Readable && !source.destroyed) source.destroy();
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`a storage source must yield bytes, not ${typeof chunk}`);
}

/** A byte stream over an immutable buffer, in chunks of `chunkSize` (so readers can interleave). */
export function bufferStream(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= bytes.length) {
        this.push(null);
        return;
      }
      const end = Math.min(offset + chunkSize, bytes.length);
      this.push(bytes.subarray(offset, end));
      offset = end;
    },
  });
}
