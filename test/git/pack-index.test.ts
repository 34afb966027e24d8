import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { missingFromPackIndex } from '../../server/src/git/pack-index.js';

/**
 * The pack check looks a ref's tip up in the index git wrote, without running git again: it must
 * find exactly what `git show-index` lists.
 */
const run = promisify(execFile);
let work: string;
let idx: string;
let listed: string[];

async function git(args: string[], cwd: string): Promise<string> {
  const env = { PATH: process.env.PATH, HOME: work, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };
  return (await run('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pack-index-'));
  const repo = join(work, 'repo');
  await git(['init', '-q', '-b', 'main', repo], work);
  for (let i = 0; i < 40; i++) {
    writeFileSync(join(repo, `file-${i % 7}.txt`), `line ${i}\n`.repeat(i + 1));
    await git(['add', '.'], repo);
    await git(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', `commit ${i}`], repo);
  }
  await git(['repack', '-adq'], repo);
  const packs = join(repo, '.git', 'objects', 'pack');
  idx = join(
    packs,
    readdirSync(packs).find((f) => f.endsWith('.idx'))!,
  );
  const shown = await run('sh', ['-c', `git show-index < '${idx}'`], { cwd: repo });
  listed = shown.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[1]);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('missingFromPackIndex', () => {
  it('finds every object git lists in the index', async () => {
    expect(listed.length).toBeGreaterThan(100);
    expect(await missingFromPackIndex(idx, listed)).toEqual([]);
  });

  it('names the ids the index does not list, whatever their first byte', async () => {
    const absent = [
      '0'.repeat(40),
      'f'.repeat(40),
      ...listed.slice(0, 20).map((id) => `${id.slice(0, 39)}${id[39] === '0' ? '1' : '0'}`),
    ].filter((id) => !listed.includes(id));
    expect(await missingFromPackIndex(idx, [...absent, listed[0]])).toEqual(absent);
  });

  it('refuses a file that is not a version 2 pack index', async () => {
    const other = join(work, 'not.idx');
    writeFileSync(other, Buffer.alloc(2048));
    await expect(missingFromPackIndex(other, [listed[0]])).rejects.toThrow(/not a version 2 pack index/);
  });
});
