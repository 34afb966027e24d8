import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../storage/storage-support.js';
import { S3Storage } from '../../server/src/storage/s3-storage.js';
import { subscribe, untilListening, type TestApp, startTestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { resolveRef } from '../support/gitlab-simulator/repos.js';
import { aToken, aUser, PASSWORD } from '../support/gitlab-seed.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * Scale-out with an S3 primary: an API process without a worker, and worker processes that share
 * nothing but PostgreSQL and the S3 server — each has its own data directory. Two workers share
 * one organization's run (one holds a repository while the other backs up the next), the second
 * builds an incremental on the first one's snapshot, and then, both gone with their data
 * directories deleted, a third worker with an empty data directory restores and drills while the
 * API verifies — every byte read from S3.
 */
let s3: TestS3Server;
let sim: GitLabSimulator;
let api: TestApp;
let orgId: string;
let storageId: string;
const projects: Record<string, number> = {};
const tips: Record<string, string> = {};
const dataDirs: string[] = [];
const workers: WorkerProcess[] = [];

function startWorker(name: string, dataDir: string): WorkerProcess {
  const worker = startWorkerProcess(api, {
    LABKEEPER_WORKER_NAME: name,
    LABKEEPER_WORKER_CONCURRENCY: '1',
    LABKEEPER_DATA_DIR: dataDir,
    GITLAB_URL: sim.url,
  });
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  s3 = await startS3Server('shared');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['app', 'lib']) {
    const project = sim.createProject({ namespaceId: group.id, path });
    projects[path] = project.id;
    tips[path] = sim.pushCommit(project.id, { files: { 'readme.md': `# ${path}\n` } });
    sim.createIssue(project.id, { title: `${path} crashes on start` });
  }
  api = await startTestApp({ gitlab: { url: sim.url }, worker: false });
  for (let i = 0; i < 3; i++) dataDirs.push(await mkdtemp(join(tmpdir(), 'labkeeper-worker-')));
  const first = startWorker('worker-a', dataDirs[0]);
  await first.started;
  const synced = first.logged((l) => l.msg === 'repository sync finished');
  const connected = await api.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`,
    {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        personalAccessToken: aToken(sim, alice.id).token,
        namespacePath: 'acme',
      },
    },
  );
  await synced;
  orgId = (
    await api.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, {
      c: connected.data.connectGitLab.connection.id,
    })
  ).data.organizations[0].id;
  const storage = await api.gql(`mutation($i: StorageSettingsInput!) { createStorage(input: $i) { storage { id } } }`, {
    i: {
      name: 'shared',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'shared',
      prefix: 'lk',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'a-secret-access-key-0123456789',
    },
  });
  expect(storage.errors).toBeUndefined();
  storageId = storage.data.createStorage.storage.id;
  const policy = await setPolicyStorage({ kind: 'STORAGE', storageId, replicaStorageIds: [] });
  expect(policy.errors).toBeUndefined();
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  await api?.stop();
  await sim?.close();
  await s3?.close();
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

const ITEMS = `query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace status snapshotId } } }`;
const SNAPSHOT = `query($id: ID!) { snapshot(id: $id) { copyType parentId } }`;
const latest: Record<string, string> = {};

describe('workers on separate data directories with an S3 primary', () => {
  it('share one run: each backs up a repository, and every artifact lands in S3, none on a local disk', async () => {
    const [first] = workers;
    // worker-a is inside its first repository's fetch while worker-b starts and takes the other one
    const held = sim.holdNext({ pathPattern: /\/git-upload-pack$/, method: 'POST' });
    const run = runBackup(api, orgId);
    await held.reached;
    const second = startWorker('worker-b', dataDirs[1]);
    const secondDone = second.logged((l) => l.msg === 'repository backed up');
    await second.started;
    const { path: secondPath } = await secondDone;
    held.release();
    const { runId, status } = await run;
    expect(status).toBe('SUCCEEDED');
    const firstDone = await first.logged((l) => l.msg === 'repository backed up' && l.runId === runId);
    expect([firstDone.path, secondPath].sort()).toEqual(['acme/app', 'acme/lib']);

    const items = (await api.gql(ITEMS, { id: runId })).data.backupRun.items as {
      pathWithNamespace: string;
      snapshotId: string;
    }[];
    const bucket = new S3Storage(s3.settings({ bucket: 'shared', prefix: 'lk' }));
    const keys = await collect(bucket.list(''));
    bucket.close();
    for (const item of items) {
      latest[item.pathWithNamespace] = item.snapshotId;
      const [{ storage_prefix: prefix }] = await api.app.dataSource.query(
        'SELECT storage_prefix FROM snapshots WHERE id = $1',
        [item.snapshotId],
      );
      expect(keys).toContain(`${prefix}/manifest.json`);
    }
    for (const dir of [dataDirs[0], dataDirs[1], api.app.config.dataDir])
      expect(await readdir(dir)).not.toContain('backups');
  });

  it('builds an incremental on a snapshot the other worker wrote, with no mirror of it on its own disk', async () => {
    await workers[0].stop(); // worker-a leaves; worker-b has never fetched acme/app
    for (const path of ['app', 'lib'])
      tips[path] = sim.pushCommit(projects[path], { files: { 'changes.md': `${path} changed\n` } });
    const { runId, status } = await runBackup(api, orgId);
    expect(status).toBe('SUCCEEDED');
    const items = (await api.gql(ITEMS, { id: runId })).data.backupRun.items as {
      pathWithNamespace: string;
      status: string;
      snapshotId: string;
    }[];
    const repositories = items.filter((i) => i.pathWithNamespace !== 'acme'); // the group's metadata item aside
    expect(repositories).toHaveLength(2);
    for (const item of repositories) {
      const snapshot = (await api.gql(SNAPSHOT, { id: item.snapshotId })).data.snapshot;
      expect({ path: item.pathWithNamespace, status: item.status, ...snapshot }).toEqual({
        path: item.pathWithNamespace,
        status: 'SUCCEEDED',
        copyType: 'INCREMENTAL',
        parentId: latest[item.pathWithNamespace],
      });
      latest[item.pathWithNamespace] = item.snapshotId;
    }
    expect(workers[1].log.filter((l) => l.msg === 'repository backed up' && l.runId === runId)).toHaveLength(2);
  });

  it('is restored and drilled by a third worker with an empty data directory, and verified by the API, from S3 alone', async () => {
    await workers[1].stop();
    for (const dir of dataDirs.slice(0, 2)) await rm(dir, { recursive: true, force: true });

    for (const path of ['acme/app', 'acme/lib']) {
      const r = await api.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, { id: latest[path] });
      expect(r.data.verifySnapshot).toEqual({ ok: true, problems: [] });
    }

    const bob = sim.createUser({ username: 'bob', email: 'bob@example.com', password: PASSWORD });
    sim.createGroup({ path: 'restored', ownerId: bob.id });
    const token = sim.createPersonalAccessToken(bob.id, { scopes: ['api'] }).token;
    const target = await api.gql(
      `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`,
      { i: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: sim.url, login: 'bob', personalAccessToken: token } },
    );
    // queued while no worker runs: the third worker starts once the subscriber listens
    const queued = await api.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
      i: {
        target: 'NEW_PROJECT',
        snapshotIds: [latest['acme/app'], latest['acme/lib']],
        targetConnectionId: target.data.connectGitLab.connection.id,
        namespacePath: 'restored',
      },
    });
    expect(queued.errors).toBeUndefined();
    const restoreRunId = queued.data.restoreSnapshot.id;
    const sub = subscribe<{ restoreProgress: { runId: string; isTerminal: boolean; done: number } }>(
      api.ws(),
      `subscription($r: ID!) { restoreProgress(runId: $r) { runId isTerminal done } }`,
      { r: restoreRunId },
    );
    await untilListening(
      sub,
      () =>
        api.app.pubSub.publish('RESTORE_PROGRESS', {
          runId: restoreRunId,
          organizationId: orgId,
          status: 'QUEUED',
          phase: 'QUEUED',
          done: -1,
          total: 0,
          message: null,
          isTerminal: false,
          at: '',
        }),
      (e) => e.restoreProgress.done === -1,
    );
    const third = startWorker('worker-c', dataDirs[2]);
    await sub.next((e) => e.restoreProgress.isTerminal);
    sub.dispose();
    const restored = (
      await api.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, { id: restoreRunId })
    ).data.restoreRun;
    expect(restored).toEqual({ status: 'SUCCEEDED', errorMessage: null });
    for (const path of ['app', 'lib']) {
      const response = await fetch(`${sim.url}/api/v4/projects/${encodeURIComponent(`restored/${path}`)}`, {
        headers: { 'private-token': token },
      });
      const { id, default_branch: branch } = (await response.json()) as { id: number; default_branch: string };
      expect(resolveRef(sim.repoPath(id), `refs/heads/${branch}`)).toBe(tips[path]);
      const issues = await fetch(`${sim.url}/api/v4/projects/${id}/issues`, { headers: { 'private-token': token } });
      expect(((await issues.json()) as { title: string }[]).map((i) => i.title)).toEqual([`${path} crashes on start`]);
    }

    const drill = await api.gql(`mutation($o: ID!) { runDrill(organizationId: $o) { id } }`, { o: orgId });
    expect(drill.errors).toBeUndefined();
    const drillRunId = drill.data.runDrill.id;
    await third.logged((l) => l.msg === 'drill finished' && l.drillRunId === drillRunId);
    const result = (
      await api.gql(`query($id: ID!) { drillRun(id: $id) { status errorMessage results { snapshotId status } } }`, {
        id: drillRunId,
      })
    ).data.drillRun;
    expect(result).toMatchObject({ status: 'PASSED', errorMessage: null });
    expect(result.results.length).toBeGreaterThan(0);
    expect(await readdir(dataDirs[2])).not.toContain('backups');
  });
});

async function setPolicyStorage(storage: Record<string, unknown>) {
  const SETTINGS = `scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } compression verifyAfterBackup`;
  const current = (
    await api.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
  ).data.policy.settings;
  return api.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    { o: orgId, i: { ...current, storage: { path: null, ...storage } } },
  );
}
