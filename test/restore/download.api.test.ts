import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { runBackup } from '../support/backups.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * DOWNLOAD restore: an archive behind a signed, expiring link that restores with plain git and a
 * JSON reader exactly as docs/FORMAT.md says — here a full and an incremental snapshot, with a
 * wiki, LFS objects and metadata.
 */
const clock = new FakeClock(new Date());
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
const scratch = mkdtempSync(join(tmpdir(), 'labkeeper-download-'));
/**
 * git and tar run as child processes awaited, not synchronously: the server under test lives in this
 * process, and blocking it for seconds lets a kept-alive connection of the test's HTTP client go
 * stale under it (the next request on it then meets ECONNRESET).
 */
function sh(cmd: string, args: string[], cwd?: string, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8'))
        : reject(new Error(`${cmd} ${args.join(' ')}: exit ${String(code)}: ${Buffer.concat(err).toString()}`)),
    );
    // A command that reads no input (mkdir, tar -x) may be gone before its stdin is closed: that EPIPE is no failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
const refsOf = async (repo: string) =>
  Object.fromEntries(
    (await sh('git', ['ls-remote', repo]))
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t').reverse())
      .filter(([ref]) => ref !== 'HEAD' && !ref.endsWith('^{}')),
  );

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'api', wikiEnabled: true, lfsEnabled: true }).id;
  sim.pushWikiPage(projectId, { title: 'Home', content: '# Welcome' });
  sim.pushLfsPointer(projectId, { path: 'assets/logo.png', content: randomBytes(200_000) });
  sim.createBranch(projectId, { branch: 'release' });
  for (let i = 1; i <= 3; i++) sim.createIssue(projectId, { title: `Issue ${i}` });
  sim.createVariable(projectId, { key: 'DEPLOY_TOKEN', value: 's3cr3t-value', protected: true, masked: true });
  t = await startTestApp({ gitlab: { url: sim.url }, clock });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
    tokenExpiresAt: null,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function backup() {
  const { runId, status } = await runBackup(t, orgId);
  expect(status).toBe('SUCCEEDED');
  const [item] = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
    .backupRun.items;
  return item.snapshotId as string;
}

/**
 * GET on a connection of its own (no pool), the body read to the end: a download never lands on a
 * kept-alive connection that the server is closing at that moment (ECONNRESET).
 */
function download(url: string | URL): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.once('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks) }));
      response.once('error', reject);
    }).once('error', reject);
  });
}

/** The decrypt script of docs/FORMAT-ENCRYPTION.md, as a user would copy it. */
function documentedScript(): string {
  const doc = readFileSync(new URL('../../docs/FORMAT-ENCRYPTION.md', import.meta.url), 'utf8');
  const code = doc
    .split('```js\n')
    .map((block) => block.split('```')[0])
    .find((block) => block.startsWith('// decrypt-artifact.mjs'));
  if (!code) throw new Error('no decrypt-artifact.mjs block in docs/FORMAT-ENCRYPTION.md');
  return code;
}

/** A DOWNLOAD restore run to its end (the worker runs it; its row is read until terminal). */
async function downloadRun(input: Record<string, unknown>) {
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, { i: input });
  const runId = r.data.restoreSnapshot.id;
  const sub = subscribe<Progress>(
    t.ws(),
    `subscription($r: ID!) { restoreProgress(runId: $r) { runId status phase isTerminal done total } }`,
    { r: runId },
  );
  const query = `query($id: ID!) { restoreRun(id: $id) { status downloadUrl report { snapshots { snapshotId verified } } } }`;
  const current = await t.gql(query, { id: runId });
  if (!['SUCCEEDED', 'FAILED', 'PARTIAL'].includes(current.data.restoreRun.status))
    await sub.next((e) => e.restoreProgress.isTerminal).catch(() => undefined);
  sub.dispose();
  return (await t.gql(query, { id: runId })).data.restoreRun as {
    status: string;
    downloadUrl: string | null;
    report: { snapshots: { snapshotId: string; verified: boolean | null }[] };
  };
}

type Progress = {
  restoreProgress: { runId: string; status: string; phase: string; isTerminal: boolean; done: number; total: number };
};

describe('DOWNLOAD restore', () => {
  let incrementalId: string;
  let upstream: Record<string, string>;
  let downloadUrl: string;
  let progress: Progress['restoreProgress'][];

  beforeAll(async () => {
    await backup();
    clock.advance(60_000);
    sim.pushCommit(projectId, { branch: 'main', files: { 'CHANGELOG.md': '# 1.1\n' } });
    sim.createTag(projectId, { tag: 'v1.1' });
    incrementalId = await backup();
    upstream = await refsOf(sim.repoPath(projectId));

    // hold the worker so the subscription is in place before the restore starts
    await t.app.jobStore.agenda.stop();
    const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id status target } }`, {
      i: { target: 'DOWNLOAD', snapshotIds: [incrementalId] },
    });
    expect(r.data.restoreSnapshot).toMatchObject({ status: 'QUEUED', target: 'DOWNLOAD' });
    const runId = r.data.restoreSnapshot.id;
    const sub = subscribe<Progress>(
      t.ws(),
      `subscription($r: ID!) { restoreProgress(runId: $r) { runId status phase isTerminal done total } }`,
      { r: runId },
    );
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
    await sub.next((e) => e.restoreProgress.isTerminal);
    progress = sub.events.map((e) => e.restoreProgress).filter((e) => e.done !== -1);
    sub.dispose();
    const run = await t.gql(
      `query($id: ID!) { restoreRun(id: $id) { status downloadUrl report { files lfsObjects snapshots { copyType chainLength verified } } } }`,
      { id: runId },
    );
    expect(run.data.restoreRun).toMatchObject({
      status: 'SUCCEEDED',
      report: { snapshots: [{ copyType: 'INCREMENTAL', chainLength: 2, verified: true }], lfsObjects: 1 },
    });
    downloadUrl = run.data.restoreRun.downloadUrl;
  });

  it('reports restoreProgress from start to the terminal event', () => {
    expect(progress.map((e) => e.phase)).toEqual(
      expect.arrayContaining(['PLANNING', 'VERIFYING', 'PREPARING', 'DONE']),
    );
    expect(progress.at(-1)).toMatchObject({ status: 'SUCCEEDED', isTerminal: true, done: 1, total: 1 });
  });

  it('serves an archive that restores with plain git and a JSON reader as docs/FORMAT.md says', async () => {
    const response = await download(downloadUrl);
    expect(response.status).toBe(200);
    const archive = join(scratch, 'restore.tar');
    writeFileSync(archive, response.body);
    const out = join(scratch, 'out');
    await sh('mkdir', ['-p', out]);
    await sh('tar', ['-xf', archive, '-C', out]);

    // 1. follow parent links from the snapshot back to the FULL
    const repoDir = join(out, 'orgs', orgId, 'repos');
    const [repositoryId] = readdirSync(repoDir);
    const snapshotsDir = join(repoDir, repositoryId, 'snapshots');
    const manifestOf = (id: string) => JSON.parse(readFileSync(join(snapshotsDir, id, 'manifest.json'), 'utf8'));
    const chain = [incrementalId];
    while (manifestOf(chain[0]).parent) chain.unshift(manifestOf(chain[0]).parent.snapshotId);
    expect(chain).toHaveLength(2);
    // 2. apply the bundles oldest first, then set the refs exactly as the last manifest lists them
    const restored = join(scratch, 'restored.git');
    await sh('git', ['init', '--bare', '--quiet', restored]);
    for (const id of chain) {
      const bundle = manifestOf(id).git.bundle;
      if (bundle) await sh('git', ['fetch', '--quiet', join(snapshotsDir, id, bundle), '+refs/*:refs/*'], restored);
    }
    const last = manifestOf(incrementalId);
    await sh(
      'git',
      ['update-ref', '--stdin'],
      restored,
      Object.entries(last.git.refs as Record<string, string>)
        .map(([ref, sha]) => `update ${ref} ${sha}\n`)
        .join(''),
    );
    await sh('git', ['symbolic-ref', 'HEAD', last.git.head], restored);
    await sh('git', ['fsck', '--connectivity-only', '--no-progress'], restored);
    expect(await refsOf(restored)).toEqual(upstream);
    // the wiki the same way
    const wiki = join(scratch, 'wiki.git');
    await sh('git', ['init', '--bare', '--quiet', wiki]);
    for (const id of chain)
      if (manifestOf(id).wiki?.bundle)
        await sh(
          'git',
          ['fetch', '--quiet', join(snapshotsDir, id, manifestOf(id).wiki.bundle), '+refs/*:refs/*'],
          wiki,
        );
    expect(await refsOf(wiki)).toEqual(await refsOf(sim.wikiPath(projectId)));
    // LFS objects: each file's sha256 is its name
    const oids = chain.flatMap((id) => manifestOf(id).lfs.objects.map((o: { oid: string }) => o.oid));
    for (const oid of oids) {
      const bytes = readFileSync(join(repoDir, repositoryId, 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4), oid));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(oid);
    }
    // metadata: one JSON object per line
    const issues = last.artifacts.find((a: { metadataType?: string }) => a.metadataType === 'issues');
    const lines = gunzipSync(readFileSync(join(snapshotsDir, incrementalId, issues.path)))
      .toString('utf8')
      .trim()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l).title).sort()).toEqual(['Issue 1', 'Issue 2', 'Issue 3']);
    // CI/CD variables: decrypted with the steps and the script of docs/FORMAT.md and FORMAT-ENCRYPTION.md only
    const variables = last.artifacts.find((a: { metadataType?: string }) => a.metadataType === 'ci_variables');
    expect(variables).toMatchObject({ encrypted: true });
    expect(last.encryption).toBeNull(); // the policy has no key: the installation key sealed them
    const script = join(scratch, 'decrypt-artifact.mjs');
    writeFileSync(script, documentedScript());
    const plain = join(scratch, 'ci_variables.jsonl');
    await sh('env', [
      `LABKEEPER_MASTER_KEY=${t.masterKey}`,
      process.execPath,
      script,
      orgId,
      join(snapshotsDir, incrementalId, variables.path),
      `${plain}.packed`,
    ]);
    const packed = readFileSync(`${plain}.packed`);
    const text = (variables.compression === 'GZIP' ? gunzipSync(packed) : packed).toString('utf8');
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([expect.objectContaining({ key: 'DEPLOY_TOKEN', value: 's3cr3t-value', protected: true, masked: true })]);
    // every artifact's sha256 is the manifest's
    for (const a of last.artifacts)
      expect(
        createHash('sha256')
          .update(readFileSync(join(snapshotsDir, incrementalId, a.path)))
          .digest('hex'),
      ).toBe(a.sha256);
  });

  it('does not verify again a snapshot verified before, and cuts off an archive whose bytes do not match the manifest', async () => {
    const verifiedAt = async () =>
      (await t.gql(`query($id: ID!) { snapshot(id: $id) { verificationStatus verifiedAt } }`, { id: incrementalId }))
        .data.snapshot;
    const before = await verifiedAt();
    expect(before.verificationStatus).toBe('VERIFIED');
    clock.advance(60_000);
    const again = await downloadRun({ target: 'DOWNLOAD', snapshotIds: [incrementalId] });
    expect(again.report.snapshots).toEqual([expect.objectContaining({ verified: true })]);
    expect(await verifiedAt()).toEqual(before); // reported from its earlier verification, not checked twice

    // The stored bundle rots after that verification: same size, one byte changed.
    const snapshot = await t.app.dataSource.query<{ storage_prefix: string }[]>(
      'SELECT storage_prefix FROM snapshots WHERE id = $1',
      [incrementalId],
    );
    const folder = join(t.app.config.dataDir, 'backups', snapshot[0].storage_prefix);
    const bundle = readdirSync(folder).find((f) => f.endsWith('.bundle'))!;
    const original = readFileSync(join(folder, bundle));
    const rotten = Buffer.from(original);
    rotten[rotten.length - 100] ^= 0xff;
    writeFileSync(join(folder, bundle), rotten);
    try {
      const archive = join(scratch, 'rotten.tar');
      const cut = await download(again.downloadUrl!).catch((error: Error) => ({
        status: 0,
        body: Buffer.alloc(0),
        error,
      }));
      writeFileSync(archive, cut.body);
      // Never a complete archive with bad bytes: the transfer is cut off before tar's end blocks.
      await expect(sh('tar', ['-tf', archive])).rejects.toThrow();
    } finally {
      writeFileSync(join(folder, bundle), original);
    }
  });

  it('refuses a forged link, and the link expires after an hour', async () => {
    const forged = new URL(downloadUrl);
    forged.searchParams.set('signature', 'x'.repeat(43));
    expect((await download(forged)).status).toBe(403);
    clock.advance(61 * 60_000);
    expect((await download(downloadUrl)).status).toBe(403);
  });

  it('a dry run reports what the archive would hold and issues no link', async () => {
    const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
      i: { target: 'DOWNLOAD', organizationId: orgId, dryRun: true },
    });
    const runId = r.data.restoreSnapshot.id;
    const sub = subscribe<Progress>(
      t.ws(),
      `subscription($r: ID!) { restoreProgress(runId: $r) { runId status phase isTerminal done total } }`,
      { r: runId },
    );
    const current = await t.gql(`query($id: ID!) { restoreRun(id: $id) { status } }`, { id: runId });
    if (!['SUCCEEDED', 'FAILED', 'PARTIAL'].includes(current.data.restoreRun.status))
      await sub.next((e) => e.restoreProgress.isTerminal).catch(() => undefined);
    sub.dispose();
    const run = await t.gql(
      `query($id: ID!) { restoreRun(id: $id) { status isDryRun downloadUrl report { files snapshots { snapshotId verified } } } }`,
      { id: runId },
    );
    expect(run.data.restoreRun).toMatchObject({ status: 'SUCCEEDED', isDryRun: true, downloadUrl: null });
    expect(run.data.restoreRun.report.snapshots).toEqual([{ snapshotId: incrementalId, verified: null }]);
    expect(run.data.restoreRun.report.files).toBeGreaterThan(4);
  });
});
