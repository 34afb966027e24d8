/**
 * A project deleted upstream is an anomaly, not a silent disappearance: a repository sync that no
 * longer finds it records REPOSITORY_DELETED_UPSTREAM on its last snapshot and pins that snapshot
 * (a person cannot delete it by hand, retention keeps it), and the repository stays listed and
 * protected, marked deleted upstream. (The system hook path, project_destroy, is in
 * event-backups.api.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let libProjectId: number;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  sim.createProject({ namespaceId: group.id, path: 'app' });
  libProjectId = sim.createProject({ namespaceId: group.id, path: 'lib' }).id;
  t = await startTestApp({ gitlab: { url: sim.url } });
  orgId = (await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' })).organizationId;
});

afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const REPOSITORIES = `query($o: ID!) { organization(id: $o) {
  repositories(first: 10, includeDeletedUpstream: true) { nodes { id name isProtected deletedUpstreamAt } } } }`;
const ANOMALIES = `query($o: ID!) { snapshotAnomalies(organizationId: $o) { kind repositoryId snapshotId previousSnapshotId message } }`;

async function sync(): Promise<void> {
  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(`mutation($o: ID!) { syncRepositories(organizationId: $o) { id } }`, { o: orgId });
  expect(r.errors).toBeUndefined();
  await synced;
}

describe('a repository deleted upstream', () => {
  it('found missing by a sync → an anomaly on its last snapshot, which is pinned; the repository stays protected', async () => {
    expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
    sim.pushCommit(libProjectId, { files: { 'more.txt': 'more\n' } });
    expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
    const lib = (await t.gql(REPOSITORIES, { o: orgId })).data.organization.repositories.nodes.find(
      (r: { name: string }) => r.name === 'lib',
    );
    const [last] = await t.app.dataSource.query(
      `SELECT id FROM snapshots WHERE repository_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [lib.id],
    );

    sim.deleteProject(libProjectId);
    await sync();

    const anomalies = (await t.gql(ANOMALIES, { o: orgId })).data.snapshotAnomalies;
    expect(anomalies).toEqual([
      {
        kind: 'REPOSITORY_DELETED_UPSTREAM',
        repositoryId: lib.id,
        snapshotId: last.id,
        previousSnapshotId: last.id,
        message: expect.stringContaining('acme/lib is no longer in the organization'),
      },
    ]);
    const pin = await t.gql(`query($s: ID!) { snapshotPin(snapshotId: $s) { isPinned reason } }`, { s: last.id });
    expect(pin.data.snapshotPin).toMatchObject({ isPinned: true, reason: expect.stringContaining('DELETED_UPSTREAM') });
    const refused = await t.gql(`mutation($s: ID!) { deleteSnapshot(id: $s) }`, { s: last.id });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'SNAPSHOT_PINNED' });

    // Still listed and still protected, marked deleted upstream: never silently dropped.
    const after = (await t.gql(REPOSITORIES, { o: orgId })).data.organization.repositories.nodes.find(
      (r: { name: string }) => r.name === 'lib',
    );
    expect(after).toMatchObject({ id: lib.id, isProtected: true, deletedUpstreamAt: expect.any(String) });
    await t.app.services.retention.prune(orgId);
    expect(await t.app.dataSource.query(`SELECT 1 FROM snapshots WHERE id = $1`, [last.id])).toHaveLength(1);

    // Once per deletion: the next sync, or a run's evaluation, records nothing more.
    await sync();
    expect((await t.gql(ANOMALIES, { o: orgId })).data.snapshotAnomalies).toHaveLength(1);
  });
});
