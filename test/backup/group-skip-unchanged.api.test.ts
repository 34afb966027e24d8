import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { customizePolicy } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * An organization of 80 projects in 3 groups (one nested two deep), GitLab's clock three hours
 * behind Labkeeper's so the projects are provably unchanged on the second pass. What that pass
 * may cost: one page of the project listing, one listing of the whole tree per group type, and
 * one members listing per group.
 */
const PROJECTS = 80;
const labkeeper = new FakeClock('2026-03-01T12:00:00Z');
const gitlab = new FakeClock('2026-03-01T09:00:00Z');
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
const groups: Record<string, number> = {};

beforeAll(async () => {
  sim = await startGitLabSimulator({ now: () => gitlab.now() });
  const alice = aUser(sim);
  groups.acme = sim.createGroup({ path: 'acme', ownerId: alice.id }).id;
  groups.platform = sim.createGroup({ path: 'platform', parentId: groups.acme }).id;
  groups.infra = sim.createGroup({ path: 'infra', parentId: groups.platform }).id;
  const homes = [groups.acme, groups.platform, groups.infra];
  for (let i = 0; i < PROJECTS; i++)
    sim.createProject({ namespaceId: homes[i % homes.length], path: `p${i}`, withCommit: false });
  sim.createGroupLabel(groups.acme, { name: 'priority::high', color: '#ff0000' });
  sim.createGroupLabel(groups.platform, { name: 'team::platform', color: '#00ff00' });
  sim.createGroupMilestone(groups.infra, { title: 'Q1' });
  t = await startTestApp({ gitlab: { url: sim.url }, clock: labkeeper });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: true,
    tokenExpiresAt: null,
  }));
  // Repositories without project metadata keep the first pass short; groups keep every type.
  await customizePolicy(t, orgId, (current) => ({
    ...current,
    include: { ...current.include, wiki: false, lfs: false, metadata: [] },
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

interface Item {
  pathWithNamespace: string;
  groupId: string | null;
  status: string;
  snapshotId: string | null;
}

async function backup(): Promise<{ status: string; items: Item[] }> {
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
  return (
    await t.gql(
      `query($id: ID!) { backupRun(id: $id) { status items { pathWithNamespace groupId status snapshotId } } }`,
      { id: run.data.runNow.id },
    )
  ).data.backupRun;
}

const groupItems = (run: { items: Item[] }) =>
  Object.fromEntries(run.items.filter((i) => i.groupId).map((i) => [i.pathWithNamespace, i]));

async function manifestOf(snapshotId: string) {
  const s = (await t.gql(`query($id: ID!) { snapshot(id: $id) { manifest } }`, { id: snapshotId })).data.snapshot;
  return JSON.parse(s.manifest) as {
    copyType: string;
    parent: { snapshotId: string } | null;
    artifacts: { metadataType?: string; snapshotId?: string }[];
  };
}

async function groupSnapshotCount(): Promise<number> {
  const nodes = (await t.gql(`query($id: ID!) { organization(id: $id) { groups { nodes { id } } } }`, { id: orgId }))
    .data.organization.groups.nodes as { id: string }[];
  let total = 0;
  for (const { id } of nodes)
    total += (await t.gql(`query($g: ID!) { snapshots(groupId: $g) { totalCount } }`, { g: id })).data.snapshots
      .totalCount;
  return total;
}

let first: { status: string; items: Item[] };

describe('a pass over an organization in which nothing changed', () => {
  it('costs at most 0.1 GitLab requests per project and stores no group snapshot', async () => {
    first = await backup();
    expect(first.status).toBe('SUCCEEDED');
    expect(await groupSnapshotCount()).toBe(3);

    labkeeper.advance(6 * 3600_000);
    const before = sim.requests.length;
    const second = await backup();
    const requests = sim.requests.slice(before);

    expect(second.status).toBe('SUCCEEDED');
    expect(new Set(second.items.map((i) => i.status))).toEqual(new Set(['UNCHANGED']));
    expect(requests.length / PROJECTS).toBeLessThanOrEqual(0.1);
    expect(await groupSnapshotCount()).toBe(3);
    // each group still points at its latest restore point
    const firstGroups = groupItems(first);
    for (const [path, item] of Object.entries(groupItems(second)))
      expect(item.snapshotId).toBe(firstGroups[path].snapshotId);
  });
});

describe('a pass after a change in one group', () => {
  it('stores the changed types of the changed groups only, referring to the unchanged ones', async () => {
    gitlab.set('2026-03-01T19:00:00Z');
    sim.createGroupLabel(groups.platform, { name: 'team::sre', color: '#0000ff' });
    sim.createGroupMilestone(groups.infra, { title: 'Q2' });
    labkeeper.advance(6 * 3600_000);
    const third = await backup();
    expect(third.status).toBe('SUCCEEDED');
    const items = groupItems(third);
    const firstGroups = groupItems(first);

    expect(items.acme).toMatchObject({ status: 'UNCHANGED', snapshotId: firstGroups.acme.snapshotId });
    for (const [path, changed] of [
      ['acme/platform', 'group_labels'],
      ['acme/platform/infra', 'group_milestones'],
    ] as const) {
      expect(items[path].status).toBe('SUCCEEDED');
      const manifest = await manifestOf(items[path].snapshotId!);
      expect(manifest).toMatchObject({ copyType: 'INCREMENTAL', parent: { snapshotId: firstGroups[path].snapshotId } });
      expect(manifest.artifacts.filter((a) => !a.snapshotId).map((a) => a.metadataType)).toEqual([changed]);
      const verified = await t.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, {
        id: items[path].snapshotId,
      });
      expect(verified.data.verifySnapshot).toEqual({ ok: true, problems: [] });
      // read back through the references, as restores read them: one record added, nothing else differs
      const diff = (
        await t.gql(
          `query($f: ID!, $to: ID!) { snapshotDiff(fromSnapshotId: $f, toSnapshotId: $to) { metadata { type isCompared addedCount removedCount changedCount recordsAfter } } }`,
          { f: firstGroups[path].snapshotId, to: items[path].snapshotId },
        )
      ).data.snapshotDiff;
      const compared = diff.metadata.filter((m: { isCompared: boolean }) => m.isCompared);
      expect(compared.map((m: { type: string }) => m.type).sort()).toEqual([
        'group_labels',
        'group_members',
        'group_milestones',
        'subgroups',
      ]);
      for (const m of compared)
        expect(m).toMatchObject({ addedCount: m.type === changed ? 1 : 0, removedCount: 0, changedCount: 0 });
    }
    expect(await groupSnapshotCount()).toBe(5);
  });
});
