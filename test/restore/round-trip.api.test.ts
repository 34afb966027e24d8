import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { COVERAGE, notRestoredReason, type CapturedType } from '../../server/src/restore/coverage.js';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, PASSWORD } from '../support/gitlab-seed.js';
import {
  compareOrganizations,
  readOrganization,
  summarizeByType,
  type OrganizationState,
} from '../support/round-trip.js';

/**
 * The round trip of a whole organization: `acme` with two levels of subgroups, three projects
 * (wikis — one never written —, LFS objects, an archived project) and at least one record of
 * every type of the coverage matrix is backed up, then restored with NEW_PROJECT into a second
 * GitLab (both with Ultimate, so epics keep their hierarchy). Read back through GitLab's API, every
 * type the matrix says NEW_PROJECT restores is equal
 * on both sides (counts and contents, ids mapped); every other type is in the restore report as
 * skipped with the matrix's reason. The dry run before it predicts, per snapshot and per type,
 * exactly what the real run then reports.
 */
let source: GitLabSimulator;
let target: GitLabSimulator;
let t: TestApp;
let organizationId: string;
let targetConnectionId: string;
let sourceToken: string;
let targetToken: string;
let before: OrganizationState;

const TYPES = Object.keys(COVERAGE) as CapturedType[];
const HOOK_SECRET = 'hook-secret-7f3a9c';

beforeAll(async () => {
  source = await startGitLabSimulator({ rateLimit: null });
  target = await startGitLabSimulator({ rateLimit: null });
  // epics with a hierarchy on both sides: acme's subscription on the source, restored's on the target

  // ---- source: acme, acme/platform, acme/platform/core ---------------------------------------
  const alice = aUser(source);
  const carol = aUser(source, 'carol');
  const dave = aUser(source, 'dave');
  const acme = source.createGroup({ path: 'acme', name: 'ACME', ownerId: alice.id, description: 'The company' });
  const platform = source.createGroup({
    path: 'platform',
    name: 'Platform',
    parentId: acme.id,
    ownerId: alice.id,
    description: 'Platform team',
  });
  const core = source.createGroup({
    path: 'core',
    name: 'Core',
    parentId: platform.id,
    ownerId: alice.id,
    description: 'Core services',
  });
  source.addMember('group', acme.id, carol.id, 30);
  source.addMember('group', platform.id, dave.id, 20);
  source.createGroupLabel(acme.id, { name: 'priority::high', color: '#ff0000', description: 'Do it now' });
  source.createGroupLabel(platform.id, { name: 'team::platform', color: '#0000ff' });
  source.createGroupMilestone(acme.id, { title: 'Q1', state: 'closed', dueDate: '2026-03-31' });
  source.createGroupMilestone(platform.id, { title: 'Q2', startDate: '2026-04-01', dueDate: '2026-06-30' });
  source.setTier('acme', 'ultimate');
  const replatforming = source.createEpic(acme.id, {
    title: 'Replatforming',
    authorId: alice.id,
    description: 'Move everything',
    labels: ['priority::high'],
    dueDateFixed: '2026-09-30',
  });
  source.createEpic(acme.id, {
    title: 'Cut over',
    authorId: carol.id,
    parentId: replatforming.id,
    state: 'closed',
    confidential: true,
  });
  const platformEpic = source.createEpic(platform.id, {
    title: 'Platform epic',
    authorId: dave.id,
    labels: ['team::platform'],
  });

  // acme/api: every project type
  const api = source.createProject({
    namespaceId: acme.id,
    path: 'api',
    name: 'API',
    wikiEnabled: true,
    lfsEnabled: true,
    description: 'The API',
    topics: ['backend', 'api'],
  }).id;
  source.createBranch(api, { branch: 'feature' });
  source.pushCommit(api, { branch: 'feature', files: { 'feature.txt': 'x\n' } });
  source.createBranch(api, { branch: 'hotfix' });
  source.pushCommit(api, { branch: 'hotfix', files: { 'fix.txt': 'fixed\n' } });
  source.createTag(api, { tag: 'v1.0.0', message: 'First' });
  source.pushWikiPage(api, { title: 'Home', content: '# API docs' });
  source.pushLfsPointer(api, { path: 'logo.png', content: randomBytes(50_000) });
  source.createLabel(api, { name: 'bug', color: '#d9534f', description: 'Something is broken' });
  const v1 = source.createMilestone(api, { title: 'v1', dueDate: '2026-05-01', description: 'First cut' });
  source.createMilestone(api, { title: 'v0', state: 'closed' });
  const crash = source.createIssue(api, {
    title: 'Crash on start',
    description: 'It crashes.',
    labels: ['bug', 'priority::high'],
    milestoneId: v1.id,
    assigneeIds: [alice.id, carol.id],
    authorId: alice.id,
  });
  const followUp = source.createIssue(api, {
    title: 'Follow-up',
    description: `Related to #${crash.iid}`,
    state: 'closed',
    authorId: carol.id,
  });
  source.createNote(api, {
    noteableType: 'Issue',
    noteableIid: crash.iid,
    body: `Duplicate of #${followUp.iid}`,
    authorId: carol.id,
  });
  const feature = source.createMergeRequest(api, {
    title: 'Add feature',
    sourceBranch: 'feature',
    targetBranch: 'main',
    description: `Closes #${crash.iid}`,
    authorId: carol.id,
    labels: ['bug'],
    milestoneId: v1.id,
    assigneeIds: [carol.id],
    reviewerIds: [alice.id],
  });
  source.createNote(api, { noteableType: 'MergeRequest', noteableIid: feature.iid, body: 'LGTM', authorId: alice.id });
  source.createMergeRequest(api, {
    title: 'Hotfix',
    sourceBranch: 'hotfix',
    targetBranch: 'main',
    state: 'merged',
    authorId: alice.id,
  });
  source.createRelease(api, {
    tagName: 'v1.0.0',
    name: 'First release',
    description: 'The first one',
    milestones: ['v1'],
    links: [{ name: 'Binary', url: 'https://downloads.example.com/api-1.0.0.tgz', linkType: 'package' }],
  });
  source.createSnippet(api, {
    title: 'Setup',
    files: [
      { path: 'setup.sh', content: 'echo setup\n' },
      { path: 'config/env.txt', content: 'MODE=dev\n' },
    ],
    description: 'How to set up',
  });
  source.addMember('project', api, dave.id, 30, { expiresAt: '2030-01-01' });
  // dave is a member of acme/api only (not of acme): his issue keeps its author only when his
  // membership is restored before the issues (GitLab refuses Sudo as a user who cannot see the project)
  source.createIssue(api, { title: 'Flaky test', authorId: dave.id });
  source.protectBranch(api, { name: 'main', pushAccessLevel: 40, mergeAccessLevel: 30 });
  source.protectTag(api, { name: 'v*', createAccessLevel: 40 });
  source.createHook(api, {
    url: 'https://hooks.example.com/ci',
    token: HOOK_SECRET,
    events: { push_events: true, merge_requests_events: true },
    enableSslVerification: false,
  });
  // a second hook whose token the restore is not given: restored without one, and the report says so
  source.createHook(api, {
    url: 'https://chat.example.com/notify',
    token: 'chat-secret',
    events: { issues_events: true },
  });
  source.createDeployKey(api, {
    title: 'deployer',
    key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBd5mQ0VbY1ykp8J0bTq7s2hVb5qFhLh0fWc3p8mZ0aB deployer',
    canPush: true,
  });
  source.createVariable(api, {
    key: 'DEPLOY_TOKEN',
    value: 's3cr3t-value',
    protected: true,
    masked: true,
    environmentScope: 'production',
  });
  source.createVariable(api, { key: 'CONFIG', value: 'a=1\n', variableType: 'file', raw: true });

  // acme/platform/svc: a written wiki and LFS one level down
  const svc = source.createProject({ namespaceId: platform.id, path: 'svc', name: 'Service', topics: ['go'] }).id;
  source.pushWikiPage(svc, { title: 'Runbook', content: 'Restart it.' });
  source.pushLfsPointer(svc, { path: 'model.bin', content: randomBytes(20_000) });
  source.createIssue(svc, { title: 'Slow', authorId: dave.id, epicId: platformEpic.id }); // in an epic

  // acme/platform/core/engine: two levels down, a wiki never written, archived
  const engine = source.createProject({
    namespaceId: core.id,
    path: 'engine',
    name: 'Engine',
    wikiEnabled: true,
    description: 'Old engine',
  }).id;
  source.createLabel(engine, { name: 'legacy', color: '#777777' });
  source.state.requireProject(engine).archived = true;
  sourceToken = aToken(source, alice.id, ['api']).token;

  // ---- target: the same people, an administrator who restores (Sudo keeps authors) -----------
  const root = target.createUser({ username: 'root', email: 'root@example.com', password: PASSWORD, isAdmin: true });
  for (const name of ['alice', 'carol', 'dave']) aUser(target, name);
  // GitLab protects a new project's default branch on its first push, as default_branch_protection
  // says: partial (Developers push and merge) on this instance, and in `restored` "protected
  // against pushes" (Maintainers push, Developers merge) — the levels api's main was captured with
  target.setDefaultBranchProtection(1);
  target.createGroup({ path: 'restored', name: 'Restored', ownerId: root.id, defaultBranchProtection: 3 });
  target.setTier('restored', 'ultimate');
  targetToken = target.createPersonalAccessToken(root.id, { scopes: ['api', 'sudo'] }).token;

  t = await startTestApp({ gitlab: { url: source.url } });
  organizationId = (
    await connectOrganization(t, source, { userId: alice.id, namespacePath: 'acme', includeGroups: true })
  ).organizationId;
  const connected = await t.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id status } } }`,
    {
      i: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: target.url, login: 'root', personalAccessToken: targetToken },
    },
  );
  expect(connected.data.connectGitLab.connection.status).toBe('CONNECTED');
  targetConnectionId = connected.data.connectGitLab.connection.id;

  before = await readOrganization(source, { token: sourceToken, rootPath: 'acme' });
  expect((await runBackup(t, organizationId)).status).toBe('SUCCEEDED');
});

afterAll(async () => {
  await t?.stop();
  await source?.close();
  await target?.close();
});

interface TypeReport {
  type: string;
  captured: number;
  restored: number;
  skipped: number;
  failed: number;
  reasons: string[];
}
interface SnapshotReport {
  path: string;
  targetPath: string;
  problems: string[];
  types: TypeReport[];
}

async function restore(
  dryRun: boolean,
  webhookSecretTokens = [{ url: 'https://hooks.example.com/ci', token: HOOK_SECRET }],
): Promise<{ status: string; errorMessage: string | null; snapshots: SnapshotReport[] }> {
  const done = nextJob(t, 'restore.run');
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
    i: {
      target: 'NEW_PROJECT',
      organizationId,
      targetConnectionId,
      namespacePath: 'restored',
      dryRun,
      // GitLab never returns a hook's token: the user gives the one of the CI hook
      webhookSecretTokens,
    },
  });
  expect(JSON.stringify(r)).not.toContain(HOOK_SECRET);
  expect(r.errors).toBeUndefined();
  await done;
  const run = (
    await t.gql(
      `query($id: ID!) { restoreRun(id: $id) { status errorMessage report { snapshots { path targetPath problems types { type captured restored skipped failed reasons } } } } }`,
      { id: r.data.restoreSnapshot.id },
    )
  ).data.restoreRun;
  expect(JSON.stringify(run)).not.toContain(HOOK_SECRET);
  return { status: run.status, errorMessage: run.errorMessage, snapshots: run.report.snapshots };
}

/** Per snapshot path, per type: the report's counts and reasons. */
const perType = (snapshots: SnapshotReport[]) =>
  Object.fromEntries(
    snapshots.map((s) => [
      s.path,
      Object.fromEntries(
        [...s.types].sort((a, b) => a.type.localeCompare(b.type)).map(({ type, ...rest }) => [type, rest]),
      ),
    ]),
  );

describe('the NEW_PROJECT round trip of an organization into another GitLab', () => {
  let plan: Awaited<ReturnType<typeof restore>>;
  let real: Awaited<ReturnType<typeof restore>>;

  it('starts from an organization with at least one record of every type of the coverage matrix', () => {
    const counts = summarizeByType(compareOrganizations(before, before));
    expect(TYPES.filter((type) => !(counts[type]?.source > 0))).toEqual([]);
    expect(Object.keys(before.groups).sort()).toEqual(['', 'platform', 'platform/core']);
    expect(Object.keys(before.projects).sort()).toEqual(['api', 'platform/core/engine', 'platform/svc']);
    expect(before.projects['platform/core/engine'].wiki).toEqual({}); // never written
  });

  it('dry run: writes nothing and plans every type of every snapshot', async () => {
    plan = await restore(true);
    expect(plan.snapshots.map((s) => s.path).sort()).toEqual([
      'acme',
      'acme/api',
      'acme/platform',
      'acme/platform/core',
      'acme/platform/core/engine',
      'acme/platform/svc',
    ]);
    expect(
      (
        await fetch(`${target.url}/api/v4/groups/${encodeURIComponent('restored/platform')}`, {
          headers: { 'private-token': targetToken },
        })
      ).status,
    ).toBe(404);
  });

  it('restores every type NEW_PROJECT restores, equal to the source, and reports every other type as skipped with its reason', async () => {
    real = await restore(false);
    const after = await readOrganization(target, { token: targetToken, rootPath: 'restored', ignoreUsers: ['root'] });
    const byType = summarizeByType(compareOrganizations(before, after));
    const restorable = TYPES.filter((type) => 'restored' in COVERAGE[type].newProject);
    expect(Object.fromEntries(restorable.map((type) => [type, byType[type].differences]))).toEqual(
      Object.fromEntries(restorable.map((type) => [type, []])),
    );
    for (const type of restorable) expect([type, byType[type].target]).toEqual([type, byType[type].source]);

    const reported = real.snapshots.flatMap((s) => s.types.map((r) => ({ path: s.path, ...r })));
    for (const type of TYPES.filter((type) => !restorable.includes(type))) {
      const rows = reported.filter((r) => r.type === type);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows)
        expect(row).toMatchObject({
          restored: 0,
          skipped: row.captured,
          failed: 0,
          reasons: [notRestoredReason(type, 'newProject')],
        });
    }
    // nothing else was skipped or failed, so the run says only what it left out on purpose
    const others = reported.filter((r) => restorable.includes(r.type as CapturedType));
    expect(others.filter((r) => r.skipped || r.failed || r.restored < r.captured)).toEqual([]);
    expect(real.status).toBe('SUCCEEDED'); // every type, epics included, came back
    expect(reported.filter((r) => r.type === 'epics').map((r) => [r.path, r.captured, r.restored])).toEqual([
      ['acme', 2, 2],
      ['acme/platform', 1, 1],
      ['acme/platform/core', 0, 0],
    ]);
    // an issue goes back into its epic (restored with the group, before the projects)
    const slow = target.state.issues.find((i) => i.title === 'Slow')!;
    expect(target.state.epics.find((e) => e.id === slow.epicId)?.title).toBe('Platform epic');
    expect(reported.find((r) => r.path === 'acme/platform/svc' && r.type === 'issues')!.reasons).toEqual([]);
    // the epics keep their authors (Sudo: the target connection is an administrator's)
    const epics = target.state.epics.map((e) => `${e.title} by ${target.state.users.get(e.authorId)!.username}`);
    expect(epics.sort()).toEqual(['Cut over by carol', 'Platform epic by dave', 'Replatforming by alice']);

    // webhooks: the token given comes back; the hook without one is named in the report
    const restoredApi = target.state.findProjectByFullPath('restored/api')!;
    const hooks = target.state.hooks.filter((h) => h.projectId === restoredApi.id);
    expect(Object.fromEntries(hooks.map((h) => [h.url, h.token]))).toEqual({
      'https://hooks.example.com/ci': HOOK_SECRET,
      'https://chat.example.com/notify': null,
    });
    expect(reported.find((r) => r.path === 'acme/api' && r.type === 'webhooks')!.reasons).toEqual([
      'https://chat.example.com/notify: restored without a secret token (GitLab never returns it): supply it in webhookSecretTokens, or set it on the target',
    ]);
    // the token is kept sealed, never in a plain column
    const rows = await t.app.dataSource.query<unknown[]>('SELECT * FROM restore_runs');
    expect(JSON.stringify(rows)).not.toContain(HOOK_SECRET);
  });

  it('the dry run’s per-type plan matches what the real run reported', () => {
    expect(perType(plan.snapshots)).toEqual(perType(real.snapshots));
    expect(plan.status).toBe(real.status);
  });

  it('a second run given the missing webhook token sets it on the hook restored without one, and duplicates nothing', async () => {
    const again = await restore(false, [{ url: 'https://chat.example.com/notify', token: 'chat-secret-42' }]);
    const restoredApi = target.state.findProjectByFullPath('restored/api')!;
    expect(
      Object.fromEntries(target.state.hooks.filter((h) => h.projectId === restoredApi.id).map((h) => [h.url, h.token])),
    ).toEqual({ 'https://hooks.example.com/ci': HOOK_SECRET, 'https://chat.example.com/notify': 'chat-secret-42' });
    const webhooks = again.snapshots.find((s) => s.path === 'acme/api')!.types.find((r) => r.type === 'webhooks')!;
    expect(webhooks).toMatchObject({ captured: 2, restored: 2, failed: 0 });
    expect(webhooks.reasons).toEqual([
      'https://hooks.example.com/ci: already on the target; its secret token, if it has one (GitLab does not say), is left as it is: supply it in webhookSecretTokens to set it',
    ]);
  });
});
