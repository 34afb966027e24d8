import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { FakeClock } from '../../server/src/shared/clock.js';
import { LocalStorage, readBack } from '../../server/src/storage/local-storage.js';
import { leftovers } from '../support/deferred.js';
import { describeStorageBackend } from './storage-conformance.js';
import { collect, pausingSource, readAll, split } from './storage-support.js';

const bag = leftovers();
afterEach(() => bag.release());

async function aDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'labkeeper-storage-'));
  return bag.add(() => rm(dir, { recursive: true, force: true }), dir);
}

/** Every file and directory below `root`, relative, including temp files. */
async function everything(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.map((e) => relative(root, join(root, e))).sort();
}

/**
 * A directory nothing can be written into: a read-only tmpfs mounted on it when running as root
 * (root writes through permissions), otherwise one without write permission.
 */
async function aReadOnlyDirectory(): Promise<{ dir: string; expected: string }> {
  const dir = await aDirectory();
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
    bag.add(() => execFileSync('umount', [dir]));
    return { dir, expected: 'EROFS' };
  }
  await chmod(dir, 0o500);
  bag.add(() => chmod(dir, 0o700));
  return { dir, expected: 'EACCES' };
}

describeStorageBackend('LocalStorage', async () => {
  const root = await mkdtemp(join(tmpdir(), 'labkeeper-storage-'));
  return {
    storage: await LocalStorage.open(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
    strayFiles: async () => (await everything(root)).filter((path) => path.includes('.tmp-')),
  };
});

describe('LocalStorage', () => {
  describe('layout', () => {
    it('creates its directory and stores key a/b/c as the file a/b/c, readable only by its owner', async () => {
      const root = join(await aDirectory(), 'backups');
      const storage = await LocalStorage.open(root);
      await storage.put('orgs/o1/manifest.json', Buffer.from('{}'));
      const info = await stat(join(root, 'orgs/o1/manifest.json'));
      expect(info.size).toBe(2);
      expect(info.mode & 0o777).toBe(0o600);
      expect(storage.location).toBe(root);
    });

    it('does not list foreign files such as .DS_Store', async () => {
      const root = await aDirectory();
      const storage = await LocalStorage.open(root);
      await storage.put('a/b', Buffer.from('x'));
      await writeFile(join(root, 'a', '.DS_Store'), 'finder');
      expect(await collect(storage.list(''))).toEqual(['a/b']);
    });
  });

  describe('the periodic sweep', () => {
    it('removes snapshot folders without a manifest, and stale temp files inside published ones, once nothing changed in them for the age given, but not the temp files of a snapshot still being written', async () => {
      const root = await aDirectory();
      const clock = new FakeClock(new Date());
      const storage = await LocalStorage.open(root, { clock });
      const snapshots = 'orgs/o1/repos/r1/snapshots';
      await storage.put(`${snapshots}/published/repository.bundle`, Buffer.from('bundle'));
      await storage.put(`${snapshots}/published/manifest.json`, Buffer.from('{}'));
      await writeFile(join(root, snapshots, 'published', 'metadata.tmp-0123456789abcdef'), 'half written');
      await storage.put(`${snapshots}/abandoned/repository.bundle`, Buffer.from('bundle'));
      await storage.put(`${snapshots}/still-writing/repository.bundle`, Buffer.from('bundle'));
      // A write of the snapshot still being written, idle as long as the leftovers (a slow listing).
      await mkdir(join(root, snapshots, 'still-writing', 'metadata'));
      await writeFile(
        join(root, snapshots, 'still-writing', 'metadata', 'issues.jsonl.gz.tmp-0123456789abcdef'),
        'so far',
      );
      const options = {
        olderThanMs: 60 * 60 * 1000,
        unit: /^orgs\/[^/]+\/repos\/[^/]+\/snapshots\/[^/]+$/,
        marker: 'manifest.json',
        inUse: async (key: string) => key.endsWith('/still-writing'),
      };
      expect(await storage.sweep(options)).toEqual({ temps: 0, folders: [] }); // all recent

      clock.advance(2 * 60 * 60 * 1000);
      expect(await storage.sweep(options)).toEqual({ temps: 1, folders: [`${snapshots}/abandoned`] });
      expect(await everything(join(root, snapshots))).toEqual([
        'published',
        'published/manifest.json',
        'published/repository.bundle',
        'still-writing',
        'still-writing/metadata',
        'still-writing/metadata/issues.jsonl.gz.tmp-0123456789abcdef',
        'still-writing/repository.bundle',
      ]);
    });
  });

  describe('a read-only storage', () => {
    it('is reported as read-only (or not writable), not as a missing file', async () => {
      const { dir, expected } = await aReadOnlyDirectory();
      const storage = await LocalStorage.open(dir);
      const failure = await storage
        .put('orgs/o1/snapshots/s1/repository.bundle', Buffer.from('x'))
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        details: { operation: 'write', errno: expected },
        retryable: false,
      });
      expect((failure as Error).message).toMatch(
        expected === 'EROFS' ? /EROFS: the storage is read-only/ : /EACCES: permission denied/,
      );
      await expect(LocalStorage.open(join(dir, 'backups'))).rejects.toMatchObject({ details: { errno: expected } });
    });
  });

  describe('temp files', () => {
    it('writes into a hidden temp file next to the target while a put is in progress', async () => {
      const root = await aDirectory();
      const storage = await LocalStorage.open(root);
      const source = pausingSource(split(randomBytes(200_000), 100_000), 1);
      const putting = storage.put('snap/repo.bundle', source.stream);
      await source.paused;
      const during = await everything(root);
      expect(during).toEqual(['snap', expect.stringMatching(/^snap\/repo\.bundle\.tmp-[0-9a-f]{16}$/)]);
      expect(await collect(storage.list(''))).toEqual([]);
      source.resume();
      await putting;
      expect(await everything(root)).toEqual(['snap', 'snap/repo.bundle']);
    });

    it('sweeps temp files and half-deleted directories older than an hour when opened', async () => {
      const root = await aDirectory();
      const clock = new FakeClock('2026-03-01T12:00:00Z');
      await mkdir(join(root, 'orgs/o1/snap.tmp-deleted-0011223344556677/x'), { recursive: true });
      await writeFile(join(root, 'orgs/o1/repo.bundle.tmp-aaaaaaaaaaaaaaaa'), 'crashed write');
      await writeFile(join(root, 'orgs/o1/manifest.json.tmp-bbbbbbbbbbbbbbbb'), 'write in progress');
      const twoHoursAgo = new Date('2026-03-01T10:00:00Z');
      await utimes(join(root, 'orgs/o1/snap.tmp-deleted-0011223344556677'), twoHoursAgo, twoHoursAgo);
      await utimes(join(root, 'orgs/o1/repo.bundle.tmp-aaaaaaaaaaaaaaaa'), twoHoursAgo, twoHoursAgo);
      const tenMinutesAgo = new Date('2026-03-01T11:50:00Z');
      await utimes(join(root, 'orgs/o1/manifest.json.tmp-bbbbbbbbbbbbbbbb'), tenMinutesAgo, tenMinutesAgo);

      const storage = await LocalStorage.open(root, { clock });

      expect(await everything(root)).toEqual(['orgs', 'orgs/o1', 'orgs/o1/manifest.json.tmp-bbbbbbbbbbbbbbbb']);
      expect(await collect(storage.list(''))).toEqual([]);
    });

    it('leaves nothing of a deleted prefix behind, not even its directory', async () => {
      const root = await aDirectory();
      const storage = await LocalStorage.open(root);
      await storage.put('orgs/o1/a', Buffer.from('x'));
      await storage.put('orgs/o2/a', Buffer.from('y'));
      await storage.deletePrefix('orgs/o1');
      expect(await everything(root)).toEqual(['orgs', 'orgs/o2', 'orgs/o2/a']);
    });
  });

  describe('digest', () => {
    it('gives the size and sha256 of what is stored, also of an object of several read buffers and of an empty one, while other digests run', async () => {
      const storage = await LocalStorage.open(await aDirectory());
      const objects = [randomBytes(3 * 1024 * 1024 + 5), Buffer.alloc(0), randomBytes(1024 * 1024), randomBytes(10)];
      await Promise.all(objects.map((bytes, i) => storage.put(`orgs/o1/${i}`, bytes)));
      const digests = await Promise.all(objects.map((_, i) => storage.digest(`orgs/o1/${i}`)));
      expect(digests).toEqual(
        objects.map((bytes) => ({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') })),
      );
    });

    it('refuses a missing key and a prefix with ARTIFACT_NOT_FOUND', async () => {
      const storage = await LocalStorage.open(await aDirectory());
      await storage.put('orgs/o1/a', Buffer.from('x'));
      await expect(storage.digest('orgs/o1/missing')).rejects.toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
      await expect(storage.digest('orgs/o1')).rejects.toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
    });
  });

  describe('open', () => {
    it('reads a small object into a buffer of its size, not a MiB (which the garbage collector would count as a MiB of external memory)', async () => {
      const storage = await LocalStorage.open(await aDirectory());
      await storage.put('orgs/o1/manifest.json', randomBytes(3000));
      await storage.put('orgs/o1/empty', Buffer.alloc(0));
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 20; i++) {
        expect((await readAll(await storage.open('orgs/o1/manifest.json'))).length).toBe(3000);
        expect((await readAll(await storage.open('orgs/o1/empty'))).length).toBe(0);
      }
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * 1024 * 1024);
    });
  });

  describe('openReader', () => {
    it("reads an object into the caller's buffer at any position, 0 at its end, and refuses a missing key and a prefix", async () => {
      const storage = await LocalStorage.open(await aDirectory());
      const bytes = randomBytes(3000);
      await storage.put('orgs/o1/a', bytes);
      const reader = await storage.openReader('orgs/o1/a');
      const into = Buffer.alloc(1024);
      expect(await reader.read(into, 0)).toBe(1024);
      expect(into).toEqual(bytes.subarray(0, 1024));
      expect(await reader.read(into, 2500)).toBe(500);
      expect(into.subarray(0, 500)).toEqual(bytes.subarray(2500));
      expect(await reader.read(into, 3000)).toBe(0);
      await reader.close();
      await expect(storage.openReader('orgs/o1/missing')).rejects.toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
      await expect(storage.openReader('orgs/o1')).rejects.toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
    });
  });

  describe('direct I/O (a file system that has it: ext4 here)', () => {
    /** Bytes of `file` in the page cache (util-linux fincore). */
    const cachedBytes = (file: string) =>
      Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file]).toString().trim());

    it('writes a big artifact to the disk without a page-cache copy, and its digest reads the disk: only its last part (under a MiB) is ever cached', async () => {
      const root = await aDirectory();
      const storage = await LocalStorage.open(root);
      const bytes = randomBytes(5 * 1024 * 1024 + 123);
      const put = await storage.put('orgs/o1/repository.bundle', Readable.from(split(bytes, 65_519)));
      const file = join(root, 'orgs/o1/repository.bundle');
      expect(cachedBytes(file)).toBeLessThan(1024 * 1024);
      const digest = await storage.digest('orgs/o1/repository.bundle');
      expect(cachedBytes(file)).toBeLessThan(1024 * 1024);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      expect(put).toEqual({ size: bytes.length, sha256 });
      expect(digest).toEqual({ size: bytes.length, sha256 });
      expect((await readFile(file)).equals(bytes)).toBe(true);
    });

    it('stores objects of whole MiB, of a byte less and of a byte more exactly, written and digested while others are', async () => {
      const storage = await LocalStorage.open(await aDirectory());
      const MiB = 1024 * 1024;
      const objects = [randomBytes(2 * MiB), randomBytes(MiB - 1), randomBytes(MiB + 1), randomBytes(3 * MiB)];
      const puts = await Promise.all(
        objects.map((bytes, i) => storage.put(`orgs/o1/${i}`, Readable.from(split(bytes, 40_000)))),
      );
      const digests = await Promise.all(objects.map((_, i) => storage.digest(`orgs/o1/${i}`)));
      const expected = objects.map((bytes) => ({
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      }));
      expect(puts).toEqual(expected);
      expect(digests).toEqual(expected);
      for (const [i, bytes] of objects.entries())
        expect((await readAll(await storage.open(`orgs/o1/${i}`))).equals(bytes)).toBe(true);
    });
  });

  describe('read-back (PutOptions.readBack)', () => {
    it('reads every part back as it writes it: the result says so, the bytes are exact, and a big artifact still leaves no page-cache copy', async () => {
      const root = await aDirectory();
      const storage = await LocalStorage.open(root);
      const MiB = 1024 * 1024;
      const objects = [Buffer.alloc(0), randomBytes(3000), randomBytes(MiB), randomBytes(3 * MiB + 5)];
      const puts = await Promise.all(
        objects.map((bytes, i) => storage.put(`orgs/o1/${i}`, Readable.from(split(bytes, 40_000)), { readBack: true })),
      );
      expect(puts).toEqual(
        objects.map((bytes) => ({
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          readBack: true,
        })),
      );
      // The whole MiB were read back from the disk (direct I/O), not from a copy the kernel kept.
      const big = join(root, 'orgs/o1/3');
      expect(
        Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', big]).toString().trim()),
      ).toBeLessThan(MiB);
      for (const [i, bytes] of objects.entries())
        expect((await readFile(join(root, `orgs/o1/${i}`))).equals(bytes)).toBe(true);
      // Not asked, not done (and not claimed).
      expect(await storage.put('orgs/o1/plain', Buffer.from('x'))).not.toHaveProperty('readBack');
    });

    it('fails with EIO when what is read back differs from what was written', async () => {
      const file = join(await aDirectory(), 'part');
      const written = randomBytes(4096);
      const stored = Buffer.from(written);
      stored[1234] ^= 0xff; // one bit pattern the storage did not keep
      await writeFile(file, stored);
      const handle = await open(file, 'r');
      try {
        const into = Buffer.alloc(written.length);
        await expect(readBack(handle, written, into, written.length, 0)).rejects.toMatchObject({ code: 'EIO' });
        await expect(readBack(handle, stored, into, stored.length, 0)).resolves.toBeUndefined();
        // a stored part shorter than what was written (the file ends early) is a difference too
        await expect(
          readBack(handle, Buffer.concat([stored, stored]), Buffer.alloc(8192), 8192, 0),
        ).rejects.toMatchObject({
          code: 'EIO',
        });
      } finally {
        await handle.close();
      }
    });
  });

  describe('putConcat', () => {
    it('stores bytes followed by a whole file, reporting the size and sha256 of the result', async () => {
      const root = await aDirectory();
      const storage = await LocalStorage.open(root);
      const body = randomBytes(9 * 1024 * 1024 + 17); // more than one of the worker's buffers
      const file = join(await aDirectory(), 'pack');
      await writeFile(file, body);
      const header = Buffer.from('# v2 git bundle\n\n');
      const result = await storage.putConcat('orgs/o1/repository.bundle', [header, { file }]);
      const expected = Buffer.concat([header, body]);
      expect(result).toEqual({ size: expected.length, sha256: createHash('sha256').update(expected).digest('hex') });
      const chunks: Buffer[] = [];
      for await (const chunk of await storage.open('orgs/o1/repository.bundle')) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    });

    it('refuses an existing key and leaves no temp file, also when a file is missing', async () => {
      const root = await aDirectory();
      const storage = await LocalStorage.open(root);
      await storage.put('orgs/o1/a', Buffer.from('first'));
      await expect(storage.putConcat('orgs/o1/a', [Buffer.from('second')])).rejects.toMatchObject({
        code: 'ARTIFACT_EXISTS',
      });
      await expect(storage.putConcat('orgs/o1/b', [{ file: join(root, 'missing') }])).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
      });
      expect(await everything(root)).toEqual(['orgs', 'orgs/o1', 'orgs/o1/a']);
    });
  });
});
