import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PackChecks } from '../../server/src/git/pack-check.js';
import { checkedBy, checkedPack } from '../support/checked-pack.js';

/**
 * A FULL's pack is checked by git on its way to storage (verify-after-backup without a second
 * pass): the bytes come out unchanged when git accepts them, and the stream fails — so the storage
 * write fails — when an object is damaged or a ref's history is missing.
 */
const run = promisify(execFile);
let work: string;
let repo: string;
let tip: string;
let parent: string;
let checks = 0;

async function git(args: string[], options: { cwd?: string; input?: string } = {}): Promise<Buffer> {
  const child = run('git', args, {
    cwd: options.cwd ?? repo,
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH, HOME: work, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' },
  });
  if (options.input !== undefined) child.child.stdin!.end(options.input);
  return (await child).stdout;
}

/** A pack of what `revs` (one per line, as `git pack-objects --revs` reads them) names. */
const packOf = (revs: string) => git(['pack-objects', '--stdout', '--revs', '-q'], { input: `${revs}\n` });

/** A pack holding exactly `objects`, nothing they refer to. */
const packOfObjects = (objects: string[]) =>
  git(['pack-objects', '--stdout', '-q'], { input: `${objects.join('\n')}\n` });

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** In chunks, as a pack arrives from the network. */
const arriving = (pack: Buffer) =>
  Readable.from(
    (function* () {
      for (let at = 0; at < pack.length; at += 4096) yield pack.subarray(at, at + 4096);
    })(),
  );

const check = (pack: Buffer, refs: Record<string, string>) =>
  drain(checkedPack(arriving(pack), { dir: join(work, `check-${++checks}`), refs }));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pack-check-'));
  repo = join(work, 'repo');
  await git(['init', '-q', '-b', 'main', repo], { cwd: work });
  await git(['config', 'user.email', 'a@example.com']);
  await git(['config', 'user.name', 'A']);
  for (const [i, text] of ['first\n', 'second\n'].entries()) {
    writeFileSync(join(repo, 'file.txt'), text.repeat(2000 + i));
    await git(['add', 'file.txt']);
    await git(['commit', '-q', '-m', `commit ${i}`]);
  }
  tip = (await git(['rev-parse', 'HEAD'])).toString().trim();
  parent = (await git(['rev-parse', 'HEAD~1'])).toString().trim();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a pack checked as it streams in', () => {
  it('comes out byte for byte when git accepts every object and the history of every ref', async () => {
    const pack = await packOf('main');
    const out = await check(pack, { 'refs/heads/main': tip, 'refs/heads/old': parent });
    expect(out.equals(pack)).toBe(true);
  });

  it('fails, retryably, when an object inside is damaged although the trailer matches the bytes', async () => {
    const pack = Buffer.from(await packOf('main'));
    pack[Math.floor(pack.length / 2)] ^= 0xff; // inside an object's compressed data
    const body = pack.subarray(0, pack.length - 20);
    createHash('sha1')
      .update(body)
      .digest()
      .copy(pack, pack.length - 20); // the transfer's own check passes
    await expect(check(pack, { 'refs/heads/main': tip })).rejects.toMatchObject({
      code: 'GITLAB_UNAVAILABLE',
      retryable: true,
      message: expect.stringMatching(/failed git's check: git index-pack refused it/),
    });
  });

  it('fails, retryably, when the trailer does not match the bytes (the transfer leaves that check to git)', async () => {
    const pack = Buffer.from(await packOf('main'));
    pack[pack.length - 1] ^= 0xff;
    await expect(check(pack, { 'refs/heads/main': tip })).rejects.toMatchObject({
      code: 'GITLAB_UNAVAILABLE',
      retryable: true,
      message: expect.stringMatching(/git index-pack refused it: .*pack is corrupted/),
    });
  });

  it('fails, retryably, when bytes follow the trailer (git stops reading at it, the stream must end there too)', async () => {
    const pack = Buffer.concat([await packOf('main'), Buffer.from('trailing bytes')]);
    await expect(check(pack, { 'refs/heads/main': tip })).rejects.toMatchObject({
      code: 'GITLAB_UNAVAILABLE',
      retryable: true,
      message: expect.stringMatching(/bytes after its trailer/),
    });
  });

  it("reports git's reason, not a broken pipe, when git gives up at the first bytes and megabytes still follow", async () => {
    const pack = Buffer.concat([Buffer.from('NOT A PACK'), Buffer.alloc(32 * 1024 * 1024, 1)]);
    await expect(check(pack, { 'refs/heads/main': tip })).rejects.toMatchObject({
      code: 'GITLAB_UNAVAILABLE',
      retryable: true,
      message: expect.stringMatching(/failed git's check: git index-pack refused it/),
    });
  });

  it('fails when a ref names an object the pack does not hold', async () => {
    const pack = await packOf(`${parent}`);
    await expect(check(pack, { 'refs/heads/main': tip })).rejects.toThrow(
      /failed git's check: a ref points to an object the pack does not hold/,
    );
  });

  it("fails when a ref's history is not all there (a commit without its parent)", async () => {
    const tree = (await git(['rev-parse', `${tip}^{tree}`])).toString().trim();
    const blob = (await git(['rev-parse', `${tip}:file.txt`])).toString().trim();
    const pack = await packOfObjects([tip, tree, blob]);
    await expect(check(pack, { 'refs/heads/main': tip })).rejects.toThrow(/failed git's check: history is incomplete/);
  });
});

describe("a pool's scratch repositories for pack checks", () => {
  /** The pool's repositories (folder names) and, for each, what its objects/pack holds. */
  const contents = (at: string) => {
    const [folder] = readdirSync(at);
    return Object.fromEntries(
      readdirSync(join(at, folder)).map((dir) => [dir, readdirSync(join(at, folder, dir, 'objects', 'pack'))]),
    );
  };

  it('gives the next check the repository an ended check used, without the pack and index git wrote there', async () => {
    const at = join(work, 'pool-reuse');
    const pool = new PackChecks(at, 2);
    const pack = await packOf('main');
    const refs = { 'refs/heads/main': tip };
    expect((await drain(checkedBy(arriving(pack), pool.start({ refs })))).equals(pack)).toBe(true);
    await pool.returned();
    expect(contents(at)).toEqual({ '0': [] });
    const older = await packOf(parent);
    expect(
      (await drain(checkedBy(arriving(older), pool.start({ refs: { 'refs/heads/old': parent } })))).equals(older),
    ).toBe(true);
    await pool.returned();
    expect(contents(at)).toEqual({ '0': [] });
    await pool.close();
  });

  it('lays out one repository per check running at once, and keeps no more free ones than asked', async () => {
    const at = join(work, 'pool-concurrent');
    const pool = new PackChecks(at, 1);
    const pack = await packOf('main');
    const refs = { 'refs/heads/main': tip };
    await Promise.all([1, 2, 3].map(() => drain(checkedBy(arriving(pack), pool.start({ refs })))));
    await pool.returned();
    expect(Object.values(contents(at))).toEqual([[]]);
    await pool.close();
  });

  it('takes back the repository of a check that failed, emptied, and still fails the check', async () => {
    const at = join(work, 'pool-failed');
    const pool = new PackChecks(at, 2);
    const pack = await packOf('main');
    await expect(
      drain(checkedBy(arriving(pack), pool.start({ refs: { 'refs/heads/main': '1'.repeat(40) } }))),
    ).rejects.toThrow(/does not hold/);
    await pool.returned();
    expect(contents(at)).toEqual({ '0': [] });
    expect(
      (await drain(checkedBy(arriving(pack), pool.start({ refs: { 'refs/heads/main': tip } })))).equals(pack),
    ).toBe(true);
    await pool.close();
  });

  it('removes its folder when closed', async () => {
    const at = join(work, 'pool-closed');
    const pool = new PackChecks(at, 2);
    const pack = await packOf('main');
    await drain(checkedBy(arriving(pack), pool.start({ refs: { 'refs/heads/main': tip } })));
    await pool.close();
    expect(existsSync(at) ? readdirSync(at) : []).toEqual([]);
  });
});
