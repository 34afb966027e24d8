/**
 * A run whose anomaly evaluation never happened (its worker stopped right after the run) is not
 * lost: retention evaluates it before forgetting anything, so the pin the anomaly puts on the last
 * good snapshot is there in time, and the minute's `anomalies.evaluate` job catches up on it
 * without retention. The state is the one a stopped process leaves: the run finished, no anomaly
 * and no pin recorded, and its evaluation not marked as ended (or held by a lease that ran out).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { customizePolicy, runBackup } from '../support/backups.js';
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
const anomaliesOf = async (organizationId: string) =>
  (
    await t.gql(`query($o: ID!) { snapshotAnomalies(organizationId: $o) { kind snapshotId previousSnapshotId } }`, {
      o: organizationId,
    })
  ).data.snapshotAnomalies;
const isPinned = async (snapshotId: string) =>
  (await t.gql(`query($s: ID!) { snapshotPin(snapshotId: $s) { isPinned } }`, { s: snapshotId })).data.snapshotPin
    .isPinned;

/** What a worker stopped right after the run leaves behind: nothing evaluated, nothing pinned. */
async function loseTheEvaluation(runId: string, lease: 'none' | 'expired') {
  await t.app.services.anomalies.evaluateRun(runId); // the one the run's end started, if still going
  await t.app.dataSource.query(`DELETE FROM snapshot_pins`);
  await t.app.dataSource.query(`DELETE FROM snapshot_anomalies`);
  await t.app.dataSource.query(
    `UPDATE backup_runs SET anomalies_evaluated_at = NULL,
            anomalies_lease_until = ${lease === 'none' ? 'NULL' : `now() - interval '1 second'`}
      WHERE id = $1`,
    [runId],
  );
}

/** A force-push between the second and third run: the third's snapshot has an anomaly. */
async function forcePushedOrganization(path: string) {
  const owner = aUser(sim, `${path}-owner`);
  const group = sim.createGroup({ path, ownerId: owner.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'app' });
  const { organizationId } = await connectOrganization(t, sim, {
    userId: owner.id,
    login: `${path}-owner`,
    namespacePath: path,
  });
  const a = await runBackup(t, organizationId);
  sim.pushCommit(project.id, { files: { 'work.txt': 'work\n' } });
  const b = await runBackup(t, organizationId, { copyType: 'FULL' }); // builds on nothing before it
  sim.rewriteBranch(project.id, { files: { 'other.txt': 'history rewritten\n' } });
  const c = await runBackup(t, organizationId, { copyType: 'FULL' });
  expect([a.status, b.status, c.status]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
  return { organizationId, a, b, c };
}

/** Retention that keeps only the last restore point: it would forget every snapshot before it. */
const keepOnlyTheLast = (organizationId: string) =>
  customizePolicy(t, organizationId, (current) => ({
    ...current,
    schedule: { type: 'MANUAL' },
    retention: { ...current.retention, mode: 'BY_COUNT', keepLast: 1 },
  }));

it('retention evaluates a run the anomaly rules never saw before it forgets anything: the last good snapshot stays, pinned', async () => {
  const { organizationId, a, b, c } = await forcePushedOrganization('acme');
  const snapshotB = await snapshotOf(b.runId);
  const snapshotC = await snapshotOf(c.runId);
  await loseTheEvaluation(c.runId, 'none');
  expect(await anomaliesOf(organizationId)).toEqual([]);

  await keepOnlyTheLast(organizationId);
  await t.app.services.retention.prune(organizationId);

  expect(await anomaliesOf(organizationId)).toEqual([
    { kind: 'FORCE_PUSH_DEFAULT_BRANCH', snapshotId: snapshotC, previousSnapshotId: snapshotB },
  ]);
  expect(await isPinned(snapshotB)).toBe(true);
  expect(await exists(snapshotB)).toBe(true);
  expect(await exists(snapshotC)).toBe(true);
  // Retention itself went ahead: A, neither pinned nor the last, is forgotten.
  expect(await exists(await snapshotOf(a.runId))).toBe(false);
});

it('the minute job takes over a run whose evaluation was left mid-way (its lease ran out), once', async () => {
  const { organizationId, b, c } = await forcePushedOrganization('globex');
  const snapshotB = await snapshotOf(b.runId);
  await loseTheEvaluation(c.runId, 'expired');

  const done = nextJob(t, 'anomalies.evaluate');
  await t.app.jobStore.agenda.now('anomalies.evaluate', {});
  await done;

  expect(await anomaliesOf(organizationId)).toEqual([
    { kind: 'FORCE_PUSH_DEFAULT_BRANCH', snapshotId: await snapshotOf(c.runId), previousSnapshotId: snapshotB },
  ]);
  expect(await isPinned(snapshotB)).toBe(true);
  const [run] = await t.app.dataSource.query(
    `SELECT anomalies_evaluated_at IS NOT NULL AS evaluated, anomaly_attempts FROM backup_runs WHERE id = $1`,
    [c.runId],
  );
  expect(run.evaluated).toBe(true);
  // An evaluated run is not evaluated again: unpinned by a person, it stays unpinned.
  await t.gql(`mutation($s: ID!) { unpinSnapshot(snapshotId: $s) { isPinned } }`, { s: snapshotB });
  expect(await t.app.services.anomalies.evaluatePending(organizationId)).toBe(0);
  expect(await t.app.services.anomalies.evaluateRun(c.runId)).toEqual([]);
  expect(await isPinned(snapshotB)).toBe(false);
});

it('a run held by a live evaluation elsewhere keeps its organization whole for the pass, not longer', async () => {
  const { organizationId, a, c } = await forcePushedOrganization('initech');
  await loseTheEvaluation(c.runId, 'none');
  // Another process has just claimed it (its lease runs for minutes).
  await t.app.dataSource.query(
    `UPDATE backup_runs SET anomalies_lease_until = now() + interval '10 minutes' WHERE id = $1`,
    [c.runId],
  );
  await keepOnlyTheLast(organizationId);
  const snapshotA = await snapshotOf(a.runId);
  await t.app.services.retention.prune(organizationId);
  expect(await exists(snapshotA)).toBe(true);
  // Once that evaluation is over (here: its holder gone and its lease ended), the next pass evaluates and forgets.
  await t.app.dataSource.query(`UPDATE backup_runs SET anomalies_lease_until = NULL WHERE id = $1`, [c.runId]);
  await t.app.services.retention.prune(organizationId);
  expect(await exists(snapshotA)).toBe(false);
});
