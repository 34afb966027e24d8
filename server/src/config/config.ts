import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseNoProxy, type ProxySettings } from '../shared/http-proxy.js';

/** client/dist of this checkout (server/src/config → ../../../client/dist). */
const DEFAULT_CLIENT_DIR = fileURLToPath(new URL('../../../client/dist', import.meta.url));

/**
 * The one place that reads process.env. Parsed once at boot; every problem is reported together.
 * A disabled feature is `null` (no instance-wide OAuth app → `gitlabOAuth: null`).
 */
export interface Config {
  port: number;
  /** Where embedded PostgreSQL, the master key file and (later) local backups live. */
  dataDir: string;
  /** The URL users open; OAuth redirect URIs are built from it. */
  publicUrl: string;
  database: { url: string } | { embedded: { dataDir: string; port: number } };
  /** Agenda's job store: PostgreSQL (same database) unless a MongoDB URL is given. */
  jobStore: { kind: 'postgres' } | { kind: 'mongo'; url: string };
  /** Fixed admin API token for scripts and CI; when null a random one is created on first start. */
  adminToken: string | null;
  /** 32-byte key (base64 or hex) for the Password Manager; null → key file in the data directory. */
  masterKey: Buffer | null;
  gitlabOAuth: { clientId: string; clientSecret: string; instanceUrl: string } | null;
  worker: { name: string; concurrency: number; heartbeatIntervalMs: number };
  /** Agenda: how long a job's lock lives without a touch (a dead worker's job is retried after it), and the poll interval. */
  jobs: { lockLifetimeMs: number; processEveryMs: number; replicationRetryMs: number };
  logLevel: string;
  isProduction: boolean;
  /** The built web client (`npm run client:build`), served at `/`; a missing folder is reported on the page. */
  clientDir: string;
  /** Failed authentication attempts per client address and minute before 429 (null: no throttle). */
  authThrottle: { maxFailures: number; windowMs: number } | null;
  /**
   * Event-driven backups (GitLab webhooks): a repository is backed up once no event touched it for
   * `quietPeriodMs` (default 2 minutes), and at the latest `maxDelayMs` (default 15 minutes) after
   * the first event of a burst, however busy it stays.
   */
  events: { quietPeriodMs: number; maxDelayMs: number };
  /**
   * Prometheus metrics (`LABKEEPER_METRICS=off` → null): `/metrics` on the API port, behind a
   * bearer token when `token` is set; a worker-only process serves its own on `workerPort`.
   */
  metrics: { token: string | null; workerPort: number | null } | null;
  /** The audit log: events older than `retentionDays` are deleted (hourly job `audit.prune`). */
  audit: { retentionDays: number };
  /**
   * Alert deliveries (notification channels): a failed delivery is tried again after
   * `retryBaseMs`, then twice as long each time, `maxAttempts` tries in all; each request gives up
   * after `requestTimeoutMs`.
   */
  alerts: { retryBaseMs: number; maxAttempts: number; requestTimeoutMs: number };
  /**
   * The API's response cache: a query asked again by the same token is answered from memory while
   * the database is unchanged, for at most `maxAgeSeconds` (0: off). graphql/response-cache.ts.
   */
  responseCache: { maxAgeSeconds: number };
  /**
   * The outbound proxy (shared/http-proxy.ts), from the variables curl and git read:
   * `https_proxy` / `HTTPS_PROXY`, `http_proxy` / `HTTP_PROXY`, `all_proxy` / `ALL_PROXY` (the
   * lower-case name first) and `no_proxy` / `NO_PROXY`. null when no proxy is set.
   */
  proxy: ProxySettings | null;
}

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL (${protocols.join(' or ')})`,
  );

const EnvSchema = z.object({
  PORT: optional.pipe(z.coerce.number<string | undefined>().int().min(0).max(65535).default(4000)),
  LABKEEPER_DATA_DIR: optional.pipe(z.string().default('./data')),
  LABKEEPER_PUBLIC_URL: optional.pipe(url(['http:', 'https:']).optional()),
  DATABASE_URL: optional.pipe(url(['postgres:', 'postgresql:']).optional()),
  EMBEDDED_POSTGRES_PORT: optional.pipe(z.coerce.number<string | undefined>().int().min(1).max(65535).default(54329)),
  AGENDA_MONGO_URL: optional.pipe(url(['mongodb:', 'mongodb+srv:']).optional()),
  LABKEEPER_ADMIN_TOKEN: optional.pipe(z.string().min(24, 'must be at least 24 characters').optional()),
  LABKEEPER_MASTER_KEY: optional.pipe(
    z
      .string()
      .refine((v) => parseKey(v) !== null, 'must be 32 bytes, as 64 hex characters or base64')
      .optional(),
  ),
  GITLAB_OAUTH_CLIENT_ID: optional,
  GITLAB_OAUTH_CLIENT_SECRET: optional,
  GITLAB_URL: optional.pipe(url(['http:', 'https:']).default('https://gitlab.com')),
  LABKEEPER_WORKER_NAME: optional,
  LABKEEPER_WORKER_CONCURRENCY: optional.pipe(z.coerce.number<string | undefined>().int().min(1).max(64).default(4)),
  LABKEEPER_HEARTBEAT_MS: optional.pipe(z.coerce.number<string | undefined>().int().min(100).default(15000)),
  LABKEEPER_JOB_LOCK_LIFETIME_MS: optional.pipe(z.coerce.number<string | undefined>().int().min(1000).default(600_000)),
  LABKEEPER_JOB_POLL_MS: optional.pipe(z.coerce.number<string | undefined>().int().min(100).default(5000)),
  LABKEEPER_REPLICATION_RETRY_MS: optional.pipe(z.coerce.number<string | undefined>().int().min(100).default(60_000)),
  LABKEEPER_CLIENT_DIR: optional,
  LABKEEPER_AUTH_FAILURES_PER_MINUTE: optional.pipe(z.coerce.number<string | undefined>().int().min(0).default(20)),
  LABKEEPER_EVENT_QUIET_PERIOD_MS: optional.pipe(z.coerce.number<string | undefined>().int().min(0).default(120_000)),
  LABKEEPER_EVENT_MAX_DELAY_MS: optional.pipe(z.coerce.number<string | undefined>().int().min(0).default(900_000)),
  LABKEEPER_METRICS: optional.pipe(z.enum(['on', 'off']).default('on')),
  LABKEEPER_METRICS_TOKEN: optional.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  LABKEEPER_METRICS_PORT: optional.pipe(z.coerce.number<string | undefined>().int().min(0).max(65535).optional()),
  LABKEEPER_AUDIT_RETENTION_DAYS: optional.pipe(
    z.coerce.number<string | undefined>().int().min(1).max(36_500).default(400),
  ),
  LABKEEPER_ALERT_RETRY_BASE_MS: optional.pipe(
    z.coerce.number<string | undefined>().int().min(10).max(3_600_000).default(30_000),
  ),
  LABKEEPER_API_CACHE_SECONDS: optional.pipe(z.coerce.number<string | undefined>().int().min(0).max(60).default(2)),
  LABKEEPER_ALERT_MAX_ATTEMPTS: optional.pipe(z.coerce.number<string | undefined>().int().min(1).max(20).default(6)),
  LABKEEPER_ALERT_TIMEOUT_MS: optional.pipe(
    z.coerce.number<string | undefined>().int().min(100).max(300_000).default(15_000),
  ),
  LOG_LEVEL: optional.pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  https_proxy: optional.pipe(url(['http:', 'https:']).optional()),
  HTTPS_PROXY: optional.pipe(url(['http:', 'https:']).optional()),
  http_proxy: optional.pipe(url(['http:', 'https:']).optional()),
  HTTP_PROXY: optional.pipe(url(['http:', 'https:']).optional()),
  all_proxy: optional.pipe(url(['http:', 'https:']).optional()),
  ALL_PROXY: optional.pipe(url(['http:', 'https:']).optional()),
  no_proxy: optional,
  NO_PROXY: optional,
  NODE_ENV: optional,
});

/** Rules across variables, checked on the raw environment so they are reported with the rest. */
function crossChecks(env: NodeJS.ProcessEnv): string[] {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  const problems: string[] = [];
  if (set('GITLAB_OAUTH_CLIENT_ID') !== set('GITLAB_OAUTH_CLIENT_SECRET')) {
    const missing = set('GITLAB_OAUTH_CLIENT_ID') ? 'GITLAB_OAUTH_CLIENT_SECRET' : 'GITLAB_OAUTH_CLIENT_ID';
    problems.push(`${missing}: must be set together with its pair`);
  }
  const quiet = Number(env.LABKEEPER_EVENT_QUIET_PERIOD_MS || 120_000);
  const maxDelay = Number(env.LABKEEPER_EVENT_MAX_DELAY_MS || 900_000);
  if (Number.isFinite(quiet) && Number.isFinite(maxDelay) && maxDelay < quiet)
    problems.push('LABKEEPER_EVENT_MAX_DELAY_MS: must not be shorter than LABKEEPER_EVENT_QUIET_PERIOD_MS');
  return problems;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function parseKey(value: string): Buffer | null {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  const b = Buffer.from(v, 'base64');
  return b.length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(v) ? b : null;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, hostname = 'localhost'): Config {
  const parsed = EnvSchema.safeParse(env);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`)),
    ...crossChecks(env),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const dataDir = resolve(e.LABKEEPER_DATA_DIR);
  const publicUrl = (e.LABKEEPER_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    port: e.PORT,
    dataDir,
    publicUrl,
    database: e.DATABASE_URL
      ? { url: e.DATABASE_URL }
      : { embedded: { dataDir: resolve(dataDir, 'postgres'), port: e.EMBEDDED_POSTGRES_PORT } },
    jobStore: e.AGENDA_MONGO_URL ? { kind: 'mongo', url: e.AGENDA_MONGO_URL } : { kind: 'postgres' },
    adminToken: e.LABKEEPER_ADMIN_TOKEN ?? null,
    masterKey: e.LABKEEPER_MASTER_KEY ? parseKey(e.LABKEEPER_MASTER_KEY) : null,
    gitlabOAuth:
      e.GITLAB_OAUTH_CLIENT_ID && e.GITLAB_OAUTH_CLIENT_SECRET
        ? { clientId: e.GITLAB_OAUTH_CLIENT_ID, clientSecret: e.GITLAB_OAUTH_CLIENT_SECRET, instanceUrl: e.GITLAB_URL }
        : null,
    worker: {
      name: e.LABKEEPER_WORKER_NAME ?? `${hostname}-${process.pid}`,
      concurrency: e.LABKEEPER_WORKER_CONCURRENCY,
      heartbeatIntervalMs: e.LABKEEPER_HEARTBEAT_MS,
    },
    jobs: {
      lockLifetimeMs: e.LABKEEPER_JOB_LOCK_LIFETIME_MS,
      processEveryMs: e.LABKEEPER_JOB_POLL_MS,
      replicationRetryMs: e.LABKEEPER_REPLICATION_RETRY_MS,
    },
    logLevel: e.LOG_LEVEL,
    isProduction: e.NODE_ENV === 'production',
    clientDir: resolve(e.LABKEEPER_CLIENT_DIR ?? DEFAULT_CLIENT_DIR),
    authThrottle:
      e.LABKEEPER_AUTH_FAILURES_PER_MINUTE > 0
        ? { maxFailures: e.LABKEEPER_AUTH_FAILURES_PER_MINUTE, windowMs: 60_000 }
        : null,
    events: { quietPeriodMs: e.LABKEEPER_EVENT_QUIET_PERIOD_MS, maxDelayMs: e.LABKEEPER_EVENT_MAX_DELAY_MS },
    metrics:
      e.LABKEEPER_METRICS === 'on'
        ? { token: e.LABKEEPER_METRICS_TOKEN ?? null, workerPort: e.LABKEEPER_METRICS_PORT ?? null }
        : null,
    audit: { retentionDays: e.LABKEEPER_AUDIT_RETENTION_DAYS },
    alerts: {
      retryBaseMs: e.LABKEEPER_ALERT_RETRY_BASE_MS,
      maxAttempts: e.LABKEEPER_ALERT_MAX_ATTEMPTS,
      requestTimeoutMs: e.LABKEEPER_ALERT_TIMEOUT_MS,
    },
    responseCache: { maxAgeSeconds: e.LABKEEPER_API_CACHE_SECONDS },
    proxy: proxyOf(e),
  };
}

function proxyOf(e: z.infer<typeof EnvSchema>): ProxySettings | null {
  const httpsProxy = e.https_proxy ?? e.HTTPS_PROXY;
  const httpProxy = e.http_proxy ?? e.HTTP_PROXY;
  const allProxy = e.all_proxy ?? e.ALL_PROXY;
  if (!httpsProxy && !httpProxy && !allProxy) return null;
  return {
    httpsProxy: httpsProxy ? new URL(httpsProxy) : null,
    httpProxy: httpProxy ? new URL(httpProxy) : null,
    allProxy: allProxy ? new URL(allProxy) : null,
    noProxy: parseNoProxy(e.no_proxy ?? e.NO_PROXY),
  };
}

/** For entry points: the config, or every problem printed and exit status 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, hostname = 'localhost'): Config {
  try {
    return loadConfig(env, hostname);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}
