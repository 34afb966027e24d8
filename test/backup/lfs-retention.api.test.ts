import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { repositoryLockName } from '../../server/src/backup/repository-lock.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { runBackup } from '../support/backups.js';
import { aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

/** Retention and LFS objects: shared per repository, deleted once no remaining manifest lists them. */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
let repositoryId: string;
const kept = { oid: '' };
const dropped = { oid: '' };

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'media', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'assets', lfsEnabled: true }).id;
  kept.oid = sim.pushLfsPointer(projectId, { path: 'logo.png', content: randomBytes(20_000) }).oid;
  sim.createBranch(projectId, { branch: 'experiment' });
  dropped.oid = sim.pushLfsPointer(projectId, {
    path: 'draft.mp4',
    content: randomBytes(30_000),
    branch: 'experiment',
  }).oid;
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'media',
    includeGroups: false,
  }));
  repositoryId = (
    await t.gql(`query($id: ID!) { organization(id: $id) { repositories { nodes { id } } } }`, { id: orgId })
  ).data.organization.repositories.nodes[0].id;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const objectFile = (oid: string) =>
  join(
    t.app.config.dataDir,
    'backups',
    'orgs',
    orgId,
    'repos',
    repositoryId,
    'lfs',
    'objects',
    oid.slice(0, 2),
    oid.slice(2, 4),
    oid,
  );

async function fullBackup() {
  const { runId, status } = await runBackup(t, orgId, { copyType: 'FULL' });
  expect(status).toBe('SUCCEEDED');
  const [item] = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
    .backupRun.items;
  return item.snapshotId as string;
}

describe('retention of LFS objects', () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    first = await fullBackup(); // lists both objects
    execFileSync('git', ['update-ref', '-d', 'refs/heads/experiment'], { cwd: sim.repoPath(projectId) }); // the branch is deleted upstream
    second = await fullBackup(); // lists only the object still reachable
    const current = (
      await t.gql(
        `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type } timeZone storage { kind path } compression verifyAfterBackup } } }`,
        { o: orgId },
      )
    ).data.policy.settings;
    const changed = await t.gql(
      `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
      {
        o: orgId,
        i: { ...current, schedule: { type: 'MANUAL' }, retention: { mode: 'BY_COUNT', keepLast: 1 } },
      },
    );
    expect(changed.errors).toBeUndefined();
  });

  it('leaves the objects alone while the repository is being backed up, even when its snapshots go', async () => {
    expect(existsSync(objectFile(dropped.oid))).toBe(true);
    // Hold the lock a backup of this repository holds, from another connection, as another worker would.
    const other = t.app.dataSource.createQueryRunner();
    await other.connect();
    const lock = repositoryLockName({ repositoryId });
    try {
      await other.query('SELECT pg_advisory_lock(hashtext($1))', [lock]);
      const decisions = await t.app.services.retention.prune(orgId);
      expect(decisions[orgId].forget.map((d) => d.id)).toEqual([first]);
      expect(existsSync(objectFile(dropped.oid))).toBe(true);
    } finally {
      await other.query('SELECT pg_advisory_unlock(hashtext($1))', [lock]);
      await other.release();
    }
  });

  it('deletes the objects no remaining manifest lists, and keeps the ones a snapshot still needs', async () => {
    await t.app.services.retention.prune(orgId);
    expect(existsSync(objectFile(dropped.oid))).toBe(false);
    expect(existsSync(objectFile(kept.oid))).toBe(true);
    const { result } = await t.app.services.snapshots.verify(second);
    expect(result).toMatchObject({ ok: true, problems: [] });
  });
});
