import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * A worker process SIGKILLed mid-backup holds its job's lock for the whole lock lifetime (10
 * minutes here, as by default). Once the registry sees it OFFLINE (three missed heartbeats), a
 * live worker releases its jobs and takes them over: the run ends long before the lock would
 * have expired.
 */
const LOCK_LIFETIME_MS = '600000';
let sim: GitLabSimulator;
let api: TestApp;
let orgId: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'app' });
  sim.pushCommit(project.id, { files: { 'main.c': 'int main(void) { return 0; }\n' } });
  api = await startTestApp({ gitlab: { url: sim.url }, worker: false });
  const doomed = startWorkerProcess(api, {
    LABKEEPER_WORKER_NAME: 'doomed',
    LABKEEPER_JOB_LOCK_LIFETIME_MS: LOCK_LIFETIME_MS,
    GITLAB_URL: sim.url,
  });
  workers.push(doomed);
  await doomed.started;
  const synced = doomed.logged((l) => l.msg === 'repository sync finished');
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
  for (const w of workers) await w.stop();
  await api?.stop();
  await sim?.close();
});

type Progress = { backupProgress: { runId: string; runStatus: string; isTerminal: boolean } };

describe('a worker SIGKILLed mid-run', () => {
  it('has its jobs released when it goes OFFLINE, and another worker finishes the run well before the lock would expire', async () => {
    const sub = subscribe<Progress>(
      api.ws(),
      `subscription($o: ID) { backupProgress(organizationId: $o) { runId runStatus isTerminal } }`,
      { o: orgId },
    );
    await untilListening(
      sub,
      () =>
        api.app.pubSub.publish('BACKUP_PROGRESS', {
          organizationId: orgId,
          runId: 'probe',
          runStatus: 'QUEUED',
          itemsTotal: 0,
          itemsDone: 0,
          itemsFailed: 0,
          item: null,
          isTerminal: false,
          at: '',
        }),
      (e) => e.backupProgress.runId === 'probe',
    );
    // the doomed worker is fetching the repository when it dies
    const held = sim.holdNext({ pathPattern: /\/git-upload-pack$/, method: 'POST' });
    const run = await api.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
    const runId = run.data.runNow.id;
    await held.reached;
    const rescuer = startWorkerProcess(api, {
      LABKEEPER_WORKER_NAME: 'rescuer',
      LABKEEPER_JOB_LOCK_LIFETIME_MS: LOCK_LIFETIME_MS,
      GITLAB_URL: sim.url,
    });
    workers.push(rescuer);
    await rescuer.started;
    workers[0].child.kill('SIGKILL');
    await workers[0].exited;
    held.release();

    const released = await rescuer.logged(
      (l) => l.msg.startsWith('worker went offline without stopping') && l.name === 'doomed',
    );
    const offlineAt = Date.now();
    expect(released.jobs).toBeGreaterThanOrEqual(1);
    const workersNow = (await api.gql(`{ workers { name status } }`)).data.workers;
    expect(workersNow).toContainEqual({ name: 'doomed', status: 'OFFLINE' });

    const terminal = await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal);
    expect(terminal.backupProgress.runStatus).toBe('SUCCEEDED');
    expect(Date.now() - offlineAt).toBeLessThan(60_000);
    const items = (
      await api.gql(`query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace status attempts } } }`, {
        id: runId,
      })
    ).data.backupRun.items;
    expect(items).toContainEqual({ pathWithNamespace: 'acme/app', status: 'SUCCEEDED', attempts: 2 });
    sub.dispose();
  });
});
