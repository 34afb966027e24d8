import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';

/** Restoring into the original project never destroys silently. */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
let snapshotId: string;
let atSnapshot: Record<string, string>;

// the bare repository on disk: no HTTP, so a sync call cannot deadlock with the in-process simulator
const refs = () =>
  Object.fromEntries(
    execFileSync('git', ['for-each-ref', '--format=%(refname) %(objectname)'], {
      cwd: sim.repoPath(projectId),
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
      .filter(([ref]) => !ref.startsWith('refs/merge-requests/')),
  ) as Record<string, string>;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'api' }).id;
  sim.createBranch(projectId, { branch: 'feature' });
  sim.pushCommit(projectId, { branch: 'feature', files: { 'f.txt': 'feature\n' } });
  sim.createTag(projectId, { tag: 'v1.0.0' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: aToken(sim, alice.id, ['api']).token,
      namespacePath: 'acme',
      includeGroups: false,
    },
  });
  await synced;
  orgId = (
    await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: r.data.connectGitLab.connection.id })
  ).data.organizations[0].id;

  const sub = subscribe<{ backupProgress: { runId: string; isTerminal: boolean } }>(
    t.ws(),
    `subscription($o: ID) { backupProgress(organizationId: $o) { runId isTerminal } }`,
    { o: orgId },
  );
  await untilListening(
    sub,
    () =>
      t.app.pubSub.publish('BACKUP_PROGRESS', {
        organizationId: orgId,
        runId: 'probe',
        runStatus: 'QUEUED',
        itemsTotal: 0,
        itemsDone: 0,
        itemsFailed: 0,
        item: null,
        isTerminal: false,
        at: '',
      }),
    (e) => e.backupProgress.runId === 'probe',
  );
  const run = await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
  await sub.next((e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal);
  sub.dispose();
  snapshotId = (
    await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: run.data.runNow.id })
  ).data.backupRun.items[0].snapshotId;
  atSnapshot = refs();

  // afterwards, upstream moves on: main advances (and is protected), feature is deleted, a new branch appears
  sim.pushCommit(projectId, { branch: 'main', files: { 'later.txt': 'later\n' } });
  sim.protectBranch(projectId, { name: 'main' });
  execFileSync('git', ['update-ref', '-d', 'refs/heads/feature'], { cwd: sim.repoPath(projectId) });
  sim.createBranch(projectId, { branch: 'newer' });
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function restore(input: Record<string, unknown>) {
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
    i: { target: 'ORIGINAL', snapshotIds: [snapshotId], ...input },
  });
  expect(r.errors).toBeUndefined();
  const runId = r.data.restoreSnapshot.id;
  const sub = subscribe<{ restoreProgress: { isTerminal: boolean } }>(
    t.ws(),
    `subscription($r: ID!) { restoreProgress(runId: $r) { isTerminal } }`,
    { r: runId },
  );
  const current = (await t.gql(`query($id: ID!) { restoreRun(id: $id) { status } }`, { id: runId })).data.restoreRun
    .status;
  if (!['SUCCEEDED', 'PARTIAL', 'FAILED'].includes(current))
    await sub.next((e) => e.restoreProgress.isTerminal).catch(() => undefined);
  sub.dispose();
  const run = (
    await t.gql(
      `query($id: ID!) { restoreRun(id: $id) { status errorMessage report { snapshots { problems types { type reasons } detail { created refsPushed refsExtra wikiRefsPushed notRestored lfs { uploaded present failed } metadata { type created skipped failed { sourceId reason } } } } } } }`,
      { id: runId },
    )
  ).data.restoreRun;
  return {
    ...run,
    detail: run.report.snapshots[0].detail ?? {},
    types: run.report.snapshots[0].types as { type: string; reasons: string[] }[],
    problems: run.report.snapshots[0].problems as string[],
  };
}

describe('restore to the original project', () => {
  it('without the overwrite flag changes no existing ref, and puts the snapshot under a prefix', async () => {
    const before = refs();
    const run = await restore({ refPrefix: 'restored/test' });
    expect(run.status).toBe('SUCCEEDED');
    const after = refs();
    for (const [ref, sha] of Object.entries(before)) expect({ ref, sha: after[ref] }).toEqual({ ref, sha });
    expect(after['refs/heads/restored/test/feature']).toBe(atSnapshot['refs/heads/feature']);
    expect(after['refs/tags/restored/test/v1.0.0']).toBe(atSnapshot['refs/tags/v1.0.0']);
  });

  it('with MISSING_ONLY brings back only the deleted branch', async () => {
    const before = refs();
    const run = await restore({ refMode: 'MISSING_ONLY' });
    expect(run.status).toBe('SUCCEEDED');
    expect(refs()['refs/heads/feature']).toBe(atSnapshot['refs/heads/feature']);
    expect(refs()['refs/heads/main']).toBe(before['refs/heads/main']);
    // main moved upstream since the snapshot: left as it is, and named in the report
    expect(run.types.find((t: { type: string }) => t.type === 'repository')!.reasons).toContainEqual(
      expect.stringMatching(/ref\(s\) exist upstream at another commit and were left as they are: .*refs\/heads\/main/),
    );
  });

  it('with OVERWRITE makes refs equal to the snapshot, but reports a protected branch instead of forcing it', async () => {
    const before = refs();
    const run = await restore({ refMode: 'OVERWRITE' });
    expect(run.status).toBe('PARTIAL'); // restored, with the protected branch reported
    expect(run.problems.join()).toMatch(/refs\/heads\/main: protected branch: not forced/);
    const after = refs();
    expect(after['refs/heads/main']).toBe(before['refs/heads/main']);
    for (const [ref, sha] of Object.entries(atSnapshot))
      if (ref !== 'refs/heads/main') expect({ ref, sha: after[ref] }).toEqual({ ref, sha });
    expect(run.detail.refsExtra).toEqual(expect.arrayContaining(['refs/heads/newer']));
    expect(after['refs/heads/newer']).toBeDefined(); // refs the snapshot lacks are listed, not deleted
  });
});
