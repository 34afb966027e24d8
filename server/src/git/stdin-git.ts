/**
 * A git command fed a stream on its stdin (`index-pack --stdin` for bundles and checked packs),
 * started by the helper process of git-launcher.ts (no fork of this one on its event loop).
 * When git gives up early (a damaged pack), its stdin closes and a pending write fails with EPIPE;
 * that is not the reason, git's exit code and stderr are. So writes never fail: they resolve once
 * git took the bytes or has exited, and `finish()` reports how git ended.
 */
import { once } from 'node:events';
import { gitEnv } from './git.js';
import { launchGit, type LaunchedGit } from './git-launcher.js';

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
  const launched = launchGit(args, cwd, gitEnv());
  // Rejects when git could not be started (or its helper died): finish() throws that.
  const exited = launched.then((started) => started.exited);
  exited.catch(() => undefined); // awaited in finish(); a failed start must not be unhandled before that
  let git: LaunchedGit | null = null;
  let killed = false;
  void launched.then(
    (started) => {
      git = started;
      started.stdin.on('error', () => undefined); // an early exit is reported by finish()
      if (killed) started.kill();
    },
    () => undefined, // reported by finish()
  );
  const ended = () => (git ? git.ended() : false);
  return {
    ended,
    async write(chunk) {
      const started = git ?? (await launched.catch(() => null));
      if (!started || started.ended() || started.stdin.destroyed) return;
      if (started.stdin.write(chunk)) return;
      // `once` rejects when the stream emits 'error' (EPIPE) first: that only means git has gone.
      await Promise.race([once(started.stdin, 'drain').catch(() => undefined), exited.catch(() => undefined)]);
    },
    async finish() {
      const started = await launched.catch(() => null);
      if (started && !started.stdin.destroyed) started.stdin.end();
      const { code, stderr } = await exited;
      return { code, lastLine: stderr.trim().split('\n').at(-1)?.slice(0, 300) ?? '' };
    },
    kill() {
      killed = true;
      git?.kill();
    },
  };
}
