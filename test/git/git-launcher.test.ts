import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gitEnv } from '../../server/src/git/git.js';
import { holdGitLauncher, launchGit, type LaunchedGit } from '../../server/src/git/git-launcher.js';
import { isAlive } from '../support/process-alive.js';

/**
 * git fed from this process (index-pack for checked packs and restores) is started by a small
 * helper process, so that starting it does not fork this one: git's parent is the helper, its
 * stdin still comes from here, and a helper that dies fails what it had started and is replaced.
 */
let work: string;

/** A git alias run by git itself: its shell's $PPID is git, whose status names git's parent. */
const probe = (script: string) => ['-c', `alias.probe=!${script}`, 'probe'];
const parentOfGit = 'grep ^PPid: /proc/$PPID/status >&2';

async function written(git: LaunchedGit, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve) => git.stdin.end(bytes, resolve));
}

/** For a git that reads nothing (and may have gone already). */
function closeStdin(git: LaunchedGit): void {
  git.stdin.on('error', () => undefined);
  git.stdin.end();
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'git-launcher-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('git started by the helper process', () => {
  it("is not this process's child, and reads on its stdin exactly what this process writes", async () => {
    const git = await launchGit(probe(`${parentOfGit}; wc -c >&2`), work, gitEnv());
    await written(git, Buffer.alloc(3 * 1024 * 1024 + 7, 1));

    const { code, stderr } = await git.exited;

    expect(code).toBe(0);
    const parent = Number(/PPid:\s*(\d+)/.exec(stderr)?.[1]);
    expect(parent).toBeGreaterThan(0);
    expect(parent).not.toBe(process.pid);
    expect(stderr).toMatch(new RegExp(`^\\s*${3 * 1024 * 1024 + 7}\\s*$`, 'm'));
    expect(git.ended()).toBe(true);
  });

  it('says git could not be started when its folder does not exist', async () => {
    await expect(launchGit(['version'], join(work, 'missing'), gitEnv())).rejects.toThrow(/git could not be started/);
  });

  it('stops git when asked', async () => {
    // git itself reads (no shell between): an alias's `cat` could outlive a git killed while
    // starting it and hold git's stderr open, and git's end would never be seen.
    const git = await launchGit(['hash-object', '--stdin'], work, gitEnv());

    git.kill();

    expect((await git.exited).code).not.toBe(0);
  });

  it('fails what a helper that died had started, and starts git with a new helper afterwards', async () => {
    const first = await launchGit(probe(parentOfGit), work, gitEnv());
    closeStdin(first);
    const helper = Number(/PPid:\s*(\d+)/.exec((await first.exited).stderr)?.[1]);
    const waiting = await launchGit(probe('cat >/dev/null'), work, gitEnv());

    process.kill(helper, 'SIGKILL');

    await expect(waiting.exited).rejects.toThrow(/the process that starts git ended/);
    waiting.stdin.destroy();
    const next = await launchGit(probe(parentOfGit), work, gitEnv());
    closeStdin(next);
    const { code, stderr } = await next.exited;
    expect(code).toBe(0);
    expect(Number(/PPid:\s*(\d+)/.exec(stderr)?.[1])).not.toBe(helper);
  });

  it('ends once the last app holding it lets go, and the next start brings up a new one', async () => {
    const releaseFirst = holdGitLauncher();
    const releaseSecond = holdGitLauncher();
    const first = await launchGit(probe(parentOfGit), work, gitEnv());
    closeStdin(first);
    const helper = Number(/PPid:\s*(\d+)/.exec((await first.exited).stderr)?.[1]);

    await releaseFirst();
    expect(isAlive(helper)).toBe(true); // the other app still holds it

    await releaseSecond();
    expect(isAlive(helper)).toBe(false);

    const next = await launchGit(probe(parentOfGit), work, gitEnv());
    closeStdin(next);
    const { code, stderr } = await next.exited;
    expect(code).toBe(0);
    expect(Number(/PPid:\s*(\d+)/.exec(stderr)?.[1])).not.toBe(helper);
  });
});
