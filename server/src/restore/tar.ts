/**
 * A minimal POSIX ustar writer (no dependency): enough for DOWNLOAD archives that any `tar -x`
 * unpacks. Paths up to 255 bytes (prefix + name split); files streamed, never buffered whole.
 *
 * While one entry streams, the next is listed and opened, so an archive of many small files does
 * not wait for a round trip to storage between them. An entry with a `sha256` is hashed as it
 * streams, with no extra stream or copy.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

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
}

/** Bytes the archive stream buffers ahead of its reader (one storage read). */
const READ_AHEAD_BYTES = 1024 * 1024;

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

interface Opened {
  entry: TarEntry;
  stream: Promise<Readable>;
}

/** The next entry, already being opened; null at the end. */
async function nextOpened(entries: AsyncIterator<TarEntry> | Iterator<TarEntry>): Promise<Opened | null> {
  const next = await entries.next();
  if (next.done) return null;
  const entry = next.value;
  const stream = (async () => entry.open())();
  stream.catch(() => undefined); // awaited when its turn comes; until then, not an unhandled rejection
  return { entry, stream };
}

/** Streams the entries as one tar archive. */
export function tarStream(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>): Readable {
  return Readable.from(
    (async function* () {
      const iterator = Symbol.asyncIterator in entries ? entries[Symbol.asyncIterator]() : entries[Symbol.iterator]();
      let pending: Promise<Opened | null> = nextOpened(iterator);
      try {
        for (let current = await pending; current; current = await pending) {
          const { entry } = current;
          pending = nextOpened(iterator); // listed and opened while this entry streams
          pending.catch(() => undefined);
          yield header(entry.path, entry.size, entry.mtime);
          const hash = entry.sha256 ? createHash('sha256') : null;
          let written = 0;
          for await (const chunk of await current.stream) {
            written += (chunk as Buffer).length;
            hash?.update(chunk as Buffer);
            yield chunk as Buffer;
          }
          if (written !== entry.size) throw new Error(`${entry.path}: ${written} bytes read, ${entry.size} announced`);
          const actual = hash?.digest('hex');
          if (hash && actual !== entry.sha256)
            throw new Error(`${entry.path}: sha256 ${actual} where the manifest says ${entry.sha256}`);
          const pad = (512 - (entry.size % 512)) % 512;
          if (pad) yield Buffer.alloc(pad, 0);
        }
        yield Buffer.alloc(1024, 0);
      } finally {
        // Stopped early (an error, or the reader went away): release what was opened ahead.
        void pending
          .then((opened) => opened?.stream)
          .then((stream) => stream?.destroy())
          .catch(() => undefined);
        await iterator.return?.();
      }
    })(),
    { objectMode: false, highWaterMark: READ_AHEAD_BYTES },
  );
}
