import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { runBackup } from '../support/backups.js';
import { aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

/** Git LFS objects: fetched through GitLab's batch API, stored once per repository, verified by content. */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'assets', lfsEnabled: true }).id;
  sim.pushLfsPointer(projectId, { path: 'logo.png', content: randomBytes(300_000) });
  sim.pushLfsPointer(projectId, { path: 'video.mp4', content: randomBytes(700_000) });
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

async function backup() {
  const { runId, status } = await runBackup(t, orgId);
  const [item] = (
    await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId warnings } } }`, { id: runId })
  ).data.backupRun.items;
  const snapshot = (
    await t.gql(`query($id: ID!) { snapshot(id: $id) { id copyType manifest verificationStatus } }`, {
      id: item.snapshotId,
    })
  ).data.snapshot;
  return { status, warnings: item.warnings, snapshot, manifest: JSON.parse(snapshot.manifest) };
}

const lfsDownloads = () =>
  sim.requests.filter((r) => /\/gitlab-lfs\/objects\//.test(r.path) && r.method === 'GET').length;
const objectFile = (oid: string) =>
  join(
    t.app.config.dataDir,
    'backups',
    'orgs',
    orgId,
    'repos',
    '*',
    'lfs',
    'objects',
    oid.slice(0, 2),
    oid.slice(2, 4),
    oid,
  );

describe('LFS objects', () => {
  it('are downloaded, stored once by their oid, and verified by content', async () => {
    const first = await backup();
    expect(first.status).toBe('SUCCEEDED');
    expect(first.snapshot.verificationStatus).toBe('VERIFIED');
    const oids = sim
      .lfsObjects(projectId)
      .map((o: { oid: string }) => o.oid)
      .sort();
    expect(first.manifest.lfs.objects.map((o: { oid: string }) => o.oid).sort()).toEqual(oids);
    expect(first.manifest.lfs).toMatchObject({ missing: [], failed: [] });
    const repoDir = (
      await t.gql(`query($id: ID!) { organization(id: $id) { repositories { nodes { id } } } }`, { id: orgId })
    ).data.organization.repositories.nodes[0].id;
    for (const oid of oids) {
      const stored = readFileSync(objectFile(oid).replace('*', repoDir));
      expect(createHash('sha256').update(stored).digest('hex')).toBe(oid);
    }
    // GitLab stores LFS objects for this project, so its pointers are looked for in a local mirror
    expect(existsSync(join(t.app.config.dataDir, 'mirrors', `${repoDir}.git`))).toBe(true);
  });

  it('fetches only the new object on the next backup, and keeps the chain restorable', async () => {
    const before = lfsDownloads();
    sim.pushLfsPointer(projectId, { path: 'new.bin', content: randomBytes(100_000) });
    const second = await backup();
    expect(second.snapshot.copyType).toBe('INCREMENTAL');
    expect(second.manifest.lfs.objects).toHaveLength(1);
    expect(lfsDownloads() - before).toBe(1);
    expect(second.snapshot.verificationStatus).toBe('VERIFIED');
  });

  it('says the repository’s latest snapshot holds LFS objects when its own range has none but its chain does', async () => {
    sim.pushCommit(projectId, { files: { 'notes.txt': 'a change without LFS objects\n' } });
    const third = await backup();
    expect(third.snapshot.copyType).toBe('INCREMENTAL');
    expect(third.manifest.lfs.objects).toHaveLength(0);
    const [row] = (
      await t.gql(
        `query($id: ID!) { organization(id: $id) { repositories { nodes { hasLfs latestSnapshot { id holdsWiki holdsLfsObjects } } } } }`,
        { id: orgId },
      )
    ).data.organization.repositories.nodes;
    expect(row.latestSnapshot).toEqual({ id: third.snapshot.id, holdsWiki: false, holdsLfsObjects: true });
  });

  it('lists an object GitLab cannot serve as missing, with a warning, and retries it next time', async () => {
    const content = randomBytes(50_000);
    const object = sim.pushLfsPointer(projectId, { path: 'lost.bin', content });
    sim.removeLfsObjectFile(object.oid);
    const third = await backup();
    expect(third.manifest.lfs.missing.map((m: { oid: string }) => m.oid)).toEqual([object.oid]);
    expect(third.warnings.join()).toMatch(/lfs: 1 object\(s\) missing/);

    sim.addLfsObject(projectId, content); // GitLab has it again
    sim.pushCommit(projectId, { files: { 'touch.txt': 'a change, so the repository is fetched\n' } });
    const before = lfsDownloads();
    const fourth = await backup();
    expect(lfsDownloads() - before).toBe(1);
    expect(fourth.manifest.lfs).toMatchObject({ missing: [], failed: [] });
    expect(fourth.manifest.lfs.objects.map((o: { oid: string }) => o.oid)).toContain(object.oid);
  });
});
