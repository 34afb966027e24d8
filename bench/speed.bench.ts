/**
 * Where users wait, against a bare baseline in the same run (a script, not a test):
 *
 *   npm run bench -- --api [--duration 10] [--connections 50] [--no-cache]
 *       autocannon (a child process) against the real server's OrganizationDetail query (an
 *       organization with a page of 50 repositories and their latest snapshot), then against a
 *       bare Apollo Server 5 answering a 50-row list of the same shape; prints req/s, p99 and
 *       the ratio. The two alternate (baseline, Labkeeper, baseline, Labkeeper) so both see the
 *       same machine load. Labkeeper runs with its default response cache (the same query asked
 *       again while the database is unchanged); --no-cache computes every answer.
 *   npm run bench -- --subscribers 1000 [--events 20]
 *       1,000 graphql-ws subscribers (in a child process) of one backup run; the cause is the
 *       worker's publish (Labkeeper: pg NOTIFY → LISTEN → in-process fan-out → graphql-ws), the
 *       receipt is the client's message; the same against a bare graphql-ws server fanning an
 *       in-memory event out. Prints p50/p99 from cause to receipt and the ratio.
 *
 * Labkeeper runs in this process with an embedded PostgreSQL (or a fresh database on
 * DATABASE_URL's server) and the GitLab simulator (for the organization's discovery only).
 */
import 'reflect-metadata';
import { fork, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { startApp, type RunningApp } from '../server/src/app.js';
import type { BackupProgressed } from '../server/src/backup/backup.events.js';
import { loadConfig } from '../server/src/config/config.js';
import { startGitLabSimulator } from '../test/support/gitlab-simulator/index.js';
import { aToken, aUser } from '../test/support/gitlab-seed.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);
const option = (argv: string[], name: string, fallback: number) => {
  const i = argv.indexOf(name);
  const value = i >= 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

const DETAIL = `query($id: ID!) { organization(id: $id) { id name repositoryCounts { total protected }
  repositories(first: 50) { totalCount nodes { id name pathWithNamespace webUrl visibility isProtected
    lastActivityAt latestSnapshot { id createdAt copyType sizeBytes verificationStatus } } } } }`;

interface Labkeeper {
  app: RunningApp;
  url: string;
  token: string;
  organizationId: string;
  close(): Promise<void>;
}

/** Labkeeper with an organization of `repositories` repositories, two snapshots each. */
async function startLabkeeper(repositories: number, env: Record<string, string> = {}): Promise<Labkeeper> {
  const work = await mkdtemp(join(tmpdir(), 'labkeeper-speed-'));
  chmodSync(work, 0o755); // embedded PostgreSQL runs as user postgres (when root)
  const sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'bench', ownerId: alice.id });
  for (let i = 0; i < repositories; i++)
    sim.createProject({ namespaceId: group.id, path: `r${String(i).padStart(3, '0')}`, withCommit: false });
  const token = `lk_bench_admin_${randomBytes(16).toString('hex')}`;
  const port = await freePort();
  const dataDir = join(work, 'labkeeper');
  mkdirSync(dataDir);
  const config = loadConfig({
    PORT: String(port),
    LABKEEPER_DATA_DIR: dataDir,
    LABKEEPER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    ...(process.env.DATABASE_URL
      ? { DATABASE_URL: process.env.DATABASE_URL }
      : { EMBEDDED_POSTGRES_PORT: String(await freePort()) }),
    LABKEEPER_ADMIN_TOKEN: token,
    LABKEEPER_MASTER_KEY: randomBytes(32).toString('hex'),
    LABKEEPER_WORKER_NAME: 'bench',
    GITLAB_URL: sim.url,
    ...env,
  });
  const logger = pino({ level: 'warn' }, pino.destination({ dest: join(work, 'labkeeper.log'), sync: false }));
  const app = await startApp({ config, logger, api: true, worker: true });
  const url = `http://127.0.0.1:${port}`;
  const synced = new Promise<void>((resolve) =>
    app.jobStore.agenda.once('complete:repositories.sync', () => resolve()),
  );
  const connected = await graphql(
    url,
    token,
    `
      mutation ($i: ConnectGitLabInput!) {
        connectGitLab(input: $i) {
          connection {
            id
          }
        }
      }
    `,
    {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        personalAccessToken: aToken(sim, alice.id).token,
        namespacePath: 'bench',
        repoSyncSchedule: { kind: 'INTERVAL', intervalMinutes: 10080 },
      },
    },
  );
  await synced;
  const orgs = await graphql(
    url,
    token,
    `
      query ($c: ID) {
        organizations(connectionId: $c) {
          id
        }
      }
    `,
    {
      c: connected.connectGitLab.connection.id,
    },
  );
  const organizationId = orgs.organizations[0].id as string;
  await app.dataSource.query(
    `INSERT INTO snapshots (id, repository_id, organization_id, run_id, copy_type, chain_key, storage_root,
       storage_prefix, manifest_sha256, size_bytes, artifact_count, ref_count, created_at)
     SELECT gen_random_uuid(), r.id, r.organization_id, $2::uuid, v.copy_type, 'bench', '/bench', 'p', 'sha', 1000, 2, 3,
            now() - v.age * interval '1 hour'
       FROM repositories r CROSS JOIN (VALUES ('FULL', 2), ('INCREMENTAL', 1)) AS v(copy_type, age)
      WHERE r.organization_id = $1`,
    [organizationId, randomUUID()],
  );
  return {
    app,
    url,
    token,
    organizationId,
    close: async () => {
      await app.stop();
      await sim.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

export async function graphql(url: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });

  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createHttpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

// ---- --api ------------------------------------------------------------------------------------

const BARE_SDL = `type Snapshot { id: ID! createdAt: String! copyType: String! sizeBytes: Float! verificationStatus: String! }
  type Repository { id: ID! name: String! pathWithNamespace: String! webUrl: String! visibility: String!
    isProtected: Boolean! lastActivityAt: String latestSnapshot: Snapshot }
  type Query { repositories: [Repository!]! }`;
const BARE_QUERY = `{ repositories { id name pathWithNamespace webUrl visibility isProtected lastActivityAt
  latestSnapshot { id createdAt copyType sizeBytes verificationStatus } } }`;

/** The baseline: Apollo Server 5 on Express 5, answering a 50-row list held in memory. */
async function startBareApollo(): Promise<{ url: string; close(): Promise<void> }> {
  const rows = Array.from({ length: 50 }, (_, i) => ({
    id: randomUUID(),
    name: `r${i}`,
    pathWithNamespace: `bench/r${i}`,
    webUrl: `http://gitlab.example/bench/r${i}`,
    visibility: 'private',
    isProtected: true,
    lastActivityAt: new Date().toISOString(),
    latestSnapshot: {
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      copyType: 'INCREMENTAL',
      sizeBytes: 1000,
      verificationStatus: 'UNVERIFIED',
    },
  }));
  const apollo = new ApolloServer({ typeDefs: BARE_SDL, resolvers: { Query: { repositories: () => rows } } });
  await apollo.start();
  const app = express();
  app.use('/graphql', express.json(), expressMiddleware(apollo));
  const server = createHttpServer(app);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: async () => {
      await apollo.stop();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/** autocannon in its own process, so the load generator does not share the server's event loop. */
function autocannon(url: string, body: string, headers: Record<string, string>, seconds: number, connections: number) {
  const args = ['-c', String(connections), '-d', String(seconds), '-m', 'POST', '-j', '-b', body];
  for (const [k, v] of Object.entries({ 'content-type': 'application/json', ...headers })) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise<LoadResult>((resolve, reject) => {
    const child = spawn(join(HERE, '..', 'node_modules', '.bin', 'autocannon'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      const r = JSON.parse(out) as {
        requests: { average: number };
        latency: { p50: number; p99: number };
        non2xx: number;
        errors: number;
      };
      resolve({
        requestsPerSecond: r.requests.average,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors,
      });
    });
  });
}

async function apiBench(argv: string[]) {
  const seconds = option(argv, '--duration', 10);
  const connections = option(argv, '--connections', 50);
  // --no-cache: every request computes its answer (LABKEEPER_API_CACHE_SECONDS=0), the cost of a
  // first read or of a database that changes between requests.
  const cached = !argv.includes('--no-cache');
  const labkeeper = await startLabkeeper(60, cached ? {} : { LABKEEPER_API_CACHE_SECONDS: '0' });
  const bare = await startBareApollo();
  try {
    const check = await graphql(labkeeper.url, labkeeper.token, DETAIL, { id: labkeeper.organizationId });
    if (check.organization.repositories.nodes.length !== 50) throw new Error('the page does not hold 50 repositories');
    const ours = {
      url: `${labkeeper.url}/graphql`,
      body: JSON.stringify({ query: DETAIL, variables: { id: labkeeper.organizationId } }),
      headers: { authorization: `Bearer ${labkeeper.token}` },
    };
    const theirs = { url: bare.url, body: JSON.stringify({ query: BARE_QUERY }), headers: {} };
    log(
      `--api: ${connections} connections, ${seconds} s per pass, baseline and Labkeeper alternately (2 pairs), response cache ${cached ? 'on (default)' : 'off (--no-cache)'}`,
    );
    const pairs: { bare: LoadResult; labkeeper: LoadResult }[] = [];
    for (let i = 0; i < 2; i++) {
      const b = await autocannon(theirs.url, theirs.body, theirs.headers, seconds, connections);
      const l = await autocannon(ours.url, ours.body, ours.headers, seconds, connections);
      pairs.push({ bare: b, labkeeper: l });
      log(
        `  pair ${i + 1}: bare Apollo ${b.requestsPerSecond.toFixed(1)} req/s p99 ${b.p99Ms} ms | Labkeeper ${l.requestsPerSecond.toFixed(1)} req/s p99 ${l.p99Ms} ms (non-2xx ${l.non2xx}, errors ${l.errors}) → ratio ${(l.requestsPerSecond / b.requestsPerSecond).toFixed(2)}×`,
      );
    }
    const ratio =
      pairs.reduce((n, p) => n + p.labkeeper.requestsPerSecond, 0) /
      pairs.reduce((n, p) => n + p.bare.requestsPerSecond, 0);
    const p99 = Math.max(...pairs.map((p) => p.labkeeper.p99Ms));
    log(
      `API ratio (Labkeeper / bare Apollo, req/s): ${ratio.toFixed(2)}× (target ≥ 0.8×); Labkeeper p99 ${p99} ms (target < 250 ms)`,
    );
  } finally {
    await bare.close();
    await labkeeper.close();
  }
}

// ---- --subscribers ----------------------------------------------------------------------------

interface LatencyResult {
  received: number;
  expected: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The subscribers live in a child process (bench/ws-subscribers.ts), as browsers would. */
function subscribers(options: {
  url: string;
  token: string | null;
  query: string;
  variables: object;
  count: number;
  events: number;
}) {
  const child = fork(join(HERE, 'ws-subscribers.ts'), [], {
    execArgv: ['--import', '@swc-node/register/esm-register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = new Promise<void>((resolve) => child.once('message', () => resolve()));
  const done = new Promise<LatencyResult>((resolve, reject) => {
    child.on('message', (m: { type: string; result?: LatencyResult }) => m.type === 'done' && resolve(m.result!));
    child.once('exit', (code) => reject(new Error(`subscribers exited ${code}`)));
  });
  child.send(options);
  return { ready, done, kill: () => child.kill() };
}

/** Publishes `events` events, 100 ms apart, each stamped with its cause time. */
async function publishEvents(events: number, publish: (causeAt: number, i: number) => void) {
  for (let i = 0; i < events; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    publish(performance.timeOrigin + performance.now(), i);
  }
}

/** The baseline: graphql-ws on a bare http.Server, an in-memory fan-out to every subscriber. */
async function startBareWs(): Promise<{
  url: string;
  publish(payload: object): void;
  count(): number;
  close(): Promise<void>;
}> {
  const listeners = new Set<(payload: object) => void>();
  const schema = buildSchema(`type Progress { runId: ID! itemsDone: Int! at: String! }
    type Query { ok: Boolean }
    type Subscription { backupProgress(runId: ID!): Progress! }`);
  const roots = {
    backupProgress: async function* () {
      const queue: object[] = [];
      let wake: (() => void) | null = null;
      const listener = (payload: object) => {
        queue.push(payload);
        wake?.();
      };
      listeners.add(listener);
      try {
        for (;;) {
          while (queue.length > 0) yield { backupProgress: queue.shift() };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      } finally {
        listeners.delete(listener);
      }
    },
  };
  const server = createHttpServer();
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const cleanup = useServer({ schema, roots: { subscription: roots } }, wss);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${port}/graphql`,
    publish: (payload) => listeners.forEach((l) => l(payload)),
    count: () => listeners.size,
    close: async () => {
      await cleanup.dispose();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const until = (predicate: () => boolean) =>
  new Promise<void>((resolve) => {
    const check = () => (predicate() ? resolve() : setTimeout(check, 50));
    check();
  });

async function subscribersBench(argv: string[]) {
  const count = option(argv, '--subscribers', 1000);
  const events = option(argv, '--events', 20);
  const labkeeper = await startLabkeeper(1);
  const bare = await startBareWs();
  const runId = randomUUID();
  const query = `subscription($r: ID!) { backupProgress(runId: $r) { runId itemsDone at } }`;
  try {
    log(`--subscribers: ${count} graphql-ws subscribers of one run, ${events} events 100 ms apart; baseline first`);
    const b = subscribers({ url: bare.url, token: null, query, variables: { r: runId }, count, events });
    await b.ready;
    await until(() => bare.count() === count);
    await publishEvents(events, (causeAt, i) =>
      bare.publish({ runId, itemsDone: i, at: new Date(causeAt).toISOString(), causeAt }),
    );
    const bareResult = await b.done;

    const l = subscribers({
      url: labkeeper.url.replace('http', 'ws') + '/graphql',
      token: labkeeper.token,
      query,
      variables: { r: runId },
      count,
      events,
    });
    await l.ready;
    const type = `BACKUP_PROGRESS:run:${runId}`;
    await until(() => labkeeper.app.events.listenerCounts().get(type) === count);
    await publishEvents(events, (causeAt, i) =>
      labkeeper.app.pubSub.publish('BACKUP_PROGRESS', {
        organizationId: labkeeper.organizationId,
        runId,
        runStatus: 'RUNNING',
        itemsTotal: events,
        itemsDone: i,
        itemsFailed: 0,
        item: null,
        isTerminal: false,
        at: new Date(causeAt).toISOString(),
      } satisfies BackupProgressed),
    );
    const ours = await l.done;
    const fmt = (r: LatencyResult) =>
      `${r.received}/${r.expected} received, p50 ${r.p50Ms.toFixed(0)} ms, p99 ${r.p99Ms.toFixed(0)} ms, max ${r.maxMs.toFixed(0)} ms`;
    log(`  bare graphql-ws: ${fmt(bareResult)}`);
    log(`  Labkeeper:       ${fmt(ours)}`);
    log(
      `Subscribers ratio (Labkeeper / bare graphql-ws, p99 cause → receipt): ${(ours.p99Ms / Math.max(bareResult.p99Ms, 1)).toFixed(2)}× ; Labkeeper p99 ${ours.p99Ms.toFixed(0)} ms (target ≤ 250 ms); RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    await bare.close();
    await labkeeper.close();
  }
}

export async function speedBench(argv: string[]): Promise<void> {
  if (argv.includes('--api')) await apiBench(argv);
  if (argv.includes('--subscribers')) await subscribersBench(argv);
}
