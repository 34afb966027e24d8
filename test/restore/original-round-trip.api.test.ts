import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { notRestoredReason } from '../../server/src/restore/coverage.js';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import {
  compareOrganizations,
  readOrganization,
  summarizeByType,
  type OrganizationState,
  type TypeState,
} from '../support/round-trip.js';

/**
 * The round trip into the ORIGINAL organization: `acme` (with a subgroup, wikis, LFS and records
 * of every project type) is backed up; upstream then loses a branch, an issue, a label and a
 * webhook; the whole organization is restored into itself with each ref mode. Read back through
 * GitLab's API, each mode changed exactly what it promises — refs (and the wiki), as its mode
 * says — and nothing else: the records that were not deleted are untouched, none is duplicated,
 * and what ORIGINAL does not write back (metadata, groups) is in the report as skipped with the
 * coverage matrix's reason.
 */
let sim: GitLabSimulator;
let t: TestApp;
let organizationId: string;
let token: string;
let api: number;
/** At the backup. */
let atBackup: OrganizationState;
/** After the upstream deletions. */
let afterDeletions: OrganizationState;

const PREFIX = 'restored/test';

beforeAll(async () => {
  sim = await startGitLabSimulator({ rateLimit: null });
  const alice = aUser(sim);
  const carol = aUser(sim, 'carol');
  const acme = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const platform = sim.createGroup({ path: 'platform', parentId: acme.id, ownerId: alice.id });
  sim.createGroupLabel(acme.id, { name: 'priority::high', color: '#ff0000' });
  sim.createGroupMilestone(platform.id, { title: 'Q2' });
  sim.addMember('group', platform.id, carol.id, 30);

  api = sim.createProject({ namespaceId: acme.id, path: 'api', wikiEnabled: true, lfsEnabled: true }).id;
  sim.createBranch(api, { branch: 'feature' });
  sim.pushCommit(api, { branch: 'feature', files: { 'feature.txt': 'x\n' } });
  sim.createBranch(api, { branch: 'stable' });
  sim.createTag(api, { tag: 'v1.0.0' });
  sim.pushWikiPage(api, { title: 'Home', content: '# API' });
  sim.pushLfsPointer(api, { path: 'logo.png', content: randomBytes(20_000) });
  sim.createLabel(api, { name: 'bug', color: '#d9534f' });
  sim.createLabel(api, { name: 'wontfix', color: '#ffffff' });
  const crash = sim.createIssue(api, { title: 'Crash on start', labels: ['bug'], authorId: alice.id });
  sim.createNote(api, { noteableType: 'Issue', noteableIid: crash.iid, body: 'Seen it too', authorId: carol.id });
  sim.createIssue(api, { title: 'Obsolete idea', authorId: carol.id });
  sim.createMergeRequest(api, { title: 'Add feature', sourceBranch: 'feature', targetBranch: 'main' });
  sim.createMilestone(api, { title: 'v1' });
  sim.createRelease(api, { tagName: 'v1.0.0', name: 'First' });
  sim.createSnippet(api, {
    title: 'Setup',
    files: [
      { path: 'setup.sh', content: 'make\n' },
      { path: 'env.example', content: 'A=1\n' },
    ],
  });
  sim.createHook(api, { url: 'https://ci.example.com/hook', events: { push_events: true } });
  sim.createHook(api, { url: 'https://chat.example.com/notify', events: { issues_events: true } });
  sim.createDeployKey(api, {
    title: 'deployer',
    key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBd5mQ0VbY1ykp8J0bTq7s2hVb5qFhLh0fWc3p8mZ0aB deployer',
  });
  sim.createVariable(api, { key: 'DEPLOY_TOKEN', value: 's3cr3t' });
  sim.addMember('project', api, carol.id, 30);
  sim.protectBranch(api, { name: 'main' });

  const svc = sim.createProject({ namespaceId: platform.id, path: 'svc' }).id;
  sim.pushWikiPage(svc, { title: 'Runbook', content: 'Restart it.' });
  sim.createIssue(svc, { title: 'Slow', authorId: carol.id });

  token = aToken(sim, alice.id, ['api']).token;
  t = await startTestApp({ gitlab: { url: sim.url } });
  organizationId = (
    await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme', includeGroups: true, scopes: ['api'] })
  ).organizationId;
  atBackup = await read();
  expect((await runBackup(t, organizationId)).status).toBe('SUCCEEDED');

  // upstream loses a branch, an issue, a label and a webhook
  execFileSync('git', ['update-ref', '-d', 'refs/heads/feature'], { cwd: sim.repoPath(api) });
  const remove = <T extends { projectId: number }>(list: T[], match: (item: T) => boolean) =>
    list.splice(
      list.findIndex((item) => item.projectId === api && match(item)),
      1,
    );
  remove(sim.state.issues, (i) => i.title === 'Obsolete idea');
  remove(sim.state.labels, (l) => l.name === 'wontfix');
  remove(sim.state.hooks, (h) => h.url === 'https://chat.example.com/notify');
  afterDeletions = await read();
});

afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

function read(): Promise<OrganizationState> {
  return readOrganization(sim, { token, rootPath: 'acme' });
}

interface TypeReport {
  type: string;
  captured: number;
  restored: number;
  skipped: number;
  failed: number;
  reasons: string[];
}

async function restoreOriginal(input: Record<string, unknown>) {
  const done = nextJob(t, 'restore.run');
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
    i: { target: 'ORIGINAL', organizationId, ...input },
  });
  expect(r.errors).toBeUndefined();
  await done;
  const run = (
    await t.gql(
      `query($id: ID!) { restoreRun(id: $id) { status errorMessage report { snapshots { path problems types { type captured restored skipped failed reasons } } } } }`,
      { id: r.data.restoreSnapshot.id },
    )
  ).data.restoreRun;
  return run as {
    status: string;
    errorMessage: string | null;
    report: { snapshots: { path: string; problems: string[]; types: TypeReport[] }[] };
  };
}

/** Every difference between two states of the organization, by type and path; {} when equal. */
function differences(expected: OrganizationState, actual: OrganizationState) {
  return Object.fromEntries(
    Object.entries(summarizeByType(compareOrganizations(expected, actual)))
      .map(([type, summary]) => [type, summary.differences])
      .filter(([, list]) => list.length > 0),
  );
}

/** `state` with `change` applied to the repository and wiki refs of every project. */
function withRefs(state: OrganizationState, change: (project: string, which: 'repository' | 'wiki') => TypeState) {
  const next = structuredClone(state);
  for (const project of Object.keys(next.projects))
    for (const which of ['repository', 'wiki'] as const) next.projects[project][which] = change(project, which);
  return next;
}

/** The branches and tags of `refs` under the prefix. */
function prefixed(refs: TypeState): TypeState {
  return Object.fromEntries(
    Object.entries(refs)
      .filter(([ref]) => /^refs\/(heads|tags)\//.test(ref))
      .map(([ref, sha]) => [ref.replace(/^refs\/(heads|tags)\//, `refs/$1/${PREFIX}/`), sha]),
  );
}

/**
 * The report rows of a run: every metadata type the backup captured is skipped with the matrix's
 * ORIGINAL reason (a type GitLab did not give, epics on Free, says so instead).
 */
function expectMetadataLeftOut(run: Awaited<ReturnType<typeof restoreOriginal>>) {
  for (const snapshot of run.report.snapshots)
    for (const row of snapshot.types.filter((r) => !['repository', 'wiki', 'lfs'].includes(r.type)))
      if (row.reasons[0]?.startsWith('not captured by the backup')) expect(row.captured).toBe(0);
      else
        expect({ path: snapshot.path, ...row }).toEqual({
          path: snapshot.path,
          type: row.type,
          captured: row.captured,
          restored: 0,
          skipped: row.captured,
          failed: 0,
          reasons: [notRestoredReason(row.type, 'original')],
        });
}

describe('the ORIGINAL round trip after upstream deletions', () => {
  it('starts from an organization whose backup holds the deleted records', () => {
    expect(differences(atBackup, afterDeletions)).toEqual({
      repository: [expect.stringMatching(/^api: refs\/heads\/feature: missing on the target/)],
      issues: [expect.stringMatching(/^api: Obsolete idea: missing on the target/)],
      labels: [expect.stringMatching(/^api: wontfix: missing on the target/)],
      webhooks: [expect.stringMatching(/^api: https:\/\/chat\.example\.com\/notify: missing on the target/)],
    });
  });

  it('MISSING_ONLY brings back the deleted branch and touches nothing else', async () => {
    const run = await restoreOriginal({ refMode: 'MISSING_ONLY' });

    expect({ status: run.status, errorMessage: run.errorMessage }).toEqual({ status: 'SUCCEEDED', errorMessage: null });
    const expected = withRefs(afterDeletions, (project, which) => atBackup.projects[project][which]);
    expect(differences(expected, await read())).toEqual({});
    // every snapshot of the organization is in the report, groups too, with what it did not write back
    expect(run.report.snapshots.map((s) => s.path).sort()).toEqual([
      'acme',
      'acme/api',
      'acme/platform',
      'acme/platform/svc',
    ]);
    const apiRows = run.report.snapshots.find((s) => s.path === 'acme/api')!.types;
    expect(apiRows.find((r) => r.type === 'repository')).toMatchObject({ skipped: 0, failed: 0 });
    expect(apiRows.find((r) => r.type === 'issues')).toMatchObject({ captured: 2, skipped: 2 });
    expect(apiRows.find((r) => r.type === 'lfs')).toMatchObject({ captured: 1, restored: 1, failed: 0 });
    const groupRows = run.report.snapshots.find((s) => s.path === 'acme/platform')!.types;
    expect(groupRows.map((r) => r.type)).toEqual(expect.arrayContaining(['group_milestones', 'group_members']));
    expectMetadataLeftOut(run);
  });

  it('PREFIX adds the snapshot’s branches and tags under the prefix, in the repository and the wiki, and nothing else', async () => {
    const before = await read();

    const run = await restoreOriginal({ refMode: 'PREFIX', refPrefix: PREFIX });

    expect({ status: run.status, errorMessage: run.errorMessage }).toEqual({ status: 'SUCCEEDED', errorMessage: null });
    const expected = withRefs(before, (project, which) => ({
      ...before.projects[project][which],
      ...prefixed(atBackup.projects[project][which]),
    }));
    expect(differences(expected, await read())).toEqual({});
    expectMetadataLeftOut(run);
  });

  it('PREFIX again duplicates nothing', async () => {
    const before = await read();

    const run = await restoreOriginal({ refMode: 'PREFIX', refPrefix: PREFIX });

    expect({ status: run.status, errorMessage: run.errorMessage }).toEqual({ status: 'SUCCEEDED', errorMessage: null });
    expect(differences(before, await read())).toEqual({});
  });

  it('PREFIX reports a prefixed ref that exists upstream at another commit, in the dry run and the run, and leaves it', async () => {
    // someone moved a restored branch: the snapshot's `stable` is no longer under the prefix
    const moved = `${PREFIX}/stable`;
    sim.pushCommit(api, { branch: moved, files: { 'edited.txt': 'edited\n' } });
    const before = await read();
    const conflict = `refs/heads/${moved}`;
    expect(before.projects.api.repository[conflict]).not.toBe(atBackup.projects.api.repository['refs/heads/stable']);

    const plan = await restoreOriginal({ refMode: 'PREFIX', refPrefix: PREFIX, dryRun: true });
    const run = await restoreOriginal({ refMode: 'PREFIX', refPrefix: PREFIX });

    for (const r of [plan, run]) {
      expect(r.status).toBe('PARTIAL');
      const snapshot = r.report.snapshots.find((s) => s.path === 'acme/api')!;
      const repository = snapshot.types.find((row) => row.type === 'repository')!;
      expect({ failed: repository.failed, restored: repository.restored }).toEqual({
        failed: 1,
        restored: repository.captured - repository.skipped - 1,
      });
      expect(repository.reasons).toEqual([
        expect.stringMatching(new RegExp(`^${conflict}: exists upstream at [0-9a-f]{12}, not the snapshot's`)),
      ]);
      expect(snapshot.problems).toEqual([expect.stringContaining(`git ${conflict}: exists upstream`)]);
    }
    expect(differences(before, await read())).toEqual({});
  });

  it('OVERWRITE resets a branch that moved, keeps refs the snapshot lacks, and touches no record', async () => {
    sim.pushCommit(api, { branch: 'stable', files: { 'later.txt': 'later\n' } });
    const before = await read();
    expect(before.projects.api.repository['refs/heads/stable']).not.toBe(
      atBackup.projects.api.repository['refs/heads/stable'],
    );

    const run = await restoreOriginal({ refMode: 'OVERWRITE' });

    expect({ status: run.status, errorMessage: run.errorMessage }).toEqual({ status: 'SUCCEEDED', errorMessage: null });
    const expected = withRefs(before, (project, which) => ({
      ...before.projects[project][which],
      ...atBackup.projects[project][which],
    }));
    expect(differences(expected, await read())).toEqual({});
    expectMetadataLeftOut(run);
  });
});
