import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { freePort } from '../support/ports.js';
import { isAlive } from '../support/process-alive.js';

/**
 * `npm start` on a machine with nothing configured: no DATABASE_URL, no token, no key. Only the
 * data directory and ports are chosen by the test (so it can run beside other tests).
 */
const root = new URL('../..', import.meta.url).pathname;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let port: number;

interface Started {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function start(): Promise<Started & { token: string | null }> {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'server/src/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const text = output.join('');
      if (text.includes('Stop with Ctrl+C.')) {
        // the banner ends with this line; the token line (first start only) comes before it
        const token = /Bearer (lk_\S+)/.exec(text)?.[1] ?? null;
        resolve({ child, output, exited, token });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
    void exited.then((code) => reject(new Error(`npm start exited with ${code}:\n${output.join('')}`)));
  });
}

const postgresPid = () => Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'labkeeper-zero-config-'));
  port = await freePort();
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LABKEEPER_DATA_DIR: dataDir,
    PORT: String(port),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
  };
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('npm start with no configuration', () => {
  let first: Started & { token: string | null };

  it('starts an embedded PostgreSQL, prints a sign-in URL with a new admin token, and answers GraphQL over HTTP', async () => {
    first = await start();
    expect(first.token).toMatch(/^lk_/);
    expect(first.output.join('')).toContain(`#token=${first.token}`);
    const response = await fetch(`http://localhost:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${first.token}` },
      body: JSON.stringify({ query: '{ workers { name status isInProcess } }' }),
    });
    expect(await response.json()).toEqual({
      data: { workers: [{ name: 'default', status: 'ONLINE', isInProcess: true }] },
    });
    expect((await stat(join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);
  });

  it('answers GraphQL over WebSocket on the same path', async () => {
    const client = createClient({
      url: `ws://localhost:${port}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${first.token}` },
      retryAttempts: 0,
    });
    const result = await new Promise((resolve, reject) => {
      client.subscribe(
        { query: '{ apiTokens { role } }' },
        { next: resolve, error: reject, complete: () => undefined },
      );
    });
    await client.dispose();
    expect(result).toEqual({ data: { apiTokens: [{ role: 'ADMIN' }] } });
  });

  it('stops PostgreSQL with it on SIGTERM', async () => {
    const pg = postgresPid();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(isAlive(pg)).toBe(false);
    expect(first.output.join('')).toContain('embedded PostgreSQL stopped');
  });

  it('starts again after being killed with SIGKILL, stopping the PostgreSQL the crash left behind, and keeps its data', async () => {
    const second = await start();
    expect(second.token).toBeNull(); // not a first start: the admin token exists
    const orphan = postgresPid();
    second.child.kill('SIGKILL');
    await second.exited;
    expect(isAlive(orphan)).toBe(true); // the crash left postgres running

    const third = await start();
    expect(isAlive(orphan)).toBe(false);
    const response = await fetch(`http://localhost:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${first.token}` },
      body: JSON.stringify({ query: '{ apiTokens { role } }' }),
    });
    expect((await response.json()).data.apiTokens).toEqual([{ role: 'ADMIN' }]);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
