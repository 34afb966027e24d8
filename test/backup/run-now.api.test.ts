import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';

/**
 * Run now against the simulator, end to end: real git over HTTP into bare mirrors, bundles in
 * local storage, manifests, and the snapshots restored with plain git.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
const projects: { id: number; path: string }[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'labkeeper-backup-test-'));

const sh = (args: string[], cwd?: string) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const refsOf = (repoOrBundle: string) =>
  Object.fromEntries(
    sh(['ls-remote', repoOrBundle])
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t').reverse())
      .filter(([ref]) => ref !== 'HEAD' && !ref.endsWith('^{}')),
  ) as Record<string, string>;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['api', 'web', 'docs']) {
    const p = sim.createProject({ namespaceId: group.id, path, wikiEnabled: true });
    projects.push({ id: p.id, path: `acme/${path}` });
  }
  sim.pushCommit(projects[0].id, {
    branch: 'main',
    files: { 'src/app.ts': 'export const v = 1;\n' },
    message: 'feature',
  });
  sim.createBranch(projects[0].id, { branch: 'develop' });
  sim.createTag(projects[0].id, { tag: 'v1.0.0', message: 'first release' });
  sim.pushWikiPage(projects[0].id, { title: 'Home', content: '# API docs' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: aToken(sim, alice.id).token,
      namespacePath: 'acme',
    },
  });
  await synced;
  orgId = (
    await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: r.data.connectGitLab.connection.id })
  ).data.organizations[0].id;
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
      i: { ...policy, include: { ...policy.include, metadata: [], groupMetadata: [] }, verifyAfterBackup: false },
    },
  );
  expect(custom.errors).toBeUndefined();
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  rmSync(scratch, { recursive: true, force: true });
});

type Progress = {
  backupProgress: {
    runId: string;
    runStatus: string;
    isTerminal: boolean;
    itemsDone: number;
    item: { pathWithNamespace: string; phase: string; status: string } | null;
  };
};

async function runAndWatch(copyType?: string) {
  const sub = subscribe<Progress>(
    t.ws(),
    `subscription($o: ID) { backupProgress(organizationId: $o) { runId runStatus isTerminal itemsDone item { pathWithNamespace phase status } } }`,
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
  const r = await t.gql(`mutation($i: RunNowInput!) { runNow(input: $i) { id status } }`, {
    i: { organizationId: orgId, ...(copyType ? { copyType } : {}) },
  });
  expect(r.errors).toBeUndefined();
  expect(r.data.runNow.status).toBe('QUEUED');
  const runId = r.data.runNow.id;
  const last = await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal);
  sub.dispose();
  if (last.backupProgress.runStatus !== 'SUCCEEDED') {
    const items = await t.gql(
      `query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace status errorCode errorMessage } } }`,
      { id: runId },
    );
    console.error(JSON.stringify(items.data.backupRun.items, null, 1));
  }
  return {
    runId,
    last: last.backupProgress,
    events: sub.events.map((e) => e.backupProgress).filter((e) => e.runId === runId),
  };
}

const snapshotsOf = async (path: string) => {
  const repos = (
    await t.gql(`query($id: ID!) { organization(id: $id) { repositories { nodes { id pathWithNamespace } } } }`, {
      id: orgId,
    })
  ).data.organization.repositories.nodes;
  const repo = repos.find((r: { pathWithNamespace: string }) => r.pathWithNamespace === path);
  return (
    await t.gql(
      `query($r: ID!) { snapshots(repositoryId: $r) { nodes { id copyType parentId storagePrefix manifest verificationStatus } } }`,
      { r: repo.id },
    )
  ).data.snapshots.nodes as {
    id: string;
    copyType: string;
    parentId: string | null;
    storagePrefix: string;
    manifest: string;
    verificationStatus: string;
  }[];
};
const fileOf = (snapshot: { storagePrefix: string }, name: string) =>
  join(t.app.config.dataDir, 'backups', snapshot.storagePrefix, name);

describe('Run now', () => {
  let firstRun: Awaited<ReturnType<typeof runAndWatch>>;

  it('backs up every repository into a FULL snapshot, reporting progress from QUEUED to a terminal event', async () => {
    firstRun = await runAndWatch();
    expect(firstRun.events[0]).toMatchObject({ runStatus: 'QUEUED' });
    expect(firstRun.events.map((e) => e.item?.phase)).toEqual(
      expect.arrayContaining(['FETCHING', 'BUNDLING', 'WRITING', 'DONE']),
    );
    expect(firstRun.last).toMatchObject({ runStatus: 'SUCCEEDED', itemsDone: 3, isTerminal: true });
    for (const { path } of projects) {
      const [snapshot] = await snapshotsOf(path);
      expect(snapshot).toMatchObject({ copyType: 'FULL', parentId: null });
    }
  });

  it('writes bundles that plain git clones into exactly the upstream refs, wiki included', async () => {
    const [snapshot] = await snapshotsOf('acme/api');
    const manifest = JSON.parse(snapshot.manifest);
    const upstream = refsOf(sim.repoPath(projects[0].id));
    expect(manifest.git.refs).toEqual(upstream);
    expect(Object.keys(upstream)).toEqual(
      expect.arrayContaining(['refs/heads/main', 'refs/heads/develop', 'refs/tags/v1.0.0']),
    );
    const clone = join(scratch, 'api-full');
    sh(['clone', '--mirror', fileOf(snapshot, 'repository.bundle'), clone]);
    expect(refsOf(clone)).toEqual(upstream);
    expect(manifest.wiki.refs).toEqual(refsOf(sim.wikiPath(projects[0].id)));
    // every artifact is listed with its size and sha256
    for (const a of manifest.artifacts) {
      expect(statSync(fileOf(snapshot, a.path)).size).toBe(a.size);
      expect(execFileSync('sha256sum', [fileOf(snapshot, a.path)], { encoding: 'utf8' }).split(' ')[0]).toBe(a.sha256);
    }
  });

  it("streams each bundle straight from GitLab's pack, keeping no local mirror of repositories without LFS objects", async () => {
    // protocol v2: ls-refs, then one fetch whose pack became the bundle; no clone into a mirror.
    // (The simulator records a request when its response has ended, which for the fetch may come
    // after Labkeeper has its last pkt-line: only "at least one" is certain here.)
    expect(existsSync(join(t.app.config.dataDir, 'mirrors'))).toBe(false);
    const packRequests = sim.requests.filter(
      (r) => /\/acme\/api\.git\/git-upload-pack$/.test(r.path) && r.method === 'POST',
    );
    expect(packRequests.length).toBeGreaterThanOrEqual(1);
    expect(packRequests.length).toBeLessThanOrEqual(2);
  });

  it('refuses a second run while one is active, naming the running one', async () => {
    const a = await t.gql(`mutation($i: RunNowInput!) { runNow(input: $i) { id } }`, { i: { organizationId: orgId } });
    const b = await t.gql(`mutation($i: RunNowInput!) { runNow(input: $i) { id } }`, { i: { organizationId: orgId } });
    expect(b.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'BACKUP_ALREADY_RUNNING' });
    // let it finish before the next test
    const done = subscribe<Progress>(
      t.ws(),
      `subscription($r: ID) { backupProgress(runId: $r) { runId isTerminal runStatus itemsDone item { pathWithNamespace phase status } } }`,
      { r: a.data.runNow.id },
    );
    const run = await t.gql(`query($id: ID!) { backupRun(id: $id) { status } }`, { id: a.data.runNow.id });
    if (!['SUCCEEDED', 'PARTIAL', 'FAILED'].includes(run.data.backupRun.status))
      await done.next((e) => e.backupProgress.isTerminal).catch(() => undefined);
    done.dispose();
  });

  it('makes INCREMENTAL snapshots carrying only new objects, which plain git applies on top of the full bundle', async () => {
    const newSha = sim.pushCommit(projects[0].id, {
      branch: 'main',
      files: { 'src/app.ts': 'export const v = 2;\n' },
      message: 'v2',
    });
    sim.createBranch(projects[0].id, { branch: 'feature/x' });
    const run = await runAndWatch('INCREMENTAL');
    expect(run.last.runStatus).toBe('SUCCEEDED');
    const [incremental, ...older] = await snapshotsOf('acme/api');
    const full = older.find((s) => s.copyType === 'FULL')!;
    expect(incremental).toMatchObject({ copyType: 'INCREMENTAL' });
    const manifest = JSON.parse(incremental.manifest);
    const upstream = refsOf(sim.repoPath(projects[0].id));
    expect(manifest.git.refs).toEqual(upstream);
    expect(manifest.git.prerequisites.length).toBeGreaterThan(0);
    // the incremental bundle is small: its pack holds only the new commit's objects
    const count = sh(['bundle', 'list-heads', fileOf(incremental, 'repository.bundle')]);
    expect(count).toContain(newSha);
    expect(statSync(fileOf(incremental, 'repository.bundle')).size).toBeLessThan(
      statSync(fileOf(full, 'repository.bundle')).size + 1,
    );
    // restore with plain git: clone the full, fetch the incremental, set refs as the manifest says
    const repo = join(scratch, 'api-restored');
    sh(['clone', '--mirror', fileOf(full, 'repository.bundle'), repo]);
    sh(['fetch', fileOf(incremental, 'repository.bundle'), '+refs/*:refs/*'], repo);
    expect(refsOf(repo)).toEqual(upstream);
  });

  it('verifies a good snapshot, and reports a flipped byte and a truncated bundle', async () => {
    const [incremental] = await snapshotsOf('acme/api');
    const ok = await t.gql(
      `mutation($id: ID!) { verifySnapshot(id: $id) { ok problems snapshot { verificationStatus } } }`,
      { id: incremental.id },
    );
    expect(ok.data.verifySnapshot).toEqual({ ok: true, problems: [], snapshot: { verificationStatus: 'VERIFIED' } });

    const web = (await snapshotsOf('acme/web')).find((s) => s.copyType === 'FULL');
    const bundle = fileOf(web!, 'repository.bundle');
    const original = readFileSync(bundle);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 30] = flipped[flipped.length - 30] ^ 0xff;
    writeFileSync(bundle, flipped);
    const bad = await t.gql(
      `mutation($id: ID!) { verifySnapshot(id: $id) { ok problems snapshot { verificationStatus verificationError } } }`,
      { id: web!.id },
    );
    expect(bad.data.verifySnapshot.ok).toBe(false);
    expect(bad.data.verifySnapshot.problems.join('\n')).toMatch(/sha256 mismatch/);
    expect(bad.data.verifySnapshot.problems.join('\n')).toMatch(/damaged/);
    expect(bad.data.verifySnapshot.snapshot.verificationStatus).toBe('FAILED');

    writeFileSync(bundle, original);
    truncateSync(bundle, original.length - 100);
    const truncated = await t.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, { id: web!.id });
    expect(truncated.data.verifySnapshot.ok).toBe(false);
    expect(truncated.data.verifySnapshot.problems.join('\n')).toMatch(/bytes stored/);
    writeFileSync(bundle, original);
  });

  it('lists each repository with its newest snapshot, the one a restore would start from, and what it holds', async () => {
    const repos = (
      await t.gql(
        `query($id: ID!) { organization(id: $id) { repositories { nodes { pathWithNamespace hasWiki
          latestSnapshot { id copyType holdsWiki holdsLfsObjects } } } } }`,
        { id: orgId },
      )
    ).data.organization.repositories.nodes;
    expect(repos).toHaveLength(projects.length);
    type Row = {
      pathWithNamespace: string;
      hasWiki: boolean;
      latestSnapshot: { id: string; copyType: string; holdsWiki: boolean; holdsLfsObjects: boolean };
    };
    for (const repo of repos as Row[]) {
      const [newest] = await snapshotsOf(repo.pathWithNamespace);
      // Every project has its wiki on; only acme/api's has a page, so only its snapshot holds one.
      expect(repo.hasWiki).toBe(true);
      expect(repo.latestSnapshot).toEqual({
        id: newest.id,
        copyType: newest.copyType,
        holdsWiki: repo.pathWithNamespace === 'acme/api',
        holdsLfsObjects: false,
      });
    }
  });

  it('refuses to delete a snapshot another one depends on', async () => {
    const snapshots = await snapshotsOf('acme/api');
    const full = snapshots.find((s) => s.copyType === 'FULL')!;
    const r = await t.gql(`mutation($id: ID!) { deleteSnapshot(id: $id) }`, { id: full.id });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'SNAPSHOT_HAS_DEPENDENTS' });
  });
});
