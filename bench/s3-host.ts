/**
 * The test harness's S3 server (test/support/s3-server.ts: s3rver on loopback, files in a temp
 * directory) in its own process for `--s3`, as object storage is on other machines in production:
 * its request handling and buffers then never count in the worker's event loop or RSS. The parent
 * starts it with `S3Host.spawn()`; this file is both the parent-side client and, when forked, the child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface S3HostStarted {
  endpoint: string;
  /** Buckets created at start, empty. */
  buckets: string[];
}

/** Parent side. */
export class S3Host {
  private constructor(
    private readonly child: ChildProcess,
    readonly started: S3HostStarted,
  ) {}

  static async spawn(buckets: string[]): Promise<S3Host> {
    const child = fork(fileURLToPath(import.meta.url), ['--child', ...buckets], {
      execArgv: ['--import', '@swc-node/register/esm-register'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [message] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`S3 server process exited (${String(code)})`);
      }),
    ])) as [S3HostStarted];
    return new S3Host(child, message);
  }

  /** CPU seconds (user + system) the S3 server's process has used: its share of the shared cores. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ cmd: 'close' });
    await exited;
  }
}

// ---- child side ---------------------------------------------------------------------------------
if (process.argv.includes('--child')) {
  const buckets = process.argv.slice(process.argv.indexOf('--child') + 1);
  const { startS3Server } = await import('../test/support/s3-server.js');
  const server = await startS3Server(buckets[0]);
  for (const name of buckets.slice(1)) await server.createBucket(name);
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'close') void server.close().finally(() => process.exit(0));
  });
  process.on('disconnect', () => void server.close().finally(() => process.exit(0)));
  process.send!({ endpoint: server.endpoint, buckets } satisfies S3HostStarted);
}
