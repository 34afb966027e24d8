/**
 * Parent side of worker-host.mjs: a Labkeeper worker in its own process (`--s3 --worker-process`),
 * so the benchmark can read that process's own memory and CPU from /proc — the worker alone, not
 * the API, the benchmark, or TypeScript compiled at load, which share the benchmark's process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BenchChild } from './measure.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export class WorkerProcess {
  private constructor(private readonly child: BenchChild<{ workerId: string }>) {}

  /** Builds server/dist if its sources changed (as `npm run worker` does), then starts the worker. */
  static async spawn(env: Record<string, string>, logFile: string, offsetMs: number): Promise<WorkerProcess> {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale', 'server'], { cwd: ROOT, stdio: 'inherit' });
    const command = workerCommand();
    return new WorkerProcess(
      await BenchChild.fork<{ workerId: string }>(
        'worker',
        fileURLToPath(new URL('./worker-host.mjs', import.meta.url)),
        {
          args: [JSON.stringify(env), logFile],
          execArgv: command.flags, // no TypeScript loader: the compiled server only
          env: { ...process.env, ...command.env },
          hello: { offsetMs },
        },
      ),
    );
  }

  get workerId(): string {
    return this.child.started.workerId;
  }

  get pid(): number {
    return this.child.pid;
  }

  setOffset(offsetMs: number): void {
    this.child.send({ offsetMs });
  }

  /** Resident set size now, in bytes (VmRSS). */
  rss(): number {
    return statusKiB(this.pid, 'VmRSS') * 1024;
  }

  /** Peak resident set size since the process started or since the last `resetPeak` (VmHWM). */
  peakRss(): number {
    return statusKiB(this.pid, 'VmHWM') * 1024;
  }

  /** Starts a new peak window (Linux: writing 5 to clear_refs resets VmHWM); false when not allowed. */
  resetPeak(): boolean {
    this.child.send({ cmd: 'peak-reset' });
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** CPU seconds (user + system) the worker process has used. */
  cpuSeconds(): number {
    return this.child.cpuSeconds();
  }

  close(): Promise<void> {
    return this.child.close();
  }
}

/**
 * The environment and node flags `npm run worker` starts a worker with (package.json's `worker`
 * script: `NAME=value … node --flag … server/dist/worker.js`), so the benchmark measures the worker
 * as it runs. For A/B runs LABKEEPER_BENCH_WORKER_FLAGS replaces the flags (`' '` for none) and
 * LABKEEPER_BENCH_WORKER_ENV the environment variables (`' '` for none).
 */
function workerCommand(): { flags: string[]; env: Record<string, string> } {
  const scripts = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const command = words(scripts.worker);
  const node = command.indexOf('node');
  const flags: string[] = [];
  for (const word of command.slice(node + 1)) {
    if (!word.startsWith('--')) break;
    flags.push(word);
  }
  const { LABKEEPER_BENCH_WORKER_FLAGS: flagsOverride, LABKEEPER_BENCH_WORKER_ENV: envOverride } = process.env;
  return {
    flags: flagsOverride !== undefined ? words(flagsOverride) : flags,
    env: Object.fromEntries((envOverride !== undefined ? words(envOverride) : command.slice(0, node)).map(assignment)),
  };
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean);
}

function assignment(word: string): [string, string] {
  const at = word.indexOf('=');
  return [word.slice(0, at), word.slice(at + 1)];
}

function statusKiB(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) : 0;
}
