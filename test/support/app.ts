/**
 * Starts Labkeeper as a test sees it: a fresh database, a free port, a fixed admin token, the
 * GitLab simulator as the instance-wide OAuth provider (when given), fast GitLab retries, and a
 * log kept in memory so tests can search it for secrets.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startApp, type AppOptions, type RunningApp } from '../../server/src/app.js';
import { loadConfig } from '../../server/src/config/config.js';
import type { Clock } from '../../server/src/shared/clock.js';
import { memoryLogger } from '../../server/src/shared/logger.js';
import { createTestDatabase } from './database.js';
import { freePort } from './ports.js';
import { EVENT_TIMEOUT_MS } from './timeouts.js';

export interface TestAppOptions {
  /** The simulator's URL as GITLAB_URL, with an instance-wide OAuth app registered on it. */
  gitlab?: { url: string; oauthApp?: { clientId: string; clientSecret: string } };
  clock?: Clock;
  api?: boolean;
  worker?: boolean;
  env?: Record<string, string>;
  /** Reuse a database (a second process of the same installation). */
  databaseUrl?: string;
  masterKey?: string;
  jobs?: AppOptions['jobs'];
  /** A port chosen beforehand (e.g. registered in an OAuth app's redirect URI). */
  port?: number;
}

export interface GraphQLResult<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, any> }[];
}

export interface TestApp {
  app: RunningApp;
  url: string;
  adminToken: string;
  databaseUrl: string;
  masterKey: string;
  logLines: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResult<T>>;
  ws(token?: string | null): Client;
  stop(): Promise<void>;
}

/** Retries that wait little: the simulator's Retry-After is still honoured. */
const fastRetry = { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 5 };

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.databaseUrl ? null : await createTestDatabase({ migrated: true });
  const databaseUrl = options.databaseUrl ?? db!.url;
  const dataDir = await mkdtemp(join(tmpdir(), 'labkeeper-test-data-'));
  const port = options.port ?? (options.api === false ? 0 : await freePort());
  const adminToken = `lk_test_admin_${randomBytes(16).toString('hex')}`;
  const masterKey = options.masterKey ?? randomBytes(32).toString('hex');
  const env: Record<string, string> = {
    PORT: String(port),
    LABKEEPER_DATA_DIR: dataDir,
    LABKEEPER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    LABKEEPER_ADMIN_TOKEN: adminToken,
    LABKEEPER_MASTER_KEY: masterKey,
    LABKEEPER_HEARTBEAT_MS: '1000',
    // Tests send many bad tokens on purpose; the throttle's own test sets a low limit.
    LABKEEPER_AUTH_FAILURES_PER_MINUTE: '100000',
    LABKEEPER_WORKER_NAME: `test-worker-${randomBytes(3).toString('hex')}`,
    ...(options.gitlab ? { GITLAB_URL: options.gitlab.url } : {}),
    ...(options.gitlab?.oauthApp
      ? {
          GITLAB_OAUTH_CLIENT_ID: options.gitlab.oauthApp.clientId,
          GITLAB_OAUTH_CLIENT_SECRET: options.gitlab.oauthApp.clientSecret,
        }
      : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const { logger, lines } = memoryLogger();
  const app = await startApp({
    config,
    logger,
    api: options.api ?? true,
    worker: options.worker ?? true,
    clock: options.clock,
    gitlab: { retry: fastRetry },
    jobs: { lockLifetimeMs: 5000, processEveryMs: 500, ...options.jobs },
  });
  const url = `http://127.0.0.1:${port}`;
  const clients: Client[] = [];

  return {
    app,
    url,
    adminToken,
    databaseUrl,
    masterKey,
    logLines: lines,
    async gql(query, variables, token = adminToken) {
      // A connection per request (`connection: close`, so none waits in the client's pool): the
      // server shares this process, and a test that blocks it (synchronous git while seeding the
      // simulator) would let a pooled connection pass the server's keep-alive timeout, and the
      // next request on it would meet a reset (ECONNRESET / "other side closed").
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          connection: 'close',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...((await response.json()) as object) };
    },
    ws(token = adminToken) {
      const client = createClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const c of clients) await c.dispose();
      await app.stop();
      await db?.drop();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

/** Collects a subscription's events; `next(predicate)` resolves with the first matching one. */
export function subscribe<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const events: T[] = [];
  const waiters: { predicate: (e: T) => boolean; resolve: (e: T) => void }[] = [];
  let failure: unknown = null;
  const acknowledged = new Promise<void>((resolve) => client.on('connected', () => resolve()));
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) failure = result.errors;
        const event = result.data as T;
        events.push(event);
        for (const w of waiters.splice(0)) {
          if (w.predicate(event)) w.resolve(event);
          else waiters.push(w);
        }
      },
      error: (error) => {
        failure = error;
      },
      complete: () => undefined,
    },
  );
  return {
    events,
    acknowledged,
    get failure() {
      return failure;
    },
    next(predicate: (e: T) => boolean = () => true, timeoutMs = EVENT_TIMEOUT_MS): Promise<T> {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching event; got ${JSON.stringify(events)}`)),
          timeoutMs,
        );
        timer.unref(); // a wait nobody awaits any more must not keep the test process alive
        waiters.push({ predicate, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    dispose,
  };
}

/**
 * Resolves once the server side of a subscription is listening: publishes `probe()` events until
 * one arrives (subscriptions register their listener asynchronously after the subscribe message).
 */
export async function untilListening<T>(
  sub: ReturnType<typeof subscribe<T>>,
  probe: () => void,
  isProbe: (e: T) => boolean,
) {
  const arrived = sub.next(isProbe);
  let done = false;
  void arrived.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    probe();
    await Promise.race([arrived.catch(() => undefined), new Promise((r) => setTimeout(r, 50))]);
  }
  await arrived;
}

/** Resolves with the next completion of a job name in this process's Agenda (register before acting). */
export function nextJob(t: TestApp, name: string, timeoutMs = EVENT_TIMEOUT_MS): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`job ${name} did not complete`)), timeoutMs);
    timer.unref();
    t.app.jobStore.agenda.once(`complete:${name}`, (job) => {
      clearTimeout(timer);
      resolve(job);
    });
  });
}
