import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { nextJob, startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { createDeferred } from '../support/deferred.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

/** A worker's heartbeat carries how many jobs it is running, so the API (and the Workers screen) shows its load. */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  sim.createProject({ namespaceId: group.id, path: 'api' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

/** Resolves after the worker's next heartbeat that reports a load matching `accept`. */
function nextHeartbeat(accept: (runningJobs: number) => boolean): Promise<number> {
  const workers = t.app.services.workers;
  const original = workers.heartbeat.bind(workers);
  const seen = createDeferred<number>();
  workers.heartbeat = async (id: string, runningJobs?: number) => {
    await original(id, runningJobs);
    if (runningJobs !== undefined && accept(runningJobs)) {
      workers.heartbeat = original;
      seen.resolve(runningJobs);
    }
  };
  return seen.promise;
}

const workersQuery = async () =>
  (await t.gql(`{ workers { name status concurrency runningJobs } }`)).data.workers as {
    runningJobs: number;
    concurrency: number;
    status: string;
  }[];

it('announces a change of load to workerChanged subscribers: jobs running, then none', async () => {
  const sub = subscribe<{ workerChanged: { name: string; runningJobs: number; stopped: boolean } }>(
    t.ws(),
    `subscription { workerChanged { name runningJobs stopped } }`,
  );
  await untilListening(
    sub,
    () =>
      t.app.pubSub.publish('WORKER_CHANGED', {
        workerId: 'probe',
        name: 'probe',
        runningJobs: 0,
        stopped: false,
        at: '',
      }),
    (e) => e.workerChanged.name === 'probe',
  );
  // A load is announced when it changes. The connection's sync job may still have counted at the
  // last heartbeat (its load, 1, announced before this subscriber came): if the backup started
  // before a beat saw the worker idle, the load would never change and nothing would be announced.
  await nextHeartbeat((n) => n === 0);
  const held = sim.holdNext({ pathPattern: /git-upload-pack$/, method: 'POST' });
  const finished = nextJob(t, 'backup.repository');
  await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o, copyType: FULL }) { id } }`, { o: orgId });
  await held.reached;
  const busy = await sub.next((e) => e.workerChanged.name !== 'probe' && e.workerChanged.runningJobs >= 1);
  expect(busy.workerChanged).toMatchObject({ stopped: false });

  held.release();
  await finished;
  await sub.next((e) => e.workerChanged.name === busy.workerChanged.name && e.workerChanged.runningJobs === 0);
  sub.dispose();
});

it('reports the jobs a worker is running at its heartbeat, and none once they finish', async () => {
  await nextHeartbeat((n) => n === 0);
  expect((await workersQuery())[0]).toMatchObject({ status: 'ONLINE', runningJobs: 0 });

  // Hold the clone's pack request: the backup job is running (with its run job done or not).
  const held = sim.holdNext({ pathPattern: /git-upload-pack$/, method: 'POST' });
  const finished = nextJob(t, 'backup.repository');
  const busy = nextHeartbeat((n) => n >= 1);
  await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o, copyType: FULL }) { id } }`, { o: orgId });
  await held.reached;
  await busy;
  const during = (await workersQuery())[0];
  expect(during.runningJobs).toBeGreaterThanOrEqual(1);
  expect(during.runningJobs).toBeLessThanOrEqual(during.concurrency);

  const idle = nextHeartbeat((n) => n === 0);
  held.release();
  await finished;
  await idle;
  expect((await workersQuery())[0].runningJobs).toBe(0);
});
