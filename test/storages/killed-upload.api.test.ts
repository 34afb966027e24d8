import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { collect } from '../storage/storage-support.js';
import { S3Storage } from '../../server/src/storage/s3-storage.js';
import { subscribe, untilListening, startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * A worker SIGKILLed in the middle of a multipart upload of a repository's bundle to S3: nothing
 * of it is visible under the snapshot's keys, the worker that takes the job over finishes the run,
 * and the killed upload (its parts, invisible but billed) is aborted when the retry clears the
 * snapshot's leftovers.
 */
const LOCK_LIFETIME_MS = '600000';
let s3: TestS3Server;
let sim: GitLabSimulator;
let api: TestApp;
let orgId: string;
const workers: WorkerProcess[] = [];

function startWorker(name: string): WorkerProcess {
  const worker = startWorkerProcess(api, {
    LABKEEPER_WORKER_NAME: name,
    LABKEEPER_JOB_LOCK_LIFETIME_MS: LOCK_LIFETIME_MS,
    GITLAB_URL: sim.url,
  });
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  s3 = await startS3Server('backups');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'big' });
  // incompressible enough that the bundle spans more than one 8 MiB part
  sim.pushCommit(project.id, { files: { 'data.txt': randomBytes(14 * 1024 * 1024).toString('base64') } });
  api = await startTestApp({ gitlab: { url: sim.url }, worker: false });
  const doomed = startWorker('doomed');
  await doomed.started;
  const synced = doomed.logged((l) => l.msg === 'repository sync finished');
  const connected = await api.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`,
    {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        personalAccessToken: aToken(sim, alice.id).token,
        namespacePath: 'acme',
        includeGroups: false,
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
      name: 'backups',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'backups',
      prefix: 'lk',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'a-secret-access-key-0123456789',
    },
  });
  expect(storage.errors).toBeUndefined();
  const SETTINGS = `scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } compression verifyAfterBackup`;
  const current = (
    await api.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
  ).data.policy.settings;
  const policy = await api.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    {
      o: orgId,
      i: {
        ...current,
        storage: {
          path: null,
          kind: 'STORAGE',
          storageId: storage.data.createStorage.storage.id,
          replicaStorageIds: [],
        },
      },
    },
  );
  expect(policy.errors).toBeUndefined();
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  await api?.stop();
  await sim?.close();
  await s3?.close();
});

type Progress = { backupProgress: { runId: string; runStatus: string; isTerminal: boolean } };

describe('a worker SIGKILLed during a multipart upload to S3', () => {
  it('leaves nothing visible, the run converges after takeover, and the killed upload is aborted', async () => {
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
    const held = s3.holdNext((r) => r.method === 'PUT' && 'uploadId' in r.query && /repository\.bundle/.test(r.key));
    const run = await api.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
    const runId = run.data.runNow.id;
    const part = await held.reached;
    const [{ snapshot_id: snapshotId }] = await api.app.dataSource.query(
      'SELECT snapshot_id FROM backup_run_items WHERE run_id = $1',
      [runId],
    );
    expect(part.key).toContain(snapshotId);
    const rescuer = startWorker('rescuer');
    await rescuer.started;
    workers[0].child.kill('SIGKILL');
    await workers[0].exited;
    held.release();

    const bucket = new S3Storage(s3.settings({ bucket: 'backups', prefix: 'lk' }));
    // between the kill and the takeover: an upload in progress, nothing of the snapshot visible
    expect((await collect(bucket.list(''))).filter((k) => k.includes(snapshotId))).toEqual([]);
    expect(await s3.pendingUploadParts()).not.toEqual([]);

    const terminal = await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal);
    sub.dispose();
    expect(terminal.backupProgress.runStatus).toBe('SUCCEEDED');
    const items = (
      await api.gql(
        `query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace status attempts snapshotId } } }`,
        {
          id: runId,
        },
      )
    ).data.backupRun.items;
    expect(items).toEqual([{ pathWithNamespace: 'acme/big', status: 'SUCCEEDED', attempts: 2, snapshotId }]);
    const keys = (await collect(bucket.list(''))).filter((k) => k.includes(snapshotId));
    expect(keys.filter((k) => /repository\.bundle/.test(k))).toHaveLength(1);
    expect(keys.filter((k) => k.endsWith('/manifest.json'))).toHaveLength(1);
    expect(await s3.pendingUploadParts()).toEqual([]);
    const verified = await api.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, {
      id: snapshotId,
    });
    expect(verified.data.verifySnapshot).toEqual({ ok: true, problems: [] });
    bucket.close();
  });
});
