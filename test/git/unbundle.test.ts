import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { unbundleStream } from '../../server/src/git/unbundle.js';

/**
 * A restore decodes each bundle straight into git (no bundle file): the objects land in the
 * repository as `git bundle unbundle` would put them there, and what unbundle refuses is refused.
 */
const run = promisify(execFile);
let work: string;
let repo: string;
let first: string;
let second: string;
let full: Buffer;
let incremental: Buffer;
let targets = 0;

async function git(args: string[], cwd = repo, input?: string): Promise<string> {
  const child = run('git', args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH, HOME: work, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' },
  });
  if (input !== undefined) child.child.stdin!.end(input);
  return (await child).stdout.trim();
}

/** In small chunks, as decoded bytes arrive: the header may span several. */
const arriving = (bytes: Buffer) =>
  Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 7) yield bytes.subarray(at, at + 7);
    })(),
  );

async function emptyRepository(): Promise<string> {
  const dir = join(work, `target-${++targets}`);
  await git(['init', '--bare', '--quiet', dir], work);
  return dir;
}

const has = (dir: string, object: string) =>
  git(['cat-file', '-e', object], dir).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'unbundle-'));
  repo = join(work, 'repo');
  await git(['init', '--quiet', '--initial-branch=main', repo], work);
  await git(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'one']);
  first = await git(['rev-parse', 'HEAD']);
  await git(['branch', 'one']);
  writeFileSync(join(repo, 'a.txt'), 'second\n');
  await git(['add', 'a.txt']);
  await git(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'two']);
  second = await git(['rev-parse', 'HEAD']);
  await git(['bundle', 'create', '-q', join(work, 'full.bundle'), 'one']);
  await git(['bundle', 'create', '-q', join(work, 'incremental.bundle'), 'one..main']);
  full = readFileSync(join(work, 'full.bundle'));
  incremental = readFileSync(join(work, 'incremental.bundle'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('unbundleStream', () => {
  it('writes the objects of a full bundle into the repository as they stream, and no ref', async () => {
    const dir = await emptyRepository();
    await unbundleStream(dir, arriving(full));
    expect(await has(dir, first)).toBe(true);
    expect(await git(['for-each-ref'], dir)).toBe('');
  });

  it('adds an incremental bundle on top of its prerequisites', async () => {
    const dir = await emptyRepository();
    await unbundleStream(dir, arriving(full));
    await unbundleStream(dir, arriving(incremental));
    expect(await has(dir, second)).toBe(true);
  });

  it('refuses an incremental bundle whose prerequisites the repository lacks', async () => {
    const dir = await emptyRepository();
    await expect(unbundleStream(dir, arriving(incremental))).rejects.toThrow(/lacks its prerequisite commits/);
  });

  it('refuses bytes that are not a bundle, and a bundle whose pack is damaged', async () => {
    await expect(unbundleStream(await emptyRepository(), arriving(Buffer.from('PACK and more bytes')))).rejects.toThrow(
      /not a git bundle/,
    );
    const damaged = Buffer.from(full);
    damaged[damaged.length - 30] ^= 0xff;
    await expect(unbundleStream(await emptyRepository(), arriving(damaged))).rejects.toThrow(/index-pack refused/);
  });

  it("reports git's reason, not a broken pipe, when index-pack gives up at once and megabytes still follow", async () => {
    const header = full.subarray(0, full.indexOf('\n\n') + 2);
    const notAPack = Buffer.concat([header, Buffer.from('NOT A PACK'), Buffer.alloc(32 * 1024 * 1024, 1)]);
    const inLargeChunks = Readable.from(
      (function* () {
        for (let at = 0; at < notAPack.length; at += 1024 * 1024) yield notAPack.subarray(at, at + 1024 * 1024);
      })(),
    );
    await expect(unbundleStream(await emptyRepository(), inLargeChunks)).rejects.toThrow(/index-pack refused/);
  });

  it("passes the source's own error on as it is", async () => {
    const failing = Readable.from(
      (async function* () {
        yield full.subarray(0, 100);
        throw new Error('artifact is cut short');
      })(),
    );
    await expect(unbundleStream(await emptyRepository(), failing)).rejects.toThrow('artifact is cut short');
  });
});
