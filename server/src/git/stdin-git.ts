/**
 * A git command fed a stream on its stdin (`index-pack --stdin` for bundles and checked packs).
 * When git gives up early (a damaged pack), its stdin closes and a pending write fails with EPIPE;
 * that is not the reason, git's exit code and stderr are. So writes never fail: they resolve once
 * git took the bytes or has exited, and `finish()` reports how git ended.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { gitEnv } from './git.js';

export interface StdinGit {
  /** Hands `chunk` to git; waits while git's pipe is full. Never rejects (see `finish`). */
  write(chunk: Buffer): Promise<void>;
  /** Whether git has exited (or was killed) already. */
  ended(): boolean;
  /** Closes stdin and waits for git's exit: its code and the last line of its stderr. */
  finish(): Promise<{ code: number | null; lastLine: string }>;
  /** Stops git if it still runs. */
  kill(): void;
}

export function stdinGit(args: string[], cwd: string): StdinGit {
  const child = spawn('git', args, { cwd, env: gitEnv(), stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-8 * 1024)));
  child.stdin.on('error', () => undefined); // an early exit is reported by finish()
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  exited.catch(() => undefined); // awaited in finish(); a failed spawn must not be unhandled before that
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  return {
    ended,
    async write(chunk) {
      if (ended() || child.stdin.destroyed) return;
      if (child.stdin.write(chunk)) return;
      // `once` rejects when the stream emits 'error' (EPIPE) first: that only means git has gone.
      await Promise.race([once(child.stdin, 'drain').catch(() => undefined), exited.catch(() => undefined)]);
    },
    async finish() {
      if (!child.stdin.destroyed) child.stdin.end();
      const code = await exited;
      return { code, lastLine: stderr.trim().split('\n').at(-1)?.slice(0, 300) ?? '' };
    },
    kill() {
      if (!ended()) child.kill('SIGTERM');
    },
  };
}
