import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { collect } from '../storage/storage-support.js';
import { S3Storage } from '../../server/src/storage/s3-storage.js';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, PASSWORD } from '../support/gitlab-seed.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

/**
 * Storages as first-class objects: settings checked against a real S3 server (s3rver) before they
 * are saved, the secret key kept in the Password Manager and never returned, and a policy whose
 * primary storage is S3 backs up, verifies and restores from it.
 */
let s3: TestS3Server;
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
const SECRET = 'a-secret-access-key-0123456789';

beforeAll(async () => {
  s3 = await startS3Server('backups');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'api' });
  sim.pushCommit(project.id, { files: { 'readme.md': '# api\n' } });
  sim.createIssue(project.id, { title: 'Crash on start' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await s3?.close();
});

const CREATE = `mutation($i: StorageSettingsInput!) { createStorage(input: $i) {
  storage { id name endpoint bucket prefix forcePathStyle accessKeyId secretCredentialId conditionalWrites }
  test { location writeMs readMs listMs deleteMs conditionalWrites } } }`;
const settings = (overrides: Record<string, unknown> = {}) => ({
  name: 'offsite',
  endpoint: s3.endpoint,
  region: 'us-east-1',
  bucket: 'backups',
  prefix: 'labkeeper',
  accessKeyId: 'S3RVER',
  secretAccessKey: SECRET,
  ...overrides,
});
const counts = async () => {
  const [[s], [c]] = await Promise.all([
    t.app.dataSource.query('SELECT count(*)::int AS n FROM storages'),
    t.app.dataSource.query('SELECT count(*)::int AS n FROM credentials'),
  ]);
  return { storages: s.n as number, credentials: c.n as number };
};

describe('createStorage refuses settings the server refuses, naming the field, and saves nothing', () => {
  it.each([
    ['a missing bucket', { bucket: 'no-such-bucket' }, 'input.bucket', /bucket does not exist \(NoSuchBucket/],
    ['a wrong access key', { accessKeyId: 'NOT-A-KEY' }, 'input.accessKeyId', /access key id is not known/],
    ['a secret key too short to keep', { secretAccessKey: 'S3RVER' }, 'input.secretAccessKey', /at least 8 characters/],
    ['a wrong endpoint', { endpoint: 'http://127.0.0.1:1' }, 'input.endpoint', /connection was refused/],
    ['a malformed endpoint', { endpoint: 'ftp://x' }, 'input.endpoint', /http\(s\) URL/],
    ['a malformed bucket name', { bucket: 'Not_A_Bucket' }, 'input.bucket', /lowercase/],
  ])('%s', async (_what, overrides, field, reason) => {
    const before = await counts();
    const r = await t.gql(CREATE, { i: settings(overrides) });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(r.errors![0].extensions!.fields[field]).toMatch(reason);
    expect(JSON.stringify(r)).not.toContain(SECRET);
    expect(await counts()).toEqual(before);
  });
});

describe('a storage on S3', () => {
  let storageId: string;
  let snapshotId: string;

  it('is created after a probe write, read, list and delete, with its secret in the Password Manager only', async () => {
    const r = await t.gql(CREATE, { i: settings() });
    expect(r.errors).toBeUndefined();
    const { storage, test } = r.data.createStorage;
    storageId = storage.id;
    expect(storage).toMatchObject({ name: 'offsite', bucket: 'backups', prefix: 'labkeeper', forcePathStyle: true });
    expect(test).toMatchObject({
      conditionalWrites: true,
      location: expect.stringContaining('s3://backups/labkeeper/'),
    });
    expect(JSON.stringify(r)).not.toContain(SECRET);
    const [row] = await t.app.dataSource.query('SELECT * FROM storages WHERE id = $1', [storageId]);
    expect(JSON.stringify(row)).not.toContain(SECRET);
    const credential = await t.gql(`{ credentials { id kind fingerprint } }`);
    expect(credential.data.credentials).toContainEqual({
      id: storage.secretCredentialId,
      kind: 'PASSWORD',
      fingerprint: `…${SECRET.slice(-4)}`,
    });
    const probe = new S3Storage(s3.settings({ bucket: 'backups', prefix: 'labkeeper' }));
    expect(await collect(probe.list(''))).toEqual([]); // the probe object is gone
    probe.close();
    const listed = await t.gql(`{ storages { id name accessKeyId } }`);
    expect(listed.data.storages).toEqual([{ id: storageId, name: 'offsite', accessKeyId: 'S3RVER' }]);
  });

  it('answers testStorage with timings and what the server supports', async () => {
    const r = await t.gql(`mutation($id: ID!) { testStorage(id: $id) { writeMs readMs deleteMs conditionalWrites } }`, {
      id: storageId,
    });
    expect(r.errors).toBeUndefined();
    expect(r.data.testStorage.conditionalWrites).toBe(true);
    expect(r.data.testStorage.writeMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps one client per storage while it is not edited: using its secret is no edit', async () => {
    const [{ secret_credential_id: credentialId }] = await t.app.dataSource.query(
      'SELECT secret_credential_id FROM storages WHERE id = $1',
      [storageId],
    );
    const credentialOf = async () =>
      (await t.gql(`{ credentials { id updatedAt lastUsedAt } }`)).data.credentials.find(
        (c: { id: string }) => c.id === credentialId,
      );
    const before = await credentialOf();
    const first = await t.app.services.storages.backend(storageId);
    const again = await t.app.services.storages.backend(storageId);
    // A new client per call closed the previous one, cutting every transfer still in flight on it.
    expect(again).toBe(first);
    const after = await credentialOf();
    expect(after.updatedAt).toBe(before.updatedAt);
    expect(after.lastUsedAt).not.toBeNull();
  });

  it('refuses a policy naming a storage that does not exist, naming the field', async () => {
    const r = await setPolicyStorage({ kind: 'STORAGE', storageId: '00000000-0000-4000-8000-000000000000' });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(Object.keys(r.errors![0].extensions!.fields)).toEqual(['input.storage.storageId']);
  });

  it('is where a policy naming it backs up to: verify and a NEW_PROJECT restore read from S3', async () => {
    const r = await setPolicyStorage({ kind: 'STORAGE', storageId });
    expect(r.errors).toBeUndefined();
    const { runId, status, problems } = await runBackup(t, orgId);
    expect({ status, problems }).toEqual({ status: 'SUCCEEDED', problems: [] });
    const items = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
      .backupRun.items;
    snapshotId = items[0].snapshotId;
    const [row] = await t.app.dataSource.query('SELECT storage_root FROM snapshots WHERE id = $1', [snapshotId]);
    expect(row.storage_root).toBe(`storage:${storageId}`);
    const inBucket = new S3Storage(s3.settings({ bucket: 'backups', prefix: 'labkeeper' }));
    const keys = await collect(inBucket.list(''));
    inBucket.close();
    expect(keys).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`${snapshotId}/manifest.json$`))]));
    expect(keys.some((k) => k.endsWith('.bundle'))).toBe(true);

    const verified = await t.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, { id: snapshotId });
    expect(verified.data.verifySnapshot).toEqual({ ok: true, problems: [] });

    const bob = sim.createUser({ username: 'bob', email: 'bob@example.com', password: PASSWORD });
    sim.createGroup({ path: 'restored', ownerId: bob.id });
    const target = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'bob',
        personalAccessToken: sim.createPersonalAccessToken(bob.id, { scopes: ['api'] }).token,
      },
    });
    const run = await restore({
      target: 'NEW_PROJECT',
      snapshotIds: [snapshotId],
      targetConnectionId: target.data.connectGitLab.connection.id,
      namespacePath: 'restored',
    });
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorMessage: null });
  });

  it('says what it holds: its snapshots and their bytes', async () => {
    const [row] = await t.app.dataSource.query(
      `SELECT count(*)::int AS n, sum(size_bytes)::text AS bytes FROM snapshots WHERE storage_root = $1`,
      [`storage:${storageId}`],
    );
    const r = await t.gql(`{ storages { id usage { primarySnapshots replicaCopies bytes } } }`);
    expect(r.data.storages).toEqual([
      { id: storageId, usage: { primarySnapshots: row.n, replicaCopies: 0, bytes: Number(row.bytes) } },
    ]);
    expect(row.n).toBeGreaterThan(0);
  });

  it('refuses to delete a storage while snapshots live there, naming them and the policy in words', async () => {
    const r = await t.gql(`mutation($id: ID!) { deleteStorage(id: $id) }`, { id: storageId });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'STORAGE_IN_USE' });
    expect(r.errors![0].message).toMatch(
      /is still used: \d+ snapshots?, the policy of acme \(as its primary storage\)$/,
    );
    expect((await counts()).storages).toBe(1);
  });
});

async function setPolicyStorage(storage: Record<string, unknown>) {
  const SETTINGS = `scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } compression verifyAfterBackup`;
  const current = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
  ).data.policy.settings;
  return t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    {
      o: orgId,
      i: { ...current, storage: { path: null, ...storage } },
    },
  );
}

async function restore(input: Record<string, unknown>) {
  await t.app.jobStore.agenda.stop(); // hold the worker until the subscriber listens
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, { i: input });
  expect(r.errors).toBeUndefined();
  const runId = r.data.restoreSnapshot.id;
  const sub = subscribe<{ restoreProgress: { runId: string; isTerminal: boolean; done: number } }>(
    t.ws(),
    `subscription($r: ID!) { restoreProgress(runId: $r) { runId isTerminal done } }`,
    { r: runId },
  );
  await untilListening(
    sub,
    () =>
      t.app.pubSub.publish('RESTORE_PROGRESS', {
        runId,
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
  await t.app.jobStore.agenda.start();
  await sub.next((e) => e.restoreProgress.isTerminal);
  sub.dispose();
  return (await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, { id: runId })).data
    .restoreRun;
}
