/**
 * The test harness's S3 server (test/support/s3-server.ts: s3rver on loopback, files in a temp
 * directory) in its own process for `--s3`, as object storage is on other machines in production:
 * its request handling and buffers then never count in the worker's event loop or RSS. The parent
 * starts it with `S3Host.spawn()`; this file is both the parent-side client and, when forked, the child.
 */
import { fileURLToPath } from 'node:url';
import { BenchChild } from './measure.js';

export interface S3HostStarted {
  endpoint: string;
  /** Buckets created at start, empty. */
  buckets: string[];
}

/** Parent side. */
export class S3Host {
  private constructor(private readonly child: BenchChild<S3HostStarted>) {}

  static async spawn(buckets: string[]): Promise<S3Host> {
    return new S3Host(
      await BenchChild.fork<S3HostStarted>('S3 server', fileURLToPath(import.meta.url), {
        args: ['--child', ...buckets],
        execArgv: ['--import', '@swc-node/register/esm-register'],
      }),
    );
  }

  get started(): S3HostStarted {
    return this.child.started;
  }

  /** CPU seconds (user + system) the S3 server's process has used: its share of the shared cores. */
  cpuSeconds(): number {
    return this.child.cpuSeconds();
  }

  close(): Promise<void> {
    return this.child.close();
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
