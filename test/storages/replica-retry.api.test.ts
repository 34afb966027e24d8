import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

/**
 * A replica copy that failed (its bucket gone) is retried by itself, with backoff, and completes
 * once the bucket is back — no new backup and no hand retry needed.
 */
let s3: TestS3Server;
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let replicaId: string;
let primaryId: string;
let projectId: number;

beforeAll(async () => {
  s3 = await startS3Server('primary');
  await s3.createBucket('replica');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'api' });
  projectId = project.id;
  sim.pushCommit(project.id, { files: { 'readme.md': '# api\n' } });
  t = await startTestApp({ gitlab: { url: sim.url }, env: { LABKEEPER_REPLICATION_RETRY_MS: '200' } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
  const created = async (name: string, bucket: string) => {
    const r = await t.gql(`mutation($i: StorageSettingsInput!) { createStorage(input: $i) { storage { id } } }`, {
      i: {
        name,
        endpoint: s3.endpoint,
        region: 'us-east-1',
        bucket,
        prefix: 'lk',
        accessKeyId: 'S3RVER',
        secretAccessKey: 'a-secret-access-key-0123456789',
      },
    });
    expect(r.errors).toBeUndefined();
    return r.data.createStorage.storage.id as string;
  };
  primaryId = await created('primary', 'primary');
  replicaId = await created('offsite', 'replica');
  const SETTINGS = `scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } compression verifyAfterBackup`;
  const current = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
  ).data.policy.settings;
  const policy = await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    {
      o: orgId,
      i: { ...current, storage: { path: null, kind: 'STORAGE', storageId: primaryId, replicaStorageIds: [replicaId] } },
    },
  );
  expect(policy.errors).toBeUndefined();
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await s3?.close();
});

type Copy = { status: string; attempts: number; error: string | null };
const copyOf = async (snapshotId: string): Promise<Copy> =>
  (
    await t.app.dataSource.query('SELECT status, attempts, error FROM snapshot_copies WHERE snapshot_id = $1', [
      snapshotId,
    ])
  )[0];

/** Waits for `snapshot.replicate` jobs until the copy satisfies `done`. */
async function until(snapshotId: string, done: (copy: Copy) => boolean): Promise<Copy> {
  for (;;) {
    const next = nextJob(t, 'snapshot.replicate');
    const copy = await copyOf(snapshotId);
    if (copy && done(copy)) {
      next.catch(() => undefined);
      return copy;
    }
    await next;
  }
}

describe('a failed replica copy', () => {
  it('is retried by itself with backoff and completes once the replica is reachable again', async () => {
    await rm(join(s3.directory, 'replica'), { recursive: true, force: true }); // the bucket is gone
    const { runId, status } = await runBackup(t, orgId);
    expect(status).toBe('SUCCEEDED');
    const [{ snapshot_id: snapshotId }] = await t.app.dataSource.query(
      'SELECT snapshot_id FROM backup_run_items WHERE run_id = $1 AND snapshot_id IS NOT NULL',
      [runId],
    );
    const failed = await until(snapshotId, (c) => c.status === 'FAILED');
    expect(failed.error).toMatch(/bucket does not exist/);
    const second = await until(snapshotId, (c) => c.attempts >= 2 && c.status !== 'COPYING');
    expect(second).toMatchObject({ status: 'FAILED', attempts: 2 });

    await s3.createBucket('replica'); // back
    const copied = await until(snapshotId, (c) => c.status === 'COPIED');
    expect(copied).toMatchObject({ status: 'COPIED', error: null });
    expect(copied.attempts).toBeGreaterThanOrEqual(3);
    expect(copied.attempts).toBeLessThanOrEqual(5);
  });

  it('gives up after five attempts, leaving the copy FAILED with its reason and no retry queued', async () => {
    await rm(join(s3.directory, 'replica'), { recursive: true, force: true });
    sim.pushCommit(projectId, { files: { 'changes.md': 'changed\n' } });
    const { runId, status } = await runBackup(t, orgId);
    expect(status).toBe('SUCCEEDED');
    const [{ snapshot_id: snapshotId }] = await t.app.dataSource.query(
      'SELECT snapshot_id FROM backup_run_items WHERE run_id = $1 AND snapshot_id IS NOT NULL',
      [runId],
    );
    const last = await until(snapshotId, (c) => c.attempts === 5 && c.status === 'FAILED');
    expect(last.error).toMatch(/bucket does not exist/);
    const queued = await t.app.dataSource.query(
      `SELECT id FROM agenda_jobs WHERE name = 'snapshot.replicate' AND data->>'snapshotId' = $1 AND next_run_at IS NOT NULL AND locked_at IS NULL`,
      [snapshotId],
    );
    expect(queued).toEqual([]);
  });
});
