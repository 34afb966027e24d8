import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { EPICS_NOT_ON_TIER, HIERARCHY_FLATTENED } from '../../server/src/restore/epic-restore.js';

/**
 * Restoring a whole organization to NEW_PROJECT keeps its hierarchy: missing groups are created
 * under the target namespace with their captured settings, each project lands at its path
 * relative to the organization, group labels and milestones land in the matching groups (closed
 * milestones closed), without duplicates on a second run; a taken project path is never written
 * into (the documented collision rule picks `<path>-restored`). Epics come back where the target's
 * tier has them — with their hierarchy on Ultimate, a subgroup's epic under its parent in the
 * ancestor group included, flattened (and said so) on Premium — and are reported skipped, with the
 * reason, on Free.
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
  const core = sim.createGroup({
    path: 'core',
    parentId: platform.id,
    ownerId: alice.id,
    description: 'Core services',
    visibility: 'private',
  });
  const api = sim.createProject({ namespaceId: acme.id, path: 'api' });
  // acme/api's issues #2 and #3 (the first was deleted): restored, they get other iids
  for (const title of ['Deleted', 'Login fails', 'Slow search']) sim.createIssue(api.id, { title });
  sim.state.issues.splice(
    sim.state.issues.findIndex((i) => i.projectId === api.id && i.iid === 1),
    1,
  );
  const svc = sim.createProject({ namespaceId: platform.id, path: 'svc' });
  // an issue of another project naming acme/api's issue by its full path
  sim.createIssue(svc.id, { title: 'Blocked', description: 'Blocked by acme/api#3 (see also api#3, not ours)' });
  sim.createProject({ namespaceId: core.id, path: 'engine' });
  sim.createGroupLabel(acme.id, { name: 'priority::high', color: '#ff0000' });
  sim.createGroupLabel(acme.id, { name: 'team', color: '#00ff00', description: 'Whole team' });
  sim.createGroupLabel(platform.id, { name: 'team::platform', color: '#0000ff' });
  sim.createGroupMilestone(acme.id, { title: 'Q1', state: 'closed' });
  sim.createGroupMilestone(acme.id, { title: 'Q2', dueDate: '2026-06-30' });
  // epics (acme has Ultimate): a child captured before its parent, a closed one, one in a subgroup
  sim.setTier('acme', 'ultimate');
  const migrate = sim.createEpic(acme.id, {
    title: 'Migrate',
    authorId: alice.id,
    state: 'closed',
    labels: ['priority::high'],
    // project references: relative to the group, by full path, to a project not in the organization, in code
    description: 'Tracks api#3 and acme/api#2, not other#1 nor `api#3`',
  });
  const roadmap = sim.createEpic(acme.id, {
    title: 'Roadmap',
    authorId: alice.id,
    description: `The plan, starting with &${migrate.iid}`,
    labels: ['team'],
    dueDateFixed: '2026-12-31',
  });
  sim.state.epics.find((e) => e.id === migrate.id)!.parentId = roadmap.id;
  // a subgroup's epic whose parent is in the ancestor group (GitLab allows the parent's group or a descendant)
  const platformEpic = sim.createEpic(platform.id, { title: 'Platform epic', authorId: alice.id });
  sim.state.epics.find((e) => e.id === platformEpic.id)!.parentId = roadmap.id;
  sim.createGroup({ path: 'subgroup-only', ownerId: alice.id });
  sim.setTier('subgroup-only', 'ultimate');
  const restored = sim.createGroup({ path: 'restored', ownerId: alice.id });
  sim.createGroup({ path: 'platform', parentId: restored.id, ownerId: alice.id });
  const elsewhere = sim.createGroup({ path: 'elsewhere', ownerId: alice.id });
  sim.createGroup({ path: 'premium-target', ownerId: alice.id });
  sim.createGroup({ path: 'free-target', ownerId: alice.id });
  sim.setTier('restored', 'ultimate');
  sim.setTier('elsewhere', 'ultimate');
  sim.setTier('premium-target', 'premium');
  // an unrelated project where acme/api would land
  const unrelated = sim.createProject({ namespaceId: elsewhere.id, path: 'api', description: 'Not a restore' });
  sim.createIssue(unrelated.id, { title: "Someone else's issue" });
  token = aToken(sim, alice.id, ['api', 'read_repository', 'write_repository']).token;

  t = await startTestApp({ gitlab: { url: sim.url } });
  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: token,
      namespacePath: 'acme',
      includeGroups: true,
    },
  });
  expect(r.errors).toBeUndefined();
  await synced;
  connectionId = r.data.connectGitLab.connection.id;
  orgId = (await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: connectionId })).data
    .organizations[0].id;
  expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const sourceEpic = async (title: string) =>
  (await gitlab('/groups/acme/epics?include_descendant_groups=false')).find(
    (e: { title: string }) => e.title === title,
  );
const gitlab = async (path: string) =>
  (await fetch(`${sim.url}/api/v4${path}`, { headers: { 'private-token': token } })).json();
const groupLabels = async (path: string) =>
  (await gitlab(`/groups/${encodeURIComponent(path)}/labels?include_ancestor_groups=false&per_page=100`))
    .map((l: { name: string; color: string }) => `${l.name} ${l.color}`)
    .sort();
/** The group's own epics as `title state [labels] ← parent group path: parent title` (the parent may be in an ancestor group). */
const groupEpics = async (path: string) => {
  const epics: { id: number; title: string; state: string; labels: string[]; parent_id: number | null }[] =
    await gitlab(`/groups/${encodeURIComponent(path)}/epics?include_descendant_groups=false&per_page=100`);
  const parentOf = (id: number) => {
    const parent = sim.state.epics.find((e) => e.id === id)!;
    return `${sim.state.fullPath(parent.groupId)}: ${parent.title}`;
  };
  return epics
    .map((e) => `${e.title} ${e.state} [${e.labels.join(',')}]${e.parent_id ? ` ← ${parentOf(e.parent_id)}` : ''}`)
    .sort();
};
const groupMilestones = async (path: string) =>
  (await gitlab(`/groups/${encodeURIComponent(path)}/milestones?per_page=100`))
    .map((m: { title: string; state: string }) => `${m.title} ${m.state}`)
    .sort();

async function restoreOrganization(namespacePath: string) {
  const done = nextJob(t, 'restore.run');
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id snapshotIds } }`, {
    i: { target: 'NEW_PROJECT', organizationId: orgId, targetConnectionId: connectionId, namespacePath },
  });
  expect(r.errors).toBeUndefined();
  expect(r.data.restoreSnapshot.snapshotIds).toHaveLength(6); // acme, acme/platform, acme/platform/core and their projects
  await done;
  return (
    await t.gql(
      `query($id: ID!) { restoreRun(id: $id) { status errorMessage report { snapshots { path targetPath problems detail { created refsPushed refsExtra wikiRefsPushed notRestored lfs { uploaded present failed } metadata { type created skipped failed { sourceId reason } } } types { type captured restored skipped failed reasons } } } } }`,
      { id: r.data.restoreSnapshot.id },
    )
  ).data.restoreRun;
}

describe('restoring group metadata with an organization', () => {
  it('recreates the subgroup tree, puts each project at its relative path and group metadata on the matching group', async () => {
    const run = await restoreOrganization('restored');
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorMessage: null });
    const placed = run.report.snapshots.map((s: { path: string; targetPath: string }) => `${s.path} → ${s.targetPath}`);
    // groups first, parents before children
    expect(placed.slice(0, 3)).toEqual([
      'acme → restored',
      'acme/platform → restored/platform',
      'acme/platform/core → restored/platform/core',
    ]);
    expect(
      run.report.snapshots
        .slice(3)
        .map((s: { path: string; targetPath: string }) => `${s.path} → ${s.targetPath}`)
        .sort(),
    ).toEqual([
      'acme/api → restored/api',
      'acme/platform/core/engine → restored/platform/core/engine',
      'acme/platform/svc → restored/platform/svc',
    ]);
    // the missing group was created with its captured settings, inside its parent
    const created = await gitlab(`/groups/${encodeURIComponent('restored/platform/core')}`);
    expect(created).toMatchObject({
      full_path: 'restored/platform/core',
      description: 'Core services',
      visibility: 'private',
    });
    const engine = await gitlab(`/projects/${encodeURIComponent('restored/platform/core/engine')}`);
    expect(engine.namespace.full_path).toBe('restored/platform/core');
    expect(await groupLabels('restored')).toEqual(['priority::high #ff0000', 'team #00ff00']);
    expect(await groupLabels('restored/platform')).toEqual(['team::platform #0000ff']);
    expect(await groupMilestones('restored')).toEqual(['Q1 closed', 'Q2 active']);
    const root = run.report.snapshots.find((s: { path: string }) => s.path === 'acme');
    const metadata = Object.fromEntries(root.detail.metadata.map((m: { type: string }) => [m.type, m]));
    expect(metadata.labels).toEqual({ type: 'labels', created: 2, skipped: 0, failed: [] });
    expect(metadata.milestones).toEqual({ type: 'milestones', created: 2, skipped: 0, failed: [] });
    expect(root.detail.notRestored).toEqual([]);
    // epics: parents first, closed ones closed, labels and the hierarchy kept (the target has Ultimate)
    expect(await groupEpics('restored')).toEqual([
      'Migrate closed [priority::high] ← restored: Roadmap',
      'Roadmap opened [team]',
    ]);
    // the subgroup's epic is linked to its parent restored into the ancestor group, as captured
    expect(await groupEpics('restored/platform')).toEqual(['Platform epic opened [] ← restored: Roadmap']);
    const platformTypes = run.report.snapshots.find((s: { path: string }) => s.path === 'acme/platform').types;
    expect(platformTypes.find((t: { type: string }) => t.type === 'epics')).toEqual({
      type: 'epics',
      captured: 1,
      restored: 1,
      skipped: 0,
      failed: 0,
      reasons: [],
    });
    const restoredEpics: { title: string; iid: number; description: string }[] = await gitlab(
      `/groups/restored/epics?include_descendant_groups=false`,
    );
    const roadmap = restoredEpics.find((e) => e.title === 'Roadmap')!;
    const migrate = restoredEpics.find((e) => e.title === 'Migrate')!;
    expect(roadmap).toMatchObject({ due_date_fixed: '2026-12-31', due_date_is_fixed: true });
    // The reference to Migrate names the iid Migrate got in the target (it was created after Roadmap).
    expect(migrate.iid).not.toBe((await sourceEpic('Migrate')).iid);
    expect(roadmap.description).toMatch(
      /^\*Originally by @alice on \d{4}-\d{2}-\d{2} \(restored by Labkeeper from &\d+\)\*\n\nThe plan, starting with &(\d+)$/,
    );
    expect(roadmap.description.endsWith(`&${migrate.iid}`)).toBe(true);
    // an issue's reference to another project's issue names it as restored; `api#3` there names
    // acme/platform/api, which the organization does not have: kept as written
    const blocked = (await gitlab(`/projects/${encodeURIComponent('restored/platform/svc')}/issues`)).find(
      (i: { title: string }) => i.title === 'Blocked',
    );
    expect(blocked.description.split('\n\n')[1]).toBe('Blocked by restored/api#2 (see also api#3, not ours)');
    // Migrate's project references name the issues as restored (api#3 became #2, #2 became #1)
    expect(migrate.description.split('\n\n')[1]).toBe('Tracks api#2 and restored/api#1, not other#1 nor `api#3`');
    expect(root.detail.metadata.find((m: { type: string }) => m.type === 'epics')).toEqual({
      type: 'epics',
      created: 2,
      skipped: 0,
      failed: [],
    });
    expect(root.types.find((t: { type: string }) => t.type === 'epics')).toEqual({
      type: 'epics',
      captured: 2,
      restored: 2,
      skipped: 0,
      failed: 0,
      reasons: [],
    });
  });

  it('restores a subgroup alone without its parent epic link, and the report names the link it could not make', async () => {
    const snapshots = (
      await t.gql(`query($o: ID!) { snapshots(organizationId: $o, first: 50) { nodes { id groupId manifest } } }`, {
        o: orgId,
      })
    ).data.snapshots.nodes.filter(
      (s: { groupId: string | null; manifest: string }) =>
        s.groupId && JSON.parse(s.manifest).group?.fullPath === 'acme/platform',
    );
    expect(snapshots).toHaveLength(1);
    const done = nextJob(t, 'restore.run');
    const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
      i: {
        target: 'NEW_PROJECT',
        snapshotIds: [snapshots[0].id],
        targetConnectionId: connectionId,
        namespacePath: 'subgroup-only',
      },
    });
    expect(r.errors).toBeUndefined();
    await done;
    const run = (
      await t.gql(
        `query($id: ID!) { restoreRun(id: $id) { status report { snapshots { path targetPath types { type captured restored failed reasons } } } } }`,
        { id: r.data.restoreSnapshot.id },
      )
    ).data.restoreRun;
    expect(run.report.snapshots).toHaveLength(1);
    const platform = run.report.snapshots[0];
    expect(platform.targetPath).toBe('subgroup-only/platform');
    expect(await groupEpics('subgroup-only/platform')).toEqual(['Platform epic opened []']);
    const platformEpic = (await gitlab('/groups/acme%2Fplatform/epics?include_descendant_groups=false'))[0];
    expect(platform.types.find((t: { type: string }) => t.type === 'epics')).toEqual({
      type: 'epics',
      captured: 1,
      restored: 1,
      failed: 0,
      reasons: [
        `&${platformEpic.iid}: its parent epic is in another group, which this restore does not include; the link was not restored`,
      ],
    });
  });

  it('creates no duplicates when the same restore runs again', async () => {
    const epicWrites = () =>
      sim.requestsTo(/^\/api\/v4\/groups\/\d+\/epics\/\d+$/).filter((r) => r.method === 'PUT').length;
    const writesBefore = epicWrites();
    const run = await restoreOrganization('restored');
    // the project references were rewritten by the first run already: no description is written again
    expect(epicWrites()).toBe(writesBefore);
    expect(run.status).toBe('SUCCEEDED');
    expect(await groupLabels('restored')).toHaveLength(2);
    expect(await groupLabels('restored/platform')).toHaveLength(1);
    expect(await groupMilestones('restored')).toEqual(['Q1 closed', 'Q2 active']);
    expect(await groupEpics('restored')).toHaveLength(2);
    expect(await groupEpics('restored/platform')).toHaveLength(1);
    const root = run.report.snapshots.find((s: { path: string }) => s.path === 'acme');
    expect(root.detail.metadata.find((m: { type: string }) => m.type === 'epics')).toMatchObject({
      created: 0,
      skipped: 2,
    });
    expect(root.detail.metadata.find((m: { type: string }) => m.type === 'labels')).toEqual({
      type: 'labels',
      created: 0,
      skipped: 2,
      failed: [],
    });
  });

  it('creates every missing group under another namespace and never writes into an unrelated project at a taken path', async () => {
    const run = await restoreOrganization('elsewhere');
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorMessage: null });
    const api = run.report.snapshots.find((s: { path: string }) => s.path === 'acme/api');
    expect(api.targetPath).toBe('elsewhere/api-restored');
    // a reference to a project whose path changed names its new path (relative while it is in the epic's group)
    const migrate = (await gitlab('/groups/elsewhere/epics?include_descendant_groups=false')).find(
      (e: { title: string }) => e.title === 'Migrate',
    );
    expect(migrate.description.split('\n\n')[1]).toBe(
      'Tracks api-restored#2 and elsewhere/api-restored#1, not other#1 nor `api#3`',
    );
    expect(await groupLabels('elsewhere')).toEqual(['priority::high #ff0000', 'team #00ff00']);
    expect(await groupLabels('elsewhere/platform')).toEqual(['team::platform #0000ff']);
    expect(
      (await gitlab(`/projects/${encodeURIComponent('elsewhere/platform/core/engine')}`)).path_with_namespace,
    ).toBe('elsewhere/platform/core/engine');
    // the unrelated project is untouched
    const unrelated = await gitlab(`/projects/${encodeURIComponent('elsewhere/api')}`);
    expect(unrelated.description).toBe('Not a restore');
    expect((await gitlab(`/projects/${unrelated.id}/issues?state=all`)).map((i: { title: string }) => i.title)).toEqual(
      ["Someone else's issue"],
    );
    // a second run finds its own project again instead of taking the next free path
    const again = await restoreOrganization('elsewhere');
    expect(again.report.snapshots.find((s: { path: string }) => s.path === 'acme/api').targetPath).toBe(
      'elsewhere/api-restored',
    );
  });

  it('restores epics without their hierarchy on Premium, and the report says it was flattened and why', async () => {
    const run = await restoreOrganization('premium-target');
    expect(run).toMatchObject({ status: 'SUCCEEDED', errorMessage: null });
    expect(await groupEpics('premium-target')).toEqual(['Migrate closed [priority::high]', 'Roadmap opened [team]']);
    const root = run.report.snapshots.find((s: { path: string }) => s.path === 'acme');
    expect(root.types.find((t: { type: string }) => t.type === 'epics')).toEqual({
      type: 'epics',
      captured: 2,
      restored: 2,
      skipped: 0,
      failed: 0,
      reasons: [
        `the epic hierarchy was flattened: &${(await sourceEpic('Migrate')).iid} restored without its parent, because ${HIERARCHY_FLATTENED}`,
      ],
    });
  });

  it('skips epics on a Free target with the reason in plain words, and restores everything else', async () => {
    const run = await restoreOrganization('free-target');
    // PARTIAL, not FAILED: what was captured and not written back is named, with the reason
    expect(run.status).toBe('PARTIAL');
    expect(run.errorMessage).toBe(
      `acme: epics: 2 of 2 not restored (${EPICS_NOT_ON_TIER}) | acme/platform: epics: 1 of 1 not restored (${EPICS_NOT_ON_TIER})`,
    );
    expect(await groupLabels('free-target')).toEqual(['priority::high #ff0000', 'team #00ff00']);
    expect(
      (await fetch(`${sim.url}/api/v4/groups/free-target/epics`, { headers: { 'private-token': token } })).status,
    ).toBe(403);
    for (const [path, captured] of [
      ['acme', 2],
      ['acme/platform', 1],
    ] as const) {
      const snapshot = run.report.snapshots.find((s: { path: string }) => s.path === path);
      expect(snapshot.types.find((t: { type: string }) => t.type === 'epics')).toEqual({
        type: 'epics',
        captured,
        restored: 0,
        skipped: captured,
        failed: 0,
        reasons: [EPICS_NOT_ON_TIER],
      });
      expect(snapshot.detail.notRestored).toEqual(['epics']);
    }
    // only epics are left out: every project and every other group type came back
    const incomplete = run.report.snapshots.flatMap(
      (s: { path: string; types: { type: string; skipped: number; failed: number }[] }) =>
        s.types.filter((t) => t.skipped || t.failed).map((t) => `${s.path} ${t.type}`),
    );
    expect(incomplete.sort()).toEqual(['acme epics', 'acme/platform epics']);
  });
});
