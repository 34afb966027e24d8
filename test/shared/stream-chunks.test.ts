import { describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { chunksOf } from '../../server/src/shared/stream-chunks.js';

/** A byte stream that already buffers `chunks` (pushed before anyone reads) and then ends. */
function buffered(chunks: Buffer[]): Readable {
  const stream = new Readable({ read() {}, highWaterMark: 1024 * 1024 });
  for (const chunk of chunks) stream.push(chunk);
  stream.push(null);
  return stream;
}

describe('the chunks of a stream', () => {
  it('are handed over one by one as they were pushed, never joined into a new buffer', async () => {
    const pushed = [Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2), Buffer.alloc(10, 3)];
    const received: unknown[] = [];
    for await (const chunk of chunksOf(buffered(pushed))) received.push(chunk);
    expect(received).toHaveLength(3);
    pushed.forEach((chunk, i) => expect(received[i]).toBe(chunk));
  });

  it('wait while the consumer is busy: the stream is paused meanwhile', async () => {
    const stream = new PassThrough();
    const chunks = chunksOf(stream);
    stream.write(Buffer.from('first'));
    const first = await chunks.next();
    expect(String(first.value)).toBe('first');
    expect(stream.isPaused()).toBe(true);
    stream.end(Buffer.from('second'));
    expect(String((await chunks.next()).value)).toBe('second');
    expect((await chunks.next()).done).toBe(true);
  });

  it('end with the stream error it met, unchanged', async () => {
    const stream = new PassThrough();
    const failure = new Error('the disk went away');
    const reading = (async () => {
      for await (const chunk of chunksOf(stream)) void chunk;
    })();
    stream.write(Buffer.from('some'));
    stream.destroy(failure);
    await expect(reading).rejects.toBe(failure);
  });

  it('destroy the stream when the consumer stops early', async () => {
    const stream = buffered([Buffer.from('a'), Buffer.from('b')]);
    const closed = once(stream, 'close');
    for await (const chunk of chunksOf(stream)) {
      void chunk;
      break;
    }
    await closed;
    expect(stream.destroyed).toBe(true);
  });
});
