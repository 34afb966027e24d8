/**
 * A minimal POSIX ustar writer (no dependency): enough for DOWNLOAD archives that any `tar -x`
 * unpacks. Paths up to 255 bytes (prefix + name split); files streamed, never buffered whole.
 *
 * While one entry streams, the next is listed and opened, so an archive of many small files does
 * not wait for a round trip to storage between them. An entry with a `sha256` is hashed as it
 * streams, with no extra stream or copy.
 *
 * Two ways out: `tarStream`, a Readable (the presigned archive `put` to storage), whose chunks are
 * fresh buffers; and `writeTar` to a socket-backed sink (the DOWNLOAD link's HTTP response), which
 * reads entries that offer an `ObjectReader` into a few blocks of its own and reuses each once
 * the sink's write has called back. A 300 MiB archive then takes no 300 fresh MiB buffers: on the
 * benchmark's virtual machine fresh memory is dear (the kernel must find, zero and back each page),
 * and the streams of fresh buffers cost more than the reads themselves.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import type { ObjectReader } from '../storage/storage.port.js';

export interface TarEntry {
  path: string;
  size: number;
  mtime: Date;
  /**
   * The sha256 (hex) the entry's bytes must hash to. A mismatch ends the stream with an error
   * right after the entry's last byte, before its padding and the archive's end blocks: the
   * archive is never complete with bad bytes (`tar` reports it truncated).
   */
  sha256?: string;
  open(): Promise<Readable> | Readable;
  /** Optional: the bytes read into the caller's buffers (local storage), which `writeTar` prefers. */
  openReader?(): Promise<ObjectReader>;
}

/** Bytes the archive stream buffers ahead of its reader (one storage read). */
const READ_AHEAD_BYTES = 1024 * 1024;

/** `writeTar`'s blocks: one being read, one being hashed, two with the socket. */
const BLOCK_BYTES = 1024 * 1024;
const BLOCKS = 4;

function header(path: string, size: number, mtime: Date): Buffer {
  const block = Buffer.alloc(512, 0);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(path) > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100) throw new Error(`path too long for ustar: ${path}`);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  const put = (value: string, offset: number, length: number) => block.write(value, offset, length, 'utf8');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 12);
  put('        ', 148, 8); // checksum placeholder
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return block;
}

type Source = { stream: Readable } | { reader: ObjectReader };

interface Opened {
  entry: TarEntry;
  source: Promise<Source>;
}

/** The next entry, already being opened (with a reader when `blocks` can be read into); null at the end. */
async function nextOpened(
  entries: AsyncIterator<TarEntry> | Iterator<TarEntry>,
  blocks: Blocks | null,
): Promise<Opened | null> {
  const next = await entries.next();
  if (next.done) return null;
  const entry = next.value;
  const source: Promise<Source> = (async () =>
    blocks && entry.openReader ? { reader: await entry.openReader() } : { stream: await entry.open() })();
  source.catch(() => undefined); // awaited when its turn comes; until then, not an unhandled rejection
  return { entry, source };
}

async function release(source: Source | undefined): Promise<void> {
  if (!source) return;
  if ('reader' in source) await source.reader.close();
  else source.stream.destroy();
}

/** A few reusable blocks; `take` waits while all are out. */
class Blocks {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((block: Buffer) => void)[] = [];
  private made = 0;

  take(): Promise<Buffer> | Buffer {
    const block = this.free.pop();
    if (block) return block;
    if (this.made < BLOCKS) {
      this.made++;
      return Buffer.allocUnsafeSlow(BLOCK_BYTES);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(block: Buffer): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(block);
    else this.free.push(block);
  }
}

/** A piece of the archive and, when it is one of `Blocks`', what gives the block back. */
interface Piece {
  bytes: Buffer;
  done?: () => void;
}

/** Reads a whole object into blocks, one read ahead of the piece being handed out. */
async function* readerPieces(reader: ObjectReader, blocks: Blocks): AsyncGenerator<Piece> {
  const readAt = async (position: number) => {
    const block = await blocks.take();
    return { block, count: await reader.read(block, position) };
  };
  let position = 0;
  let next = readAt(0);
  try {
    for (;;) {
      const { block, count } = await next;
      if (count === 0) {
        blocks.give(block);
        return;
      }
      position += count;
      next = readAt(position);
      yield { bytes: block.subarray(0, count), done: () => blocks.give(block) };
    }
  } finally {
    next.catch(() => undefined); // a read still in flight when the archive stops
  }
}

async function* streamPieces(stream: Readable): AsyncGenerator<Piece> {
  for await (const chunk of stream) yield { bytes: chunk as Buffer };
}

/** The archive's pieces in order; each entry's bytes checked against its size and sha256. */
async function* tarPieces(
  entries: AsyncIterable<TarEntry> | Iterable<TarEntry>,
  blocks: Blocks | null,
): AsyncGenerator<Piece> {
  const iterator = Symbol.asyncIterator in entries ? entries[Symbol.asyncIterator]() : entries[Symbol.iterator]();
  let pending: Promise<Opened | null> = nextOpened(iterator, blocks);
  try {
    for (let current = await pending; current; current = await pending) {
      const { entry } = current;
      pending = nextOpened(iterator, blocks); // listed and opened while this entry streams
      pending.catch(() => undefined);
      yield { bytes: header(entry.path, entry.size, entry.mtime) };
      const hash: Hash | null = entry.sha256 ? createHash('sha256') : null;
      let written = 0;
      const source = await current.source;
      try {
        for await (const piece of 'reader' in source
          ? readerPieces(source.reader, blocks!)
          : streamPieces(source.stream)) {
          written += piece.bytes.length;
          hash?.update(piece.bytes);
          yield piece;
        }
      } finally {
        await release(source);
      }
      if (written !== entry.size) throw new Error(`${entry.path}: ${written} bytes read, ${entry.size} announced`);
      const actual = hash?.digest('hex');
      if (hash && actual !== entry.sha256)
        throw new Error(`${entry.path}: sha256 ${actual} where the manifest says ${entry.sha256}`);
      const pad = (512 - (entry.size % 512)) % 512;
      if (pad) yield { bytes: Buffer.alloc(pad, 0) };
    }
    yield { bytes: Buffer.alloc(1024, 0) };
  } finally {
    // Stopped early (an error, or the reader went away): release what was opened ahead.
    void pending
      .then((opened) => opened?.source)
      .then(release)
      .catch(() => undefined);
    await iterator.return?.();
  }
}

/** Streams the entries as one tar archive (fresh buffers: the reader may keep its chunks). */
export function tarStream(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>): Readable {
  return Readable.from(
    (async function* () {
      for await (const piece of tarPieces(entries, null)) yield piece.bytes;
    })(),
    { objectMode: false, highWaterMark: READ_AHEAD_BYTES },
  );
}

/**
 * Writes the entries as one tar archive to `sink`, waiting while it is full. `sink` must be done
 * with a chunk's bytes when that write calls back (a socket or an HTTP response: handed to the
 * kernel), since the block is then read into again. Resolves after the last byte is written; does
 * not end `sink`. Rejects on an entry's error (the archive then stops right after the bad entry's
 * last byte, as `tarStream`'s does) or when `sink` is destroyed or fails first.
 */
export async function writeTar(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>, sink: Writable): Promise<void> {
  const failed: { error?: Error } = {};
  const onError = (error: Error) => (failed.error ??= error);
  sink.on('error', onError);
  try {
    for await (const { bytes, done } of tarPieces(entries, new Blocks())) {
      if (failed.error) throw failed.error;
      if (sink.destroyed) throw new Error("the archive's reader went away");
      if (!sink.write(bytes, done && (() => done()))) await drained(sink);
    }
  } finally {
    sink.off('error', onError);
  }
}

/** Resolves when `sink` drains; rejects when it closes or fails first. */
function drained(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      sink.off('drain', onDrain).off('close', onClose).off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new Error("the archive's reader went away"));
    sink.on('drain', onDrain).on('close', onClose).on('error', settle);
  });
}
