import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { FakeClock } from '../../server/src/shared/clock.js';
import { S3Storage } from '../../server/src/storage/s3-storage.js';
import { collect } from '../storage/storage-support.js';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

/**
 * Object Lock on a replica: a policy whose primary is a local directory copies each snapshot to an
 * S3 storage that writes under Object Lock. The copy records the date its lock ends; deleting the
 * snapshot before then is refused with that date and the replica's storage named, and retention
 * keeps it until then, as for a locked primary, and deletes it on every copy afterwards.
 */
const DAY_MS = 86_400_000;
let s3: TestS3Server;
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
let vaultId: string;
const clock = new FakeClock(new Date());

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
  const created = await t.gql(`mutation($i: StorageSettingsInput!) { createStorage(input: $i) { storage { id } } }`, {
    i: {
      name: 'vault',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'vault',
      prefix: 'lk',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'a-secret-access-key-0123456789',
      objectLockMode: 'GOVERNANCE',
      objectLockDays: 1,
    },
  });
  expect(created.errors).toBeUndefined();
  vaultId = created.data.createStorage.storage.id;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await s3?.close();
});

const vault = () => new S3Storage(s3.settings({ bucket: 'vault', prefix: 'lk' }));
const COPIES = `query($id: ID!) { snapshot(id: $id) { copies { storageId isPrimary status lockedUntil } } }`;

describe('Object Lock on a replica copy', () => {
  let first: { id: string; prefix: string; lockedUntil: Date };

  it('records the date the lock of the copy ends, as the replica storage set it', async () => {
    expect((await setPolicy({ kind: 'LOCAL', replicaStorageIds: [vaultId] })).errors).toBeUndefined();
    const before = Date.now();
    expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
    await allCopied();
    const [row] = await t.app.dataSource.query(
      `SELECT s.id, s.storage_prefix, s.locked_until AS primary_lock, c.locked_until
         FROM snapshots s JOIN snapshot_copies c ON c.snapshot_id = s.id WHERE s.repository_id IS NOT NULL`,
    );
    first = { id: row.id, prefix: row.storage_prefix, lockedUntil: row.locked_until };
    expect(row.primary_lock).toBeNull(); // a local directory has no lock
    expect(first.lockedUntil.getTime()).toBeGreaterThanOrEqual(before + DAY_MS - 1000);
    expect(first.lockedUntil.getTime()).toBeLessThanOrEqual(Date.now() + DAY_MS + 1000);

    const store = vault();
    const head = await store.client.send(
      new HeadObjectCommand({ Bucket: 'vault', Key: store.objectKey(`${first.prefix}/manifest.json`) }),
    );
    store.close();
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(first.lockedUntil.toISOString());
    const copies = (await t.gql(COPIES, { id: first.id })).data.snapshot.copies;
    expect(copies).toEqual([
      { storageId: null, isPrimary: true, status: 'COPIED', lockedUntil: null },
      { storageId: vaultId, isPrimary: false, status: 'COPIED', lockedUntil: first.lockedUntil.toISOString() },
    ]);
  });

  it('refuses to delete the snapshot, naming the replica storage and the lock date, and deletes no copy', async () => {
    const r = await t.gql(`mutation($id: ID!) { deleteSnapshot(id: $id) }`, { id: first.id });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'SNAPSHOT_LOCKED' });
    expect(r.errors![0].message).toBe(
      `snapshot ${first.id} is under Object Lock on its replica in storage "vault" until ${first.lockedUntil.toISOString()}; it cannot be deleted before then`,
    );
    const store = vault();
    expect(await collect(store.list(first.prefix))).toContain(`${first.prefix}/manifest.json`);
    store.close();
    expect(await t.app.dataSource.query('SELECT id FROM snapshots WHERE id = $1', [first.id])).toHaveLength(1);
  });

  it('is kept by retention until the lock date, then deleted on every copy', async () => {
    const keepOne = { mode: 'BY_COUNT', keepLast: 1 };
    expect((await setPolicy({ kind: 'LOCAL', replicaStorageIds: [vaultId] }, keepOne)).errors).toBeUndefined();
    sim.pushCommit(projectId, { files: { 'readme.md': '# api, second\n' } });
    clock.advance(60_000);
    expect((await runBackup(t, orgId, { copyType: 'FULL' })).status).toBe('SUCCEEDED');
    await allCopied();

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
    const store = vault();
    expect(await collect(store.list(first.prefix))).toEqual([]);
    store.close();
  });
});

/** Waits, job by job, until every replica copy is COPIED. */
async function allCopied() {
  for (;;) {
    const next = nextJob(t, 'snapshot.replicate');
    const rows: { status: string }[] = await t.app.dataSource.query('SELECT status FROM snapshot_copies');
    if (rows.length > 0 && rows.every((r) => r.status === 'COPIED')) {
      next.catch(() => undefined);
      return;
    }
    expect(rows.filter((r) => r.status === 'FAILED')).toEqual([]);
    await next;
  }
}

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
