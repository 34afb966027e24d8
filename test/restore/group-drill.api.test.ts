import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { connectOrganization } from '../support/connections.js';
import { runBackup } from '../support/backups.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { drillOccurrence } from '../../server/src/alerts/alert-rules.js';
import { EPICS_NOT_ON_TIER } from '../../server/src/restore/epic-restore.js';

/**
 * Drills prove the groups' metadata snapshots too (with include groups): a drill samples the
 * organization's groups as it samples its repositories; LOCAL_BARE checks their stored files
 * (a damaged artifact fails the group and names it), and SCRATCH_NAMESPACE restores each group
 * through GitLab as a drill group of its own, compares what came back with what was captured
 * (a type the target could not take is a difference, with GitLab's reason), and deletes it.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let connectionId: string;
let token: string;

const DRILL_FIELDS = `id status target namespacePath errorMessage
  results { path status }
  groupResults { groupId path snapshotId chainLength status differences checkedMetadataRecords }`;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const acme = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const platform = sim.createGroup({ path: 'platform', parentId: acme.id, ownerId: alice.id });
  sim.createProject({ namespaceId: acme.id, path: 'api' });
  sim.createGroupLabel(acme.id, { name: 'priority::high', color: '#ff0000' });
  sim.createGroupLabel(acme.id, { name: 'team', color: '#00ff00' });
  sim.createGroupMilestone(acme.id, { title: 'Q1' });
  sim.createGroupLabel(platform.id, { name: 'team::platform', color: '#0000ff' });
  sim.setTier('acme', 'ultimate');
  const roadmap = sim.createEpic(acme.id, { title: 'Roadmap', authorId: alice.id });
  sim.createEpic(acme.id, { title: 'Migrate', authorId: alice.id, parentId: roadmap.id });
  for (const path of ['drills', 'free-drills']) sim.createGroup({ path, ownerId: alice.id });
  sim.setTier('drills', 'ultimate');

  t = await startTestApp({ gitlab: { url: sim.url } });
  ({
    connectionId,
    organizationId: orgId,
    token,
  } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: true,
    scopes: ['api', 'read_repository', 'write_repository'],
  }));
  expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const POLICY_FIELDS = `scope { mode repositoryIds } include { repository wiki lfs metadata groupMetadata }
  schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast }
  storage { kind path } compression encryptionCredentialId verifyAfterBackup`;

/** Sets the policy's drill target (LOCAL_BARE when no namespace is given), starts a drill and resolves with it once it ended. */
async function drill(namespacePath?: string) {
  const settings = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${POLICY_FIELDS} } } }`, { o: orgId })
  ).data.policy.settings;
  const target = namespacePath ? { kind: 'SCRATCH_NAMESPACE', connectionId, namespacePath } : { kind: 'LOCAL_BARE' };
  const saved = await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    {
      o: orgId,
      i: {
        ...settings,
        drill: { enabled: false, every: 'WEEKLY', time: { hour: 4, minute: 0 }, weekday: 0, sampleSize: 5, target },
      },
    },
  );
  expect(saved.errors).toBeUndefined();
  const done = nextJob(t, 'drill.run');
  const r = await t.gql(`mutation($o: ID!) { runDrill(organizationId: $o) { id } }`, { o: orgId });
  expect(r.errors).toBeUndefined();
  await done;
  return (await t.gql(`query($id: ID!) { drillRun(id: $id) { ${DRILL_FIELDS} } }`, { id: r.data.runDrill.id })).data
    .drillRun;
}

const groupsUnder = async (path: string): Promise<string[]> =>
  (
    await (
      await fetch(`${sim.url}/api/v4/groups/${encodeURIComponent(path)}/subgroups`, {
        headers: { 'private-token': token },
      })
    ).json()
  ).map((g: { path: string }) => g.path);

describe('drills of group snapshots', () => {
  it("checks every sampled group's stored metadata beside the repositories, and passes a good backup", async () => {
    const run = await drill();
    expect(run).toMatchObject({ status: 'PASSED', target: 'LOCAL_BARE', errorMessage: null });
    expect(run.results.map((r: { path: string }) => r.path)).toEqual(['acme/api']);
    const groups = Object.fromEntries(run.groupResults.map((g: { path: string }) => [g.path, g]));
    expect(Object.keys(groups).sort()).toEqual(['acme', 'acme/platform']);
    expect(groups.acme).toMatchObject({ status: 'PASSED', differences: [], chainLength: 1 });
    // two labels, a milestone and two epics at least (members too)
    expect(groups.acme.checkedMetadataRecords).toBeGreaterThanOrEqual(5);
    expect(groups['acme/platform']).toMatchObject({ status: 'PASSED', differences: [] });
  });

  it('fails a group whose stored artifact had a byte flipped, naming the artifact, and still drills the others', async () => {
    const nodes = (
      await t.gql(
        `query($o: ID!) { snapshots(organizationId: $o, first: 50) { nodes { groupId storagePrefix manifest } } }`,
        {
          o: orgId,
        },
      )
    ).data.snapshots.nodes;
    const acme = nodes.find(
      (n: { groupId: string | null; manifest: string }) =>
        n.groupId && JSON.parse(n.manifest).group.fullPath === 'acme',
    );
    const artifact = JSON.parse(acme.manifest).artifacts.find(
      (a: { metadataType?: string }) => a.metadataType === 'group_labels',
    );
    const file = join(t.app.config.dataDir, 'backups', acme.storagePrefix, artifact.path);
    const original = readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[damaged.length >> 1] ^= 0xff;
    writeFileSync(file, damaged);
    try {
      const run = await drill();
      expect(run.status).toBe('FAILED');
      const groups = Object.fromEntries(run.groupResults.map((g: { path: string }) => [g.path, g]));
      expect(groups.acme.status).toBe('FAILED');
      expect(groups.acme.differences.join(' | ')).toContain(`${artifact.path}: sha256 mismatch`);
      expect(groups['acme/platform'].status).toBe('PASSED');
      expect(run.results.map((r: { status: string }) => r.status)).toEqual(['PASSED']);
      expect(run.errorMessage).toMatch(/^1 of 2 groups failed: acme: /);
      // the drillFailed alert names the group and what differed
      const alert = await drillOccurrence(t.app.dataSource, 'https://labkeeper.example', run.id);
      expect(alert?.details).toMatchObject({ failedRepositories: [], failedGroups: ['acme'] });
      expect(alert?.message).toContain(`- acme: `);
      expect(alert?.message).toContain(`${artifact.path}: sha256 mismatch`);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('restores each sampled group into the scratch namespace through GitLab, compares it, and deletes it', async () => {
    const createdGroups = () =>
      sim.requestsTo(/^\/api\/v4\/groups$/).filter((r) => r.method === 'POST' && r.status === 201).length;
    const createdEpics = () =>
      sim.requestsTo(/^\/api\/v4\/groups\/\d+\/epics$/).filter((r) => r.method === 'POST' && r.status === 201).length;
    const before = { groups: createdGroups(), epics: createdEpics() };
    const run = await drill('drills');
    expect(run).toMatchObject({ status: 'PASSED', target: 'SCRATCH_NAMESPACE', namespacePath: 'drills' });
    expect(run.groupResults.map((g: { status: string }) => g.status)).toEqual(['PASSED', 'PASSED']);
    // a drill group of its own per sampled group, its epics written through GitLab …
    expect(createdGroups() - before.groups).toBe(2);
    expect(createdEpics() - before.epics).toBe(2);
    // … and deleted again, with what the restore recorded for them
    const deleted = sim.requestsTo(/^\/api\/v4\/groups\/\d+$/).filter((r) => r.method === 'DELETE' && r.status === 202);
    expect(deleted).toHaveLength(2);
    expect(await groupsUnder('drills')).toEqual([]);
    expect(await t.app.dataSource.query(`SELECT scope FROM restore_mappings WHERE scope LIKE '%:group:%'`)).toEqual([]);
  });

  it("fails a group whose epics the scratch namespace's tier cannot take, with GitLab's reason, and still deletes it", async () => {
    const run = await drill('free-drills');
    expect(run.status).toBe('FAILED');
    const acme = run.groupResults.find((g: { path: string }) => g.path === 'acme');
    expect(acme.status).toBe('FAILED');
    expect(acme.differences).toEqual([
      `scratch group free-drills/drill-${run.id.slice(0, 8)}-acme: epics: 2 of 2 not restored (${EPICS_NOT_ON_TIER})`,
    ]);
    // the subgroup captured no epic: nothing it holds was refused
    expect(run.groupResults.find((g: { path: string }) => g.path === 'acme/platform').status).toBe('PASSED');
    expect(await groupsUnder('free-drills')).toEqual([]);
  });
});
