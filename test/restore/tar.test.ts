import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from '@jest/globals';
import { tarStream, type TarEntry } from '../../server/src/restore/tar.js';

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
