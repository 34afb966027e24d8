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
    return new WorkerProcess(
      await BenchChild.fork<{ workerId: string }>(
        'worker',
        fileURLToPath(new URL('./worker-host.mjs', import.meta.url)),
        {
          args: [JSON.stringify(env), logFile],
          execArgv: [], // no TypeScript loader: the compiled server only
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

function statusKiB(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) : 0;
}
