/** Measuring helpers of the benchmark: sizes on disk, child processes, git trace2 summaries. */
import { fork, spawn, type ChildProcess, type Serializable } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** Apparent bytes (sum of file sizes) and allocated bytes (blocks) below `path`. Hard links count once. */
export function treeSize(path: string): { apparent: number; allocated: number; files: number } {
  const seen = new Set<string>();
  let apparent = 0;
  let allocated = 0;
  let files = 0;
  const walk = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      allocated += st.blocks * 512;
      for (const e of readdirSync(p)) walk(join(p, e));
    } else if (st.isFile()) {
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) return;
      seen.add(id);
      apparent += st.size;
      allocated += st.blocks * 512;
      files++;
    }
  };
  walk(path);
  return { apparent, allocated, files };
}

export const MiB = 1024 * 1024;
/** The middle value (the mean of the two middle ones for an even count). */
export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
export const secs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);

/** Runs a command; rejects with its stderr on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): Promise<{ stdout: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-8000)));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out).toString('utf8'), ms: performance.now() - started });
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (${code}): ${err.trim()}`));
    });
  });
}

/** Runs `tasks` with at most `concurrency` at once, in order. */
export async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
    }),
  );
}

/**
 * git trace2 through a HOME whose .gitconfig sets `trace2.eventTarget` to a directory: every git
 * process then writes its own event file. Labkeeper's git runner and the simulator's
 * `git http-backend` both pass HOME on to git, so pointing process.env.HOME at this directory
 * traces the engine without touching its code. The cost is one small file per git process.
 */
export class GitTrace {
  private readonly realHome = process.env.HOME;
  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true });
  }

  /** Starts tracing into a fresh directory named `label`; returns that directory. */
  start(label: string): string {
    const dir = join(this.root, label);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'events'), { recursive: true });
    const inherited =
      this.realHome && existsSync(join(this.realHome, '.gitconfig'))
        ? `[include]\n\tpath = ${join(this.realHome, '.gitconfig')}\n`
        : '';
    writeFileSync(
      join(dir, '.gitconfig'),
      `${inherited}[trace2]\n\teventTarget = ${join(dir, 'events')}\n\teventNesting = 1\n`,
    );
    process.env.HOME = dir;
    return dir;
  }

  stop(): void {
    process.env.HOME = this.realHome;
  }

  /**
   * Wall-clock seconds per git command, summed over processes. `top` counts only processes that
   * no other git process started (what Labkeeper / the raw clone spawned, and the simulator's
   * http-backend); `all` counts every process by its own command (upload-pack, pack-objects, …).
   */
  static summarize(dir: string): {
    top: Record<string, { count: number; seconds: number }>;
    all: Record<string, { count: number; seconds: number }>;
  } {
    const top: Record<string, { count: number; seconds: number }> = {};
    const all: Record<string, { count: number; seconds: number }> = {};
    const events = join(dir, 'events');
    if (!existsSync(events)) return { top, all };
    for (const file of readdirSync(events)) {
      let sid = '';
      let argv: string[] = [];
      let seconds: number | null = null;
      for (const line of readFileSync(join(events, file), 'utf8').split('\n')) {
        if (!line) continue;
        try {
          const e = JSON.parse(line) as { event: string; sid: string; argv?: string[]; t_abs?: number };
          if (e.event === 'start') {
            sid = e.sid;
            argv = e.argv ?? [];
          } else if ((e.event === 'exit' || e.event === 'atexit') && typeof e.t_abs === 'number')
            seconds = Math.max(seconds ?? 0, e.t_abs);
        } catch {
          /* a line cut by a killed process */
        }
      }
      if (seconds === null || argv.length === 0) continue;
      const name = commandName(argv);
      const add = (map: typeof top) => {
        const entry = (map[name] ??= { count: 0, seconds: 0 });
        entry.count++;
        entry.seconds += seconds;
      };
      add(all);
      if (!sid.includes('/')) add(top);
    }
    return { top, all };
  }
}

/** "git bundle create …" → "bundle create"; "git -c x clone …" → "clone". */
function commandName(argv: string[]): string {
  const args = argv.slice(1);
  while (args[0]?.startsWith('-')) {
    const flag = args.shift()!;
    if (flag === '-c' || flag === '-C') args.shift();
  }
  const cmd = args[0] ?? '?';
  if (cmd === 'bundle' && args[1]) return `bundle ${args[1]}`;
  if (cmd === 'remote-http' || cmd === 'remote-https') return 'remote-http';
  return cmd;
}

/** CPU seconds (user + system) used so far by the live processes whose command name matches. */
export function cpuSecondsOf(comm: RegExp): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!comm.test(name)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick; // utime, stime
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** The whole machine's CPU time so far (all cores, seconds): busy, idle, and idle waiting for I/O. */
export function machineCpu(): { busyS: number; idleS: number; iowaitS: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map((f) => Number(f) / 100);
  return { busyS: user + nice + system + irq + softirq + steal, idleS: idle, iowaitS: iowait };
}

/** What the machine's CPUs did between two `machineCpu()` readings. */
export function machineCpuSince(before: ReturnType<typeof machineCpu>): {
  busyS: number;
  idleS: number;
  iowaitS: number;
} {
  const now = machineCpu();
  return { busyS: now.busyS - before.busyS, idleS: now.idleS - before.idleS, iowaitS: now.iowaitS - before.iowaitS };
}

/**
 * CPU seconds (user + system) of one process and of its children that have exited (git processes
 * once they end; Linux counts them in cutime/cstime), from /proc/<pid>/stat.
 */
export function processCpu(pid: number | 'self' = 'self'): { ownS: number; childrenS: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { ownS: (f[11] + f[12]) / 100, childrenS: (f[13] + f[14]) / 100 }; // USER_HZ 100
}

/**
 * A process of the benchmark's own (the S3 server, a worker), so that its CPU and memory are read
 * apart from the benchmark's. It speaks over IPC: its first message says it has started, and
 * `{ cmd: 'close' }` asks it to stop.
 */
export class BenchChild<Started> {
  private constructor(
    private readonly child: ChildProcess,
    readonly started: Started,
  ) {}

  /**
   * Forks `modulePath` and resolves once it has started (its first message); rejects when it exits
   * before. `hello` is sent to it at once, before it reports. `name` names it in the error.
   */
  static async fork<Started>(
    name: string,
    modulePath: string,
    options: { args: string[]; execArgv: string[]; env?: NodeJS.ProcessEnv; hello?: Serializable },
  ): Promise<BenchChild<Started>> {
    const child = fork(modulePath, options.args, {
      execArgv: options.execArgv,
      ...(options.env ? { env: options.env } : {}),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (options.hello !== undefined) child.send(options.hello);
    const [message] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`${name} process exited (${String(code)})`);
      }),
    ])) as [Started];
    return new BenchChild(child, message);
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(message: Serializable): void {
    this.child.send(message);
  }

  /** CPU seconds (user + system) the process has used: its share of the shared cores. */
  cpuSeconds(): number {
    return processCpu(this.pid).ownS;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ cmd: 'close' });
    await exited;
  }
}

/**
 * Waits until `cpuSeconds` (the CPU a process has used so far) grows by at most 10 ms in each of
 * two quarter-seconds in a row, or `maxMs` passed; returns how long that took and the CPU used
 * meanwhile. A backup leaves work behind once its run has ended (V8's memory reducer runs full
 * collections of the worker's heap when allocation stops: about a second of CPU after a pass of
 * the full organization); without this it ran in the next pass — a raw clone's — and was
 * charged to it.
 */
export async function settle(cpuSeconds: () => number, maxMs = 20_000): Promise<{ ms: number; cpuS: number }> {
  const started = performance.now();
  const first = cpuSeconds();
  let last = first;
  let quiet = 0;
  while (quiet < 2 && performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = cpuSeconds();
    quiet = now - last <= 0.0101 ? quiet + 1 : 0;
    last = now;
  }
  return { ms: performance.now() - started, cpuS: last - first };
}

/**
 * Writes `bytes` of zeros to a file under `dir`, then removes it, and returns the seconds it took.
 * On a virtual machine whose memory the host backs lazily, a page written for the first time
 * costs several times a page used before (here: 300 MiB into a new file in 0.25–0.65 s of kernel
 * time the first time, 0.04 s once those pages had been used and freed). A benchmark pass that
 * keeps what it wrote (a backup's bundles stay in storage, and in the page cache) then pays that
 * first touch, while a baseline whose output is deleted between passes writes into the pages it
 * freed. Touching enough memory once, before the passes, takes the machine's history out of the
 * comparison: the pages freed here are the ones later writes get.
 */
export function touchMemory(dir: string, bytes: number): number {
  const started = performance.now();
  const file = join(dir, 'touch-memory');
  const chunk = Buffer.alloc(1024 * 1024);
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < bytes; written += chunk.length) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  return (performance.now() - started) / 1000;
}
