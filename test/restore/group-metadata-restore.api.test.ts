import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';

/**
 * Restoring a whole organization to NEW_PROJECT also restores its groups' metadata: group labels
 * and group milestones land in the matching groups under the target namespace, closed milestones
 * closed, without duplicates on a second run; a target group that does not exist is reported.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let connectionId: string;
let token: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const acme = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const platform = sim.createGroup({ path: 'platform', parentId: acme.id, ownerId: alice.id });
  sim.createProject({ namespaceId: acme.id, path: 'api' });
  sim.createGroupLabel(acme.id, { name: 'priority::high', color: '#ff0000' });
  sim.createGroupLabel(acme.id, { name: 'team', color: '#00ff00', description: 'Whole team' });
  sim.createGroupLabel(platform.id, { name: 'team::platform', color: '#0000ff' });
  sim.createGroupMilestone(acme.id, { title: 'Q1', state: 'closed' });
  sim.createGroupMilestone(acme.id, { title: 'Q2', dueDate: '2026-06-30' });
  const restored = sim.createGroup({ path: 'restored', ownerId: alice.id });
  sim.createGroup({ path: 'platform', parentId: restored.id, ownerId: alice.id });
  sim.createGroup({ path: 'elsewhere', ownerId: alice.id });
  token = aToken(sim, alice.id, ['api', 'read_repository', 'write_repository']).token;

  t = await startTestApp({ gitlab: { url: sim.url } });
  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: sim.url, login: 'alice', personalAccessToken: token, namespacePath: 'acme', includeGroups: true },
  });
  expect(r.errors).toBeUndefined();
  await synced;
  connectionId = r.data.connectGitLab.connection.id;
  orgId = (await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: connectionId })).data.organizations[0].id;
  expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const gitlab = async (path: string) => (await fetch(`${sim.url}/api/v4${path}`, { headers: { 'private-token': token } })).json();
const groupLabels = async (path: string) =>
  (await gitlab(`/groups/${encodeURIComponent(path)}/labels?include_ancestor_groups=false&per_page=100`)).map((l: { name: string; color: string }) => `${l.name} ${l.color}`).sort();
const groupMilestones = async (path: string) =>
  (await gitlab(`/groups/${encodeURIComponent(path)}/milestones?per_page=100`)).map((m: { title: string; state: string }) => `${m.title} ${m.state}`).sort();

async function restoreOrganization(namespacePath: string) {
  const done = nextJob(t, 'restore.run');
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id snapshotIds } }`, {
    i: { target: 'NEW_PROJECT', organizationId: orgId, targetConnectionId: connectionId, namespacePath },
  });
  expect(r.errors).toBeUndefined();
  expect(r.data.restoreSnapshot.snapshotIds).toHaveLength(3); // acme, acme/platform, acme/api
  await done;
  return (await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage report { snapshots { path targetPath problems detail } } } }`, { id: r.data.restoreSnapshot.id })).data.restoreRun;
}

describe('restoring group metadata with an organization', () => {
  it('recreates group labels and milestones in the matching groups, before the projects', async () => {
    const run = await restoreOrganization('restored');
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorMessage: null });
    expect(run.report.snapshots.map((s: { path: string; targetPath: string }) => `${s.path} → ${s.targetPath}`)).toEqual([
      expect.stringMatching(/^acme(\/platform)? → restored(\/platform)?$/),
      expect.stringMatching(/^acme(\/platform)? → restored(\/platform)?$/),
      'acme/api → restored/api',
    ]);
    expect(await groupLabels('restored')).toEqual(['priority::high #ff0000', 'team #00ff00']);
    expect(await groupLabels('restored/platform')).toEqual(['team::platform #0000ff']);
    expect(await groupMilestones('restored')).toEqual(['Q1 closed', 'Q2 active']);
    const root = run.report.snapshots.find((s: { path: string }) => s.path === 'acme');
    const detail = JSON.parse(root.detail);
    expect(detail.metadata.labels).toEqual({ created: 2, skipped: 0, failed: [] });
    expect(detail.metadata.milestones).toEqual({ created: 2, skipped: 0, failed: [] });
    expect(detail.notRestored).toEqual(['group_members', 'subgroups']);
  });

  it('creates no duplicates when the same restore runs again', async () => {
    const run = await restoreOrganization('restored');
    expect(run.status).toBe('SUCCEEDED');
    expect(await groupLabels('restored')).toHaveLength(2);
    expect(await groupLabels('restored/platform')).toHaveLength(1);
    expect(await groupMilestones('restored')).toEqual(['Q1 closed', 'Q2 active']);
    const root = run.report.snapshots.find((s: { path: string }) => s.path === 'acme');
    expect(JSON.parse(root.detail).metadata.labels).toEqual({ created: 0, skipped: 2, failed: [] });
  });

  it('reports a target group that does not exist and restores the rest', async () => {
    const run = await restoreOrganization('elsewhere');
    expect(run.status).toBe('PARTIAL');
    const platform = run.report.snapshots.find((s: { path: string }) => s.path === 'acme/platform');
    expect(platform.problems).toEqual(['group elsewhere/platform does not exist on the target: create it, then restore again (a restore does not create groups)']);
    expect(await groupLabels('elsewhere')).toEqual(['priority::high #ff0000', 'team #00ff00']);
    expect((await gitlab(`/projects/${encodeURIComponent('elsewhere/api')}`)).path_with_namespace).toBe('elsewhere/api');
  });
});
