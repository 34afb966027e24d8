import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { matchesProtectedBranch, pushRestoredRefs } from '../../server/src/restore/git-restore.js';
import {
  materializeRepository,
  type MaterializedRepository,
} from '../../server/src/snapshot/repository-materializer.js';
import { uploadLfsObjects } from '../../server/src/restore/lfs-upload.js';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';
import { lfsKey } from '../../server/src/snapshot/lfs-layout.js';
import type { SnapshotEntity } from '../../server/src/snapshot/snapshot.entity.js';
import type { Manifest } from '../../server/src/snapshot/manifest.js';

/**
 * Restoring git data: a simulator project backed up by the real engine (a FULL, then an
 * INCREMENTAL after new commits and a deleted branch), materialized from its bundle chain and
 * pushed back in each mode, with its LFS objects uploaded through the batch API.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
let groupId: number;
let auth: { username: string; password: string };
let apiToken: string;
const scratch = mkdtempSync(join(tmpdir(), 'labkeeper-restore-test-'));

const sh = (args: string[], cwd?: string) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const refsOf = (repo: string) =>
  Object.fromEntries(
    sh(['ls-remote', repo])
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t').reverse())
      .filter(([ref]) => ref !== 'HEAD' && !ref.endsWith('^{}')),
  ) as Record<string, string>;
const without = (refs: Record<string, string>, pattern: RegExp) =>
  Object.fromEntries(Object.entries(refs).filter(([ref]) => !pattern.test(ref)));
const READ_ONLY = /^refs\/(merge-requests|pipelines|environments|keep-around)\//;

async function backup(copyType?: string): Promise<string> {
  const sub = subscribe<{ backupProgress: { runId: string; isTerminal: boolean; runStatus: string } }>(
    t.ws(),
    `subscription($o: ID) { backupProgress(organizationId: $o) { runId isTerminal runStatus } }`,
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
  const run = await t.gql(`mutation($i: RunNowInput!) { runNow(input: $i) { id } }`, {
    i: { organizationId: orgId, ...(copyType ? { copyType } : {}) },
  });
  expect(run.errors).toBeUndefined();
  const done = await sub.next((e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal);
  sub.dispose();
  expect(done.backupProgress.runStatus).toBe('SUCCEEDED');
  const [item] = (
    await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: run.data.runNow.id })
  ).data.backupRun.items;
  return item.snapshotId as string;
}

let upstreamAtIncremental: Record<string, string>;
let chain: SnapshotEntity[];
let manifests: Manifest[];
let restored: MaterializedRepository;
const restoredDir = join(scratch, 'restored.git');
const noKey = async () => null;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  groupId = group.id;
  projectId = sim.createProject({ namespaceId: group.id, path: 'api', lfsEnabled: true, wikiEnabled: true }).id;
  sim.pushWikiPage(projectId, { title: 'Home', content: '# API docs' });
  sim.pushCommit(projectId, { branch: 'main', files: { 'src/app.ts': 'export const v = 1;\n' }, message: 'feature' });
  sim.createBranch(projectId, { branch: 'develop' });
  sim.createBranch(projectId, { branch: 'doomed' });
  sim.createTag(projectId, { tag: 'v1.0.0', message: 'first release' });
  sim.pushLfsPointer(projectId, { path: 'logo.png', content: randomBytes(50_000) });
  // GitLab's own ref for merge request !1, which a mirror fetches but no push may write
  sh(['update-ref', 'refs/merge-requests/1/head', 'refs/heads/develop'], sim.repoPath(projectId));
  apiToken = aToken(sim, alice.id, ['api']).token;
  auth = { username: 'alice', password: apiToken };

  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
  const policy = (
    await t.gql(
      `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup } } }`,
      { o: orgId },
    )
  ).data.policy.settings;
  const custom = await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    {
      o: orgId,
      i: {
        ...policy,
        include: { ...policy.include, lfs: true, metadata: [], groupMetadata: [] },
        verifyAfterBackup: false,
      },
    },
  );
  expect(custom.errors).toBeUndefined();

  await backup('FULL');
  // after the FULL: a branch deleted, new commits (one with an LFS object), a new branch
  sh(['update-ref', '-d', 'refs/heads/doomed'], sim.repoPath(projectId));
  sim.pushCommit(projectId, { branch: 'main', files: { 'src/app.ts': 'export const v = 2;\n' }, message: 'v2' });
  sim.pushLfsPointer(projectId, { path: 'video.mp4', content: randomBytes(80_000), branch: 'main' });
  sim.createBranch(projectId, { branch: 'feature/x' });
  upstreamAtIncremental = refsOf(sim.repoPath(projectId));
  const incrementalId = await backup('INCREMENTAL');

  const reader = t.app.services.snapshots.reader;
  chain = await reader.chain(await reader.snapshot(incrementalId));
  manifests = await Promise.all(chain.map((s) => reader.manifest(s)));
  restored = await materializeRepository({ chain, manifests, which: 'git', dir: restoredDir, reader, keyFor: noKey });
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('Materializing a snapshot chain', () => {
  it('builds a bare repository whose refs are exactly those upstream had at the incremental, the deleted branch gone', () => {
    expect(chain.map((s) => s.copyType)).toEqual(['FULL', 'INCREMENTAL']);
    expect(restored.refs).toEqual(upstreamAtIncremental);
    expect(refsOf(restoredDir)).toEqual(upstreamAtIncremental);
    expect(restored.refs).not.toHaveProperty(['refs/heads/doomed']);
    expect(restored.refs).toHaveProperty(['refs/heads/feature/x']);
    expect(restored.head).toBe('refs/heads/main');
    expect(sh(['symbolic-ref', 'HEAD'], restoredDir).trim()).toBe('refs/heads/main');
    expect(() => sh(['fsck', '--no-dangling'], restoredDir)).not.toThrow();
  });

  it('materializes the wiki, unchanged since the FULL, from the FULL bundle alone', async () => {
    expect(manifests[1].wiki).toMatchObject({ bundle: null });
    const dir = join(scratch, 'wiki.git');
    const wiki = await materializeRepository({
      chain,
      manifests,
      which: 'wiki',
      dir,
      reader: t.app.services.snapshots.reader,
      keyFor: noKey,
    });
    expect(wiki.refs).toEqual(refsOf(sim.wikiPath(projectId)));
    expect(refsOf(dir)).toEqual(wiki.refs);
  });

  it('refuses to materialize into a folder that already holds something', async () => {
    const reader = t.app.services.snapshots.reader;
    await expect(
      materializeRepository({ chain, manifests, which: 'git', dir: restoredDir, reader, keyFor: noKey }),
    ).rejects.toThrow(/not empty/);
  });
});

describe('Pushing restored refs', () => {
  let newProjectId: number;

  it('pushes every ref into a new empty project except GitLab’s read-only refs, which are reported as skipped', async () => {
    newProjectId = sim.createProject({
      namespaceId: groupId,
      path: 'api-restored',
      withCommit: false,
      lfsEnabled: true,
    }).id;
    const report = await pushRestoredRefs({
      dir: restoredDir,
      remoteUrl: `${sim.url}/acme/api-restored.git`,
      auth,
      mode: 'NEW',
      refs: restored.refs,
      head: restored.head,
      batchSize: 2,
    });
    expect(report.skipped).toEqual([
      { ref: 'refs/merge-requests/1/head', reason: expect.stringMatching(/read-only on GitLab/) },
    ]);
    expect(report.rejected).toEqual([]);
    expect(refsOf(sim.repoPath(newProjectId))).toEqual(without(restored.refs, READ_ONLY));
    expect(report.pushed.sort()).toEqual(Object.keys(without(restored.refs, READ_ONLY)).sort());
    const project = (await (
      await fetch(`${sim.url}/api/v4/projects/${newProjectId}`, { headers: { 'PRIVATE-TOKEN': apiToken } })
    ).json()) as { default_branch: string };
    expect(project.default_branch).toBe('main');
  });

  it('(simulator) GitLab protects the default branch on the first push as default_branch_protection says', async () => {
    const protectionAfterFirstPush = async (level: 0 | 1 | 2 | 3 | 4 | null) => {
      const group = sim.createGroup({
        path: `protection-${level ?? 'instance'}`,
        ownerId: [...sim.state.users.values()].find((u) => u.username === 'alice')!.id,
        ...(level === null ? {} : { defaultBranchProtection: level }),
      });
      const id = sim.createProject({ namespaceId: group.id, path: 'p', withCommit: false }).id;
      await pushRestoredRefs({
        dir: restoredDir,
        remoteUrl: `${sim.url}/${group.path}/p.git`,
        auth,
        mode: 'NEW',
        refs: { 'refs/heads/main': restored.refs['refs/heads/main'] },
        head: 'refs/heads/main',
      });
      const answer = await fetch(`${sim.url}/api/v4/projects/${id}/protected_branches`, {
        headers: { 'PRIVATE-TOKEN': apiToken },
      });
      return ((await answer.json()) as Record<string, unknown>[]).map((b) => ({
        name: b.name,
        push: (b.push_access_levels as { access_level: number }[])[0].access_level,
        merge: (b.merge_access_levels as { access_level: number }[])[0].access_level,
        force: b.allow_force_push,
      }));
    };
    expect(await protectionAfterFirstPush(0)).toEqual([]);
    expect(await protectionAfterFirstPush(1)).toEqual([{ name: 'main', push: 30, merge: 30, force: false }]);
    expect(await protectionAfterFirstPush(3)).toEqual([{ name: 'main', push: 40, merge: 30, force: false }]);
    sim.setDefaultBranchProtection(4);
    expect(await protectionAfterFirstPush(null)).toEqual([{ name: 'main', push: 40, merge: 40, force: false }]);
    sim.setDefaultBranchProtection(2);
  });

  it('reports each ref a target that is not empty refuses, and pushes the others', async () => {
    const busy = sim.createProject({ namespaceId: groupId, path: 'api-busy', withCommit: true });
    const readme = refsOf(sim.repoPath(busy.id))['refs/heads/main'];
    const dry = await pushRestoredRefs({
      dir: restoredDir,
      remoteUrl: `${sim.url}/acme/api-busy.git`,
      auth,
      mode: 'NEW',
      refs: restored.refs,
      dryRun: true,
    });
    const report = await pushRestoredRefs({
      dir: restoredDir,
      remoteUrl: `${sim.url}/acme/api-busy.git`,
      auth,
      mode: 'NEW',
      refs: restored.refs,
    });
    expect(dry).toEqual(report);
    expect(report.rejected).toEqual([
      { ref: 'refs/heads/main', reason: expect.stringMatching(/fetch first|non-fast-forward/) },
    ]);
    expect(report.pushed).toContain('refs/heads/develop');
    const after = refsOf(sim.repoPath(busy.id));
    expect(after['refs/heads/main']).toBe(readme);
    expect(after['refs/heads/develop']).toBe(restored.refs['refs/heads/develop']);
  });

  it('uploads the LFS objects of the whole chain to the new project, and skips those it already has the second time', async () => {
    const objects = [...new Map(manifests.flatMap((m) => m.lfs?.objects ?? []).map((o) => [o.oid, o])).values()];
    expect(objects).toHaveLength(2);
    const last = chain.at(-1)!;
    const open = async (oid: string) =>
      createReadStream(join(t.app.config.dataDir, 'backups', lfsKey(last.organizationId, last.repositoryId!, oid)));
    const repoHttpUrl = `${sim.url}/acme/api-restored.git`;
    const first = await uploadLfsObjects({ repoHttpUrl, auth, objects, open });
    expect(first).toMatchObject({ present: [], failed: [] });
    expect(first.uploaded.sort()).toEqual(objects.map((o) => o.oid).sort());
    expect(sim.lfsObjects(newProjectId)).toEqual(sim.lfsObjects(projectId));
    const second = await uploadLfsObjects({ repoHttpUrl, auth, objects, open });
    expect(second).toMatchObject({ uploaded: [], failed: [] });
    expect(second.present.sort()).toEqual(objects.map((o) => o.oid).sort());
  });

  it('pushes branches and tags under a prefix into the original project without changing any existing ref', async () => {
    sim.pushCommit(projectId, { branch: 'main', files: { 'src/app.ts': 'export const v = 3;\n' }, message: 'v3' });
    const before = refsOf(sim.repoPath(projectId));
    const report = await pushRestoredRefs({
      dir: restoredDir,
      remoteUrl: `${sim.url}/acme/api.git`,
      auth,
      mode: 'ORIGINAL_PREFIX',
      prefix: 'restored-1',
      refs: restored.refs,
    });
    const after = refsOf(sim.repoPath(projectId));
    for (const [ref, sha] of Object.entries(before)) expect(after[ref]).toBe(sha);
    expect(report.rejected).toEqual([]);
    expect(report.pushed.sort()).toEqual([
      'refs/heads/restored-1/develop',
      'refs/heads/restored-1/feature/x',
      'refs/heads/restored-1/main',
      'refs/tags/restored-1/v1.0.0',
    ]);
    expect(after['refs/heads/restored-1/main']).toBe(restored.refs['refs/heads/main']);
    expect(after['refs/tags/restored-1/v1.0.0']).toBe(restored.refs['refs/tags/v1.0.0']);
    expect(report.skipped).toContainEqual({
      ref: 'refs/merge-requests/1/head',
      reason: expect.stringMatching(/read-only/),
    });
  });

  it('pushes only the refs missing upstream when asked to, leaving the others as they are', async () => {
    sh(['update-ref', '-d', 'refs/heads/feature/x'], sim.repoPath(projectId));
    const before = refsOf(sim.repoPath(projectId));
    const report = await pushRestoredRefs({
      dir: restoredDir,
      remoteUrl: `${sim.url}/acme/api.git`,
      auth,
      mode: 'ORIGINAL_MISSING_ONLY',
      refs: restored.refs,
    });
    expect(report.pushed).toEqual(['refs/heads/feature/x']);
    expect(report.skipped).toContainEqual({ ref: 'refs/heads/main', reason: 'exists upstream: left as it is' });
    expect(refsOf(sim.repoPath(projectId))).toEqual({
      ...before,
      'refs/heads/feature/x': restored.refs['refs/heads/feature/x'],
    });
  });

  describe('overwriting the original project', () => {
    let protectedBranches: string[];
    beforeAll(async () => {
      sim.protectBranch(projectId, { name: 'ma*' });
      const response = await fetch(`${sim.url}/api/v4/projects/${projectId}/protected_branches`, {
        headers: { 'PRIVATE-TOKEN': apiToken },
      });
      protectedBranches = ((await response.json()) as { name: string }[]).map((b) => b.name);
      // upstream moves on: develop rewritten, feature/x deleted, a branch the snapshot does not know
      sh(['update-ref', 'refs/heads/develop', 'refs/heads/main'], sim.repoPath(projectId));
      sh(['update-ref', '-d', 'refs/heads/feature/x'], sim.repoPath(projectId));
      sim.createBranch(projectId, { branch: 'later' });
      sh(['update-ref', 'refs/tags/v1.0.0', 'refs/heads/later'], sim.repoPath(projectId));
    });

    it('matches protected branch names and wildcard patterns as GitLab does', () => {
      expect(protectedBranches).toEqual(['ma*']);
      expect(matchesProtectedBranch('main', protectedBranches)).toBe(true);
      expect(matchesProtectedBranch('release/1.x', ['release/*'])).toBe(true);
      expect(matchesProtectedBranch('develop', ['main', 'release/*'])).toBe(false);
    });

    it('computes the report without writing anything on a dry run', async () => {
      const before = refsOf(sim.repoPath(projectId));
      const report = await pushRestoredRefs({
        dir: restoredDir,
        remoteUrl: `${sim.url}/acme/api.git`,
        auth,
        mode: 'ORIGINAL_OVERWRITE',
        refs: restored.refs,
        protectedBranches,
        dryRun: true,
      });
      expect(report.pushed.sort()).toEqual(['refs/heads/develop', 'refs/heads/feature/x', 'refs/tags/v1.0.0']);
      expect(report.rejected).toEqual([{ ref: 'refs/heads/main', reason: 'protected branch: not forced' }]);
      expect(refsOf(sim.repoPath(projectId))).toEqual(before);
    });

    it('forces every ref to the snapshot except the protected branch, which is reported, and leaves extra refs alone', async () => {
      const before = refsOf(sim.repoPath(projectId));
      const report = await pushRestoredRefs({
        dir: restoredDir,
        remoteUrl: `${sim.url}/acme/api.git`,
        auth,
        mode: 'ORIGINAL_OVERWRITE',
        refs: restored.refs,
        protectedBranches,
      });
      expect(report.rejected).toEqual([{ ref: 'refs/heads/main', reason: 'protected branch: not forced' }]);
      expect(report.pushed.sort()).toEqual(['refs/heads/develop', 'refs/heads/feature/x', 'refs/tags/v1.0.0']);
      expect(report.extra).toEqual(expect.arrayContaining(['refs/heads/later', 'refs/heads/restored-1/main']));
      const after = refsOf(sim.repoPath(projectId));
      for (const [ref, sha] of Object.entries(without(restored.refs, READ_ONLY))) {
        if (ref === 'refs/heads/main') expect(after[ref]).toBe(before[ref]);
        else expect(after[ref]).toBe(sha);
      }
      expect(after['refs/heads/later']).toBe(before['refs/heads/later']);
    });
  });
});
