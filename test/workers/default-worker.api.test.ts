import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/** An organization's default worker gets its repositories while it is online; otherwise any worker does. */
let sim: GitLabSimulator;
let api: TestApp;
let orgId: string;
const workers: Record<string, WorkerProcess> = {};

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (let i = 0; i < 4; i++) sim.createProject({ namespaceId: group.id, path: `repo-${i}` });
  api = await startTestApp({ gitlab: { url: sim.url }, worker: false });
  for (const name of ['east', 'west']) {
    workers[name] = startWorkerProcess(api, { LABKEEPER_WORKER_NAME: name, GITLAB_URL: sim.url });
    await workers[name].started;
  }
  const synced = Promise.race(Object.values(workers).map((w) => w.logged((l) => l.msg === 'repository sync finished')));
  const r = await api.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: aToken(sim, alice.id).token,
      namespacePath: 'acme',
      includeGroups: false,
    },
  });
  await synced;
  orgId = (
    await api.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: r.data.connectGitLab.connection.id })
  ).data.organizations[0].id;
});
afterAll(async () => {
  for (const w of Object.values(workers)) await w.stop();
  await api?.stop();
  await sim?.close();
});

async function backup() {
  const sub = subscribe<{ backupProgress: { runId: string; isTerminal: boolean; runStatus: string } }>(
    api.ws(),
    `subscription($o: ID) { backupProgress(organizationId: $o) { runId isTerminal runStatus } }`,
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
  const run = await api.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o, copyType: FULL }) { id } }`, {
    o: orgId,
  });
  const done = await sub.next((e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal);
  sub.dispose();
  expect(done.backupProgress.runStatus).toBe('SUCCEEDED');
  const runId = run.data.runNow.id as string;
  const by = (name: string) =>
    workers[name].log.filter((l) => l.msg === 'backup item finished' && l.runId === runId).length;
  return { east: by('east'), west: by('west') };
}

describe("an organization's default worker", () => {
  it('runs every repository of the organization while it is online', async () => {
    const list = (await api.gql(`{ workers { id name status } }`)).data.workers;
    const west = list.find((w: { name: string }) => w.name === 'west');
    expect(west.status).toBe('ONLINE');
    await api.gql(`mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { defaultWorkerId } }`, {
      i: { id: orgId, defaultWorkerId: west.id },
    });
    expect(await backup()).toEqual({ east: 0, west: 4 });
  });

  it('gives the work to any worker when the default one is offline', async () => {
    await workers.west.stop();
    expect(await backup()).toEqual({ east: 4, west: 0 });
  });
});
