/**
 * A force-push that rewrites the default branch: the snapshot diff flags the move as forced, the
 * anomaly rules record it and pin the previous snapshot, and a retention pass that would delete
 * that snapshot (or an administrator's deleteSnapshot) keeps it until it is unpinned.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

let sim: GitLabSimulator;
let t: TestApp;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  t = await startTestApp({ gitlab: { url: sim.url } });
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const snapshotOf = async (runId: string) => (await t.app.services.backupRuns.itemsOf(runId))[0].snapshotId!;
const exists = async (id: string) =>
  (await t.app.dataSource.query(`SELECT 1 FROM snapshots WHERE id = $1`, [id])).length === 1;

it('force-push of the default branch → flagged, recorded, previous snapshot pinned through retention and deletion', async () => {
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'app' });
  const { organizationId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' });
  const a = await runBackup(t, organizationId);
  sim.pushCommit(project.id, { files: { 'work.txt': 'work\n' } });
  const b = await runBackup(t, organizationId);
  expect(b.status).toBe('SUCCEEDED');
  const snapshotB = await snapshotOf(b.runId);
  sim.rewriteBranch(project.id, { files: { 'other.txt': 'history rewritten\n' } });
  const c = await runBackup(t, organizationId, { copyType: 'FULL' }); // C builds on nothing before it
  const snapshotC = await snapshotOf(c.runId);

  const diff = await t.gql(
    `query($f: ID!, $to: ID!) { snapshotDiff(fromSnapshotId: $f, toSnapshotId: $to) { defaultBranch moved { ref isForced } } }`,
    { f: snapshotB, to: snapshotC },
  );
  expect(diff.data.snapshotDiff).toEqual({
    defaultBranch: 'refs/heads/main',
    moved: [{ ref: 'refs/heads/main', isForced: true }],
  });
  // The rules run when the run finishes; evaluating again records nothing twice.
  await t.app.services.anomalies.evaluateRun(c.runId);
  const anomalies = await t.gql(
    `query($o: ID!) { snapshotAnomalies(organizationId: $o) { kind snapshotId previousSnapshotId } }`,
    { o: organizationId },
  );
  expect(anomalies.data.snapshotAnomalies).toEqual([
    { kind: 'FORCE_PUSH_DEFAULT_BRANCH', snapshotId: snapshotC, previousSnapshotId: snapshotB },
  ]);
  const pin = await t.gql(`query($s: ID!) { snapshotPin(snapshotId: $s) { isPinned reason } }`, { s: snapshotB });
  expect(pin.data.snapshotPin.isPinned).toBe(true);

  // Nor can an administrator delete it by hand while it is pinned: the error names the pin.
  const refused = await t.gql(`mutation($s: ID!) { deleteSnapshot(id: $s) }`, { s: snapshotB });
  expect(refused.errors?.[0].extensions).toMatchObject({
    code: 'CONFLICT',
    reason: 'SNAPSHOT_PINNED',
    details: { snapshotId: snapshotB, anomalyId: expect.any(String) },
  });
  expect(refused.errors?.[0].message).toContain('FORCE_PUSH_DEFAULT_BRANCH');
  expect(await exists(snapshotB)).toBe(true);

  // Retention that keeps only the last restore point would delete B (and A).
  const settings = (
    await t.gql(
      `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup } } }`,
      { o: organizationId },
    )
  ).data.policy.settings;
  const changed = await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    {
      o: organizationId,
      i: {
        ...settings,
        schedule: { type: 'MANUAL' },
        retention: { ...settings.retention, mode: 'BY_COUNT', keepLast: 1 },
      },
    },
  );
  expect(changed.errors).toBeUndefined();
  await t.app.services.retention.prune(organizationId);
  expect(await exists(snapshotB)).toBe(true);
  expect(await exists(snapshotC)).toBe(true);

  const unpinned = await t.gql(`mutation($s: ID!) { unpinSnapshot(snapshotId: $s) { isPinned } }`, { s: snapshotB });
  expect(unpinned.data.unpinSnapshot.isPinned).toBe(false);
  await t.app.services.retention.prune(organizationId);
  expect(await exists(snapshotB)).toBe(false);
  expect(await exists(await snapshotOf(a.runId))).toBe(false);
});
