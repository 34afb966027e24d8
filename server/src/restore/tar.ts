/**
 * A minimal POSIX ustar writer (no dependency): enough for DOWNLOAD archives that any `tar -x`
 * unpacks. Paths up to 255 bytes (prefix + name split); files streamed, never buffered whole.
 */
import { Readable } from 'node:stream';

export interface TarEntry {
  path: string;
  size: number;
  mtime: Date;
  open(): Promise<Readable> | Readable;
}

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

/** Streams the entries as one tar archive. */
export function tarStream(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>): Readable {
  return Readable.from(
    (async function* () {
      for await (const entry of entries) {
        yield header(entry.path, entry.size, entry.mtime);
        let written = 0;
        for await (const chunk of await entry.open()) {
          written += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (written !== entry.size) throw new Error(`${entry.path}: ${written} bytes read, ${entry.size} announced`);
        const pad = (512 - (entry.size % 512)) % 512;
        if (pad) yield Buffer.alloc(pad, 0);
      }
      yield Buffer.alloc(1024, 0);
    })(),
  );
}
