/**
 * The recovery point of event-driven backups (a script, not a test):
 *
 *   npm run bench -- --recovery-point [--samples 3] [--quiet-ms 120000]
 *
 * How long a push stays unprotected: from the push until a snapshot holding it is stored (the run
 * that wrote it is terminal, so its manifest and row are committed). Labkeeper runs in this
 * process with an embedded PostgreSQL (or a fresh database on DATABASE_URL's server), the real
 * Agenda jobs (`events.backup` scheduled for the due time) and the real clock; the GitLab simulator (in process)
 * delivers GitLab-shaped Push Hooks to the registered group webhook over HTTP. Each sample pushes
 * one commit to one repository, then waits for the EVENT run's terminal event and checks that the
 * snapshot's default branch is the pushed commit.
 *
 * The baseline, in the same run and alternating with the samples so both see the same machine
 * load: the same push followed at once by `runNow` of that repository (the backup alone, no
 * quiet period). The overhead of event-driven backups beyond the quiet period is
 * (push → snapshot) − quiet period: the hook, the delay from the due time to the run's start (the
 * job is scheduled for the due time; it was a 0–30-s wait for a polling tick before) plus
 * the run. With `--quiet-ms` other than the default the default-period figure is also printed as
 * default quiet period + the measured overhead (it does not depend on the period).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../server/src/app.js';
import type { BackupProgressed } from '../server/src/backup/backup.events.js';
import { loadConfig } from '../server/src/config/config.js';
import { startGitLabSimulator, type GitLabSimulator } from '../test/support/gitlab-simulator/index.js';
import { aToken, aUser } from '../test/support/gitlab-seed.js';
import { freePort, graphql } from './speed.bench.js';
import { median } from './measure.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_QUIET_MS = 120_000; // LABKEEPER_EVENT_QUIET_PERIOD_MS's default (server/src/config)
const log = (line: string) => process.stdout.write(`${line}\n`);
const option = (argv: string[], name: string, fallback: number) => {
  const i = argv.indexOf(name);
  const value = i >= 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(value) && value >= 0 ? value : fallback;
};
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Setup {
  app: RunningApp;
  sim: GitLabSimulator;
  organizationId: string;
  projectId: number;
  repositoryId: string;
  close(): Promise<void>;
}

async function setUp(quietMs: number): Promise<Setup> {
  const work = await mkdtemp(join(tmpdir(), 'labkeeper-rpo-'));
  chmodSync(work, 0o755); // embedded PostgreSQL runs as user postgres (when root)
  const sim = await startGitLabSimulator();
  sim.setTier('premium'); // group webhooks are a Premium feature
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'bench', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'app' });
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
    LABKEEPER_EVENT_QUIET_PERIOD_MS: String(quietMs),
    LABKEEPER_EVENT_MAX_DELAY_MS: String(Math.max(quietMs, 900_000)),
    GITLAB_URL: sim.url,
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
        personalAccessToken: aToken(sim, alice.id, ['api', 'read_repository']).token,
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
  const [{ id: repositoryId }] = await app.dataSource.query<{ id: string }[]>(
    `SELECT id FROM repositories WHERE organization_id = $1 AND gitlab_project_id = $2`,
    [organizationId, project.id],
  );
  const hook = await graphql(
    url,
    token,
    `
      mutation ($i: SetEventDrivenBackupsInput!) {
        setEventDrivenBackups(input: $i) {
          state
        }
      }
    `,
    { i: { organizationId, isEnabled: true } },
  );
  if (hook.setEventDrivenBackups.state !== 'ACTIVE')
    throw new Error(`the group hook is ${hook.setEventDrivenBackups.state}`);
  const setup = { app, sim, organizationId, projectId: project.id, repositoryId };
  await backUpNow(setup); // the FULL snapshot the event runs build on
  return {
    ...setup,
    close: async () => {
      await app.stop();
      await sim.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Resolves with the next terminal event of the organization's runs (subscribe before acting). */
function nextTerminal(setup: Pick<Setup, 'app' | 'organizationId'>): Promise<{ event: BackupProgressed; at: number }> {
  const iterator = setup.app.pubSub.subscribe('BACKUP_PROGRESS')[Symbol.asyncIterator]();
  return (async () => {
    for (;;) {
      const event = (await iterator.next()).value as BackupProgressed;
      if (event.organizationId === setup.organizationId && event.isTerminal) {
        const at = Date.now();
        await iterator.return?.();
        return { event, at };
      }
    }
  })();
}

async function backUpNow(setup: Omit<Setup, 'close'>) {
  const done = nextTerminal(setup);
  await setup.app.services.backupRuns.runNow(setup.organizationId, { repositoryIds: [setup.repositoryId] });
  const { event } = await done;
  if (event.runStatus !== 'SUCCEEDED') throw new Error(`the backup ended ${event.runStatus}`);
}

/** The snapshot a run wrote holds the pushed commit on the default branch. */
async function checkSnapshot(setup: Setup, runId: string, sha: string): Promise<void> {
  const [item] = await setup.app.services.backupRuns.itemsOf(runId);
  const snapshot = await setup.app.services.snapshots.get(item.snapshotId!);
  const manifest = await setup.app.services.snapshots.reader.manifest(snapshot);
  if (manifest.git?.refs['refs/heads/main'] !== sha) throw new Error(`run ${runId}: the snapshot misses ${sha}`);
}

let pushes = 0;
const push = (setup: Setup) =>
  setup.sim.pushCommit(setup.projectId, { files: { [`change-${++pushes}.txt`]: `change ${pushes}\n` } });

/** Push, then runNow at once: the backup alone. */
async function baselineSample(setup: Setup): Promise<number> {
  const done = nextTerminal(setup);
  const t0 = Date.now();
  const sha = push(setup);
  const run = await setup.app.services.backupRuns.runNow(setup.organizationId, {
    repositoryIds: [setup.repositoryId],
    copyType: 'INCREMENTAL',
  });
  const { event, at } = await done;
  if (event.runId !== run.id || event.runStatus !== 'SUCCEEDED')
    throw new Error(`baseline run ended ${event.runStatus}`);
  await checkSnapshot(setup, run.id, sha);
  // The push's hook queued an EVENT backup too: it is not part of this sample.
  await setup.sim.hooks.settled();
  await setup.app.dataSource.query(`DELETE FROM event_backup_pending WHERE repository_id = $1`, [setup.repositoryId]);
  return at - t0;
}

interface EventSample {
  totalMs: number;
  ackMs: number;
  startDelayMs: number;
  runMs: number;
}

/** Push, and nothing else: the hook, the quiet period, the `events.backup` job and the run. */
async function eventSample(setup: Setup, quietMs: number): Promise<EventSample> {
  const done = nextTerminal(setup);
  const t0 = Date.now();
  const sha = push(setup);
  const delivery = (await setup.sim.hooks.settled()).at(-1);
  const ackMs = Date.now() - t0;
  if (delivery?.status !== 200) throw new Error(`the push hook was answered ${delivery?.status}`);
  const { event, at } = await done;
  const [run] = await setup.app.dataSource.query<{ trigger: string; created_at: Date }[]>(
    `SELECT trigger, created_at FROM backup_runs WHERE id = $1`,
    [event.runId],
  );
  if (run.trigger !== 'EVENT' || event.runStatus !== 'SUCCEEDED')
    throw new Error(`expected a SUCCEEDED EVENT run, got ${run.trigger} ${event.runStatus}`);
  await checkSnapshot(setup, event.runId, sha);
  const [received] = await setup.app.dataSource.query<{ at: Date }[]>(
    `SELECT max(received_at) AS at FROM webhook_deliveries WHERE repository_id = $1`,
    [setup.repositoryId],
  );
  const due = received.at.getTime() + quietMs;
  return {
    totalMs: at - t0,
    ackMs,
    startDelayMs: run.created_at.getTime() - due,
    runMs: at - run.created_at.getTime(),
  };
}

export async function recoveryPointBench(argv: string[]): Promise<void> {
  const samples = Math.max(1, Math.round(option(argv, '--samples', 3)));
  const quietMs = option(argv, '--quiet-ms', DEFAULT_QUIET_MS);
  log(`recovery point: ${samples} sample(s), quiet period ${s(quietMs)}, events.backup at the due time`);
  const setup = await setUp(quietMs);
  const baseline: number[] = [];
  const events: EventSample[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      baseline.push(await baselineSample(setup));
      const sample = await eventSample(setup, quietMs);
      events.push(sample);
      log(
        `  sample ${i + 1}: push → snapshot ${s(sample.totalMs)} (hook acknowledged ${sample.ackMs} ms, ` +
          `run started ${s(sample.startDelayMs)} after the due time, run ${s(sample.runMs)}); runNow baseline ${s(baseline[i])}`,
      );
    }
  } finally {
    await setup.close();
  }
  const total = events.map((e) => e.totalMs);
  const overhead = total.map((t) => t - quietMs);
  const result = {
    at: new Date().toISOString(),
    samples,
    quietPeriodMs: quietMs,
    pushToSnapshotMs: { median: median(total), max: Math.max(...total) },
    overheadBeyondQuietPeriodMs: { median: median(overhead), max: Math.max(...overhead) },
    runNowBaselineMs: { median: median(baseline), max: Math.max(...baseline) },
    defaultQuietPeriodRecoveryPointMs: {
      median: DEFAULT_QUIET_MS + median(overhead),
      max: DEFAULT_QUIET_MS + Math.max(...overhead),
      measured: quietMs === DEFAULT_QUIET_MS,
    },
    samplesDetail: events.map((e, i) => ({ ...e, runNowBaselineMs: baseline[i] })),
  };
  log('');
  log(`push → stored snapshot     median ${s(median(total))}   max ${s(Math.max(...total))}`);
  log(`  beyond the quiet period  median ${s(median(overhead))}   max ${s(Math.max(...overhead))}`);
  log(`runNow at once (baseline)  median ${s(median(baseline))}   max ${s(Math.max(...baseline))}`);
  log(
    `ratio: overhead beyond the quiet period / baseline = ${(median(overhead) / median(baseline)).toFixed(2)}× ` +
      '(the hook and the start delay are the difference)',
  );
  if (quietMs !== DEFAULT_QUIET_MS)
    log(
      `with the default quiet period (${s(DEFAULT_QUIET_MS)}): median ${s(result.defaultQuietPeriodRecoveryPointMs.median)}, ` +
        `max ${s(result.defaultQuietPeriodRecoveryPointMs.max)} (default period + measured overhead)`,
    );
  const file = join(HERE, 'results', `recovery-point${quietMs === DEFAULT_QUIET_MS ? '' : `-${quietMs}`}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`written to ${file.slice(HERE.length - 'bench'.length)}`);
}
