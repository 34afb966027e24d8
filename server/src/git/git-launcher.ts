/**
 * Starting git from a small helper process instead of forking this one. `child_process.spawn`
 * forks the calling process and waits, on its event loop, until the child has exec'd: the fork
 * copies the page tables of everything the worker holds, so in a worker of a few hundred MB one
 * start took 20–65 ms of the event loop (the CPU profile of a FULL backup with verify-after-backup:
 * ~3 s per pass of the 50-repository benchmark, during which no pack moved for any repository).
 * The helper is a bare node process (`node -e`, tens of MB, started once and on first use); it
 * spawns git and hands git's stdin back over the IPC channel (the pipe's file descriptor itself,
 * SCM_RIGHTS), so the bytes go from this process straight into git, as with a direct spawn.
 *
 * The helper ends with this process (its IPC channel closes), or once the last app holding it
 * (`holdGitLauncher`) stopped and no git it started still runs; if it dies first, the starts it had
 * in flight fail and the next start brings up a new one. It holds nothing but its children.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';

export interface LaunchedGit {
  /** git's stdin, written from this process. */
  stdin: Socket;
  /** How git ended: its exit code (null when killed) and the last 8 KiB of its stderr. */
  exited: Promise<{ code: number | null; stderr: string }>;
  /** Whether git has ended. */
  ended(): boolean;
  /** SIGTERM to git if it still runs. */
  kill(): void;
}

/** The helper's program: spawn on request, send back git's stdin, then how git ended. */
const HELPER = `
const { spawn } = require('node:child_process');
const children = new Map();
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  if (m.type === 'kill') return void children.get(m.id)?.kill('SIGTERM');
  let child;
  try {
    child = spawn(m.command, m.args, { cwd: m.cwd, env: m.env, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (error) {
    return void process.send({ type: 'failed', id: m.id, message: String(error && error.message) });
  }
  let stderr = '';
  let failed = false;
  child.stderr.on('data', (c) => (stderr = (stderr + c.toString('utf8')).slice(-8192)));
  child.stdin.on('error', () => undefined);
  child.once('error', (error) => {
    failed = true;
    children.delete(m.id);
    process.send({ type: 'failed', id: m.id, message: String(error && error.message) });
  });
  if (child.pid === undefined) return;
  children.set(m.id, child);
  child.once('close', (code) => {
    children.delete(m.id);
    if (!failed) process.send({ type: 'exit', id: m.id, code, stderr });
  });
  process.send({ type: 'spawned', id: m.id }, child.stdin);
});
`;

type HelperMessage =
  | { type: 'spawned'; id: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'exit'; id: number; code: number | null; stderr: string };

interface Pending {
  started: (stdin: Socket) => void;
  exited: (result: { code: number | null; stderr: string }) => void;
  failed: (error: Error) => void;
}

let helper: ChildProcess | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();
let holders = 0;

/**
 * An app holds the helper from its start to its stop. When the last holder lets go while no git
 * started through the helper runs, the helper ends: a process that starts and stops apps (the
 * tests, each file evaluating these modules anew) leaves no helper behind it. Returns the release,
 * which resolves once the helper it ended has exited.
 */
export function holdGitLauncher(): () => Promise<void> {
  holders += 1;
  let held = true;
  return async () => {
    if (!held) return;
    held = false;
    holders -= 1;
    if (holders > 0 || pending.size > 0 || !helper) return;
    const idle = helper;
    helper = null;
    if (idle.exitCode !== null || idle.signalCode !== null) return;
    const exited = once(idle, 'exit');
    if (idle.connected) idle.disconnect(); // the helper exits when its channel closes
    await exited;
  };
}

function helperProcess(): ChildProcess {
  if (helper) return helper;
  // No NODE_OPTIONS (a loader would slow its start); git gets its own environment with each request.
  const started = spawn(process.execPath, ['-e', HELPER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: {} });
  started.on('message', (m: HelperMessage, handle?: Socket) => {
    const job = pending.get(m.id);
    if (!job) return;
    if (m.type === 'spawned' && handle) job.started(handle);
    else if (m.type === 'exit') {
      settle(m.id);
      job.exited({ code: m.code, stderr: m.stderr });
    } else if (m.type === 'failed') {
      settle(m.id);
      job.failed(new Error(`git could not be started: ${m.message}`));
    }
  });
  const gone = () => {
    if (helper !== started) return;
    helper = null;
    for (const [id, job] of pending) {
      settle(id);
      job.failed(new Error('the process that starts git ended'));
    }
  };
  started.once('exit', gone);
  started.once('error', gone);
  // The helper keeps this process alive only while a git it started runs (see `settle`).
  started.unref();
  started.channel?.unref();
  helper = started;
  return started;
}

/** Forgets a finished start; the channel is waited on only while some git runs. */
function settle(id: number): void {
  pending.delete(id);
  if (pending.size === 0) helper?.channel?.unref();
}

/** Starts `git args` in `cwd` with `env`, its stdin a pipe from this process, stdout ignored. */
export function launchGit(args: string[], cwd: string, env: Record<string, string>): Promise<LaunchedGit> {
  const id = nextId++;
  const process_ = helperProcess();
  let done = false;
  let stdinOf: ((stdin: Socket) => void) | null = null;
  let failStart: ((error: Error) => void) | null = null;
  let exitedResolve!: (result: { code: number | null; stderr: string }) => void;
  let exitedReject!: (error: Error) => void;
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    exitedResolve = resolve;
    exitedReject = reject;
  });
  exited.catch(() => undefined); // awaited by the caller after the start; a failed start is reported by launchGit
  const started = new Promise<Socket>((resolve, reject) => {
    stdinOf = resolve;
    failStart = reject;
  });
  pending.set(id, {
    started: (stdin) => stdinOf?.(stdin),
    exited: (result) => {
      done = true;
      exitedResolve(result);
    },
    failed: (error) => {
      done = true;
      failStart?.(error);
      exitedReject(error);
    },
  });
  if (pending.size === 1) process_.channel?.ref();
  process_.send({ type: 'spawn', id, command: 'git', args, cwd, env });
  return started.then((stdin) => ({
    stdin,
    exited,
    ended: () => done,
    kill: () => {
      if (!done) helper?.send({ type: 'kill', id });
    },
  }));
}
