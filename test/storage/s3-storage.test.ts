import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { S3Storage, type S3StorageSettings } from '../../server/src/storage/s3-storage.js';
import { leftovers } from '../support/deferred.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { describeStorageBackend } from './storage-conformance.js';
import { collect, expectDomainError, pausingSource, readAll, split } from './storage-support.js';

const MiB = 1024 * 1024;
let s3: TestS3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());

/** A storage under its own prefix of the shared bucket: empty for each test. */
function aStorage(overrides: Partial<S3StorageSettings> = {}, maxAttempts?: number) {
  return new S3Storage(s3.settings({ prefix: `t-${randomUUID()}`, ...overrides }), {
    partSizeBytes: 5 * MiB, // S3's minimum, so multi-MiB objects go multipart
    ...(maxAttempts ? { maxAttempts } : {}),
  });
}

describeStorageBackend('S3Storage (s3rver)', async () => {
  const storage = aStorage();
  return {
    storage,
    cleanup: async () => storage.close(),
    strayFiles: async () => [...(await s3.tempFiles()), ...(await s3.pendingUploadParts())],
  };
});

describe('S3Storage', () => {
  const bag = leftovers();
  afterAll(() => bag.release());
  const open = (overrides: Partial<S3StorageSettings> = {}, maxAttempts?: number) => {
    const storage = aStorage(overrides, maxAttempts);
    bag.add(() => storage.close());
    return storage;
  };
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it('stores a multipart object (3 parts) under its prefix and reads it back whole', async () => {
    const storage = open({ prefix: 'tenant-a/backups' });
    const bytes = randomBytes(12 * MiB + 3);
    const result = await storage.put('orgs/1/repo.bundle', Readable.from(split(bytes, 64 * 1024)));
    expect(result).toEqual({ size: bytes.length, sha256: sha256(bytes) });
    expect((await readAll(await storage.open('orgs/1/repo.bundle'))).equals(bytes)).toBe(true);
    expect(await s3.pendingUploadParts()).toEqual([]);
  });

  it('sends an object within one part as one PutObject, and a bigger one through a few reused part buffers', async () => {
    const storage = open();
    const requests: string[] = [];
    const stop = s3.dropConnections((r) => {
      const query = Object.keys(r.query).filter((name) => name !== 'x-id');
      if (r.key.includes('/pool/') && r.method !== 'HEAD')
        requests.push(`${r.method} ${query.sort().join(',')}`.trim());
      return false;
    });
    bag.add(stop);
    await storage.put('pool/small', Buffer.alloc(5 * MiB, 1)); // exactly one part
    expect(requests).toEqual(['PUT']);
    requests.length = 0;
    const bytes = randomBytes(31 * MiB);
    const result = await storage.put('pool/big', Readable.from(split(bytes, 64 * 1024)));
    stop();
    expect(result.sha256).toBe(sha256(bytes));
    expect((await readAll(await storage.open('pool/big'))).equals(bytes)).toBe(true);
    expect(requests.filter((r) => r === 'PUT partNumber,uploadId')).toHaveLength(7);
    expect(requests.filter((r) => r.startsWith('POST'))).toEqual(['POST uploads', 'POST uploadId']);
    // 7 parts through 2 in flight and 1 being filled: 3 buffers, reused, and none kept once idle.
    expect(storage.partBuffers()).toEqual({ allocated: 3, idle: 0 });
  });

  it('shares at most `partBuffers` part buffers among concurrent uploads, which wait for one to come back', async () => {
    const storage = new S3Storage(s3.settings({ prefix: `t-${randomUUID()}` }), {
      partSizeBytes: 5 * MiB,
      partBuffers: 2,
    });
    bag.add(() => storage.close());
    const objects = [randomBytes(16 * MiB), randomBytes(12 * MiB), randomBytes(MiB)];
    const parts: string[] = [];
    const stop = s3.dropConnections((r) => {
      if (r.key.endsWith('shared/0') && r.query.partNumber) parts.push(r.query.partNumber);
      return false;
    });
    bag.add(stop);
    const results = await Promise.all(
      // the first one as a single buffer: its parts are cut without waiting for the source
      objects.map((bytes, i) => storage.put(`shared/${i}`, i === 0 ? bytes : Readable.from(split(bytes, 64 * 1024)))),
    );
    stop();
    expect(parts.sort()).toEqual(['1', '2', '3', '4']);
    expect(results.map((r) => r.sha256)).toEqual(objects.map(sha256));
    for (const [i, bytes] of objects.entries())
      expect((await readAll(await storage.open(`shared/${i}`))).equals(bytes)).toBe(true);
    expect(storage.partBuffers()).toEqual({ allocated: 2, idle: 0 });
  });

  it('sends a checksum with Object Lock, which S3 requires, on a single PutObject and on every part', async () => {
    await s3.enableObjectLock('locked');
    const storage = open({ bucket: 'locked', objectLockMode: 'GOVERNANCE', objectLockDays: 1 });
    for (const [key, bytes] of [
      ['lock/small', randomBytes(1000)],
      ['lock/multipart', randomBytes(11 * MiB)],
    ] as const) {
      const result = await storage.put(key, Readable.from(split(bytes, MiB)));
      expect(result).toMatchObject({ size: bytes.length, sha256: sha256(bytes), retainUntil: expect.any(Date) });
      expect((await readAll(await storage.open(key))).equals(bytes)).toBe(true);
    }
    expect(await s3.pendingUploadParts()).toEqual([]);
  });

  it('aborts the incomplete multipart uploads below a prefix, and only those (a killed writer’s)', async () => {
    const storage = open({ prefix: 'killed' });
    const start = async (key: string) => {
      const created = await storage.client.send(
        new CreateMultipartUploadCommand({ Bucket: storage.bucket, Key: storage.objectKey(key) }),
      );
      await storage.client.send(
        new UploadPartCommand({
          Bucket: storage.bucket,
          Key: storage.objectKey(key),
          UploadId: created.UploadId,
          PartNumber: 1,
          Body: randomBytes(1024),
        }),
      );
    };
    await start('orgs/1/snapshots/a/repository.bundle');
    await start('orgs/1/snapshots/b/repository.bundle');
    expect(await storage.abortUploads('orgs/1/snapshots/a')).toBe(1);
    expect(await storage.abortUploads('orgs/1/snapshots/a')).toBe(0);
    const pending = await s3.pendingUploadParts();
    expect(pending.length).toBeGreaterThan(0);
    expect(await storage.abortUploads('orgs/1')).toBe(1);
    expect(await s3.pendingUploadParts()).toEqual([]);
    expect(await collect(storage.list(''))).toEqual([]);
  });

  it('lets exactly one of two multipart writers of one key win (If-None-Match at completion)', async () => {
    const storage = open();
    const one = pausingSource(split(Buffer.alloc(11 * MiB, 1), MiB), 6);
    const two = pausingSource(split(Buffer.alloc(11 * MiB, 2), MiB), 6);
    const puts = [storage.put('race/big', one.stream), storage.put('race/big', two.stream)];
    await Promise.all([one.paused, two.paused]); // both passed the HEAD and started uploading
    one.resume();
    two.resume();
    const outcomes = await Promise.allSettled(puts);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = outcomes.findIndex((o) => o.status === 'fulfilled');
    expect((outcomes[1 - winner] as PromiseRejectedResult).reason).toMatchObject({ code: 'ARTIFACT_EXISTS' });
    expect((await readAll(await storage.open('race/big'))).equals(Buffer.alloc(11 * MiB, winner + 1))).toBe(true);
    expect(await s3.pendingUploadParts()).toEqual([]); // the loser's parts were aborted
  });

  it('refuses the second of two writers of the same bytes: a conflict is not taken for its own resent write', async () => {
    const storage = open();
    const bytes = randomBytes(11 * MiB);
    const one = pausingSource(split(bytes, MiB), 6);
    const two = pausingSource(split(bytes, MiB), 6);
    const puts = [storage.put('race/same', one.stream), storage.put('race/same', two.stream)];
    await Promise.all([one.paused, two.paused]); // both passed the HEAD and started uploading
    one.resume();
    two.resume();
    const outcomes = await Promise.allSettled(puts);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
      code: 'ARTIFACT_EXISTS',
    });
    expect(await s3.pendingUploadParts()).toEqual([]);
  });

  it('keeps storages on different prefixes of one bucket apart', async () => {
    const a = open({ prefix: 'shared/a' });
    const b = open({ prefix: 'shared/ab' });
    await a.put('orgs/1/x', Buffer.from('a'));
    await b.put('orgs/1/y', Buffer.from('b'));
    expect(await collect(a.list(''))).toEqual(['orgs/1/x']);
    expect(await collect(b.list('orgs'))).toEqual(['orgs/1/y']);
    await a.deletePrefix('orgs');
    expect(await collect(b.list(''))).toEqual(['orgs/1/y']);
  });

  it('lists and deletes more objects below a prefix than one page (ListObjectsV2, DeleteObjects) holds', async () => {
    const storage = new S3Storage(s3.settings({ prefix: `t-${randomUUID()}` }), { pageSize: 10 });
    bag.add(() => storage.close());
    const keys = Array.from({ length: 25 }, (_, i) => `many/${i}/x`);
    await Promise.all(keys.map((key) => storage.put(key, Buffer.from(key))));
    await storage.put('many-not/x', Buffer.from('beside'));
    expect(await collect(storage.list('many'))).toEqual([...keys].sort());
    await storage.deletePrefix('many');
    expect(await collect(storage.list(''))).toEqual(['many-not/x']);
  });

  it('retries a part whose connection was dropped mid-upload and converges on the whole object', async () => {
    const storage = open();
    let dropped = 0;
    const stop = s3.dropConnections((r) => r.query.partNumber === '2' && dropped++ === 0);
    bag.add(stop);
    const bytes = randomBytes(11 * MiB);
    const result = await storage.put('fault/once', Readable.from(split(bytes, MiB)));
    stop();
    expect(dropped).toBeGreaterThanOrEqual(2); // the first attempt was cut, a retry went through
    expect(result.sha256).toBe(sha256(bytes));
    expect((await readAll(await storage.open('fault/once'))).equals(bytes)).toBe(true);
  });

  it('leaves nothing visible when every attempt of a part is dropped, and a retried put converges', async () => {
    const storage = open({}, 2);
    const stop = s3.dropConnections((r) => r.query.partNumber === '2');
    const bytes = randomBytes(11 * MiB);
    await expectDomainError(storage.put('fault/always', Readable.from(split(bytes, MiB))), 'STORAGE_UNAVAILABLE');
    stop();
    expect(await storage.stat('fault/always')).toBeNull();
    expect(await collect(storage.list(''))).toEqual([]);
    expect(await s3.pendingUploadParts()).toEqual([]); // aborted: no parts left behind
    expect(await s3.tempFiles()).toEqual([]);
    const retried = await storage.put('fault/always', Readable.from(split(bytes, MiB)));
    expect(retried.sha256).toBe(sha256(bytes));
  });

  it('takes a write the SDK sent again after its answer was lost for done, not for a write-once conflict', async () => {
    const storage = open();
    for (const [key, bytes, commits] of [
      ['lost/small', randomBytes(1000), (r: { method: string; query: Record<string, string> }) => r.method === 'PUT'],
      [
        'lost/multipart',
        randomBytes(11 * MiB),
        (r: { method: string; query: Record<string, string> }) => r.method === 'POST' && 'uploadId' in r.query,
      ],
    ] as const) {
      let lost = 0;
      const stop = s3.loseResponses((r) => r.key.endsWith(key) && commits(r) && lost++ === 0);
      bag.add(stop);
      const result = await storage.put(key, Readable.from(split(bytes, MiB)));
      stop();
      expect(lost).toBeGreaterThanOrEqual(2); // done once unheard, then sent again and refused (412)
      expect(result).toEqual({ size: bytes.length, sha256: sha256(bytes) });
      expect((await readAll(await storage.open(key))).equals(bytes)).toBe(true);
    }
  });

  describe('settings the server refuses', () => {
    it('names a wrong access key', async () => {
      const storage = open({ accessKeyId: 'NOT-A-KEY' });
      await expect(storage.put('k', Buffer.from('x'))).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        retryable: false,
        message: expect.stringContaining('access key id is not known'),
      });
    });

    it('names a missing bucket', async () => {
      const storage = open({ bucket: 'no-such-bucket' });
      await expect(collect(storage.list(''))).rejects.toMatchObject({
        message: expect.stringContaining('the bucket does not exist (NoSuchBucket, HTTP 404)'),
        retryable: false,
      });
    });

    it('names an endpoint nothing listens on', async () => {
      const storage = open({ endpoint: 'http://127.0.0.1:1' }, 1);
      await expect(collect(storage.list(''))).rejects.toMatchObject({
        message: expect.stringContaining('connection was refused'),
        retryable: true,
      });
    });
  });
});
