/** How every backend reads the `source` of a `put`: chunk by chunk, hashing as it goes. */
import { createHash } from 'node:crypto';
import { finished, Readable } from 'node:stream';
import type { PutResult } from './storage.port.js';

/**
 * Feeds each chunk of `source` to `sink` (a promise it returns is awaited, the stream paused
 * meanwhile, so a slow medium slows the source down) and returns the size and SHA-256 of everything
 * fed. An error from `sink` stops reading and destroys a stream source; an error of the source
 * itself is rethrown unchanged.
 *
 * The chunks are taken from the stream's 'data' events, each as it was pushed (a byte stream's
 * async iterator joins whatever is buffered into a new Buffer), and a chunk the sink takes at once
 * costs no promise: a pack's thousands of chunks a pass made as many async iterations before.
 */
export async function drainSource(
  source: Readable | Uint8Array,
  sink: (chunk: Buffer) => Promise<void> | void,
): Promise<PutResult> {
  const hash = createHash('sha256');
  let size = 0;
  const feed = (chunk: unknown): Promise<void> | void => {
    const bytes = toBuffer(chunk);
    if (bytes.length === 0) return;
    hash.update(bytes);
    size += bytes.length;
    return sink(bytes);
  };
  if (source instanceof Uint8Array) await feed(source);
  else await feedStream(source, feed);
  return { size, sha256: hash.digest('hex') };
}

/** Every chunk of `stream` to `feed`, one at a time: paused while a promise `feed` returned is pending. */
function feedStream(stream: Readable, feed: (chunk: unknown) => Promise<void> | void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let waiting = false; // a chunk is with the sink
    let ended = false;
    let settled = false;
    const settle = (error?: Error | null) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stopWatching();
      if (!error) return resolve();
      if (!ended) stream.destroy(); // the sink failed: stop the source
      reject(error);
    };
    const onData = (chunk: unknown) => {
      let taking: Promise<void> | void;
      try {
        taking = feed(chunk);
      } catch (error) {
        return settle(error as Error);
      }
      if (!taking) return;
      waiting = true;
      stream.pause();
      taking.then(
        () => {
          waiting = false;
          if (ended) settle();
          else if (!settled) stream.resume();
        },
        (error: Error) => settle(error),
      );
    };
    // 'end' may come while the last chunk is still with the sink (a stream that ended is done
    // once its buffer is read, paused or not): the drain is over when both are.
    const stopWatching = finished(stream, { writable: false }, (error) => {
      ended = true;
      if (error) settle(error);
      else if (!waiting) settle();
    });
    stream.on('data', onData);
    stream.resume(); // also a stream its producer had paused
  });
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
