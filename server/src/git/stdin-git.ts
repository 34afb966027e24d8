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
  /**
   * Hands `chunk` to git: undefined when git took it at once, else a promise that settles once the
   * pipe has room again (or git has gone). Never rejects (see `finish`). Wait for it before the next.
   */
  write(chunk: Buffer): Promise<void> | undefined;
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
  /** The bytes went to git unless it has gone; waits while its pipe is full. */
  const handOver = (started: LaunchedGit, chunk: Buffer): Promise<void> | undefined => {
    if (started.ended() || started.stdin.destroyed || started.stdin.write(chunk)) return undefined;
    // `once` rejects when the stream emits 'error' (EPIPE) first: that only means git has gone.
    return Promise.race([once(started.stdin, 'drain').catch(() => undefined), exited.catch(() => undefined)]).then(
      () => undefined,
    );
  };
  return {
    ended,
    write(chunk) {
      if (git) return handOver(git, chunk);
      return launched.then(
        (started) => handOver(started, chunk),
        () => undefined, // reported by finish()
      );
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
