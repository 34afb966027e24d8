/** Helpers for storage tests: deterministic sources that pause or fail where a test says. */
import { expect } from '@jest/globals';
import { Readable } from 'node:stream';
import { isDomainError, type DomainErrorCode } from '../../server/src/shared/errors.js';
import { createDeferred } from '../support/deferred.js';

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

export async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
}

export function split(bytes: Buffer, chunkSize: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize)
    chunks.push(bytes.subarray(offset, offset + chunkSize));
  return chunks;
}

/**
 * A byte stream of `chunks` that stops before chunk `pauseAt`: `paused` resolves once the reader
 * has asked for that chunk (so it has taken every earlier one), and the stream waits until
 * `resume()` — or `fail(error)`, which makes the stream error there, as a broken upstream would.
 * highWaterMark 0 means the stream reads only when its consumer asks.
 */
export function pausingSource(chunks: Buffer[], pauseAt: number) {
  const paused = createDeferred<void>();
  const gate = createDeferred<Error | null>();
  let index = 0;
  let waiting = false;
  let released = false;
  const stream = new Readable({
    highWaterMark: 0,
    read() {
      if (waiting) return;
      if (index === pauseAt && !released) {
        waiting = true;
        paused.resolve();
        void gate.promise.then((error) => {
          waiting = false;
          released = true;
          if (error) this.destroy(error);
          else this.push(index < chunks.length ? chunks[index++] : null);
        });
        return;
      }
      this.push(index < chunks.length ? chunks[index++] : null);
    },
  });
  return {
    stream,
    paused: paused.promise,
    resume: () => gate.resolve(null),
    fail: (error: Error) => gate.resolve(error),
  };
}

export async function expectDomainError(promise: Promise<unknown>, code: DomainErrorCode): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).not.toBeNull();
  if (!isDomainError(error, code))
    throw new Error(`expected DomainError ${code}, got ${String(error)}`, { cause: error });
}
