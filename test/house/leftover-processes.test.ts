/**
 * The suite's global teardown ends processes the tests left holding jest's output streams: one CI
 * run passed every suite and then waited on such a stream until its time limit. And a run kept
 * alive by a handle of its own exits after a grace period, naming the handle.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from '@jest/globals';

/** Running, not gone and not a zombie waiting to be reaped (this container's init may not reap). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Runs a fixture to its end: exit code and what it printed. */
async function runToEnd(fixture: string, env: Record<string, string> = {}) {
  const run = spawn(process.execPath, [fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  run.stdout.on('data', (c: Buffer) => (out += c.toString()));
  run.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise((resolve) => run.once('close', resolve));
  return { code, out, err };
}

it('a run kept alive by a handle of its own exits after the grace period, naming what was open', async () => {
  const { code, err } = await runToEnd('test/fixtures/leftover-process/stuck.mjs', {
    LABKEEPER_TEST_EXIT_GRACE_MS: '200',
  });
  expect(code).toBe(0);
  expect(err).toContain('jest had not exited 0.2 s after the last test file; still open: Server.');
});

it('a process left holding a worker’s stderr is named and killed, and the run ends', async () => {
  const { code, out, err } = await runToEnd('test/fixtures/leftover-process/run.mjs');
  expect(code).toBe(0);
  const sleeper = Number(/sleeper (\d+)/.exec(out)?.[1]);
  expect(err).toContain(`pid ${sleeper}: sleep 3600`);
  expect(isRunning(sleeper)).toBe(false);
});
