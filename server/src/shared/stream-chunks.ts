/**
 * A readable stream's chunks one by one, each as it was pushed. A byte stream's own async
 * iterator reads whatever is buffered as one new Buffer: whenever the consumer was slower than
 * the producer, every byte that waited was copied into a fresh allocation (up to the stream's
 * high-water mark), to be collected again — for a backup's pack, hundreds of MiB per pass, and
 * the external memory that makes V8 start full collections.
 *
 * Backpressure as with the iterator: the stream is paused while a chunk is with the consumer.
 * Leaving early (break, an error of the consumer) destroys the stream, as the iterator does; an
 * error of the stream is thrown as it is.
 */
import { finished, type Readable } from 'node:stream';

export async function* chunksOf(stream: Readable): AsyncGenerator<unknown> {
  const queue: unknown[] = [];
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const woken = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  const onData = (chunk: unknown) => {
    queue.push(chunk);
    stream.pause();
    woken();
  };
  stream.on('data', onData);
  const stopWatching = finished(stream, { writable: false }, (error) => {
    if (error) failure = error;
    ended = true;
    woken();
  });
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        yield chunk;
        continue;
      }
      const error = failure as Error | null; // set by the stream's callbacks
      if (error) throw error;
      if (ended) return;
      stream.resume();
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('data', onData);
    stopWatching();
    if (!ended) stream.destroy();
  }
}
