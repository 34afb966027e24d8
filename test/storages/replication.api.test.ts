import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { collect } from '../storage/storage-support.js';
import { S3Storage } from '../../server/src/storage/s3-storage.js';
import { nextJob, startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, PASSWORD } from '../support/gitlab-seed.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

/**
 * Replicas (3-2-1): a policy names a primary storage and a replica; each committed snapshot is
 * copied to the replica by a job (manifest last) and shows its copies. When the primary is damaged
 * — one artifact corrupted, another deleted — verifySnapshot names both, and a NEW_PROJECT restore
 * and a drill still succeed, reading the replica.
 */
let s3: TestS3Server;
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let primaryId: string;
let replicaId: string;
let snapshotId: string;
let prefix: string;

const CREATE = `mutation($i: StorageSettingsInput!) { createStorage(input: $i) { storage { id } } }`;
const storageSettings = (name: string, bucket: string) => ({
  name,
  endpoint: s3.endpoint,
  region: 'us-east-1',
  bucket,
  prefix: 'lk',
  accessKeyId: 'S3RVER',
  secretAccessKey: 'a-secret-access-key-0123456789',
});
const COPIES = `query($id: ID!) { snapshot(id: $id) { copies { storageId isPrimary status copiedAt verificationStatus error } } }`;

beforeAll(async () => {
  s3 = await startS3Server('primary');
  await s3.createBucket('replica');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'api' });
  sim.pushCommit(project.id, { files: { 'readme.md': '# api\n', 'src/main.c': 'int main() { return 0; }\n' } });
  sim.createIssue(project.id, { title: 'Crash on start' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  const created = async (name: string, bucketName: string) => {
    const r = await t.gql(CREATE, { i: storageSettings(name, bucketName) });
    expect(r.errors).toBeUndefined();
    return r.data.createStorage.storage.id as string;
  };
  primaryId = await created('primary', 'primary');
  replicaId = await created('offsite', 'replica');
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await s3?.close();
});

const bucket = (name: string) => new S3Storage(s3.settings({ bucket: name, prefix: 'lk' }));

describe('replication to a second S3 storage', () => {
  it('refuses a replica that is the primary or no storage, naming the field', async () => {
    for (const replicaStorageIds of [[primaryId], ['00000000-0000-4000-8000-000000000000']]) {
      const r = await setPolicyStorage({ kind: 'STORAGE', storageId: primaryId, replicaStorageIds });
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(Object.keys(r.errors![0].extensions!.fields)).toEqual(['input.storage.replicaStorageIds']);
    }
  });

  it('copies each committed snapshot to the replica, manifest included, and shows both copies', async () => {
    const r = await setPolicyStorage({ kind: 'STORAGE', storageId: primaryId, replicaStorageIds: [replicaId] });
    expect(r.errors).toBeUndefined();
    const { runId, status } = await runBackup(t, orgId);
    expect(status).toBe('SUCCEEDED');
    const items = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
      .backupRun.items as { snapshotId: string }[];
    snapshotId = items.find((i) => i.snapshotId)!.snapshotId;
    [{ storage_prefix: prefix }] = await t.app.dataSource.query('SELECT storage_prefix FROM snapshots WHERE id = $1', [
      snapshotId,
    ]);
    await allCopied(items.map((i) => i.snapshotId).filter(Boolean));

    const copies = (await t.gql(COPIES, { id: snapshotId })).data.snapshot.copies;
    expect(copies).toEqual([
      expect.objectContaining({ storageId: primaryId, isPrimary: true, status: 'COPIED' }),
      expect.objectContaining({ storageId: replicaId, isPrimary: false, status: 'COPIED', error: null }),
    ]);
    const [onPrimary, onReplica] = [bucket('primary'), bucket('replica')];
    const below = async (store: S3Storage) => (await collect(store.list(prefix))).sort();
    expect(await below(onReplica)).toEqual(await below(onPrimary));
    expect(await below(onReplica)).toContain(`${prefix}/manifest.json`);
    onPrimary.close();
    onReplica.close();
  });

  it('names the corrupted and the deleted artifact of the primary in verifySnapshot, the replica being sound', async () => {
    const primary = bucket('primary');
    const keys = await collect(primary.list(prefix));
    const bundle = keys.find((k) => k.endsWith('/repository.bundle'))!;
    const issues = keys.find((k) => /\/metadata\/issues\.jsonl/.test(k))!;
    const chunks: Buffer[] = [];
    for await (const chunk of await primary.open(bundle)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff; // same size, other bytes
    await primary.put(bundle, bytes, { overwrite: true });
    await primary.delete(issues);
    primary.close();

    const r = await t.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, { id: snapshotId });
    expect(r.data.verifySnapshot.ok).toBe(false);
    const problems = r.data.verifySnapshot.problems as string[];
    expect(problems.some((p) => p.includes('repository.bundle'))).toBe(true);
    expect(problems.some((p) => p.includes(issues.slice(prefix.length + 1)))).toBe(true);
    expect(problems.filter((p) => p.startsWith('replica'))).toEqual([]);
    const copies = (await t.gql(COPIES, { id: snapshotId })).data.snapshot.copies;
    expect(copies[0]).toMatchObject({ isPrimary: true, verificationStatus: 'FAILED' });
    expect(copies[1]).toMatchObject({ isPrimary: false, verificationStatus: 'VERIFIED', error: null });
  });

  it('restores to a NEW_PROJECT from the replica while the primary is damaged', async () => {
    const bob = sim.createUser({ username: 'bob', email: 'bob@example.com', password: PASSWORD });
    sim.createGroup({ path: 'restored', ownerId: bob.id });
    const token = sim.createPersonalAccessToken(bob.id, { scopes: ['api'] }).token;
    const target = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'bob',
        personalAccessToken: token,
      },
    });
    const run = await restore({
      target: 'NEW_PROJECT',
      snapshotIds: [snapshotId],
      targetConnectionId: target.data.connectGitLab.connection.id,
      namespacePath: 'restored',
    });
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorMessage: null });
    expect(run.report.snapshots[0].problems).toEqual([]);
    const issues = await fetch(`${sim.url}/api/v4/projects/${encodeURIComponent('restored/api')}/issues`, {
      headers: { 'private-token': token },
    });
    expect(((await issues.json()) as { title: string }[]).map((i) => i.title)).toEqual(['Crash on start']);
  });

  it('passes a drill from the replica while the primary is damaged', async () => {
    const done = nextJob(t, 'drill.run');
    const r = await t.gql(`mutation($o: ID!) { runDrill(organizationId: $o) { id } }`, { o: orgId });
    expect(r.errors).toBeUndefined();
    await done;
    const drill = (
      await t.gql(
        `query($id: ID!) { drillRun(id: $id) { status errorMessage results { snapshotId status differences } } }`,
        {
          id: r.data.runDrill.id,
        },
      )
    ).data.drillRun;
    expect(drill).toMatchObject({ status: 'PASSED', errorMessage: null });
    expect(drill.results).toContainEqual({ snapshotId, status: 'PASSED', differences: [] });
  });

  it('deletes a snapshot on every copy', async () => {
    const r = await t.gql(`mutation($id: ID!) { deleteSnapshot(id: $id) }`, { id: snapshotId });
    expect(r.errors).toBeUndefined();
    for (const name of ['primary', 'replica']) {
      const store = bucket(name);
      expect(await collect(store.list(prefix))).toEqual([]);
      store.close();
    }
    expect(await t.app.dataSource.query('SELECT * FROM snapshot_copies WHERE snapshot_id = $1', [snapshotId])).toEqual(
      [],
    );
  });
});

/** Waits for `snapshot.replicate` jobs until every copy of these snapshots is COPIED. */
async function allCopied(snapshotIds: string[]) {
  for (;;) {
    const next = nextJob(t, 'snapshot.replicate');
    const rows: { status: string }[] = await t.app.dataSource.query(
      'SELECT status FROM snapshot_copies WHERE snapshot_id = ANY($1)',
      [snapshotIds],
    );
    if (rows.length === snapshotIds.length && rows.every((r) => r.status === 'COPIED')) {
      next.catch(() => undefined);
      return;
    }
    expect(rows.filter((r) => r.status === 'FAILED')).toEqual([]);
    await next;
  }
}

async function setPolicyStorage(storage: Record<string, unknown>) {
  const SETTINGS = `scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } compression verifyAfterBackup`;
  const current = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
  ).data.policy.settings;
  return t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    { o: orgId, i: { ...current, storage: { path: null, ...storage } } },
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
  return (
    await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage report { snapshots { problems } } } }`, {
      id: runId,
    })
  ).data.restoreRun;
}
