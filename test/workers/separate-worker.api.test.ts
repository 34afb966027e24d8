import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, anOrganization } from '../support/gitlab-seed.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * An API process without a worker, and `npm run worker` as a separate OS process against the
 * same database: the worker runs the sync, and its progress reaches the API's graphql-ws
 * subscriber through PostgreSQL.
 */
let sim: GitLabSimulator;
let api: TestApp;
let worker: WorkerProcess;
beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  anOrganization(sim, alice.id, { path: 'acme', projectCount: 12 });
  api = await startTestApp({ gitlab: { url: sim.url }, worker: false });
  worker = startWorkerProcess(api, {
    LABKEEPER_WORKER_NAME: 'separate-1',
    LABKEEPER_WORKER_CONCURRENCY: '2',
    GITLAB_URL: sim.url,
  });
  await worker.started;
  await api.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: aToken(sim, alice.id).token,
    },
  });
});
afterAll(async () => {
  await worker?.stop();
  await api?.stop();
  await sim?.close();
});

describe('a separate worker process', () => {
  it('registers and shows ONLINE, not in-process', async () => {
    const r = await api.gql(`{ workers { id name status isInProcess concurrency pid } }`);
    expect(r.data.workers).toEqual([
      expect.objectContaining({
        name: 'separate-1',
        status: 'ONLINE',
        isInProcess: false,
        concurrency: 2,
        pid: worker.child.pid,
      }),
    ]);
  });

  it('runs the sync queued by the API, and its progress reaches the API’s subscriber', async () => {
    const connections = await api.gql(`{ connections { id } }`);
    const protectedOrg = await api.gql(`mutation($i: ProtectNamespaceInput!) { protectNamespace(input: $i) { id } }`, {
      i: { connectionId: connections.data.connections[0].id, namespacePath: 'acme' },
    });
    const orgId = protectedOrg.data.protectNamespace.id;
    const sub = subscribe<{
      syncProgress: { syncRunId: string; status: string; phase: string; projectsListed: number };
    }>(
      api.ws(),
      `subscription($o: ID!) { syncProgress(organizationId: $o) { syncRunId status phase projectsListed } }`,
      { o: orgId },
    );
    await untilListening(
      sub,
      () =>
        api.app.pubSub.publish('SYNC_PROGRESS', orgId, {
          organizationId: orgId,
          syncRunId: 'probe',
          status: 'QUEUED',
          phase: 'QUEUED',
          projectsListed: 0,
          projectsTotal: null,
          groupsListed: 0,
          repositoriesAdded: 0,
          repositoriesGone: 0,
          errorCode: null,
          errorMessage: null,
          at: '',
        }),
      (e) => e.syncProgress.syncRunId === 'probe',
    );
    const run = await api.gql(`mutation($o: ID!) { syncRepositories(organizationId: $o) { id } }`, { o: orgId });
    const runId = run.data.syncRepositories.id;
    const done = await sub.next((e) => e.syncProgress.syncRunId === runId && e.syncProgress.phase === 'DONE');
    expect(done.syncProgress).toMatchObject({ status: 'SUCCEEDED', projectsListed: 12 });
    // the worker process, not the API, did the work
    expect(worker.log.some((l) => l.msg === 'repository sync finished' && l.syncRunId === runId)).toBe(true);
    const org = await api.gql(`query($id: ID!) { organization(id: $id) { repositoryCounts { total } } }`, {
      id: orgId,
    });
    expect(org.data.organization.repositoryCounts.total).toBe(12);
  });

  it('can be an organization’s default worker; an unknown worker id is refused naming the field', async () => {
    const [{ id: workerId }] = (await api.gql(`{ workers { id } }`)).data.workers;
    const [{ id: orgId }] = (await api.gql(`{ organizations { id } }`)).data.organizations;
    const ok = await api.gql(
      `mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { defaultWorkerId } }`,
      { i: { id: orgId, defaultWorkerId: workerId } },
    );
    expect(ok.data.updateOrganization.defaultWorkerId).toBe(workerId);
    const bad = await api.gql(
      `mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { defaultWorkerId } }`,
      {
        i: { id: orgId, defaultWorkerId: '00000000-0000-0000-0000-000000000000' },
      },
    );
    expect(bad.errors?.[0]?.extensions).toMatchObject({
      reason: 'WORKER_NOT_FOUND',
      fields: { 'input.defaultWorkerId': expect.any(String) },
    });
  });

  it('shuts down cleanly on SIGTERM and then shows OFFLINE', async () => {
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const r = await api.gql(`{ workers { name status stoppedAt } }`);
    expect(r.data.workers).toEqual([
      expect.objectContaining({ name: 'separate-1', status: 'OFFLINE', stoppedAt: expect.any(String) }),
    ]);
  });
});
