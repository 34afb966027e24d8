import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { runBackup } from '../support/backups.js';
import { aToken, aUser, PASSWORD } from '../support/gitlab-seed.js';

/**
 * Backup on one GitLab, restore as a new project on another GitLab through a second Connection:
 * refs, wiki, LFS objects and metadata, with cross-references rewritten to the new numbers.
 */
let source: GitLabSimulator;
let target: GitLabSimulator;
let t: TestApp;
let orgId: string;
let targetConnectionId: string;
let bobToken: string;
let projectId: number;
const scratch = mkdtempSync(join(tmpdir(), 'labkeeper-new-project-'));
const sh = (args: string[], cwd?: string) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const gitAsync = promisify(execFile);
/** Async: the simulator answers git over HTTP from this same process, so a sync call would deadlock. */
const refsOf = async (repo: string, extra: string[] = []) =>
  Object.fromEntries(
    (await gitAsync('git', [...extra, 'ls-remote', repo], { encoding: 'utf8' })).stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t').reverse())
      .filter(([ref]) => ref !== 'HEAD' && !ref.endsWith('^{}') && !ref.startsWith('refs/merge-requests/')),
  );

beforeAll(async () => {
  source = await startGitLabSimulator();
  target = await startGitLabSimulator();
  const alice = aUser(source);
  const group = source.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = source.createProject({
    namespaceId: group.id,
    path: 'api',
    wikiEnabled: true,
    lfsEnabled: true,
    description: 'The API',
    topics: ['backend', 'api'],
  }).id;
  // settings and access: a member who exists on both sides, a protected branch and tag, a webhook, a deploy key, a CI/CD variable
  const carol = source.createUser({ username: 'carol', email: 'carol@example.com', password: PASSWORD });
  source.addMember('project', projectId, carol.id, 30);
  source.protectBranch(projectId, { name: 'main', pushAccessLevel: 40, mergeAccessLevel: 30 });
  source.protectTag(projectId, { name: 'v*', createAccessLevel: 40 });
  source.createHook(projectId, {
    url: 'https://hooks.example.com/ci',
    token: 'hook-secret',
    events: { push_events: true, merge_requests_events: true },
  });
  source.createDeployKey(projectId, {
    title: 'deployer',
    key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBd5mQ0VbY1ykp8J0bTq7s2hVb5qFhLh0fWc3p8mZ0aB deployer',
  });
  source.createVariable(projectId, {
    key: 'DEPLOY_TOKEN',
    value: 's3cr3t-value',
    protected: true,
    masked: true,
    environmentScope: 'production',
  });
  source.createBranch(projectId, { branch: 'feature' });
  source.pushCommit(projectId, { branch: 'feature', files: { 'feature.txt': 'x\n' } });
  source.createTag(projectId, { tag: 'v1.0.0' });
  source.pushWikiPage(projectId, { title: 'Home', content: '# Docs' });
  source.pushLfsPointer(projectId, { path: 'logo.png', content: randomBytes(100_000) });
  source.createLabel(projectId, { name: 'bug' });
  source.createMilestone(projectId, { title: 'v1' });
  const first = source.createIssue(projectId, { title: 'Crash on start', labels: ['bug'] });
  const second = source.createIssue(projectId, { title: 'Follow-up', description: `Related to #${first.iid}` });
  source.createNote(projectId, { noteableType: 'Issue', noteableIid: first.iid, body: `Duplicate of #${second.iid}` });
  const mr = source.createMergeRequest(projectId, {
    title: 'Add feature',
    sourceBranch: 'feature',
    targetBranch: 'main',
    description: `Closes #${first.iid}`,
  });
  source.createNote(projectId, { noteableType: 'MergeRequest', noteableIid: mr.iid, body: 'LGTM' });
  source.createRelease(projectId, { tagName: 'v1.0.0', name: 'First release' });

  const bob = target.createUser({ username: 'bob', email: 'bob@example.com', password: PASSWORD });
  target.createUser({ username: 'carol', email: 'carol@example.com', password: PASSWORD });
  target.createGroup({ path: 'restored', ownerId: bob.id });
  bobToken = target.createPersonalAccessToken(bob.id, { scopes: ['api'] }).token;

  t = await startTestApp({ gitlab: { url: source.url } });
  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: source.url,
      login: 'alice',
      personalAccessToken: aToken(source, alice.id).token,
      namespacePath: 'acme',
      includeGroups: false,
    },
  });
  await synced;
  orgId = (
    await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: r.data.connectGitLab.connection.id })
  ).data.organizations[0].id;
  const second2 = await t.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id status } } }`,
    {
      i: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: target.url, login: 'bob', personalAccessToken: bobToken },
    },
  );
  expect(second2.data.connectGitLab.connection.status).toBe('CONNECTED');
  targetConnectionId = second2.data.connectGitLab.connection.id;
});
afterAll(async () => {
  await t?.stop();
  await source?.close();
  await target?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function backup(): Promise<string> {
  const { runId, status } = await runBackup(t, orgId);
  expect(status).toBe('SUCCEEDED');
  const [item] = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
    .backupRun.items;
  return item.snapshotId;
}

async function restore(input: Record<string, unknown>) {
  await t.app.jobStore.agenda.stop(); // hold the worker until the subscriber listens
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id status } }`, {
    i: input,
  });
  expect(r.errors).toBeUndefined();
  const runId = r.data.restoreSnapshot.id;
  const sub = subscribe<{
    restoreProgress: { runId: string; status: string; phase: string; isTerminal: boolean; done: number };
  }>(t.ws(), `subscription($r: ID!) { restoreProgress(runId: $r) { runId status phase isTerminal done } }`, {
    r: runId,
  });
  await untilListening(
    sub,
    () =>
      t.app.pubSub.publish('RESTORE_PROGRESS', {
        runId,
        organizationId: orgId,
        status: 'QUEUED',
        phase: 'QUEUED',
        done: -1,
        total: 0,
        message: null,
        isTerminal: false,
        at: '',
      }),
    (e) => e.restoreProgress.done === -1,
  );
  await t.app.jobStore.agenda.start();
  const last = await sub.next((e) => e.restoreProgress.isTerminal);
  sub.dispose();
  const run = (
    await t.gql(
      `query($id: ID!) { restoreRun(id: $id) { status errorMessage report { snapshots { targetPath targetUrl problems detail { created refsPushed refsExtra wikiRefsPushed notRestored lfs { uploaded present failed } metadata { type created skipped failed { sourceId reason } } } types { type captured restored skipped failed reasons } } } } }`,
      { id: runId },
    )
  ).data.restoreRun;
  return { last: last.restoreProgress, run, phases: sub.events.map((e) => e.restoreProgress.phase) };
}

/** The typed detail, with refs counted and metadata by type (as the assertions read it). */
function detailOf(snapshot: {
  detail: {
    refsPushed: string[];
    wikiRefsPushed: number;
    lfs: { uploaded: number } | null;
    metadata: { type: string; created: number }[] | null;
  };
}) {
  const { detail } = snapshot;
  return {
    refsPushed: detail.refsPushed.length,
    wikiRefsPushed: detail.wikiRefsPushed,
    lfs: detail.lfs,
    metadata: Object.fromEntries((detail.metadata ?? []).map((m) => [m.type, m])),
  };
}

const api = async (path: string) =>
  (await fetch(`${target.url}/api/v4${path}`, { headers: { 'private-token': bobToken } })).json();

describe('restore to a new project on another GitLab', () => {
  let snapshotId: string;
  beforeAll(async () => {
    snapshotId = await backup();
  });

  let plan: ReturnType<typeof detailOf>;
  it('runs the same pre-flight checks in a dry run and predicts the outcome per repository and per type, writing nothing', async () => {
    const missing = await restore({
      target: 'NEW_PROJECT',
      snapshotIds: [snapshotId],
      targetConnectionId,
      namespacePath: 'no-such-group',
      dryRun: true,
    });
    expect(missing.run.status).toBe('FAILED');
    expect(missing.run.errorMessage).toMatch(/no-such-group/);
    const { run } = await restore({
      target: 'NEW_PROJECT',
      snapshotIds: [snapshotId],
      targetConnectionId,
      namespacePath: 'restored',
      dryRun: true,
    });
    expect(run.status).toBe('SUCCEEDED');
    plan = detailOf(run.report.snapshots[0]);
    expect(plan).toMatchObject({ refsPushed: 3, wikiRefsPushed: 1, lfs: { uploaded: 1 } });
    expect(plan.metadata).toMatchObject({
      issues: { created: 2 },
      merge_requests: { created: 1 },
      labels: { created: 1 },
      notes: { created: 2 },
      releases: { created: 1 },
    });
    expect(
      (
        await fetch(`${target.url}/api/v4/projects/${encodeURIComponent('restored/api')}`, {
          headers: { 'private-token': bobToken },
        })
      ).status,
    ).toBe(404);
  });

  it('recreates refs, wiki (which the new project does not have yet), LFS objects and metadata, with cross-references rewritten', async () => {
    const { last, run, phases } = await restore({
      target: 'NEW_PROJECT',
      snapshotIds: [snapshotId],
      targetConnectionId,
      namespacePath: 'restored',
    });
    // what the dry run predicted
    const detail = detailOf(run.report.snapshots[0]);
    expect({ refs: detail.refsPushed, wiki: detail.wikiRefsPushed, lfs: detail.lfs!.uploaded }).toEqual({
      refs: plan.refsPushed,
      wiki: plan.wikiRefsPushed,
      lfs: plan.lfs!.uploaded,
    });
    for (const [type, section] of Object.entries(plan.metadata))
      expect([type, detail.metadata[type].created]).toEqual([type, section.created]);
    expect(phases).toEqual(expect.arrayContaining(['RESTORING', 'DONE']));
    expect(run.errorMessage).toBeNull();
    expect(last).toMatchObject({ status: 'SUCCEEDED', isTerminal: true });
    expect(run.report.snapshots[0]).toMatchObject({ targetPath: 'restored/api', problems: [] });

    // refs identical (GitLab's own read-only refs such as refs/merge-requests/* excepted), fsck clean
    const project = await api(`/projects/${encodeURIComponent('restored/api')}`);
    const auth = ['-c', `http.extraHeader=Authorization: Basic ${Buffer.from(`bob:${bobToken}`).toString('base64')}`];
    expect(await refsOf(project.http_url_to_repo, auth)).toEqual(await refsOf(source.repoPath(projectId)));
    const clone = join(scratch, 'clone');
    await gitAsync('git', [...auth, 'clone', '--mirror', '--quiet', project.http_url_to_repo, clone]);
    sh(['fsck', '--no-progress'], clone);
    // wiki identical
    expect(await refsOf(project.http_url_to_repo.replace(/\.git$/, '.wiki.git'), auth)).toEqual(
      await refsOf(source.wikiPath(projectId)),
    );
    // LFS objects present
    expect(target.lfsObjects(project.id).map((o: { oid: string }) => o.oid)).toEqual(
      source.lfsObjects(projectId).map((o: { oid: string }) => o.oid),
    );
    // metadata counts
    const issues = await api(`/projects/${project.id}/issues?per_page=100&state=all`);
    expect(issues).toHaveLength(2);
    const mrs = await api(`/projects/${project.id}/merge_requests?per_page=100&state=all`);
    expect(mrs.map((m: { title: string }) => m.title)).toEqual(['Add feature']);
    expect((await api(`/projects/${project.id}/labels?per_page=100`)).map((l: { name: string }) => l.name)).toEqual([
      'bug',
    ]);
    expect(
      (await api(`/projects/${project.id}/milestones?per_page=100`)).map((m: { title: string }) => m.title),
    ).toEqual(['v1']);
    expect(
      (await api(`/projects/${project.id}/releases?per_page=100`)).map((r: { tag_name: string }) => r.tag_name),
    ).toEqual(['v1.0.0']);
    const crash = issues.find((i: { title: string }) => i.title === 'Crash on start');
    const follow = issues.find((i: { title: string }) => i.title === 'Follow-up');
    const notes = await api(`/projects/${project.id}/issues/${crash.iid}/notes?per_page=100`);
    expect(notes.filter((n: { system: boolean }) => !n.system)).toHaveLength(1);
    // cross-references point to the new numbers; authors and dates kept in the text
    expect(follow.description).toContain(`Related to #${crash.iid}`);
    expect(follow.description).toMatch(/Originally by @alice/);
    expect(notes[0].body).toContain(`Duplicate of #${follow.iid}`);
    expect(mrs[0].description).toContain(`Closes #${crash.iid}`);
    // settings and access, type by type
    expect(project).toMatchObject({ description: 'The API', topics: ['backend', 'api'] });
    expect(
      (await api(`/projects/${project.id}/members`)).map(
        (m: { username: string; access_level: number }) => `${m.username}:${m.access_level}`,
      ),
    ).toContain('carol:30');
    expect(await api(`/projects/${project.id}/protected_branches`)).toEqual([
      expect.objectContaining({ name: 'main', push_access_levels: [expect.objectContaining({ access_level: 40 })] }),
    ]);
    expect((await api(`/projects/${project.id}/protected_tags`)).map((p: { name: string }) => p.name)).toEqual(['v*']);
    expect(await api(`/projects/${project.id}/hooks`)).toEqual([
      expect.objectContaining({ url: 'https://hooks.example.com/ci', merge_requests_events: true }),
    ]);
    expect((await api(`/projects/${project.id}/deploy_keys`)).map((k: { title: string }) => k.title)).toEqual([
      'deployer',
    ]);
    expect(await api(`/projects/${project.id}/variables`)).toEqual([
      expect.objectContaining({
        key: 'DEPLOY_TOKEN',
        value: 's3cr3t-value',
        protected: true,
        masked: true,
        environment_scope: 'production',
      }),
    ]);
    // the fidelity report: every captured type restored, the webhook token's absence said
    const types = Object.fromEntries(run.report.snapshots[0].types.map((x: { type: string }) => [x.type, x]));
    for (const type of [
      'repository',
      'wiki',
      'lfs',
      'issues',
      'merge_requests',
      'labels',
      'milestones',
      'releases',
      'members',
      'protected_branches',
      'protected_tags',
      'webhooks',
      'deploy_keys',
      'ci_variables',
      'project_settings',
    ]) {
      expect([type, types[type].failed, types[type].restored >= types[type].captured - types[type].skipped]).toEqual([
        type,
        0,
        true,
      ]);
    }
    expect(types.webhooks.reasons.join()).toMatch(/secret token/);
  });

  it('creates no duplicates when the same restore runs again', async () => {
    const { last } = await restore({
      target: 'NEW_PROJECT',
      snapshotIds: [snapshotId],
      targetConnectionId,
      namespacePath: 'restored',
    });
    expect(last.status).toBe('SUCCEEDED');
    const project = await api(`/projects/${encodeURIComponent('restored/api')}`);
    expect(await api(`/projects/${project.id}/issues?per_page=100&state=all`)).toHaveLength(2);
    expect(await api(`/projects/${project.id}/labels?per_page=100`)).toHaveLength(1);
    expect(await api(`/projects/${project.id}/milestones?per_page=100`)).toHaveLength(1);
    expect(await api(`/projects/${project.id}/merge_requests?per_page=100&state=all`)).toHaveLength(1);
  });

  it('refuses unusable webhook secret tokens, naming the field and never echoing a token', async () => {
    const attempt = (webhookSecretTokens: unknown, target = 'NEW_PROJECT') =>
      t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
        i: { target, snapshotIds: [snapshotId], targetConnectionId, namespacePath: 'restored', webhookSecretTokens },
      });
    const cases: [unknown, string, Record<string, unknown>][] = [
      [
        [{ url: 'not a url', token: 'tok-one-1234' }],
        'NEW_PROJECT',
        { 'input.webhookSecretTokens[0].url': expect.any(String) },
      ],
      [
        [{ url: 'https://h.example.com/x', token: '  ' }],
        'NEW_PROJECT',
        { 'input.webhookSecretTokens[0].token': 'must not be empty' },
      ],
      [
        [
          { url: 'https://h.example.com/x', token: 'tok-one-1234' },
          { url: 'https://h.example.com/x', token: 'tok-two-5678' },
        ],
        'NEW_PROJECT',
        { 'input.webhookSecretTokens[1].url': 'is given twice: one token per webhook URL' },
      ],
      [
        [{ url: 'https://h.example.com/x', token: 'tok-one-1234' }],
        'ORIGINAL',
        { 'input.webhookSecretTokens': expect.any(String) },
      ],
    ];
    for (const [tokens, target, fields] of cases) {
      const r = await attempt(tokens, target);
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields });
      expect(JSON.stringify(r)).not.toMatch(/tok-(one|two)/);
    }
  });

  it('refuses a target connection without the api scope, naming the field', async () => {
    const readOnly = target.createPersonalAccessToken(
      target.createUser({ username: 'dora', email: 'dora@example.com', password: PASSWORD }).id,
      { scopes: ['read_api', 'read_repository'] },
    ).token;
    const c = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
      i: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: target.url, login: 'dora', personalAccessToken: readOnly },
    });
    const { run } = await restore({
      target: 'NEW_PROJECT',
      snapshotIds: [snapshotId],
      targetConnectionId: c.data.connectGitLab.connection.id,
      namespacePath: 'restored',
      projectPath: 'api-2',
    });
    expect(run.status).toBe('FAILED');
    expect(run.report.snapshots[0].problems.join()).toMatch(/api scope/);
  });
});
