/**
 * Labkeeper backup benchmark (a script, not a test):
 *
 *   npm run bench             # ~50 repositories, ~330 MiB (several minutes; corpus generated once)
 *   npm run bench -- --quick  # ~10 repositories, ~20 MiB (well under a minute)
 *   npm run bench -- --full-only [--rounds 3]  # only raw clone vs full backup, interleaved 3× (A/B/A/B/A/B), with the
 *                                 # default policy's verify-after-backup (--no-verify: without it)
 *   npm run bench -- --restore    # NEW_PROJECT restore vs raw push, DOWNLOAD vs tar (restore-bench.ts)
 *   npm run bench -- --s3 [--quick] [--rounds 2]  # FULL backup to S3 (s3rver) vs local storage vs raw clone,
 *                                 # replication to a second S3 storage, the worker's peak RSS (s3.bench.ts)
 *   options: --keep (keep the work directory), --no-trace (no git trace2 breakdown)
 *   npm run bench -- --api | --subscribers 1000  # API and subscriptions vs bare baselines: speed.bench.ts
 *   npm run bench -- --recovery-point            # push → stored snapshot, event-driven: recovery-point.bench.ts
 *
 * One run on one machine, against the GitLab simulator (test/support/gitlab-simulator: git over
 * smart HTTP served by `git http-backend`; in a child process, see sim-host.ts, as GitLab is not
 * inside Labkeeper's process in production) and a real Labkeeper in this process (startApp:
 * PostgreSQL — embedded, or a fresh database on DATABASE_URL's server —, Agenda, the worker at
 * LABKEEPER_WORKER_CONCURRENCY, default 4, GraphQL):
 *
 * 1. Raw baseline: `git clone --mirror` of every repository over the simulator's HTTP, at the
 *    worker's concurrency, biggest first (as Labkeeper schedules them), wall-clock; the median
 *    of three runs (two before the full backup, one at the end).
 * 2. Labkeeper full backup: `runNow` through GraphQL until the run is terminal (progress events,
 *    with a 1 s poll of the run row as fallback), wall-clock. Policy: repository only — no wiki,
 *    no LFS, no metadata (the GitLab metadata reader is not wired into the engine yet, so metadata
 *    would only record "skipped"), verifyAfterBackup off. Verification of every FULL snapshot is
 *    measured separately, at the same concurrency, as an extra line.
 * 3. No-change pass, 6 hours later (see "Time" below): must not touch git for repositories that
 *    provably did not change; the simulator's git requests are counted to prove it.
 * 4. Ten passes, each 6 hours after the previous one, each preceded by a small commit (a few
 *    files edited) in a rotating 10 % of the repositories; the first one is the "10 % changed" line.
 * 5. Storage: `<data dir>/backups` after those passes (1 FULL + incrementals) against one
 *    `clone --mirror` of every repository in its final state (hooks/ samples not counted).
 *
 * Time. Labkeeper skips a repository without any git transfer only when GitLab's
 * last_activity_at proves nothing changed since the parent snapshot, with a one-hour margin
 * (GitLab updates that field at most hourly; see isProvablyUnchanged in backup/skip-unchanged.ts).
 * Real backups run hours apart, so the benchmark gives the simulator and Labkeeper one injected
 * clock (real time + an offset) and moves it forward 6 hours between passes; the commits of a
 * pass land 3 hours before it (mid-interval). Without that, every pass would happen within the
 * hour of the previous one and nothing could be proven unchanged. Wall-clock measurements are
 * real time: only the offset jumps, between passes.
 *
 * The corpus is generated once with git fast-import into bench/.cache/ (see corpus.ts) and
 * hard-linked into the simulator's repositories for each run. Results: the printed table and
 * bench/results/latest.json (latest-quick.json for --quick).
 */
import '../server/src/shared/production-mode.js'; // first: measured as the product runs (graphql-js reads NODE_ENV at load)
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  createReadStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { cpus, freemem, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config/config.js';
import { artifactCodec as codec } from '../server/src/snapshot/artifact-codec.js';
import { LocalStorage } from '../server/src/storage/local-storage.js';
import { bundleHeader } from '../server/src/git/mirror.js';
import { fetchPack, lsRefs } from '../server/src/git/upload-pack.js';
import { CORPUS_VERSION, loadCorpus, type CorpusRepo } from './corpus.js';
import { SimHost, type HostedRepo } from './sim-host.js';
import { restoreBench } from './restore-bench.js';
import { s3Bench } from './s3.bench.js';
import { WorkerProcess } from './worker-process.js';
import {
  cpuSecondsOf,
  GitTrace,
  machineCpu,
  machineCpuSince,
  median,
  mib,
  pool,
  run,
  secs,
  settle,
  touchMemory,
  treeSize,
} from './measure.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const KEEP = argv.includes('--keep');
const TRACE = !argv.includes('--no-trace');
/** Raw clone and full backup alternately, three times each, so both see the same machine load. */
const FULL_ONLY = argv.includes('--full-only');
const RESTORE = argv.includes('--restore');
/** FULL backups to S3 and to local storage alternately, replication, peak RSS: s3.bench.ts. */
const S3 = argv.includes('--s3');
/** `--worker-process` (with `--s3` or `--full-only`): the worker in its own process (compiled, as `npm run worker`), the API in this one. */
const WORKER_PROCESS = (S3 || FULL_ONLY) && argv.includes('--worker-process');
/**
 * Verify after backup, as the default policy does: in --full-only (the headline: `git clone` checks
 * every object it receives, so the fair comparison checks them too) and for --restore.
 */
const VERIFY = RESTORE || (FULL_ONLY && !argv.includes('--no-verify'));
const HOUR = 3_600_000;
const PASS_INTERVAL_MS = 6 * HOUR;
const CHANGE_PASSES = 10;
const TARGETS = { fullVsRaw: 1.1, noChangeVsFull: 0.05, storageVsMirror: 1.5 };

/** GitLab requests (REST and git) of a pass per repository it found unchanged (issue 15: ≤ 0.1). */
const perUnchanged = (pass: { requests: number; items: { unchanged: number } }) =>
  pass.items.unchanged > 0 ? (pass.requests / pass.items.unchanged).toFixed(3) : 'n/a';

const log = (line: string) => process.stdout.write(`${line}\n`);
const elapsed = (since: number) => performance.now() - since;
const LOOP_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
/** The histogram measures the interval between ticks: the resolution itself is not delay. */
const loopMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);

// ---- one clock for the simulator and Labkeeper ----------------------------------------------
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

type SeededRepo = CorpusRepo & HostedRepo;

interface PassResult {
  label: string;
  runId: string;
  wallMs: number;
  runMs: number;
  status: string;
  items: { succeeded: number; unchanged: number; failed: number; total: number };
  bytesWritten: number;
  gitRequests: number;
  /** Every GitLab request of the pass (REST and git). */
  requests: number;
  /** Event-loop delay of the Labkeeper process during the pass. */
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number };
  /** runNow called → backup.run started → first item started … last item finished → finished. */
  overhead: { queueMs: number; fanOutMs: number; tailMs: number };
  /**
   * Worker slots without a `backup.repository` job while jobs were still waiting (slot-seconds,
   * from Agenda's start/complete events), and the mean gap from one job's end to the next start.
   */
  slots: { idleWhileQueuedMs: number; meanHandoverMs: number | null };
  /**
   * CPU seconds of Labkeeper (this process, with the benchmark's own light bookkeeping, plus the
   * worker's own process with --worker-process, which `workerS` gives alone; else null) and of PostgreSQL.
   */
  cpu: { labkeeperS: number; workerS: number | null; postgresS: number };
  /** The worker's own process's peak RSS in bytes during the pass (--worker-process; else null). */
  workerPeakRss: number | null;
  /**
   * After the run ended, until Labkeeper's processes were quiet again (measure.ts `settle`): not
   * part of the pass's time, but no longer part of the next pass's either.
   */
  afterRun: { ms: number; labkeeperS: number };
  phases: Record<string, number> | null;
  git: ReturnType<typeof GitTrace.summarize>['top'] | null;
  gitAll: ReturnType<typeof GitTrace.summarize>['all'] | null;
  changedRepositories?: string[];
  /** Per repository, ms after runNow was called (UNCHANGED ones left out). */
  timeline: {
    repository: string;
    status: string;
    startedMs: number | null;
    bundlingMs: number | null;
    writingMs: number | null;
    finishedMs: number | null;
    bytesWritten: number;
  }[];
}

/** With BENCH_MARKS: every statement sent through node-postgres, by its first 140 characters (a SELECT's columns left out). */
const queryCounts = new Map<string, number>();
if (process.env.BENCH_MARKS) {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the client as `this`
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  (pg.Client.prototype as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; name?: string };
    const text = (typeof first === 'string' ? first : (first?.text ?? first?.name ?? '?'))
      .replace(/\s+/g, ' ')
      // TypeORM's SELECTs differ after their column list: keep the table and the condition
      .replace(/^SELECT .*? FROM /, 'SELECT … FROM ')
      .slice(0, 140);
    queryCounts.set(text, (queryCounts.get(text) ?? 0) + 1);
    return original.apply(this, args);
  };
}

async function main() {
  const cacheRoot = join(HERE, '.cache');
  const corpus = await loadCorpus(cacheRoot, QUICK ? 'quick' : 'full', log);
  const corpusBytes = corpus.repos.reduce((n, r) => n + r.sizeBytes, 0);
  const work = await mkdtemp(join(tmpdir(), 'labkeeper-bench-'));
  chmodSync(work, 0o755); // embedded PostgreSQL runs as user postgres (when root): it must traverse
  const dataDir = join(work, 'labkeeper');
  // What the passes keep (bundles, S3 objects) in pages the machine has used before: see touchMemory.
  const touchBytes = Math.min(8 * corpusBytes, 0.4 * freemem());
  log(`memory touched once before the passes: ${mib(touchBytes)} in ${touchMemory(work, touchBytes).toFixed(1)} s`);
  const trace = new GitTrace(join(work, 'trace'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    trace.stop();
    for (const c of cleanups.splice(0).reverse())
      await c().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
    if (!KEEP) rmSync(work, { recursive: true, force: true });
    else log(`work directory kept: ${work}`);
  };

  try {
    // ---- GitLab simulator with the corpus, in its own process ------------------------------------
    const sim = SimHost.spawn();
    cleanups.push(() => sim.close());
    const hosted = await sim.start(join(work, 'sim'), corpus.dir, corpus.repos);
    const repos: SeededRepo[] = corpus.repos.map((r) => ({ ...r, ...hosted.repos.find((h) => h.name === r.name)! }));
    const pat = { token: hosted.token };
    let workerProcess: WorkerProcess | null = null;
    const setOffset = async (ms: number) => {
      offsetMs = ms;
      workerProcess?.setOffset(ms);
      await sim.setOffset(ms);
    };
    const traceStart = async (label: string) => {
      const dir = trace.start(label);
      await sim.setHome(process.env.HOME);
      return dir;
    };
    const traceStop = async () => {
      trace.stop();
      await sim.setHome(process.env.HOME);
    };
    const bySize = [...repos].sort((a, b) => b.sizeBytes - a.sizeBytes);
    log(
      `corpus ${corpus.profile} ${CORPUS_VERSION}: ${repos.length} repositories, ${mib(corpusBytes)} (biggest ${bySize[0].name} ${mib(bySize[0].sizeBytes)}), ${repos.reduce((n, r) => n + r.refs, 0)} refs`,
    );

    // ---- Labkeeper ----------------------------------------------------------------------------
    const port = await freePort();
    const adminToken = `lk_bench_admin_${randomBytes(16).toString('hex')}`;
    let databaseUrl: string | undefined;
    if (process.env.DATABASE_URL) {
      const name = `labkeeper_bench_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = new URL(process.env.DATABASE_URL);
      url.pathname = `/${name}`;
      databaseUrl = url.toString();
      cleanups.push(async () => {
        const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      });
    }
    const env: Record<string, string> = {
      PORT: String(port),
      LABKEEPER_DATA_DIR: dataDir,
      LABKEEPER_PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { EMBEDDED_POSTGRES_PORT: String(await freePort()) }),
      LABKEEPER_ADMIN_TOKEN: adminToken,
      LABKEEPER_MASTER_KEY: randomBytes(32).toString('hex'),
      LABKEEPER_WORKER_NAME: 'bench',
      LABKEEPER_HEARTBEAT_MS: '1000',
      GITLAB_URL: hosted.url,
      ...(process.env.LABKEEPER_WORKER_CONCURRENCY
        ? { LABKEEPER_WORKER_CONCURRENCY: process.env.LABKEEPER_WORKER_CONCURRENCY }
        : {}),
    };
    const config = loadConfig(env);
    const concurrency = config.worker.concurrency;
    mkdirSync(dataDir, { recursive: true });
    const logger = pino({ level: 'info' }, pino.destination({ dest: join(work, 'labkeeper.log'), sync: false }));
    const app: RunningApp = await startApp({ config, logger, api: true, worker: !WORKER_PROCESS, clock });
    cleanups.push(() => app.stop());
    if (WORKER_PROCESS) {
      // The worker joins this process's database as `npm run worker` joins `npm start`'s.
      const { embedded } = config.database as { embedded?: { dataDir: string; port: number } };
      const databaseUrlOfWorker =
        databaseUrl ??
        `postgres://postgres:${encodeURIComponent(readFileSync(`${embedded!.dataDir}.password`, 'utf8').trim())}@127.0.0.1:${embedded!.port}/labkeeper`;
      const { EMBEDDED_POSTGRES_PORT: _unused, ...workerEnv } = env;
      workerProcess = await WorkerProcess.spawn(
        { ...workerEnv, DATABASE_URL: databaseUrlOfWorker },
        join(work, 'worker.log'),
        offsetMs,
      );
      const started = workerProcess;
      cleanups.push(() => started.close());
    }
    const gql = async <T = any>(query: string, variables?: Record<string, unknown>): Promise<T> => {
      const response = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: T; errors?: unknown[] };
      if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
      return body.data!;
    };

    // A worker in its own process completes the sync job there, out of this process's sight: the
    // synced repositories' rows are read instead (a fallback poll, as for the run's terminal state).
    const synced = WORKER_PROCESS
      ? (async () => {
          for (;;) {
            const [{ n }] = await app.dataSource.query('SELECT count(*)::int AS n FROM repositories');
            if (n >= corpus.repos.length) return;
            await new Promise((r) => setTimeout(r, 250));
          }
        })()
      : new Promise<void>((resolve) => app.jobStore.agenda.once('complete:repositories.sync', () => resolve()));
    const connected = await gql(
      `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`,
      {
        i: {
          method: 'PERSONAL_ACCESS_TOKEN',
          instanceUrl: hosted.url,
          login: hosted.login,
          personalAccessToken: pat.token,
          namespacePath: 'bench',
          // No scheduled sync during the benchmark's simulated days.
          repoSyncSchedule: { kind: 'INTERVAL', intervalMinutes: 10080 },
        },
      },
    );
    await synced;
    const orgId: string = (
      await gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, {
        c: connected.connectGitLab.connection.id,
      })
    ).organizations[0].id;
    const policy = {
      scope: { mode: 'ALL' },
      include: { repository: true, wiki: false, lfs: false, metadata: [], groupMetadata: [] },
      schedule: { type: 'MANUAL' },
      timeZone: 'UTC',
      window: null,
      retention: { mode: 'KEEP_FOREVER' },
      storage: { kind: 'LOCAL', path: null } as Record<string, unknown>,
      compression: 'GZIP',
      encryptionCredentialId: null,
      // --full-only and --restore: as the default policy (verified after the backup).
      verifyAfterBackup: VERIFY,
    };
    const customizePolicy = (input: typeof policy) =>
      gql(`mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`, {
        o: orgId,
        i: input,
      });
    await customizePolicy(policy);
    const repositoryIdOf = new Map<string, string>();

    // ---- Agenda's job events, for slot occupancy -------------------------------------------------
    const jobEvents: { at: number; kind: 'start' | 'end' }[] = [];
    app.jobStore.agenda.on('start:backup.repository', () => jobEvents.push({ at: performance.now(), kind: 'start' }));
    app.jobStore.agenda.on('complete:backup.repository', () => jobEvents.push({ at: performance.now(), kind: 'end' }));

    // ---- progress events, for phase timings -----------------------------------------------------
    type ItemEvent = { itemId: string; phase: string; at: number };
    const itemEvents: ItemEvent[] = [];
    const terminal = new Map<string, () => void>();
    const iterator = app.pubSub.subscribe('BACKUP_PROGRESS')[Symbol.asyncIterator]();
    void (async () => {
      for (;;) {
        const next = await iterator.next().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) return;
        const e = next.value;
        const at = new Date(e.at).getTime() - offsetMs;
        if (e.item) itemEvents.push({ itemId: e.item.itemId, phase: e.item.phase, at });
        if (e.isTerminal) terminal.get(e.runId)?.();
      }
    })();
    cleanups.push(async () => void (await iterator.return?.()));

    /** runNow, then wait for the terminal state; timings from the script's clock and the rows. */
    async function backupPass(label: string, traced: boolean, copyType: 'FULL' | null = null): Promise<PassResult> {
      const traceDir = traced && TRACE ? await traceStart(label) : null;
      const requestsBefore = await sim.gitRequests();
      const allRequestsBefore = await sim.requests();
      loopDelay.reset();
      loopDelay.enable();
      const eventsFrom = itemEvents.length;
      const jobEventsFrom = jobEvents.length;
      const cpuBefore = process.cpuUsage();
      const workerCpuBefore = workerProcess?.cpuSeconds() ?? 0;
      // The worker's own peak RSS in this pass (VmHWM from a reset; null where the kernel does not let it be reset).
      const peakWindow = workerProcess?.resetPeak() ?? false;
      const pgBefore = cpuSecondsOf(/^postgres$/);
      const started = performance.now();
      const startedEpoch = Date.now();
      const created = await gql(`mutation($i: RunNowInput!) { runNow(input: $i) { id } }`, {
        i: { organizationId: orgId, ...(copyType ? { copyType } : {}) },
      });
      const runId: string = created.runNow.id;
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 60 * 60_000;
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          terminal.delete(runId);
          resolve();
        };
        terminal.set(runId, finish);
        const poll = async () => {
          while (!done) {
            const r = await app.services.backupRuns.get(runId);
            if (['SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELED', 'TIMED_OUT'].includes(r.status)) return finish();
            if (Date.now() > deadline) return reject(new Error(`run ${label} did not finish within an hour`));
            await new Promise((r) => setTimeout(r, 1000)); // a fallback only: a query every 100 ms was ~15 % of the pass's DB traffic
          }
        };
        void poll().catch(reject);
      });
      const wallMs = elapsed(started);
      const cpuUsed = process.cpuUsage(cpuBefore);
      const workerS = workerProcess ? workerProcess.cpuSeconds() - workerCpuBefore : null;
      const workerPeakRss = peakWindow && workerProcess ? workerProcess.peakRss() : null;
      const cpu = {
        // This process (API, and the worker unless it has its own) plus the worker's own process.
        labkeeperS: (cpuUsed.user + cpuUsed.system) / 1e6 + (workerS ?? 0),
        workerS,
        postgresS: cpuSecondsOf(/^postgres$/) - pgBefore,
      };
      loopDelay.disable();
      const eventLoop = {
        p50Ms: loopMs(loopDelay.percentile(50)),
        p99Ms: loopMs(loopDelay.percentile(99)),
        maxMs: loopMs(loopDelay.max),
      };
      if (traceDir) await traceStop();
      const run = await app.services.backupRuns.get(runId);
      const items = await app.services.backupRuns.itemsOf(runId);
      for (const i of items) if (i.repositoryId) repositoryIdOf.set(i.pathWithNamespace, i.repositoryId);
      const failed = items.filter((i) => i.status === 'FAILED' || i.status === 'CANCELED');
      for (const f of failed) log(`  ! ${f.pathWithNamespace}: ${f.errorCode} ${f.errorMessage}`);
      const t = (d: Date | null | undefined) => (d ? d.getTime() - offsetMs : NaN);
      const starts = items.map((i) => t(i.startedAt)).filter(Number.isFinite);
      const ends = items.map((i) => t(i.finishedAt)).filter(Number.isFinite);
      // Phase durations per item from the progress events (FETCHING → BUNDLING → WRITING → done).
      const phases: Record<string, number> = {};
      const worked = items.filter((i) => i.status === 'SUCCEEDED' || i.status === 'PARTIAL');
      const events = itemEvents.slice(eventsFrom);
      for (const item of worked) {
        const first = (phase: string) => events.find((e) => e.itemId === item.id && e.phase === phase)?.at;
        const marks: [string, number | undefined][] = [
          ['start → fetched (lock, lookups, git fetch/clone)', t(item.startedAt)],
          ['bundle (refs, bundle create + verify, storage put)', first('BUNDLING')],
          ['manifest + snapshot row', first('WRITING')],
          ['end', t(item.finishedAt)],
        ];
        for (let k = 0; k < marks.length - 1; k++) {
          const [name, from] = marks[k];
          const to = marks[k + 1][1];
          if (from !== undefined && to !== undefined && Number.isFinite(from) && Number.isFinite(to))
            phases[name] = (phases[name] ?? 0) + (to - from);
        }
      }
      const summary = traceDir ? GitTrace.summarize(traceDir) : null;
      // Slots: walk the job events; while fewer jobs started than the run has items, a free slot is idle.
      const jobs = jobEvents.slice(jobEventsFrom);
      const toRun = items.filter((i) => i.status !== 'UNCHANGED').length;
      let runningJobs = 0;
      let startedJobs = 0;
      let idle = 0;
      let last = jobs[0]?.at ?? 0;
      const handovers: number[] = [];
      let lastEnd: number | null = null;
      for (const e of jobs) {
        if (startedJobs < toRun) idle += Math.max(0, concurrency - runningJobs) * (e.at - last);
        last = e.at;
        if (e.kind === 'start') {
          runningJobs++;
          startedJobs++;
          if (lastEnd !== null) handovers.push(e.at - lastEnd);
          lastEnd = null;
        } else {
          runningJobs--;
          lastEnd = e.at;
        }
      }
      return {
        label,
        runId,
        wallMs,
        runMs: t(run.finishedAt) - t(run.startedAt),
        status: run.status,
        items: {
          succeeded: items.filter((i) => i.status === 'SUCCEEDED').length,
          unchanged: items.filter((i) => i.status === 'UNCHANGED').length,
          failed: failed.length,
          total: items.length,
        },
        bytesWritten: Number(run.bytesWritten),
        gitRequests: (await sim.gitRequests()) - requestsBefore,
        requests: (await sim.requests()) - allRequestsBefore,
        eventLoop,
        overhead: {
          queueMs: t(run.startedAt) - startedEpoch,
          fanOutMs: starts.length ? Math.min(...starts) - t(run.startedAt) : NaN,
          tailMs: ends.length ? t(run.finishedAt) - Math.max(...ends) : NaN,
        },
        cpu,
        workerPeakRss,
        slots: {
          idleWhileQueuedMs: Math.round(idle),
          meanHandoverMs: handovers.length ? handovers.reduce((a, b) => a + b, 0) / handovers.length : null,
        },
        phases: worked.length ? phases : null,
        git: summary?.top ?? null,
        gitAll: summary?.all ?? null,
        timeline: items
          .filter((i) => i.status !== 'UNCHANGED')
          .map((i) => {
            const at = (phase: string) => events.find((e) => e.itemId === i.id && e.phase === phase)?.at;
            const rel = (v: number | undefined) =>
              v === undefined || !Number.isFinite(v) ? null : Math.round(v - startedEpoch);
            return {
              repository: i.pathWithNamespace,
              status: i.status,
              startedMs: rel(t(i.startedAt)),
              bundlingMs: rel(at('BUNDLING')),
              writingMs: rel(at('WRITING')),
              finishedMs: rel(t(i.finishedAt)),
              bytesWritten: Number(i.bytesWritten),
            };
          }),
        afterRun: await afterRun(),
      };
    }

    /** Waits for the work a run leaves behind in Labkeeper's processes (see PassResult.afterRun). */
    async function afterRun(): Promise<PassResult['afterRun']> {
      const labkeeperCpu = () => {
        const own = process.cpuUsage();
        return (own.user + own.system) / 1e6 + (workerProcess?.cpuSeconds() ?? 0);
      };
      const { ms, cpuS } = await settle(labkeeperCpu);
      return { ms: Math.round(ms), labkeeperS: cpuS };
    }

    const authEnv = () => ({
      ...process.env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`alice:${pat.token}`).toString('base64')}`,
    });
    async function rawClone(
      label: string,
      into: string,
    ): Promise<{
      wallMs: number;
      perRepoMs: Record<string, number>;
      git: PassResult['git'];
      gitAll: PassResult['gitAll'];
    }> {
      rmSync(into, { recursive: true, force: true });
      mkdirSync(into, { recursive: true });
      const traceDir = TRACE ? await traceStart(label) : null;
      const perRepoMs: Record<string, number> = {};
      const started = performance.now();
      await pool(bySize, concurrency, async (r) => {
        const { ms } = await run('git', ['clone', '--mirror', '--quiet', r.url, join(into, `${r.name}.git`)], {
          env: authEnv(),
        });
        perRepoMs[r.name] = ms;
      });
      const wallMs = elapsed(started);
      if (traceDir) await traceStop();
      const summary = traceDir ? GitTrace.summarize(traceDir) : null;
      return { wallMs, perRepoMs, git: summary?.top ?? null, gitAll: summary?.all ?? null };
    }
    const mirrorSize = (dir: string) => {
      let apparent = 0;
      let allocated = 0;
      for (const name of readdirSync(dir)) {
        for (const part of readdirSync(join(dir, name))) {
          if (part === 'hooks') continue; // sample scripts, not data
          const s = treeSize(join(dir, name, part));
          apparent += s.apparent;
          allocated += s.allocated;
        }
      }
      return { apparent, allocated };
    };

    // ---- 1. raw baseline and 2. full backup --------------------------------------------------------
    await setOffset(offsetMs + PASS_INTERVAL_MS); // the organization existed long before its first backup
    for (const r of repos)
      for (const f of readdirSync(join(r.simPath, 'objects', 'pack')))
        readFileSync(join(r.simPath, 'objects', 'pack', f)); // warm the page cache
    // Warm-up (untimed): the simulator's first git requests pay for cold code paths.
    await run('git', ['clone', '--mirror', '--quiet', bySize.at(-1)!.url, join(work, 'warm-up.git')], {
      env: authEnv(),
    });
    rmSync(join(work, 'warm-up.git'), { recursive: true, force: true });
    if (RESTORE) {
      log(`raw: git clone --mirror ×${repos.length} (the raw push's source) …`);
      const raw = await rawClone('raw-source', join(work, 'raw-source'));
      log(`  ${secs(raw.wallMs)}; labkeeper: full backup …`);
      const full = await backupPass('full', false, 'FULL');
      log(`  ${secs(full.wallMs)} ${full.status} (${full.items.succeeded}/${full.items.total})`);
      await restoreBench({
        app,
        sim,
        simUrl: hosted.url,
        gql,
        organizationId: orgId,
        repos,
        concurrency,
        rawDir: join(work, 'raw-source'),
        dataDir,
        work,
        logFile: join(work, 'labkeeper.log'),
        log,
        downloadOnly: argv.includes('--download-only'),
      });
      return;
    }
    if (S3) {
      await s3Bench({
        app,
        worker: workerProcess,
        gql,
        organizationId: orgId,
        repos,
        concurrency,
        setStorage: async (storage) => void (await customizePolicy({ ...policy, storage: { path: null, ...storage } })),
        fullBackup: (label) => {
          rmSync(join(dataDir, 'mirrors'), { recursive: true, force: true }); // every pass clones, as a first backup does
          return backupPass(label, false, 'FULL');
        },
        rawClone: async (label) => {
          const raw = await rawClone(label, join(work, 'raw-1'));
          rmSync(join(work, 'raw-1'), { recursive: true, force: true });
          return raw;
        },
        nextPass: () => setOffset(offsetMs + PASS_INTERVAL_MS),
        argv,
        resultFile: join(HERE, 'results', QUICK ? 's3-quick.json' : 's3.json'),
        log,
      });
      return;
    }
    if (FULL_ONLY) {
      const raws: number[] = [];
      const fulls: PassResult[] = [];
      const cpuLine = (c: ReturnType<typeof machineCpuSince>) =>
        `machine CPU busy ${c.busyS.toFixed(1)} s, idle ${c.idleS.toFixed(1)} s (I/O wait ${c.iowaitS.toFixed(1)} s)`;
      const roundsArg = argv.indexOf('--rounds');
      const rounds = roundsArg >= 0 ? Math.max(1, Number(argv[roundsArg + 1]) || 3) : 3;
      if (!argv.includes('--no-warm-up')) {
        // Warm-up (untimed), as the simulator's: a worker's first backup after it started pays for
        // compiling its code paths (V8 optimized ~300 functions in it against ~70 in each later
        // pass, ~1 CPU-s more of the worker), once per process. Measured and reported, not counted
        // in the pairs; `--no-warm-up` counts it as the first pair.
        const raw = await rawClone('raw-warm-up', join(work, 'raw-warm-up'));
        rmSync(join(work, 'raw-warm-up'), { recursive: true, force: true });
        rmSync(join(dataDir, 'mirrors'), { recursive: true, force: true });
        const full = await backupPass('full-warm-up', false, 'FULL');
        log(
          `  warm-up (not counted): raw ${secs(raw.wallMs)}, the worker's first full backup ${secs(full.wallMs)} ${full.status} (${(full.wallMs / raw.wallMs).toFixed(2)}×)${full.cpu.workerS === null ? '' : `, its worker process ${full.cpu.workerS.toFixed(1)} CPU-s`}`,
        );
        await setOffset(offsetMs + PASS_INTERVAL_MS);
      }
      for (let k = 0; k < rounds; k++) {
        const rawCpu = machineCpu();
        const rawFromUs = process.hrtime.bigint() / 1000n;
        // Each round's clones stay until the end: removing ~1,300 files of 50 clones just before the
        // backup's pass made every file and folder the backup creates (its scratch repositories,
        // temp files) cost a scan past them — ext4 without a journal skips inodes deleted in the
        // last seconds when it allocates one (`recently_deleted`) — so the baseline's clean-up was
        // charged to the pass measured against it.
        const raw = await rawClone(`raw-${k}`, join(work, `raw-round-${k}`));
        raws.push(raw.wallMs);
        if (process.env.BENCH_MARKS) log(`  raw marks µs ${rawFromUs} ${process.hrtime.bigint() / 1000n}`);
        log(`  raw: ${cpuLine(machineCpuSince(rawCpu))}`);
        rmSync(join(dataDir, 'mirrors'), { recursive: true, force: true }); // every pass clones, as a first backup does
        const fullCpu = machineCpu();
        const fromUs = process.hrtime.bigint() / 1000n;
        queryCounts.clear();
        const full = await backupPass(`full-${k}`, false, 'FULL');
        if (process.env.BENCH_MARKS) {
          log(`  marks µs ${fromUs} ${process.hrtime.bigint() / 1000n}`);
          const sorted = [...queryCounts.entries()].sort((a, b) => b[1] - a[1]);
          log(
            `  queries ${sorted.reduce((n, [, c]) => n + c, 0)}:\n${sorted
              .slice(0, 40)
              .map(([q, c]) => `    ${c} ${q}`)
              .join('\n')}`,
          );
        }
        log(`  full: ${cpuLine(machineCpuSince(fullCpu))}`);
        const biggestLine = (p: PassResult) => {
          const b = p.timeline.find((t) => t.repository.endsWith(`/${bySize[0].name}`));
          const at = (ms: number | null | undefined) => secs(ms ?? NaN);
          return `started ${at(b?.startedMs)}, bundling ${at(b?.bundlingMs)}, writing ${at(b?.writingMs)}, done ${at(b?.finishedMs)}`;
        };
        fulls.push(full);
        log(
          `  raw ${secs(raws[k])} (its biggest repository cloned in ${secs(raw.perRepoMs[bySize[0].name])}), full ${secs(full.wallMs)} ${full.status} (${(full.wallMs / raws[k]).toFixed(2)}×; its biggest repository ${biggestLine(full)} after runNow); slots idle while jobs waited ${secs(full.slots.idleWhileQueuedMs)}, mean handover ${full.slots.meanHandoverMs?.toFixed(0)} ms; CPU ${full.cpu.labkeeperS.toFixed(1)} s Labkeeper${full.cpu.workerS === null ? '' : ` (its worker process ${full.cpu.workerS.toFixed(1)} s${full.workerPeakRss === null ? '' : `, peak RSS ${mib(full.workerPeakRss)}`})`}, ${full.cpu.postgresS.toFixed(1)} s PostgreSQL, after the run ${full.afterRun.labkeeperS.toFixed(1)} s Labkeeper in ${secs(full.afterRun.ms)}; phases ${JSON.stringify(full.phases)}`,
        );
        await setOffset(offsetMs + PASS_INTERVAL_MS);
      }
      for (let k = 0; k < rounds; k++) rmSync(join(work, `raw-round-${k}`), { recursive: true, force: true });
      const rawMs = median(raws);
      const fullMs = median(fulls.map((f) => f.wallMs));
      log(
        `\nfull-only (verify after backup ${VERIFY ? 'on, as the default policy' : 'off'}): raw median ${secs(rawMs)}, full median ${secs(fullMs)} = ${(fullMs / rawMs).toFixed(2)}× raw (pairs: ${fulls.map((f, k) => (f.wallMs / raws[k]).toFixed(2)).join(', ')}; their median ${median(fulls.map((f, k) => f.wallMs / raws[k])).toFixed(2)})`,
      );
      writeFileSync(
        join(work, 'full-only.json'),
        `${JSON.stringify({ verifyAfterBackup: VERIFY, raws, fulls }, null, 2)}\n`,
      );
      return;
    }
    log(`\nraw: git clone --mirror ×${repos.length} at concurrency ${concurrency} …`);
    const raw1 = await rawClone('raw-1', join(work, 'raw-1'));
    rmSync(join(work, 'raw-1'), { recursive: true, force: true });
    const raw1b = await rawClone('raw-1b', join(work, 'raw-1'));
    rmSync(join(work, 'raw-1'), { recursive: true, force: true });
    log(`  ${secs(raw1.wallMs)}, ${secs(raw1b.wallMs)} (two runs)`);
    log(`labkeeper: full backup (runNow) …`);
    const full = await backupPass('full', true);
    log(
      `  ${secs(full.wallMs)} ${full.status} (${full.items.succeeded}/${full.items.total}), ${mib(full.bytesWritten)} written`,
    );

    // verification of every FULL snapshot, separately (verifyAfterBackup is not part of the run)
    const fullSnapshots = (await app.services.snapshots.list({ organizationId: orgId }, { offset: 0, limit: 10_000 }))
      .items;
    const toVerify = fullSnapshots.filter((s) => s.copyType === 'FULL').map((s) => s.id);
    log(`verification of ${toVerify.length} FULL snapshots at concurrency ${concurrency} …`);
    const verifyStarted = performance.now();
    let verifyProblems = 0;
    await pool(toVerify, concurrency, async (id) => {
      const { result } = await app.services.snapshots.verify(id);
      if (!result.ok) verifyProblems++;
    });
    const verifyMs = elapsed(verifyStarted);
    log(`  ${secs(verifyMs)}${verifyProblems ? `, ${verifyProblems} FAILED` : ', all verified'}`);

    // ---- where a full backup of the biggest repository spends its time (one at a time) -----------
    const micro = await microBreakdown(
      bySize[0],
      repositoryIdOf.get(bySize[0].fullPath),
      dataDir,
      join(work, 'micro'),
      authEnv,
      pat.token,
    );

    // ---- what the proposed FULL path would cost: clone, refs, header + pack streamed into storage ----
    log(
      `mirror-based path, for comparison (clone -c gc…, for-each-ref, header + pack → LocalStorage.put; no DB/Agenda) …`,
    );
    const protoDir = join(work, 'proto');
    const protoStore = await LocalStorage.open(join(protoDir, 'store'));
    const protoStarted = performance.now();
    await pool(bySize, concurrency, async (r) => {
      const mirror = join(protoDir, 'mirrors', `${r.name}.git`);
      await run(
        'git',
        [
          'clone',
          '--mirror',
          '--quiet',
          '-c',
          'gc.pruneExpire=never',
          '-c',
          'gc.reflogExpireUnreachable=never',
          r.url,
          mirror,
        ],
        { env: authEnv() },
      );
      const refs = (
        await run('git', ['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: mirror })
      ).stdout.trim();
      const packs = readdirSync(join(mirror, 'objects', 'pack')).filter((f) => f.endsWith('.pack'));
      if (packs.length !== 1) throw new Error(`${r.name}: ${packs.length} packs after clone`);
      const body = async function* () {
        yield Buffer.from(`# v2 git bundle\n${refs}\n\n`);
        for await (const chunk of createReadStream(join(mirror, 'objects', 'pack', packs[0]), {
          highWaterMark: 1024 * 1024,
        }))
          yield chunk as Buffer;
      };
      await protoStore.put(`${r.name}/repository.bundle`, Readable.from(body()));
      await protoStore.put(`${r.name}/manifest.json`, Buffer.from(JSON.stringify({ refs })));
    });
    const protoMs = elapsed(protoStarted);
    rmSync(protoDir, { recursive: true, force: true });
    log(`  ${secs(protoMs)}`);

    // ---- 3. no-change pass ------------------------------------------------------------------------
    await setOffset(offsetMs + PASS_INTERVAL_MS);
    log(`labkeeper: no-change pass (+6 h) …`);
    const noChange = await backupPass('no-change', true);
    log(
      `  ${secs(noChange.wallMs)} ${noChange.status}: ${noChange.items.unchanged} unchanged, ${noChange.gitRequests} git requests, ${noChange.requests} GitLab requests = ${perUnchanged(noChange)} per unchanged project`,
    );

    // ---- 4. ten passes with small changes in 10 % of the repositories ------------------------------
    const changePasses: PassResult[] = [];
    const perPass = Math.max(1, Math.round(repos.length / 10));
    for (let k = 0; k < CHANGE_PASSES; k++) {
      await setOffset(offsetMs + PASS_INTERVAL_MS / 2);
      // Ranks k, k+10, k+20 … of the size order: each pass touches one of the ten biggest.
      const chosen = bySize.filter((_, i) => i % 10 === k % 10).slice(0, perPass);
      await sim.change(
        chosen.map((r) => r.projectId),
        99 + k,
      );
      await setOffset(offsetMs + PASS_INTERVAL_MS / 2);
      log(`labkeeper: pass ${k + 1}/${CHANGE_PASSES} after changing ${chosen.map((r) => r.name).join(', ')} …`);
      const pass = await backupPass(`change-${k + 1}`, k === 0);
      pass.changedRepositories = chosen.map((r) => r.name);
      changePasses.push(pass);
      log(
        `  ${secs(pass.wallMs)} ${pass.status}: ${pass.items.succeeded} backed up, ${pass.items.unchanged} unchanged, ${pass.gitRequests} git requests, ${(pass.bytesWritten / 1024).toFixed(0)} KiB written`,
      );
    }

    // ---- 5. storage vs one mirror (final state) ----------------------------------------------------
    const backups = treeSize(join(dataDir, 'backups'));
    log(`raw: git clone --mirror of the final state (storage baseline, and a second raw timing) …`);
    const raw2 = await rawClone('raw-2', join(work, 'raw-2'));
    log(`  ${secs(raw2.wallMs)}`);
    const mirrors = mirrorSize(join(work, 'raw-2'));
    const labkeeperMirrors = treeSize(join(dataDir, 'mirrors'));
    const snapshotCount = (await app.services.snapshots.list({ organizationId: orgId }, { offset: 0, limit: 1 })).total;

    // ---- report ---------------------------------------------------------------------------------
    const rawSamples = [raw1.wallMs, raw1b.wallMs, raw2.wallMs];
    const rawMs = [...rawSamples].sort((a, b) => a - b)[1];
    const ratios = {
      fullVsRaw: full.wallMs / rawMs,
      noChangeVsFull: noChange.wallMs / full.wallMs,
      storageVsMirror: backups.apparent / mirrors.apparent,
    };
    const ok = (value: number, target: number, extra = true) => (value <= target && extra ? 'PASS' : 'MISS');
    const firstChange = changePasses[0];
    const meanChange = changePasses.reduce((n, p) => n + p.wallMs, 0) / changePasses.length;
    const rows: [string, string, string, string][] = [
      ['raw clone --mirror (median of 3)', `${secs(rawMs)}  (${rawSamples.map(secs).join(' / ')})`, '', ''],
      [
        'Labkeeper full backup',
        secs(full.wallMs),
        `${ratios.fullVsRaw.toFixed(2)}× raw`,
        `≤ ${TARGETS.fullVsRaw}× ${ok(ratios.fullVsRaw, TARGETS.fullVsRaw)}`,
      ],
      [
        'no-change pass (+6 h)',
        `${secs(noChange.wallMs)}, ${noChange.gitRequests} git requests, ${perUnchanged(noChange)} GitLab requests per unchanged project`,
        `${(ratios.noChangeVsFull * 100).toFixed(1)} % of full`,
        `≤ ${TARGETS.noChangeVsFull * 100} %, 0 git ${ok(ratios.noChangeVsFull, TARGETS.noChangeVsFull, noChange.gitRequests === 0)}`,
      ],
      [
        `pass after changing 10 % (${firstChange.changedRepositories!.length})`,
        secs(firstChange.wallMs),
        `${((firstChange.wallMs / full.wallMs) * 100).toFixed(1)} % of full`,
        '',
      ],
      [
        `mean of ${CHANGE_PASSES} change passes`,
        secs(meanChange),
        `${((meanChange / full.wallMs) * 100).toFixed(1)} % of full`,
        '',
      ],
      [
        `storage: backups after ${CHANGE_PASSES} change passes`,
        `${mib(backups.apparent)} (${mib(backups.allocated)} on disk)`,
        `${ratios.storageVsMirror.toFixed(2)}× mirror`,
        `≤ ${TARGETS.storageVsMirror}× ${ok(ratios.storageVsMirror, TARGETS.storageVsMirror)}`,
      ],
      ['  one clone --mirror (final state)', `${mib(mirrors.apparent)} (${mib(mirrors.allocated)} on disk)`, '', ''],
      ['  Labkeeper mirrors (work dir)', mib(labkeeperMirrors.apparent), '', ''],
      [
        'extra: mirror-based path (no DB, no jobs)',
        secs(protoMs),
        `${(protoMs / rawMs).toFixed(2)}× raw`,
        'clone, then header+pack put',
      ],
      [
        'extra: verify all FULL snapshots',
        secs(verifyMs),
        `${(verifyMs / full.wallMs).toFixed(2)}× full`,
        verifyProblems ? `${verifyProblems} FAILED` : 'all OK',
      ],
    ];
    const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
    log(
      `\nLabkeeper backup benchmark — ${corpus.profile} corpus ${CORPUS_VERSION}: ${repos.length} repositories, ${mib(corpusBytes)}; ${cpus().length} CPUs; worker concurrency ${concurrency}`,
    );
    log(`(simulated clock: passes 6 h apart, commits 3 h before a pass; wall-clock times are real)`);
    for (const r of rows) log(`  ${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}`);

    log(`\nwhere the full backup spends its time`);
    log(
      `  event-loop delay of the Labkeeper process: p50 ${full.eventLoop.p50Ms.toFixed(0)} ms, p99 ${full.eventLoop.p99Ms.toFixed(0)} ms, max ${full.eventLoop.maxMs.toFixed(0)} ms`,
    );
    log(
      `  run: ${secs(full.overhead.queueMs)} from runNow until the run job started, ${secs(full.overhead.fanOutMs)} refresh + fan-out, ${secs(full.overhead.tailMs)} after the last item`,
    );
    log(
      `  CPU: ${full.cpu.labkeeperS.toFixed(1)} s in the Labkeeper process, ${full.cpu.postgresS.toFixed(1)} s in PostgreSQL`,
    );
    log(
      `  worker slots: ${secs(full.slots.idleWhileQueuedMs)} slot-seconds idle while jobs waited; ${full.slots.meanHandoverMs?.toFixed(0)} ms mean from a job's end to the next start`,
    );
    if (full.phases) {
      const total = Object.values(full.phases).reduce((a, b) => a + b, 0);
      log(`  item phases, summed over items (worker-seconds; ${concurrency} workers):`);
      for (const [name, ms] of Object.entries(full.phases))
        log(`    ${name.padEnd(52)} ${secs(ms).padStart(8)}  ${((ms / total) * 100).toFixed(0).padStart(3)} %`);
    }
    const printGit = (title: string, top: PassResult['git']) => {
      if (!top) return;
      log(`  ${title}`);
      for (const [name, v] of Object.entries(top)
        .sort((a, b) => b[1].seconds - a[1].seconds)
        .slice(0, 9)) {
        log(`    git ${name.padEnd(20)} ×${String(v.count).padEnd(5)} ${secs(v.seconds * 1000).padStart(8)}`);
      }
    };
    printGit(
      'git processes during the full backup (trace2; top-level, summed; http-backend = simulator side):',
      full.git,
    );
    printGit('git processes during the raw clone:', raw1.git);
    log(`  biggest repository alone (${micro.repository}, ${mib(micro.packBytes)} pack), one step at a time:`);
    for (const [name, ms] of Object.entries(micro.steps)) log(`    ${name.padEnd(52)} ${secs(ms).padStart(8)}`);
    log(
      `    streamed bundle: ${micro.packAsBundle.valid ? 'valid (plain git clones it into the same refs)' : `NOT valid: ${micro.packAsBundle.reason}`}; ${mib(micro.packAsBundle.bytes)} vs ${mib(micro.bundleBytes)} from git bundle create`,
    );
    log(
      `\nno-change pass: ${secs(noChange.overhead.queueMs)} from runNow until the run job started, ${secs(noChange.overhead.fanOutMs)} refresh + fan-out, ${secs(noChange.overhead.tailMs)} after the last item`,
    );
    printGit('git processes during the first change pass:', firstChange.git);
    if (firstChange.phases) {
      log(`  first change pass, item phases (worker-seconds):`);
      for (const [name, ms] of Object.entries(firstChange.phases))
        log(`    ${name.padEnd(52)} ${secs(ms).padStart(8)}`);
    }

    const result = {
      benchmark: 'labkeeper-backup',
      at: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? null,
        node: process.version,
        git: execFileSync('git', ['--version'], { encoding: 'utf8' }).trim(),
      },
      corpus: {
        profile: corpus.profile,
        version: CORPUS_VERSION,
        repositories: repos.length,
        bytes: corpusBytes,
        refs: repos.reduce((n, r) => n + r.refs, 0),
        byKind: Object.fromEntries(
          ['huge', 'medium', 'small'].map((k) => [
            k,
            {
              count: repos.filter((r) => r.kind === k).length,
              bytes: repos.filter((r) => r.kind === k).reduce((n, r) => n + r.sizeBytes, 0),
            },
          ]),
        ),
      },
      settings: {
        workerConcurrency: concurrency,
        passIntervalHours: PASS_INTERVAL_MS / HOUR,
        changePasses: CHANGE_PASSES,
        reposChangedPerPass: perPass,
        policy: 'repository only, no wiki/LFS/metadata, verifyAfterBackup off',
        trace: TRACE,
      },
      targets: TARGETS,
      ratios,
      verdicts: {
        fullVsRaw: ok(ratios.fullVsRaw, TARGETS.fullVsRaw),
        noChangeVsFull: ok(ratios.noChangeVsFull, TARGETS.noChangeVsFull, noChange.gitRequests === 0),
        storageVsMirror: ok(ratios.storageVsMirror, TARGETS.storageVsMirror),
      },
      raw: { wallMs: rawSamples, baselineMs: rawMs, git: raw1.git, perRepoMs: raw1.perRepoMs },
      full,
      prototypeFullMs: protoMs,
      verification: { snapshots: toVerify.length, wallMs: verifyMs, failed: verifyProblems },
      micro,
      noChange,
      changePasses,
      storage: { backups, mirror: mirrors, labkeeperMirrors, snapshots: snapshotCount },
    };
    mkdirSync(join(HERE, 'results'), { recursive: true });
    const out = join(HERE, 'results', QUICK ? 'latest-quick.json' : 'latest.json');
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    log(`\nwritten: ${out}`);
  } finally {
    await cleanup();
  }
}

/**
 * The steps of a FULL snapshot of one repository, run one at a time on Labkeeper's own mirror:
 * what `git clone --mirror` costs next to listing refs, `git bundle create`, `git bundle verify`
 * and the storage put (the engine's codec and LocalStorage: read, sha256, write, fsync). Also
 * tries the proposed shortcut: right after a clone the mirror holds one pack with exactly the
 * reachable objects, so a FULL bundle is the v2 header (refs) followed by that pack's bytes.
 */
async function microBreakdown(
  repo: SeededRepo,
  _repositoryId: string | undefined,
  _dataDir: string,
  scratch: string,
  env: () => NodeJS.ProcessEnv,
  token: string,
) {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const steps: Record<string, number> = {};
  const result = {
    repository: repo.name,
    packBytes: 0,
    bundleBytes: 0,
    steps,
    packAsBundle: { valid: false, reason: '', bytes: 0 },
  };
  const auth = { username: 'alice', password: token };
  // What a mirror costs: the clone alone
  const clone = join(scratch, 'clone.git');
  steps['git clone --mirror (alone)'] = (
    await run('git', ['clone', '--mirror', '--quiet', repo.url, clone], { env: env() })
  ).ms;
  // What Labkeeper does instead: ls-refs, then the pack streamed into storage behind the header
  let t = performance.now();
  const remote = await lsRefs(repo.url, { auth });
  steps['protocol v2 ls-refs'] = elapsed(t);
  t = performance.now();
  const { pack } = await fetchPack(repo.url, Object.values(remote.refs), [], { auth });
  const store = await LocalStorage.open(join(scratch, 'store'));
  const encoded = codec.encode({ compression: 'NONE', key: null });
  encoded.write(bundleHeader(remote.refs, []));
  const stored = await store.put('a/repository.bundle', pack.pipe(encoded));
  steps['fetch: pack streamed into storage (sha1 check, sha256, write, fsync)'] = elapsed(t);
  const bundle = join(scratch, 'store', 'a', 'repository.bundle');
  result.packAsBundle.bytes = stored.size;
  result.packBytes = readdirSync(join(clone, 'objects', 'pack'))
    .filter((f) => f.endsWith('.pack'))
    .reduce((n, f) => n + statSync(join(clone, 'objects', 'pack', f)).size, 0);
  t = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(bundle, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  steps['  for scale: sha256 of the bundle alone'] = elapsed(t);
  const refs = Object.entries(remote.refs).map(([ref, oid]) => `${oid} ${ref}`);
  steps['for comparison: git bundle create (every ref, from the clone)'] = (
    await run('git', ['bundle', 'create', join(scratch, 'created.bundle'), '--stdin'], {
      cwd: clone,
      input: `${Object.keys(remote.refs).join('\n')}\n`,
    })
  ).ms;
  result.bundleBytes = statSync(join(scratch, 'created.bundle')).size;
  try {
    await run('git', ['bundle', 'verify', bundle], { cwd: clone });
    const restored = join(scratch, 'restored.git');
    await run('git', ['clone', '--mirror', '--quiet', bundle, restored]);
    await run('git', ['fsck', '--connectivity-only', '--no-progress'], { cwd: restored });
    const got = (await run('git', ['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: restored })).stdout
      .trim()
      .split('\n')
      .sort();
    result.packAsBundle.valid = JSON.stringify(got) === JSON.stringify([...refs].sort());
    if (!result.packAsBundle.valid) result.packAsBundle.reason = 'refs differ after restore';
  } catch (error) {
    result.packAsBundle.reason = (error as Error).message.slice(0, 300);
  }
  rmSync(scratch, { recursive: true, force: true });
  return result;
}

try {
  // --api, --subscribers N: where users wait (speed.bench.ts); --restore and --s3 run in main()
  // (restore-bench.ts, s3.bench.ts).
  if (['--api', '--subscribers'].some((flag) => argv.includes(flag)))
    await (await import('./speed.bench.js')).speedBench(argv);
  // --recovery-point: push → stored snapshot with event-driven backups (recovery-point.bench.ts).
  else if (argv.includes('--recovery-point'))
    await (await import('./recovery-point.bench.js')).recoveryPointBench(argv);
  else await main();
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
