import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  downloadLfsObjects,
  findLfsPointers,
  lfsBatchUrl,
  parseLfsPointer,
  type LfsDownloadOptions,
} from '../../server/src/backup/lfs.js';
import { GitLabHttp } from '../../server/src/gitlab/gitlab-http.js';
import { requestedDelayMs, type RetryEvent } from '../../server/src/gitlab/retry-policy.js';
import { listRefs, syncMirror } from '../../server/src/git/mirror.js';
import { isDomainError } from '../../server/src/shared/errors.js';
import { InMemoryStorage } from '../../server/src/storage/in-memory-storage.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { issueOAuthToken } from '../support/gitlab-simulator/oauth-store.js';
import { lfsKey } from '../../server/src/snapshot/lfs-layout.js';
import { artifactCodec } from '../../server/src/snapshot/artifact-codec.js';

/** LFS objects of a repository: pointers found in the mirror, objects fetched through GitLab's batch API. */
let sim: GitLabSimulator;
let work: string;
let pat: string;
let oauth: string;
let mediaId: number;
let repoUrl: string;
let mirror: string;
const contents = { a: 'first large file\n', b: randomBytes(5000), c: 'added later\n' };
const oids: Record<string, string> = {};

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const pointer = (oid: string, size: number) =>
  `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`;

/** A sink like ArtifactStore.put: keeps an object only when its body ends cleanly. */
function memorySink() {
  const stored = new Map<string, Buffer>();
  const sink = async (oid: string, _size: number, body: Readable) => {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    stored.set(oid, Buffer.concat(chunks));
  };
  return { stored, sink };
}

/** The GitLab transport with quick backoff steps (Retry-After is still honoured as sent). */
const quick = (extra: ConstructorParameters<typeof GitLabHttp>[0] = {}) =>
  new GitLabHttp({ baseDelayMs: 10, maxDelayMs: 50, ...extra });

function options(
  extra: Partial<LfsDownloadOptions> & Pick<LfsDownloadOptions, 'objects' | 'sink'>,
): LfsDownloadOptions {
  return { repoHttpUrl: repoUrl, auth: { username: 'labkeeper', password: pat }, http: quick(), ...extra };
}

beforeAll(async () => {
  sim = await startGitLabSimulator();
  work = mkdtempSync(join(tmpdir(), 'lfs-test-'));
  const alice = sim.createUser({ username: 'alice' });
  pat = sim.createPersonalAccessToken(alice.id, { scopes: ['read_repository'] }).token;
  oauth = issueOAuthToken(sim.state, { applicationId: null, userId: alice.id, scopes: ['read_repository'] }).token;
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  mediaId = sim.createProject({ namespaceId: group.id, path: 'media' }).id;
  repoUrl = `${sim.url}/acme/media.git`;
  oids.a = sim.pushLfsPointer(mediaId, { path: 'assets/a.bin', content: contents.a }).oid;
  sim.createBranch(mediaId, { branch: 'feature' });
  oids.b = sim.pushLfsPointer(mediaId, { path: 'assets/b.bin', content: contents.b, branch: 'feature' }).oid;
  // Blobs that merely look like pointers.
  const fake = sha('not stored anywhere');
  sim.pushCommit(mediaId, {
    files: {
      'docs/crlf.txt': pointer(fake, 19).replace(/\n/g, '\r\n'),
      'docs/upper.txt': pointer(fake.toUpperCase(), 19),
      'docs/unsorted.txt': `version https://git-lfs.github.com/spec/v1\nsize 19\noid sha256:${fake}\n`,
      'docs/no-newline.txt': pointer(fake, 19).slice(0, -1),
      'docs/example.md': `How a pointer looks:\n${pointer(fake, 19)}`,
      'docs/other-version.txt': pointer(fake, 19).replace('git-lfs.github.com/spec/v1', 'git-lfs.github.com/spec/v2'),
      'docs/big.txt': pointer(fake, 19) + 'x'.repeat(2000),
    },
    message: 'Docs that quote pointers',
  });
  mirror = join(work, 'media.git');
  await syncMirror(mirror, repoUrl, { auth: { username: 'labkeeper', password: pat } });
});

afterAll(async () => {
  await sim.close();
  rmSync(work, { recursive: true, force: true });
});

describe('parseLfsPointer', () => {
  const oid = sha('x');
  it('accepts spec pointers, with extra sorted keys and the pre-release version', () => {
    expect(parseLfsPointer(Buffer.from(pointer(oid, 12345)))).toEqual({ oid, size: 12345 });
    expect(
      parseLfsPointer(
        Buffer.from(
          `version https://git-lfs.github.com/spec/v1\next-0-foo sha256:${'1'.repeat(64)}\noid sha256:${oid}\nsize 1\n`,
        ),
      ),
    ).toEqual({ oid, size: 1 });
    expect(parseLfsPointer(Buffer.from(pointer(oid, 1).replace('git-lfs.github.com', 'hawser.github.com')))).toEqual({
      oid,
      size: 1,
    });
  });
  it('refuses near misses', () => {
    for (const text of [
      pointer(oid, 1).replace('oid sha256:', 'oid sha512:'),
      pointer(oid, 1).replace('size 1', 'size -1'),
      pointer(oid, 1).replace('size 1', 'size  1'),
      pointer(oid, 1).replace('size 1', 'size 1.5'),
      `oid sha256:${oid}\nversion https://git-lfs.github.com/spec/v1\nsize 1\n`,
      `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\noid sha256:${oid}\nsize 1\n`,
      `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\n`,
      `version https://git-lfs.github.com/spec/v1\nOid sha256:${oid}\nsize 1\n`,
    ]) {
      expect(parseLfsPointer(Buffer.from(text))).toBeNull();
    }
  });
});

describe('findLfsPointers', () => {
  it('finds the pointers of every given ref, and nothing that merely looks like one', async () => {
    const refs = await listRefs(mirror);
    const found = await findLfsPointers(mirror, Object.values(refs));
    expect(found).toEqual(
      [
        { oid: oids.a, size: contents.a.length },
        { oid: oids.b, size: contents.b.length },
      ].sort((x, y) => (x.oid < y.oid ? -1 : 1)),
    );
    expect(await findLfsPointers(mirror, ['refs/heads/main'])).toEqual([{ oid: oids.a, size: contents.a.length }]);
    expect(await findLfsPointers(mirror, [])).toEqual([]);
  });

  it('leaves out what the excluded tips already reach (incremental), ignoring tips the mirror lacks', async () => {
    const before = await listRefs(mirror);
    oids.c = sim.pushLfsPointer(mediaId, { path: 'assets/c.bin', content: contents.c }).oid;
    await syncMirror(mirror, repoUrl, { auth: { username: 'labkeeper', password: pat } });
    const after = await listRefs(mirror);
    const missingTip = 'f'.repeat(40);
    expect(await findLfsPointers(mirror, Object.values(after), [...Object.values(before), missingTip])).toEqual([
      { oid: oids.c, size: contents.c.length },
    ]);
    expect(await findLfsPointers(mirror, Object.values(after), Object.values(after))).toEqual([]);
  });

  it('refuses option-like names', async () => {
    await expect(findLfsPointers(mirror, ['--all'])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('downloadLfsObjects', () => {
  it('downloads and verifies objects with a personal access token, through the LFS token GitLab hands out', async () => {
    const { stored, sink } = memorySink();
    const objects = await findLfsPointers(mirror, Object.values(await listRefs(mirror)));
    const progress: Array<[number, number]> = [];
    const result = await downloadLfsObjects(
      options({ objects, sink, onProgress: (done, bytes) => progress.push([done, bytes]) }),
    );
    expect(result).toEqual({
      downloaded: 3,
      bytes: contents.a.length + contents.b.length + contents.c.length,
      missing: [],
      failed: [],
    });
    expect(stored.get(oids.a)!.toString()).toBe(contents.a);
    expect(stored.get(oids.b)!.equals(contents.b)).toBe(true);
    expect(progress.at(-1)).toEqual([3, result.bytes]);
    const downloads = await sim.untilRequestsTo(/\/gitlab-lfs\/objects\//, 3);
    expect(downloads.length).toBe(3);
    expect(downloads.every((r) => r.auth === 'lfs_token')).toBe(true);
  });

  it('works with an OAuth token as oauth2, and says so when the credentials are refused', async () => {
    const { stored, sink } = memorySink();
    const result = await downloadLfsObjects(
      options({
        auth: { username: 'oauth2', password: oauth },
        objects: [{ oid: oids.a, size: contents.a.length }],
        sink,
      }),
    );
    expect(result.downloaded).toBe(1);
    expect(stored.size).toBe(1);
    const refused = downloadLfsObjects(
      options({
        auth: { username: 'alice', password: oauth },
        objects: [{ oid: oids.a, size: contents.a.length }],
        sink,
      }),
    );
    await expect(refused).rejects.toMatchObject({ code: 'GITLAB_UNAUTHORIZED' });
    await refused.catch((error: Error) => expect(error.message).not.toContain(oauth));
  });

  it('reports objects the server lacks, or whose file is gone, as missing', async () => {
    const lost = sim.addLfsObject(mediaId, 'lost file');
    sim.removeLfsObjectFile(lost.oid);
    const never = { oid: sha('never uploaded'), size: 14 };
    const { stored, sink } = memorySink();
    const result = await downloadLfsObjects(
      options({ objects: [never, lost, { oid: oids.a, size: contents.a.length }], sink }),
    );
    expect(result.downloaded).toBe(1);
    expect(result.missing).toEqual([never.oid, lost.oid].sort());
    expect(result.failed).toEqual([]);
    expect([...stored.keys()]).toEqual([oids.a]);
  });

  it('reports corrupted objects and never lets an atomic store keep their bytes', async () => {
    const flipped = sim.addLfsObject(mediaId, 'bit rot happens here');
    sim.corruptLfsObject(flipped.oid); // same size, other bytes
    const shorter = sim.addLfsObject(mediaId, 'truncated on disk');
    sim.corruptLfsObject(shorter.oid, 'trunc');
    const store = new InMemoryStorage();
    const result = await downloadLfsObjects(
      options({
        objects: [flipped, shorter],
        sink: async (oid, _size, body) => void (await store.put(lfsKey('org1', 'repo1', oid), body)),
      }),
    );
    expect(result.downloaded).toBe(0);
    expect(result.failed).toEqual(
      [
        { oid: flipped.oid, reason: expect.stringMatching(/sha256 mismatch/) },
        { oid: shorter.oid, reason: expect.stringMatching(/size mismatch/) },
      ].sort((x, y) => (x.oid < y.oid ? -1 : 1)),
    );
    expect(await store.stat(lfsKey('org1', 'repo1', flipped.oid))).toBeNull();
    expect(await store.stat(lfsKey('org1', 'repo1', shorter.oid))).toBeNull();
  });

  it('through the codec (pipeline, not pipe, so a bad body fails the put): intact objects stored encrypted, corrupted ones not at all', async () => {
    const good = sim.addLfsObject(mediaId, 'to be encrypted');
    const bad = sim.addLfsObject(mediaId, 'to be corrupted');
    sim.corruptLfsObject(bad.oid);
    const key = randomBytes(32);
    const keyId = artifactCodec.keyId(key);
    const store = new InMemoryStorage();
    const result = await downloadLfsObjects(
      options({
        objects: [good, bad],
        sink: async (oid, _size, body) => {
          const encoded = pipeline(body, artifactCodec.encode({ compression: 'NONE', key }), () => undefined);
          await store.put(lfsKey('org1', 'repo1', oid, { keyId }), encoded);
        },
      }),
    );
    expect(result).toMatchObject({ downloaded: 1, failed: [{ oid: bad.oid }] });
    expect(await store.stat(lfsKey('org1', 'repo1', bad.oid, { keyId }))).toBeNull();
    const chunks: Buffer[] = [];
    for await (const chunk of (await store.open(lfsKey('org1', 'repo1', good.oid, { keyId }))).pipe(
      artifactCodec.decode({ compression: 'NONE', key }),
    ))
      chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('to be encrypted');
  });

  it('waits as long as Retry-After says when the batch endpoint is throttled', async () => {
    sim.rateLimitNext(1, { retryAfterSeconds: 1, pathPattern: /\/info\/lfs\/objects\/batch$/ });
    const retries: RetryEvent[] = [];
    const { sink } = memorySink();
    const started = Date.now();
    const result = await downloadLfsObjects(
      options({
        objects: [{ oid: oids.a, size: contents.a.length }],
        sink,
        http: quick({ onRetry: (e) => retries.push(e) }),
      }),
    );
    expect(result.downloaded).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(retries).toEqual([expect.objectContaining({ status: 429, delayMs: 1000 })]);
    expect(JSON.stringify(retries)).not.toContain(pat);
  });

  it('retries 5xx and connections cut mid-transfer', async () => {
    const big = sim.addLfsObject(mediaId, randomBytes(300 * 1024));
    sim.failNext(1, { status: 502, pathPattern: /\/info\/lfs\/objects\/batch$/ });
    sim.failNext(1, { status: 503, pathPattern: /\/gitlab-lfs\/objects\// });
    sim.resetNext(1, { pathPattern: /\/gitlab-lfs\/objects\//, afterBytes: 64 * 1024 });
    const { stored, sink } = memorySink();
    const result = await downloadLfsObjects(options({ objects: [big], sink }));
    expect(result).toMatchObject({ downloaded: 1, missing: [], failed: [] });
    expect(sha(stored.get(big.oid)!)).toBe(big.oid);
  });

  it('gives up on the batch endpoint after the last attempt with a retryable error', async () => {
    sim.failNext(3, { status: 502, pathPattern: /\/info\/lfs\/objects\/batch$/ });
    const { sink } = memorySink();
    await expect(
      downloadLfsObjects(
        options({ objects: [{ oid: oids.a, size: contents.a.length }], sink, http: quick({ maxAttempts: 3 }) }),
      ),
    ).rejects.toMatchObject({
      code: 'GITLAB_UNAVAILABLE',
      retryable: true,
    });
  });

  it('fails the repository when LFS is disabled on the project', async () => {
    const group = sim.state.findNamespaceByFullPath('acme')!;
    sim.createProject({ namespaceId: group.id, path: 'nolfs', lfsEnabled: false });
    const { sink } = memorySink();
    const error = await downloadLfsObjects(
      options({ repoHttpUrl: `${sim.url}/acme/nolfs.git`, objects: [{ oid: oids.a, size: 1 }], sink }),
    ).catch((e: unknown) => e);
    expect(isDomainError(error, 'GITLAB_FORBIDDEN')).toBe(true);
    expect((error as Error).message).toContain('Access forbidden');
  });

  it('renews an action whose LFS token expired before it was used', async () => {
    // The batch answer is held once GitLab made it; the 2-hour LFS token in it goes stale before it arrives.
    const held = sim.holdNext({ pathPattern: /\/objects\/batch$/ });
    void held.reached.then(() => {
      sim.advanceTime(2 * 60 * 60 * 1000 + 1000);
      held.release();
    });
    const before = sim.requestsTo(/\/objects\/batch$/).length;
    const { stored, sink } = memorySink();
    const result = await downloadLfsObjects(options({ objects: [{ oid: oids.a, size: contents.a.length }], sink }));
    expect(result.downloaded).toBe(1);
    expect(stored.get(oids.a)!.toString()).toBe(contents.a);
    expect((await sim.untilRequestsTo(/\/objects\/batch$/, before + 2)).length - before).toBe(2);
  });

  it('sends only the action headers to pre-signed object-storage URLs', async () => {
    sim.setLfsObjectStorage({ proxyDownload: false });
    try {
      const { stored, sink } = memorySink();
      const result = await downloadLfsObjects(options({ objects: [{ oid: oids.b, size: contents.b.length }], sink }));
      expect(result.downloaded).toBe(1);
      expect(stored.get(oids.b)!.equals(contents.b)).toBe(true);
    } finally {
      sim.setLfsObjectStorage({ proxyDownload: true });
    }
  });

  it('asks for at most 100 objects per batch request', async () => {
    const many = Array.from({ length: 150 }, (_, i) => sim.addLfsObject(mediaId, `object ${i}`));
    const before = sim.requestsTo(/\/objects\/batch$/).length;
    const { stored, sink } = memorySink();
    const result = await downloadLfsObjects(
      options({ objects: [...many, ...many.slice(0, 10)], sink, concurrency: 8 }),
    );
    expect(result.downloaded).toBe(150);
    expect(stored.size).toBe(150);
    expect((await sim.untilRequestsTo(/\/objects\/batch$/, before + 2)).length - before).toBe(2);
  });

  it('stops when canceled', async () => {
    const controller = new AbortController();
    controller.abort();
    const { sink } = memorySink();
    await expect(
      downloadLfsObjects(
        options({ objects: [{ oid: oids.a, size: contents.a.length }], sink, signal: controller.signal }),
      ),
    ).rejects.toMatchObject({
      code: 'CANCELED',
    });
  });
});

describe('helpers', () => {
  it('lfsKey is content-addressed per repository in git-lfs layout, encrypted objects under their key id', () => {
    const oid = sha('x');
    expect(lfsKey('o', 'r', oid)).toBe(`orgs/o/repos/r/lfs/objects/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}`);
    expect(lfsKey('o', 'r', oid, { keyId: 'ab12' })).toBe(
      `orgs/o/repos/r/lfs/encrypted-ab12/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}`,
    );
    expect(() => lfsKey('o', 'r', '../etc')).toThrow();
  });
  it('lfsBatchUrl appends .git and drops credentials', () => {
    expect(lfsBatchUrl('https://u:p@gitlab.example.com/acme/app.git')).toBe(
      'https://gitlab.example.com/acme/app.git/info/lfs/objects/batch',
    );
    expect(lfsBatchUrl('https://gitlab.example.com/acme/app/')).toBe(
      'https://gitlab.example.com/acme/app.git/info/lfs/objects/batch',
    );
  });
  it("reads Retry-After as seconds or an HTTP date (the GitLab transport's policy)", () => {
    expect(requestedDelayMs({ 'retry-after': '7' }, 0)).toBe(7000);
    expect(requestedDelayMs({ 'retry-after': new Date(10_000).toUTCString() }, 4_000)).toBe(6000);
    expect(requestedDelayMs({ 'retry-after': 'soon' }, 0)).toBeNull();
  });
});
