/**
 * The suite's global teardown ends processes the tests left holding jest's output streams: one CI
 * run passed every suite and then waited on such a stream until its time limit.
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

it('a process left holding a worker’s stderr is named and killed, and the run ends', async () => {
  const run = spawn(process.execPath, ['test/fixtures/leftover-process/run.mjs'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  run.stdout.on('data', (c: Buffer) => (out += c.toString()));
  run.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise((resolve) => run.once('close', resolve));
  expect(code).toBe(0);
  const sleeper = Number(/sleeper (\d+)/.exec(out)?.[1]);
  expect(err).toContain(`pid ${sleeper}: sleep 3600`);
  expect(isRunning(sleeper)).toBe(false);
});
