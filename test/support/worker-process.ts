/**
 * `npm run worker` as a real separate process against a test app's database, with its JSON log
 * lines collected. `started` resolves when it logs "worker started".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestApp } from './app.js';

export interface WorkerProcess {
  child: ChildProcess;
  log: { msg: string; [k: string]: unknown }[];
  started: Promise<void>;
  exited: Promise<number | null>;
  /** Resolves with the first log line matching. */
  logged(
    predicate: (line: { msg: string; [k: string]: unknown }) => boolean,
  ): Promise<{ msg: string; [k: string]: unknown }>;
  stop(): Promise<void>;
}

export function startWorkerProcess(api: TestApp, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'server/src/worker.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: api.databaseUrl,
      LABKEEPER_MASTER_KEY: api.masterKey,
      LABKEEPER_DATA_DIR: api.app.config.dataDir,
      LABKEEPER_HEARTBEAT_MS: '500',
      LABKEEPER_JOB_POLL_MS: '500',
      LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const log: WorkerProcess['log'] = [];
  const waiters: {
    predicate: (l: WorkerProcess['log'][number]) => boolean;
    resolve: (l: WorkerProcess['log'][number]) => void;
  }[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    log.push(entry);
    for (const w of waiters.splice(0)) {
      if (w.predicate(entry)) w.resolve(entry);
      else waiters.push(w);
    }
  });
  const logged: WorkerProcess['logged'] = (predicate) => {
    const found = log.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      waiters.push({ predicate, resolve });
      void exited.then((code) => reject(new Error(`worker exited (${code}) before logging what was awaited`)));
    });
  };
  return {
    child,
    log,
    started: logged((l) => l.msg === 'worker started').then(() => undefined),
    exited,
    logged,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
