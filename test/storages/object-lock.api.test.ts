import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { FakeClock } from '../../server/src/shared/clock.js';
import { S3Storage } from '../../server/src/storage/s3-storage.js';
import { collect } from '../storage/storage-support.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

/**
 * Immutability: a storage may require S3 Object Lock (refused, naming the field, when the bucket
 * has none); its snapshots are written with a retain-until date; deleting one before that date
 * is refused with the date named, and retention keeps it until then.
 */
const DAY_MS = 86_400_000;
let s3: TestS3Server;
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
let storageId: string;
const clock = new FakeClock(new Date());

const CREATE = `mutation($i: StorageSettingsInput!) { createStorage(input: $i) {
  storage { id objectLockMode objectLockDays } test { objectLock } } }`;
const settings = (overrides: Record<string, unknown> = {}) => ({
  name: 'vault',
  endpoint: s3.endpoint,
  region: 'us-east-1',
  bucket: 'vault',
  prefix: 'lk',
  accessKeyId: 'S3RVER',
  secretAccessKey: 'a-secret-access-key-0123456789',
  objectLockMode: 'GOVERNANCE',
  objectLockDays: 1,
  ...overrides,
});

beforeAll(async () => {
  s3 = await startS3Server('plain');
  await s3.enableObjectLock('vault');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'api' }).id;
  sim.pushCommit(projectId, { files: { 'readme.md': '# api\n' } });
  t = await startTestApp({ gitlab: { url: sim.url }, clock });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await s3?.close();
});

const storageCount = async () => {
  const [{ n }] = await t.app.dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM storages');
  return n;
};

describe('S3 Object Lock', () => {
  it('is refused at createStorage when the bucket has no Object Lock, naming the field; nothing is saved', async () => {
    const r = await t.gql(CREATE, { i: settings({ name: 'plain', bucket: 'plain' }) });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(r.errors![0].extensions!.fields['input.objectLockMode']).toMatch(
      /no Object Lock enabled \(ObjectLockConfigurationNotFoundError\)/,
    );
    expect(await storageCount()).toBe(0);
  });

  it('is accepted on a bucket with Object Lock, which testStorage reports', async () => {
    const r = await t.gql(CREATE, { i: settings() });
    expect(r.errors).toBeUndefined();
    expect(r.data.createStorage).toMatchObject({
      storage: { objectLockMode: 'GOVERNANCE', objectLockDays: 1 },
      test: { objectLock: true },
    });
    storageId = r.data.createStorage.storage.id;
    const tested = await t.gql(`mutation($id: ID!) { testStorage(id: $id) { objectLock } }`, { id: storageId });
    expect(tested.data.testStorage).toEqual({ objectLock: true });
  });

  let first: { id: string; lockedUntil: Date; prefix: string };

  it('writes snapshots with a retain-until date, recorded on the snapshot', async () => {
    expect((await setPolicy({ kind: 'STORAGE', storageId })).errors).toBeUndefined();
    const before = Date.now();
    expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
    const [row] = await t.app.dataSource.query(
      'SELECT id, locked_until, storage_prefix FROM snapshots WHERE repository_id IS NOT NULL',
    );
    first = { id: row.id, lockedUntil: row.locked_until, prefix: row.storage_prefix };
    expect(first.lockedUntil.getTime()).toBeGreaterThanOrEqual(before + DAY_MS - 1000);
    expect(first.lockedUntil.getTime()).toBeLessThanOrEqual(Date.now() + DAY_MS + 1000);
    const vault = new S3Storage(s3.settings({ bucket: 'vault', prefix: 'lk' }));
    const head = await vault.client.send(
      new HeadObjectCommand({ Bucket: 'vault', Key: vault.objectKey(`${first.prefix}/manifest.json`) }),
    );
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(first.lockedUntil.toISOString());
    // the server itself refuses to delete a locked object
    await expect(vault.delete(`${first.prefix}/manifest.json`)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    vault.close();
  });

  it('refuses to delete a locked snapshot, naming the lock date, and deletes nothing', async () => {
    const r = await t.gql(`mutation($id: ID!) { deleteSnapshot(id: $id) }`, { id: first.id });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'SNAPSHOT_LOCKED' });
    expect(r.errors![0].message).toContain(`under Object Lock until ${first.lockedUntil.toISOString()}`);
    const vault = new S3Storage(s3.settings({ bucket: 'vault', prefix: 'lk' }));
    expect(await collect(vault.list(first.prefix))).toContain(`${first.prefix}/manifest.json`);
    vault.close();
    expect(await t.app.dataSource.query('SELECT id FROM snapshots WHERE id = $1', [first.id])).toHaveLength(1);
  });

  it('is skipped by retention until its lock date, then pruned', async () => {
    expect((await setPolicy({ kind: 'STORAGE', storageId }, { mode: 'BY_COUNT', keepLast: 1 })).errors).toBeUndefined();
    sim.pushCommit(projectId, { files: { 'readme.md': '# api, second\n' } });
    clock.advance(60_000);
    expect((await runBackup(t, orgId, { copyType: 'FULL' })).status).toBe('SUCCEEDED');

    const kept = await t.app.services.retention.prune(orgId);
    expect(kept[orgId].forget.map((d) => d.id)).not.toContain(first.id);
    expect(kept[orgId].keep.find((d) => d.id === first.id)?.reasons).toContain(
      `under Object Lock until ${first.lockedUntil.toISOString()} (retention tries again after that date)`,
    );
    expect(await t.app.dataSource.query('SELECT id FROM snapshots WHERE id = $1', [first.id])).toHaveLength(1);

    clock.set(new Date(first.lockedUntil.getTime() + 1000));
    s3.advanceTime(first.lockedUntil.getTime() + 1000 - Date.now());
    const pruned = await t.app.services.retention.prune(orgId);
    expect(pruned[orgId].forget.map((d) => d.id)).toContain(first.id);
    expect(await t.app.dataSource.query('SELECT id FROM snapshots WHERE id = $1', [first.id])).toHaveLength(0);
  });
});

async function setPolicy(storage: Record<string, unknown>, retention?: Record<string, unknown>) {
  const SETTINGS = `scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } compression verifyAfterBackup`;
  const current = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
  ).data.policy.settings;
  return t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    {
      o: orgId,
      i: {
        ...current,
        schedule: { type: 'MANUAL' },
        ...(retention ? { retention } : {}),
        storage: { path: null, ...storage },
      },
    },
  );
}
