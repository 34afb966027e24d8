import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * What crashed writes leave in storage — a snapshot folder without its manifest, a temp file
 * inside a published snapshot — is removed by the retention pass (the `retention.prune` job),
 * while a snapshot still being written is never touched, however old its files look.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
let repositoryId: string;

const TWO_HOURS_AGO = new Date(Date.now() - 2 * 60 * 60 * 1000);
const snapshotsDir = () => join(t.app.config.dataDir, 'backups', 'orgs', orgId, 'repos', repositoryId, 'snapshots');

/**
 * Sets the mtime of a folder and everything in it, as if it had been left there hours ago; with
 * `exceptOpen`, not the temp file an artifact is being written to (its writer keeps it fresh).
 */
async function age(dir: string, exceptOpen = false): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await age(join(dir, entry.name), exceptOpen);
    else if (!(exceptOpen && entry.name.includes('.tmp-')))
      await utimes(join(dir, entry.name), TWO_HOURS_AGO, TWO_HOURS_AGO);
  }
  await utimes(dir, TWO_HOURS_AGO, TWO_HOURS_AGO);
}

/** One pass of the retention job, through the job system. */
async function retentionPass(): Promise<void> {
  const done = nextJob(t, 'retention.prune');
  await t.app.jobStore.queue.enqueue('retention.prune', {});
  await done;
}

async function snapshotOf(runId: string): Promise<string> {
  const run = await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId });
  return run.data.backupRun.items[0].snapshotId as string;
}

async function verify(snapshotId: string) {
  return (await t.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, { id: snapshotId })).data
    .verifySnapshot;
}

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'app' }).id;
  sim.pushCommit(projectId, { files: { 'README.md': 'first\n' } });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
  repositoryId = (
    await t.gql(`query($id: ID!) { organization(id: $id) { repositories { nodes { id } } } }`, { id: orgId })
  ).data.organization.repositories.nodes[0].id;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

describe('the retention pass over what crashed writes left behind', () => {
  it('removes manifest-less snapshot folders and stale temp files, and never touches a snapshot being written', async () => {
    const first = await runBackup(t, orgId);
    expect(first.status).toBe('SUCCEEDED');
    const published = await snapshotOf(first.runId);

    // A worker that crashed two hours ago: one snapshot folder never got its manifest, and a
    // temp file was left inside a published snapshot's folder.
    const abandoned = join(snapshotsDir(), randomUUID());
    await mkdir(abandoned, { recursive: true });
    await writeFile(join(abandoned, 'repository.bundle'), 'half a bundle');
    await age(abandoned);
    const temp = join(snapshotsDir(), published, 'metadata', 'labels.jsonl.gz.tmp-0123456789abcdef');
    await writeFile(temp, 'half written');
    await utimes(temp, TWO_HOURS_AGO, TWO_HOURS_AGO);

    // A snapshot being written: held while GitLab answers its milestones listing, after its
    // first metadata artifacts are stored; its artifacts made to look as old as the leftovers.
    sim.pushCommit(projectId, { files: { 'README.md': 'second\n' } });
    const held = sim.holdNext({ pathPattern: new RegExp(`^/api/v4/projects/${projectId}/milestones$`), method: 'GET' });
    const second = runBackup(t, orgId);
    await held.reached;
    const [writing] = (await readdir(snapshotsDir())).filter(
      (name) => name !== published && join(snapshotsDir(), name) !== abandoned,
    );
    expect(writing).toBeDefined();
    expect(existsSync(join(snapshotsDir(), writing, 'manifest.json'))).toBe(false);
    const writtenSoFar = await readdir(join(snapshotsDir(), writing), { recursive: true });
    expect(writtenSoFar.length).toBeGreaterThan(0);
    await age(join(snapshotsDir(), writing), true);

    await retentionPass();
    expect(await readdir(join(snapshotsDir(), writing), { recursive: true })).toEqual(writtenSoFar);

    held.release();
    const finished = await second;
    expect(finished.status).toBe('SUCCEEDED');
    expect(await snapshotOf(finished.runId)).toBe(writing);

    await retentionPass();
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(temp)).toBe(false);
    expect((await readdir(snapshotsDir())).sort()).toEqual([published, writing].sort());
    expect(await verify(published)).toEqual({ ok: true, problems: [] });
    expect(await verify(writing)).toEqual({ ok: true, problems: [] });
  });
});
