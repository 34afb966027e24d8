/**
 * Several Transforms behind one Transform (compress → encrypt, decrypt → decompress), so callers
 * get a single stage for `pipeline()`. Backpressure runs end to end: when our reader stops, the
 * last stage pauses, the stages fill up, the first stage stops acknowledging writes, and so do we.
 * An error in any stage destroys the whole chain with that error (through `mapError`).
 */
import { Transform, type TransformCallback } from 'node:stream';

class ChainedTransform extends Transform {
  private readonly head: Transform;
  private readonly tail: Transform;
  private finish: TransformCallback | null = null;

  constructor(
    private readonly stages: Transform[],
    mapError: (error: Error) => Error,
  ) {
    super();
    this.head = stages[0]!;
    this.tail = stages[stages.length - 1]!;
    for (let i = 0; i + 1 < stages.length; i += 1) stages[i].pipe(stages[i + 1]);
    for (const stage of stages) stage.on('error', (error: Error) => this.destroy(mapError(error)));
    this.tail.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.tail.pause();
    });
    this.tail.on('end', () => {
      const finish = this.finish;
      this.finish = null;
      finish?.();
    });
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    // The head acknowledges a write once it has processed it, which waits while its output is full.
    this.head.write(chunk, encoding, (error) => {
      if (!error) callback();
    });
  }

  override _flush(callback: TransformCallback): void {
    this.finish = callback;
    this.head.end();
  }

  override _read(size: number): void {
    if (this.tail.isPaused()) this.tail.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const stage of this.stages) stage.destroy();
    callback(error);
  }
}

/** One Transform running `stages` in order; their errors pass through `mapError`. */
export function chainTransforms(stages: Transform[], mapError: (error: Error) => Error = (e) => e): Transform {
  if (stages.length === 0) throw new Error('chainTransforms needs at least one stage');
  return new ChainedTransform(stages, mapError);
}
