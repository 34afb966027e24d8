import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, PASSWORD } from '../support/gitlab-seed.js';

/**
 * What a NEW_PROJECT restore asks of the target's git, per repository: a project it has just created
 * is not asked for its refs (it has none), and the refs go in one push when the snapshot's head is
 * the branch the new project's HEAD already names (main); a project whose head is another branch
 * still gets that branch pushed first, on its own, so that GitLab makes it the default branch.
 */
let source: GitLabSimulator;
let target: GitLabSimulator;
let t: TestApp;
let organizationId: string;
let targetConnectionId: string;
let targetToken: string;

beforeAll(async () => {
  source = await startGitLabSimulator({ rateLimit: null });
  target = await startGitLabSimulator({ rateLimit: null });
  const alice = aUser(source);
  const acme = source.createGroup({ path: 'acme', name: 'ACME', ownerId: alice.id });
  const app = source.createProject({ namespaceId: acme.id, path: 'app', name: 'App' }).id;
  source.createBranch(app, { branch: 'feature' });
  source.pushCommit(app, { branch: 'feature', files: { 'feature.txt': 'x\n' } });
  source.createTag(app, { tag: 'v1.0.0' });
  const legacy = source.createProject({
    namespaceId: acme.id,
    path: 'legacy',
    name: 'Legacy',
    defaultBranch: 'develop',
  }).id;
  source.createBranch(legacy, { branch: 'main', ref: 'refs/heads/develop' });
  source.pushCommit(legacy, { branch: 'main', files: { 'main.txt': 'y\n' } });

  aUser(target); // the group's member, mapped by username
  const root = target.createUser({ username: 'root', email: 'root@example.com', password: PASSWORD, isAdmin: true });
  target.createGroup({ path: 'restored', name: 'Restored', ownerId: root.id });
  targetToken = target.createPersonalAccessToken(root.id, { scopes: ['api'] }).token;

  t = await startTestApp({ gitlab: { url: source.url } });
  organizationId = (await connectOrganization(t, source, { userId: alice.id, namespacePath: 'acme' })).organizationId;
  const connected = await t.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`,
    {
      i: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: target.url, login: 'root', personalAccessToken: targetToken },
    },
  );
  targetConnectionId = connected.data.connectGitLab.connection.id;
  expect((await runBackup(t, organizationId)).status).toBe('SUCCEEDED');
});

afterAll(async () => {
  await t?.stop();
  await source?.close();
  await target?.close();
});

async function restoreOrganization(): Promise<string> {
  const done = nextJob(t, 'restore.run');
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
    i: { target: 'NEW_PROJECT', organizationId, targetConnectionId, namespacePath: 'restored' },
  });
  expect(r.errors).toBeUndefined();
  await done;
  const run = (
    await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, { id: r.data.restoreSnapshot.id })
  ).data.restoreRun;
  return `${run.status}${run.errorMessage ? `: ${run.errorMessage}` : ''}`;
}

const pushesTo = (path: string) =>
  target.requestsTo(new RegExp(`^/${path}\\.git/git-receive-pack$`)).filter((r) => r.method === 'POST').length;

const refsAsked = (path: string) =>
  target.requestsTo(new RegExp(`^/${path}\\.git/info/refs$`)).filter((r) => r.query.service === 'git-upload-pack')
    .length;

async function project(path: string): Promise<{ default_branch: string }> {
  const response = await fetch(`${target.url}/api/v4/projects/${encodeURIComponent(path)}`, {
    headers: { 'private-token': targetToken },
  });
  return (await response.json()) as { default_branch: string };
}

describe('a NEW_PROJECT restore talking to the target’s git', () => {
  it('pushes each repository once when its head is main, twice when it is another branch, and never asks a new project for its refs', async () => {
    expect(await restoreOrganization()).toBe('SUCCEEDED');

    expect(pushesTo('restored/app')).toBe(1);
    expect(pushesTo('restored/legacy')).toBe(2);
    expect(refsAsked('restored/app') + refsAsked('restored/legacy')).toBe(0);
    expect((await project('restored/app')).default_branch).toBe('main');
    expect((await project('restored/legacy')).default_branch).toBe('develop');
  });
});
