/**
 * The one conformance suite every StorageBackend runs (restic's internal/backend/test, agenda's
 * repositoryTestSuite): round trips, hashes, listing, deletion, write-once, atomic writes and
 * overwrites, missing objects and key validation. A backend's test file calls
 * `describeStorageBackend(name, factory)`; the factory builds a fresh, empty backend per test.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { StorageBackend } from '../../server/src/storage/storage.port.js';
import { leftovers } from '../support/deferred.js';
import { collect, expectDomainError, pausingSource, readAll, split } from './storage-support.js';

export interface StorageUnderTest {
  storage: StorageBackend;
  cleanup?: () => Promise<void>;
  /** Files the backend keeps besides its objects (temp files); checked to be none after a failed write. */
  strayFiles?: () => Promise<string[]>;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const MiB = 1024 * 1024;

export function describeStorageBackend(name: string, factory: () => Promise<StorageUnderTest>): void {
  describe(`${name} (StorageBackend conformance)`, () => {
    const bag = leftovers();
    let subject: StorageUnderTest;
    let storage: StorageBackend;

    beforeEach(async () => {
      subject = await factory();
      storage = subject.storage;
      if (subject.cleanup) bag.add(subject.cleanup);
    });
    afterEach(() => bag.release());

    const read = async (key: string) => readAll(await storage.open(key));

    describe('put and open', () => {
      it('returns the bytes of a Buffer it stored', async () => {
        await storage.put('a/b/c.json', Buffer.from('{"ok":true}'));
        expect((await read('a/b/c.json')).toString()).toBe('{"ok":true}');
      });

      it('returns the bytes of a multi-MiB stream it stored, chunk boundaries and all', async () => {
        const bytes = randomBytes(5 * MiB + 17);
        await storage.put('big/repo.bundle', Readable.from(split(bytes, 100_003)));
        expect((await read('big/repo.bundle')).equals(bytes)).toBe(true);
      });

      it('reports the size and sha256 of what it wrote', async () => {
        const bytes = randomBytes(3 * MiB + 5);
        const result = await storage.put('x/artifact', Readable.from(split(bytes, 65_536)));
        expect(result).toEqual({ size: bytes.length, sha256: sha256(bytes) });
      });

      it('stores an empty object', async () => {
        const result = await storage.put('x/empty', Buffer.alloc(0));
        expect(result).toEqual({ size: 0, sha256: sha256(Buffer.alloc(0)) });
        expect(await read('x/empty')).toHaveLength(0);
        expect(await storage.stat('x/empty')).toMatchObject({ size: 0 });
      });

      it('reports size and modification time through stat, and null for a missing key', async () => {
        await storage.put('x/five', Buffer.from('12345'));
        const info = await storage.stat('x/five');
        expect(info?.size).toBe(5);
        expect(Math.abs(info!.modifiedAt.getTime() - Date.now())).toBeLessThan(60_000);
        expect(await storage.stat('x/none')).toBeNull();
        expect(await storage.stat('x')).toBeNull(); // a prefix is not an object
      });
    });

    describe('write-once', () => {
      it('refuses to put an existing key with ARTIFACT_EXISTS and keeps the first bytes', async () => {
        await storage.put('s/manifest.json', Buffer.from('first'));
        await expectDomainError(storage.put('s/manifest.json', Buffer.from('second')), 'ARTIFACT_EXISTS');
        expect((await read('s/manifest.json')).toString()).toBe('first');
      });

      it('destroys a source stream it refuses', async () => {
        await storage.put('s/a', Buffer.from('first'));
        const source = Readable.from([Buffer.from('second')]);
        await expectDomainError(storage.put('s/a', source), 'ARTIFACT_EXISTS');
        expect(source.destroyed).toBe(true);
      });

      it('lets exactly one of two racing writers of a new key win', async () => {
        const one = pausingSource(split(Buffer.alloc(200_000, 1), 50_000), 2);
        const two = pausingSource(split(Buffer.alloc(200_000, 2), 50_000), 2);
        const puts = [storage.put('race/k', one.stream), storage.put('race/k', two.stream)];
        await Promise.all([one.paused, two.paused]);
        one.resume();
        two.resume();
        const outcomes = await Promise.allSettled(puts);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const winner = outcomes.findIndex((o) => o.status === 'fulfilled');
        const loser = outcomes[1 - winner] as PromiseRejectedResult;
        expect(loser.reason).toMatchObject({ code: 'ARTIFACT_EXISTS' });
        expect((await read('race/k')).equals(Buffer.alloc(200_000, winner + 1))).toBe(true);
      });

      it('replaces an object when overwrite is set', async () => {
        await storage.put('o/k', Buffer.from('old'));
        const result = await storage.put('o/k', Buffer.from('newer'), { overwrite: true });
        expect(result.size).toBe(5);
        expect((await read('o/k')).toString()).toBe('newer');
      });
    });

    describe('atomicity', () => {
      it('shows nothing of a write in progress', async () => {
        const source = pausingSource(split(randomBytes(300_000), 100_000), 2);
        const putting = storage.put('w/partial', source.stream);
        await source.paused;
        expect(await storage.stat('w/partial')).toBeNull();
        expect(await collect(storage.list(''))).toEqual([]);
        await expectDomainError(storage.open('w/partial'), 'ARTIFACT_NOT_FOUND');
        source.resume();
        expect((await putting).size).toBe(300_000);
        expect(await collect(storage.list('w'))).toEqual(['w/partial']);
      });

      it('leaves no object and no temp file when the source fails midway, and rethrows its error', async () => {
        const broken = new Error('upstream closed the connection');
        const source = pausingSource(split(randomBytes(300_000), 100_000), 2);
        const putting = storage.put('w/crashed', source.stream);
        await source.paused;
        source.fail(broken);
        await expect(putting).rejects.toBe(broken);
        expect(await storage.stat('w/crashed')).toBeNull();
        expect(await collect(storage.list(''))).toEqual([]);
        if (subject.strayFiles) expect(await subject.strayFiles()).toEqual([]);
        await storage.put('w/crashed', Buffer.from('retried')); // the key is still free
      });

      it('lets a reader opened before an overwrite finish reading the old bytes', async () => {
        const before = Buffer.alloc(2 * MiB, 'a');
        const after = Buffer.alloc(2 * MiB, 'b');
        await storage.put('o/bundle', before);
        const reader = (await storage.open('o/bundle'))[Symbol.asyncIterator]();
        const first = await reader.next();
        await storage.put('o/bundle', after, { overwrite: true });
        const rest = await readAll({ [Symbol.asyncIterator]: () => reader });
        expect(Buffer.concat([first.value as Buffer, rest]).equals(before)).toBe(true);
        expect((await read('o/bundle')).equals(after)).toBe(true);
      });

      it('gives a reader opened during an overwrite the old bytes, never a mix', async () => {
        const before = Buffer.alloc(MiB, 'a');
        const after = Buffer.alloc(MiB, 'b');
        await storage.put('o/k', before);
        const source = pausingSource(split(after, 256 * 1024), 2);
        const overwriting = storage.put('o/k', source.stream, { overwrite: true });
        await source.paused;
        expect((await read('o/k')).equals(before)).toBe(true);
        source.resume();
        await overwriting;
        expect((await read('o/k')).equals(after)).toBe(true);
      });
    });

    describe('list', () => {
      beforeEach(async () => {
        for (const key of [
          'orgs/1/repos/7/snapshots/s1/manifest.json',
          'orgs/1/repos/7/snapshots/s1/repo.bundle',
          'orgs/1/repos/8/snapshots/s2/manifest.json',
          'orgs/12/repos/9/snapshots/s3/manifest.json',
          'top',
        ]) {
          await storage.put(key, Buffer.from(key));
        }
      });

      it('lists every key below a prefix, however deep', async () => {
        expect(await collect(storage.list('orgs/1/repos'))).toEqual([
          'orgs/1/repos/7/snapshots/s1/manifest.json',
          'orgs/1/repos/7/snapshots/s1/repo.bundle',
          'orgs/1/repos/8/snapshots/s2/manifest.json',
        ]);
      });

      it('matches prefixes by whole segments, with or without a trailing slash', async () => {
        expect(await collect(storage.list('orgs/1'))).toHaveLength(3);
        expect(await collect(storage.list('orgs/1/'))).toHaveLength(3);
        expect(await collect(storage.list('orgs/12'))).toEqual(['orgs/12/repos/9/snapshots/s3/manifest.json']);
      });

      it('lists everything for an empty prefix and nothing for an unknown one', async () => {
        expect(await collect(storage.list(''))).toHaveLength(5);
        expect(await collect(storage.list('orgs/404'))).toEqual([]);
        expect(await collect(storage.list('top'))).toEqual([]); // an object is not a prefix
      });
    });

    describe('delete', () => {
      it('removes an object, and succeeds again when it is already gone', async () => {
        await storage.put('d/k', Buffer.from('x'));
        await storage.delete('d/k');
        expect(await storage.stat('d/k')).toBeNull();
        await storage.delete('d/k');
        await storage.delete('d/never-existed');
      });

      it('removes everything below a prefix and nothing beside it', async () => {
        for (const key of ['orgs/1/a', 'orgs/1/deep/b/c', 'orgs/12/a', 'orgs/1-x/a'])
          await storage.put(key, Buffer.from(key));
        await storage.deletePrefix('orgs/1');
        expect(await collect(storage.list(''))).toEqual(['orgs/1-x/a', 'orgs/12/a']);
        await storage.deletePrefix('orgs/1');
        await storage.put('orgs/1/a', Buffer.from('again')); // the prefix can be used anew
      });

      it('refuses to delete everything with an empty prefix', async () => {
        await storage.put('keep/me', Buffer.from('x'));
        await expectDomainError(storage.deletePrefix(''), 'VALIDATION_FAILED');
        await expectDomainError(storage.deletePrefix('/'), 'VALIDATION_FAILED');
        expect(await storage.stat('keep/me')).not.toBeNull();
      });
    });

    describe('missing objects', () => {
      it('rejects open of a missing key with ARTIFACT_NOT_FOUND before any stream exists', async () => {
        await expectDomainError(storage.open('no/such/key'), 'ARTIFACT_NOT_FOUND');
      });

      it('rejects open of a prefix with ARTIFACT_NOT_FOUND', async () => {
        await storage.put('p/q/r', Buffer.from('x'));
        await expectDomainError(storage.open('p/q'), 'ARTIFACT_NOT_FOUND');
      });
    });

    describe('keys', () => {
      const invalid = [
        '',
        '/etc/passwd',
        'a//b',
        'a/../b',
        '..',
        'a/./b',
        'a\\b',
        'a/b/',
        '.hidden/x',
        'a/b.tmp-123',
        'a b',
        'c:d',
      ];

      it.each(invalid)('rejects the key %j with VALIDATION_FAILED everywhere', async (key) => {
        const source = Readable.from([Buffer.from('x')]);
        await expectDomainError(storage.put(key, source), 'VALIDATION_FAILED');
        expect(source.destroyed).toBe(true);
        await expectDomainError(storage.open(key), 'VALIDATION_FAILED');
        await expectDomainError(storage.stat(key), 'VALIDATION_FAILED');
        await expectDomainError(storage.delete(key), 'VALIDATION_FAILED');
      });

      it('names the key field in the validation error', async () => {
        await expect(storage.put('a/../b', Buffer.from('x'))).rejects.toMatchObject({
          details: { fields: { key: expect.stringContaining('..') } },
        });
      });

      it('rejects a malformed listing prefix', async () => {
        await expectDomainError(collect(storage.list('../x')), 'VALIDATION_FAILED');
      });
    });
  });
}
