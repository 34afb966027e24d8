import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * Jobs run at least once. A worker process killed with SIGKILL in the middle of a backup leaves
 * no visible half snapshot; its job is taken over by another worker once the lock expires, the
 * run converges to a terminal state, and the next run succeeds. The API process, which runs no
 * jobs itself, delivers the workers' progress to a graphql-ws subscriber.
 */
let sim: GitLabSimulator;
let api: TestApp;
let orgId: string;
let bigId: number;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const big = sim.createProject({ namespaceId: group.id, path: 'big' });
  bigId = big.id;
  // incompressible content, so the clone takes long enough to be interrupted
  for (let i = 0; i < 4; i++)
    sim.pushCommit(big.id, {
      files: { [`blob-${i}.bin`]: randomBytes(6 * 1024 * 1024).toString('base64') },
      message: `blob ${i}`,
    });
  for (const path of ['small-1', 'small-2']) sim.createProject({ namespaceId: group.id, path });
  api = await startTestApp({ gitlab: { url: sim.url }, worker: false });
  const first = startWorkerProcess(api, {
    LABKEEPER_WORKER_NAME: 'doomed',
    LABKEEPER_JOB_LOCK_LIFETIME_MS: '3000',
    GITLAB_URL: sim.url,
  });
  workers.push(first);
  await first.started;
  const synced = first.logged((l) => l.msg === 'repository sync finished');
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

type Progress = {
  backupProgress: {
    runId: string;
    runStatus: string;
    isTerminal: boolean;
    item: { pathWithNamespace: string; phase: string; status: string } | null;
  };
};

describe('a worker killed mid-backup', () => {
  it('leaves no half snapshot; another worker takes the job over and the run ends, seen live through the API', async () => {
    const sub = subscribe<Progress>(
      api.ws(),
      `subscription($o: ID) { backupProgress(organizationId: $o) { runId runStatus isTerminal item { pathWithNamespace phase status } } }`,
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
    const run = await api.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id status } }`, {
      o: orgId,
    });
    const runId = run.data.runNow.id;
    // the big repository is fetched first (biggest first); kill the worker while it is
    await sub.next(
      (e) =>
        e.backupProgress.runId === runId &&
        e.backupProgress.item?.pathWithNamespace === 'acme/big' &&
        e.backupProgress.item.phase === 'FETCHING',
    );
    workers[0].child.kill('SIGKILL');
    await workers[0].exited;

    // nothing half-made is visible
    const during = await api.gql(`query($o: ID!) { snapshots(organizationId: $o) { nodes { id storagePrefix } } }`, {
      o: orgId,
    });
    for (const s of during.data.snapshots.nodes)
      expect(existsSync(join(api.app.config.dataDir, 'backups', s.storagePrefix, 'manifest.json'))).toBe(true);
    const state = (await api.gql(`query($id: ID!) { backupRun(id: $id) { status } }`, { id: runId })).data.backupRun
      .status;
    expect(state).toBe('RUNNING');

    // a second worker takes over after the dead one's lock expires
    const second = startWorkerProcess(api, {
      LABKEEPER_WORKER_NAME: 'rescuer',
      LABKEEPER_JOB_LOCK_LIFETIME_MS: '3000',
      GITLAB_URL: sim.url,
    });
    workers.push(second);
    const terminal = await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal);
    expect(terminal.backupProgress.runStatus).toBe('SUCCEEDED');
    const events = sub.events.filter((e) => e.backupProgress.runId === runId).map((e) => e.backupProgress);
    expect(events[0]).toMatchObject({ runStatus: 'QUEUED' });
    const items = (
      await api.gql(
        `query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace status attempts snapshotId } } }`,
        { id: runId },
      )
    ).data.backupRun.items;
    expect(items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/big')).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
    });
    for (const item of items) {
      const s = (
        await api.gql(`query($id: ID!) { snapshot(id: $id) { storagePrefix verificationStatus } }`, {
          id: item.snapshotId,
        })
      ).data.snapshot;
      expect(existsSync(join(api.app.config.dataDir, 'backups', s.storagePrefix, 'manifest.json'))).toBe(true);
      expect(s.verificationStatus).toBe('VERIFIED');
    }
    expect(second.log.some((l) => l.msg === 'worker started')).toBe(true);
    sub.dispose();
  });

  it('lets the next run succeed', async () => {
    sim.pushCommit(bigId, { files: { 'after.txt': 'after the crash\n' } });
    const sub = subscribe<Progress>(
      api.ws(),
      `subscription($o: ID) { backupProgress(organizationId: $o) { runId runStatus isTerminal item { pathWithNamespace phase status } } }`,
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
    const run = await api.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
    const terminal = await sub.next(
      (e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal,
    );
    expect(terminal.backupProgress.runStatus).toBe('SUCCEEDED');
    sub.dispose();
  });
});
