import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from '@jest/globals';
import { tarStream, writeTar, type TarEntry } from '../../server/src/restore/tar.js';

const scratch = mkdtempSync(join(tmpdir(), 'labkeeper-tar-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Runs tar on an archive file; resolves with its exit code and stdout. */
function tar(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8') }));
  });
}

/** The archive's bytes until it ends or fails, and its error if it failed. */
async function collect(archive: Readable): Promise<{ bytes: Buffer; error: Error | null }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of archive) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks), error: null };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error: error as Error };
  }
}

/** An entry of `bytes`, recording when it was opened and how its stream closed (read to its end, or destroyed). */
function anEntry(path: string, bytes: Buffer, options: { sha256?: string; chunk?: number } = {}) {
  const events: string[] = [];
  let stream: Readable | null = null;
  let closed!: (how: string) => void;
  const closing = new Promise<string>((resolve) => (closed = resolve));
  const entry: TarEntry = {
    path,
    size: bytes.length,
    mtime: new Date(0),
    ...(options.sha256 ? { sha256: options.sha256 } : {}),
    open() {
      events.push('opened');
      const chunk = options.chunk ?? bytes.length;
      stream = Readable.from(
        Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk)),
      );
      stream.once('close', () => {
        events.push(stream!.readableEnded ? 'ended' : 'destroyed');
        closed(events.at(-1)!);
      });
      return stream;
    },
  };
  return { entry, events, closing };
}

describe('tarStream', () => {
  it('writes an archive that tar unpacks to the same bytes', async () => {
    const files = { 'a/one.bin': randomBytes(1000), 'a/b/two.bin': randomBytes(70_000), 'empty.txt': Buffer.alloc(0) };
    const entries = Object.entries(files).map(([path, bytes]) => anEntry(path, bytes, { sha256: sha256(bytes) }).entry);
    const { bytes, error } = await collect(tarStream(entries));
    expect(error).toBeNull();
    const archive = join(scratch, 'whole.tar');
    writeFileSync(archive, bytes);
    const out = mkdtempSync(join(scratch, 'out-'));
    expect((await tar(['-xf', archive, '-C', out])).code).toBe(0);
    for (const [path, content] of Object.entries(files)) expect(readFileSync(join(out, path))).toEqual(content);
  });

  it("ends with an error after an entry's last byte when its bytes do not hash to its sha256, so tar finds the archive incomplete", async () => {
    const good = randomBytes(3000);
    const rotten = randomBytes(5000);
    const after = anEntry('after.bin', randomBytes(10));
    const { bytes, error } = await collect(
      tarStream([
        anEntry('good.bin', good, { sha256: sha256(good) }).entry,
        anEntry('rotten.bin', rotten, { sha256: sha256(Buffer.from('what the manifest hashed')) }).entry,
        after.entry,
      ]),
    );
    expect(error?.message).toMatch(/^rotten\.bin: sha256 [0-9a-f]{64} where the manifest says/);
    // good.bin (header and padded bytes), rotten.bin's header and every byte of it, nothing more
    expect(bytes.length).toBe(512 + 3072 + 512 + 5000);
    const archive = join(scratch, 'cut.tar');
    writeFileSync(archive, bytes);
    expect((await tar(['-tf', archive])).code).not.toBe(0);
  });

  it('opens the next entry while the current one streams', async () => {
    // Bigger than what the archive buffers ahead of its reader: the first entry is still streaming.
    const first = anEntry('first.bin', randomBytes(3 * 1024 * 1024), { chunk: 64 * 1024 });
    const second = anEntry('second.bin', randomBytes(100));
    const archive = tarStream([first.entry, second.entry]);
    const iterator = archive[Symbol.asyncIterator]();
    await iterator.next();
    expect(first.events).toEqual(['opened']);
    expect(second.events).toEqual(['opened']);
    await iterator.return?.();
  });

  it('releases the entry it opened ahead when the archive stops early', async () => {
    const first = anEntry('first.bin', randomBytes(4096), { chunk: 512, sha256: '0'.repeat(64) });
    const second = anEntry('second.bin', randomBytes(100));
    const { error } = await collect(tarStream([first.entry, second.entry]));
    expect(error).not.toBeNull();
    expect(await second.closing).toBe('destroyed');
  });
});

/** An entry read through an `ObjectReader` over `bytes`, recording when it was opened and closed. */
function aReaderEntry(path: string, bytes: Buffer, options: { sha256?: string } = {}) {
  const events: string[] = [];
  const entry: TarEntry = {
    path,
    size: bytes.length,
    mtime: new Date(0),
    ...(options.sha256 ? { sha256: options.sha256 } : {}),
    open: () => {
      throw new Error('writeTar reads an entry with a reader through it');
    },
    openReader() {
      events.push('opened');
      return Promise.resolve({
        read: (into: Uint8Array, position: number) =>
          Promise.resolve(bytes.copy(into, 0, Math.min(position, bytes.length), position + into.length)),
        close: () => {
          events.push('closed');
          return Promise.resolve();
        },
      });
    },
  };
  return { entry, events };
}

/**
 * A sink that is done with a chunk only a turn later, when it copies the chunk's bytes and calls
 * back (as a socket hands them to the kernel): a block reused before that would show in the copy.
 */
function aSlowSink(options: { destroyAfter?: number } = {}) {
  const copies: Buffer[] = [];
  const blocks = new Set<ArrayBufferLike>();
  const sink = new Writable({
    highWaterMark: 8 * 1024 * 1024, // takes several blocks before it says it is full
    write(chunk: Buffer, _encoding, callback) {
      if (chunk.length === 1024 * 1024) blocks.add(chunk.buffer);
      setImmediate(() => {
        copies.push(Buffer.from(chunk));
        callback();
        if (copies.length === options.destroyAfter) sink.destroy();
      });
    },
  });
  return { sink, blocks, bytes: () => Buffer.concat(copies) };
}

describe('writeTar', () => {
  it('writes the archive tarStream gives (which tar unpacks), reading entries into four blocks it reuses only once the sink is done with them', async () => {
    const files = {
      'big.bin': randomBytes(10 * 1024 * 1024 + 7),
      'small.bin': randomBytes(700),
      empty: Buffer.alloc(0),
    };
    const entries = () =>
      Object.entries(files).map(([path, bytes]) => aReaderEntry(path, bytes, { sha256: sha256(bytes) }).entry);
    const { sink, blocks, bytes } = aSlowSink();
    await writeTar(entries(), sink);
    await new Promise((resolve) => sink.end(resolve));
    const expected = await collect(tarStream(Object.entries(files).map(([path, b]) => anEntry(path, b).entry)));
    expect(bytes().equals(expected.bytes)).toBe(true); // (toEqual would print 10 MiB of difference)
    expect(blocks.size).toBeLessThanOrEqual(4);
  });

  it("stops right after a read entry's last byte when it does not hash to its sha256, and closes what it opened", async () => {
    const good = aReaderEntry('good.bin', randomBytes(3000));
    const rotten = aReaderEntry('rotten.bin', randomBytes(5000), {
      sha256: sha256(Buffer.from('what the manifest hashed')),
    });
    const after = aReaderEntry('after.bin', randomBytes(10));
    const { sink, bytes } = aSlowSink();
    await expect(writeTar([good.entry, rotten.entry, after.entry], sink)).rejects.toThrow(
      /^rotten\.bin: sha256 [0-9a-f]{64} where the manifest says/,
    );
    await new Promise((resolve) => sink.end(resolve));
    expect(bytes().length).toBe(512 + 3072 + 512 + 5000);
    expect([good.events, rotten.events, after.events]).toEqual([
      ['opened', 'closed'],
      ['opened', 'closed'],
      ['opened', 'closed'],
    ]);
  });

  it('fails when the sink goes away, and closes the entry being read and the one opened ahead', async () => {
    const first = aReaderEntry('first.bin', randomBytes(5 * 1024 * 1024));
    const second = aReaderEntry('second.bin', randomBytes(100));
    const { sink } = aSlowSink({ destroyAfter: 2 });
    await expect(writeTar([first.entry, second.entry], sink)).rejects.toThrow("the archive's reader went away");
    await new Promise(setImmediate);
    expect(first.events).toEqual(['opened', 'closed']);
    expect(second.events).toEqual(['opened', 'closed']);
  });
});
