import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

/**
 * With *include groups*, every group of the organization gets a metadata snapshot, incremental
 * after the first: a run stores only the types that changed, and none for a group in which
 * nothing did (test/backup/group-skip-unchanged.api.test.ts).
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let aliceId: number;
let rootId: number;
let childId: number;
let firstRun: Awaited<ReturnType<typeof backup>>;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  aliceId = aUser(sim).id;
  const root = sim.createGroup({ path: 'acme', ownerId: aliceId });
  const child = sim.createGroup({ path: 'platform', parentId: root.id });
  rootId = root.id;
  childId = child.id;
  sim.createProject({ namespaceId: child.id, path: 'api' });
  sim.createGroupLabel(root.id, { name: 'priority::high', color: '#ff0000' });
  sim.createGroupLabel(child.id, { name: 'team::platform', color: '#00ff00' });
  sim.createGroupMilestone(root.id, { title: 'Q1' });
  sim.createEpic(root.id, { title: 'Big initiative', authorId: aliceId });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: aliceId,
    namespacePath: 'acme',
    includeGroups: true,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

/** A subscription to the organization's backup progress, listening before anything is started. */
async function watchProgress() {
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
  return sub;
}

async function backup() {
  const sub = await watchProgress();
  const run = await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id itemsTotal } }`, {
    o: orgId,
  });
  const done = await sub.next((e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal);
  sub.dispose();
  const runInfo = (
    await t.gql(
      `query($id: ID!) { backupRun(id: $id) { itemsTotal items { pathWithNamespace groupId repositoryId status snapshotId warnings notes } } }`,
      { id: run.data.runNow.id },
    )
  ).data.backupRun;
  return { status: done.backupProgress.runStatus, ...runInfo };
}

const recordsOf = async (snapshotId: string, type: string) => {
  const s = (
    await t.gql(`query($id: ID!) { snapshot(id: $id) { storagePrefix manifest groupId } }`, { id: snapshotId })
  ).data.snapshot;
  const manifest = JSON.parse(s.manifest);
  const artifact = manifest.artifacts.find((a: { metadataType: string }) => a.metadataType === type);
  if (!artifact) return { manifest, records: null };
  const bytes = readFileSync(join(t.app.config.dataDir, 'backups', s.storagePrefix, artifact.path));
  return {
    manifest,
    records: gunzipSync(bytes)
      .toString('utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  };
};

describe('group metadata', () => {
  it('backs up each group of the organization as its own snapshot, beside the repositories', async () => {
    const run = (firstRun = await backup());
    expect(run.status).toBe('SUCCEEDED');
    expect(run.items.map((i: { pathWithNamespace: string }) => i.pathWithNamespace).sort()).toEqual([
      'acme',
      'acme/platform',
      'acme/platform/api',
    ]);
    const root = run.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme');
    expect(root.repositoryId).toBeNull();
    const labels = await recordsOf(root.snapshotId, 'group_labels');
    expect(labels.records!.map((l) => l.name)).toEqual(['priority::high']);
    expect(labels.manifest.group).toMatchObject({ fullPath: 'acme', gitlabGroupId: rootId });
    expect(labels.manifest.repository).toBeNull();
    expect((await recordsOf(root.snapshotId, 'group_milestones')).records!.map((m) => m.title)).toEqual(['Q1']);
    expect((await recordsOf(root.snapshotId, 'group_members')).records!.map((m) => m.username)).toContain('alice');
    expect((await recordsOf(root.snapshotId, 'subgroups')).records!.map((g) => g.id)).toEqual([childId]);
    const child = run.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/platform');
    expect((await recordsOf(child.snapshotId, 'group_labels')).records!.map((l) => l.name)).toEqual(['team::platform']);
  });

  it('records epics as SKIPPED with the reason on a tier without them — a plain note, not a warning — and backs them up where the tier has them', async () => {
    const free = firstRun;
    expect(free.status).toBe('SUCCEEDED');
    const root = free.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme');
    const { manifest } = await recordsOf(root.snapshotId, 'epics');
    expect(manifest.metadata.epics).toMatchObject({
      status: 'SKIPPED',
      reason: expect.stringMatching(/tier|Premium|not available/i),
    });
    expect(root).toMatchObject({
      status: 'SUCCEEDED',
      warnings: [],
      notes: ['epics: not available on this GitLab tier (epics need GitLab Premium or Ultimate)'],
    });

    sim.setTier('premium');
    const premium = await backup();
    const rootAgain = premium.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme');
    expect(rootAgain.status).toBe('SUCCEEDED');
    const epics = await recordsOf(rootAgain.snapshotId, 'epics');
    expect(epics.records!.map((e) => e.title)).toEqual(['Big initiative']);
    // only the epics are stored again: the other types refer to the first snapshot's artifacts
    expect(epics.manifest).toMatchObject({ copyType: 'INCREMENTAL', parent: { snapshotId: root.snapshotId } });
    const referred = epics.manifest.artifacts.filter((a: { snapshotId?: string }) => a.snapshotId);
    expect(referred.map((a: { metadataType: string }) => a.metadataType).sort()).toEqual([
      'group_labels',
      'group_members',
      'group_milestones',
      'subgroups',
    ]);
    expect(referred.every((a: { snapshotId: string }) => a.snapshotId === root.snapshotId)).toBe(true);
  });

  it('lists group snapshots by group', async () => {
    const groups = (
      await t.gql(`query($id: ID!) { organization(id: $id) { groups { nodes { id fullPath } } } }`, { id: orgId })
    ).data.organization.groups.nodes;
    const acme = groups.find((g: { fullPath: string }) => g.fullPath === 'acme');
    const snapshots = (
      await t.gql(
        `query($g: ID!) { snapshots(groupId: $g) { totalCount nodes { groupId repositoryId copyType verificationStatus } } }`,
        { g: acme.id },
      )
    ).data.snapshots;
    // the first run's FULL, and the INCREMENTAL that the epics (Premium) changed; none for the unchanged runs
    expect(snapshots.totalCount).toBe(2);
    expect(snapshots.nodes).toEqual(
      ['INCREMENTAL', 'FULL'].map((copyType) => ({
        groupId: acme.id,
        repositoryId: null,
        copyType,
        verificationStatus: 'VERIFIED',
      })),
    );
  });
});

describe('one writer per group', () => {
  it('a group job taken over while its first run is still listing ends with one verified snapshot, not two writers in one folder', async () => {
    const sub = await watchProgress();
    // A change, so the group is backed up (a label GitLab cannot place makes every group's labels
    // changed, and the run compares no members before the fan-out): the first members listing is the job's.
    sim.createGroupLabel(rootId, { name: 'priority::low', color: '#0000ff' });
    const listing = sim.holdNext({ pathPattern: new RegExp(`^/api/v4/groups/${rootId}/members`), method: 'GET' });
    const run = await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
    const runId = run.data.runNow.id;
    await listing.reached;
    const itemsOf = async () =>
      (
        await t.gql(
          `query($id: ID!) { backupRun(id: $id) { items { id pathWithNamespace status snapshotId errorMessage } } }`,
          { id: runId },
        )
      ).data.backupRun.items as { id: string; pathWithNamespace: string; status: string; snapshotId: string | null }[];
    const root = (await itemsOf()).find((i) => i.pathWithNamespace === 'acme')!;
    // What a second worker does when the first one's job lock has expired on a busy machine.
    const takeover = t.app.services.backupRuns.runItem(runId, root.id, async () => undefined);
    listing.release();
    await takeover;
    await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal);
    sub.dispose();
    const after = (await itemsOf()).find((i) => i.pathWithNamespace === 'acme')!;
    expect(after).toMatchObject({ status: 'SUCCEEDED', snapshotId: root.snapshotId ?? expect.any(String) });
    const snapshots = (
      await t.gql(`query($r: ID!) { backupRun(id: $r) { items { snapshot { id verificationStatus groupId } } } }`, {
        r: runId,
      })
    ).data.backupRun.items
      .map((i: { snapshot: { id: string; verificationStatus: string; groupId: string | null } | null }) => i.snapshot)
      .filter((s: { groupId: string | null } | null) => s?.groupId);
    expect(snapshots.every((s: { verificationStatus: string }) => s.verificationStatus === 'VERIFIED')).toBe(true);
    const verified = await t.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok } }`, { id: after.snapshotId });
    expect(verified.data.verifySnapshot.ok).toBe(true);
  });
});
