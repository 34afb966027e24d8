import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as paced } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/src/db/embedded-postgres.js';
import { silentLogger } from '../../server/src/shared/logger.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { freePort } from '../support/ports.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * PostgreSQL stopped for 30 s in the middle of a backup run and a repository sync, then started
 * again: the API (this process) and a separate worker process stay up, /readyz answers not ready
 * for the whole outage, the worker logs the outage once, and both complete with nothing lost. The
 * sync hit the outage in its job: it resumes as soon as the database is back, not when its lock
 * expires (the worker keeps the default 10 min lock lifetime). The test owns its PostgreSQL to stop it.
 */
const OUTAGE_MS = 30_000;
let dir: string;
let port: number;
let database: EmbeddedDatabase;
let sim: GitLabSimulator;
let api: TestApp;
let worker: WorkerProcess;
let orgId: string;

const startDatabase = async () => {
  database = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port, logger: silentLogger() });
};

const readiness = async () => {
  const response = await fetch(`${api.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, boolean> } };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labkeeper-outage-'));
  port = await freePort();
  await startDatabase();
  await database.createDatabaseIfMissing('labkeeper');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['one', 'two']) {
    const project = sim.createProject({ namespaceId: group.id, path });
    sim.pushCommit(project.id, { files: { [`${path}.txt`]: `${path}\n` } });
  }
  api = await startTestApp({ gitlab: { url: sim.url }, worker: false, databaseUrl: database.urlFor('labkeeper') });
  worker = startWorkerProcess(api, { LABKEEPER_WORKER_NAME: 'steady', GITLAB_URL: sim.url });
  await worker.started;
  const synced = worker.logged((l) => l.msg === 'repository sync finished');
  const r = await api.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: aToken(sim, alice.id).token,
      namespacePath: 'acme',
    },
  });
  await synced;
  orgId = (
    await api.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: r.data.connectGitLab.connection.id })
  ).data.organizations[0].id;
});
afterAll(async () => {
  await worker?.stop();
  await api?.stop();
  await sim?.close();
  await database?.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('PostgreSQL stopped for 30 s mid-run and started again', () => {
  it('keeps the API and the worker up, not ready meanwhile, and the run and the sync complete with nothing lost', async () => {
    expect((await readiness()).status).toBe(200);
    const held = sim.holdNext({ pathPattern: /\/git-upload-pack$/, method: 'POST' });
    const run = await api.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
    const runId = run.data.runNow.id as string;
    await held.reached;
    const heldSync = sim.holdNext({ pathPattern: /^\/api\/v4\/groups\/[^/]+\/projects$/, method: 'GET' });
    const sync = await api.gql(`mutation($o: ID!) { syncRepositories(organizationId: $o) { id } }`, { o: orgId });
    const syncRunId = sync.data.syncRepositories.id as string;
    await heldSync.reached;

    await database.stop();
    const stoppedAt = Date.now();
    await worker.logged((l) => l.msg.startsWith('database unreachable'));
    held.release(); // the transfer goes on while the database is away
    heldSync.release(); // the sync's listing arrives with nowhere to save it
    await worker.logged((l) => l.msg.startsWith('database lost during a job') && l.job === 'repositories.sync');
    // The outage lasts 30 s (the scenario, not a synchronisation): /readyz is probed once a second meanwhile.
    const answers: number[] = [];
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      answers.push((await readiness()).status);
      await paced(1000);
    }
    expect(answers.length).toBeGreaterThan(1);
    expect(new Set(answers)).toEqual(new Set([503]));
    expect(worker.child.exitCode).toBeNull();

    await startDatabase();
    await worker.logged((l) => l.msg.startsWith('database reachable again'));
    expect((await readiness()).status).toBe(200); // the pools reconnect on their next query

    await worker.logged((l) => l.msg === 'repository sync finished' && l.syncRunId === syncRunId);
    await worker.logged((l) => l.msg === 'backup run finished' && l.runId === runId);
    const done = await api.gql(
      `query($id: ID!) { backupRun(id: $id) { status items { pathWithNamespace status snapshotId errorCode errorMessage } } }`,
      { id: runId },
    );
    expect(done.data.backupRun).toMatchObject({ status: 'SUCCEEDED' }); // the diff shows every item's error otherwise
    for (const item of done.data.backupRun.items) {
      expect(item.status).toBe('SUCCEEDED');
      const verified = await api.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, {
        id: item.snapshotId,
      });
      expect(verified.data.verifySnapshot).toEqual({ ok: true, problems: [] });
    }
    const org = await api.gql(
      `query($id: ID!) { organization(id: $id) { lastSync { id status repositoriesFound } } }`,
      {
        id: orgId,
      },
    );
    expect(org.data.organization.lastSync).toEqual({ id: syncRunId, status: 'SUCCEEDED', repositoriesFound: 2 });
    expect(worker.child.exitCode).toBeNull();
    expect(worker.log.filter((l) => l.msg.startsWith('database unreachable'))).toHaveLength(1);
  });
});
