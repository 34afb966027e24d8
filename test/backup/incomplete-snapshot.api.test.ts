import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { SnapshotEntity } from '../../server/src/snapshot/snapshot.entity.js';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * An incomplete snapshot never stands for "unchanged". GitLab's clock is set hours behind
 * Labkeeper's, so every pass after the first one would skip the project as provably unchanged,
 * were it not for what its latest snapshot is missing.
 */
const labkeeper = new FakeClock('2026-03-01T12:00:00Z');
const gitlab = new FakeClock('2026-03-01T09:00:00Z');
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
let firstItem: Item | null = null;
const repositoryId = () => firstItem!.repositoryId!;

beforeAll(async () => {
  sim = await startGitLabSimulator({ now: () => gitlab.now() });
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'api' }).id;
  sim.createIssue(projectId, { title: 'the one issue', authorId: alice.id });
  t = await startTestApp({ gitlab: { url: sim.url }, clock: labkeeper });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    tokenExpiresAt: null,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

interface Item {
  pathWithNamespace: string;
  repositoryId: string | null;
  status: string;
  snapshotId: string | null;
  warnings: string[];
}

async function backup(): Promise<{ status: string; item: Item }> {
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
  const run = await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
  await sub.next((e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal);
  sub.dispose();
  const result = (
    await t.gql(
      `query($id: ID!) { backupRun(id: $id) { status items { pathWithNamespace repositoryId status snapshotId warnings } } }`,
      { id: run.data.runNow.id },
    )
  ).data.backupRun;
  return { status: result.status, item: result.items.find((i: Item) => i.repositoryId)! };
}

const manifestOf = async (snapshotId: string) =>
  t.app.services.snapshots.reader.manifest(await t.app.services.snapshots.get(snapshotId));
const gitRequests = () => sim.requests.filter((r) => r.path.startsWith('/acme/api.git/')).length;

describe('a repository whose latest snapshot is incomplete', () => {
  let incomplete: Item;

  it('is backed up PARTIAL when its issues listing keeps failing', async () => {
    // every attempt the metadata reader makes at the issues listing (5 with the tests' retry policy),
    // in each of the 3 tries the run gives a repository whose listing failed transiently
    sim.failNext(5 * 3, { status: 503, pathPattern: new RegExp(`/api/v4/projects/${projectId}/issues$`) });
    const first = await backup();
    incomplete = first.item;
    firstItem = first.item;
    expect(incomplete.status).toBe('PARTIAL');
    expect((await manifestOf(incomplete.snapshotId!)).metadata.issues).toMatchObject({ status: 'FAILED' });
  });

  it('is fetched again by the next run although GitLab reports no change, and its latest snapshot is then complete', async () => {
    labkeeper.advance(6 * 3600_000); // GitLab's last activity (09:00) now proves nothing changed since the first snapshot
    const before = gitRequests();
    const second = await backup();
    expect(second.status).toBe('SUCCEEDED');
    expect(second.item.status).toBe('SUCCEEDED');
    expect(second.item.snapshotId).not.toBe(incomplete.snapshotId);
    expect(gitRequests()).toBeGreaterThan(before);
    const manifest = await manifestOf(second.item.snapshotId!);
    expect(manifest.metadata.issues).toEqual({ status: 'OK', records: 1 });
    expect(Object.values(manifest.metadata).filter((m) => m.status === 'FAILED')).toEqual([]);
  });

  it('is skipped as unchanged once its latest snapshot is complete', async () => {
    labkeeper.advance(6 * 3600_000);
    const before = gitRequests();
    const third = await backup();
    expect(third.item.status).toBe('UNCHANGED');
    expect(gitRequests()).toBe(before);
  });
});

describe('a repository whose latest snapshot was committed but never verified (its job killed in between)', () => {
  it('has that snapshot verified by the next run, which then skips it as unchanged', async () => {
    const snapshots = t.app.dataSource.getRepository(SnapshotEntity);
    const latest = (await snapshots.findOne({
      where: { repositoryId: repositoryId() },
      order: { createdAt: 'DESC' },
    }))!;
    await snapshots.update({ id: latest.id }, { verificationStatus: 'UNVERIFIED', verifiedAt: null });
    labkeeper.advance(6 * 3600_000);
    const run = await backup();
    expect(run.item).toMatchObject({ status: 'UNCHANGED', snapshotId: latest.id });
    expect((await snapshots.findOneByOrFail({ id: latest.id })).verificationStatus).toBe('VERIFIED');
  });
});

describe('a repository whose backup fails', () => {
  it('ends FAILED without naming a snapshot, as none was committed', async () => {
    gitlab.set(labkeeper.now()); // a push now: GitLab no longer proves the project unchanged
    sim.pushCommit(projectId, { files: { 'new.txt': 'new\n' } });
    sim.failNext(50, { status: 503, pathPattern: /\/acme\/api\.git\/git-upload-pack$/ });
    labkeeper.advance(2 * 3600_000);
    const run = await backup();
    expect(run.item).toMatchObject({ status: 'FAILED', snapshotId: null });
  });
});
