/**
 * A force-push that rewrites the default branch: the snapshot diff flags the move as forced, the
 * anomaly rules record it and pin the previous snapshot, a notification channel hears of it once,
 * and a retention pass that would delete that snapshot (or an administrator's deleteSnapshot)
 * keeps it until it is unpinned. The rules run on a group's metadata snapshots too (a subgroup
 * deleted, group labels deleted en masse).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startHttpReceiver, type HttpHit, type HttpReceiver } from '../support/alert-receivers.js';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

let sim: GitLabSimulator;
let t: TestApp;
let http: HttpReceiver;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  http = await startHttpReceiver();
  t = await startTestApp({ gitlab: { url: sim.url } });
  // Anomalies only: the channel hears of nothing else.
  const channel = await t.gql(
    `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`,
    {
      i: {
        name: 'anomalies',
        kind: 'WEBHOOK',
        url: `${http.url}/anomalies`,
        signingSecret: 'a-signing-secret-of-some-length',
        rules: {
          runFailed: false,
          runPartial: false,
          drillFailed: false,
          syncFailed: false,
          storageErrors: false,
          tokenExpiringWithinDays: null,
          staleAfterHours: null,
        },
      },
    },
  );
  expect(channel.errors).toBeUndefined();
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await http?.close();
});

const alertOf = (hit: HttpHit) =>
  JSON.parse(hit.body) as { kind: string; title: string; message: string; link: string; details: object };

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

  // The anomaly reaches the notification channel: what, where, the pinned snapshot, a link.
  const hit = await http.hits.next((h) => h.path === '/anomalies', 'anomaly alert');
  const [repositoryId] = (
    await t.app.dataSource.query(`SELECT repository_id FROM snapshots WHERE id = $1`, [snapshotC])
  ).map((r: { repository_id: string }) => r.repository_id);
  expect(alertOf(hit)).toMatchObject({
    kind: 'ANOMALY',
    title: 'Anomaly in acme/app: FORCE_PUSH_DEFAULT_BRANCH',
    link: expect.stringMatching(new RegExp(`/repositories/${repositoryId}/snapshots$`)),
    details: { anomaly: 'FORCE_PUSH_DEFAULT_BRANCH', snapshotId: snapshotC, pinnedSnapshotId: snapshotB },
  });
  expect(alertOf(hit).message).toMatch(/What to do: check the repository in GitLab/);
  // Once: evaluating the rules again (the minute's catch-up) sends nothing more.
  await t.app.services.alerts.evaluate();
  const raised = await t.app.dataSource.query(
    `SELECT a.kind, count(*)::int AS n FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id GROUP BY 1`,
  );
  expect(raised).toEqual([{ kind: 'ANOMALY', n: 1 }]);
  expect(http.hits.items.filter((h) => h.path === '/anomalies')).toHaveLength(1);

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

it('protected-branch, record and size rules; metadata and organization diffs', async () => {
  const bob = aUser(sim, 'bob');
  const group = sim.createGroup({ path: 'globex', ownerId: bob.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'svc' });
  sim.createBranch(project.id, { branch: 'release' });
  sim.pushCommit(project.id, { branch: 'release', files: { 'release.txt': 'r1\n' } });
  sim.protectBranch(project.id, { name: 'release*' });
  sim.protectBranch(project.id, { name: 'stable' });
  for (const name of ['bug', 'feature', 'docs', 'ops', 'ux']) sim.createLabel(project.id, { name });
  const issue = sim.createIssue(project.id, { title: 'first title' });
  // The default branch's tip carries nearly all of the repository's bytes.
  sim.pushCommit(project.id, { files: { 'big.bin': randomBytes(150_000).toString('base64') } });
  const { organizationId } = await connectOrganization(t, sim, {
    userId: bob.id,
    login: 'bob',
    namespacePath: 'globex',
  });
  const a = await runBackup(t, organizationId);
  expect(a.status).toBe('SUCCEEDED');
  const snapshotA = await snapshotOf(a.runId);
  const between = new Date();

  for (const name of ['bug', 'feature', 'docs']) sim.deleteLabel(project.id, name);
  issue.title = 'second title';
  sim.unprotectBranch(project.id, 'stable');
  sim.rewriteBranch(project.id, { files: { 'small.txt': 'no big file any more\n' } });
  sim.rewriteBranch(project.id, { branch: 'release', files: { 'release.txt': 'r2\n' } });
  const b = await runBackup(t, organizationId);
  expect(b.status).toBe('SUCCEEDED');
  const snapshotB = await snapshotOf(b.runId);

  const diff = (
    await t.gql(
      `query($f: ID!, $to: ID!) { snapshotDiff(fromSnapshotId: $f, toSnapshotId: $to) {
        moved { ref isForced isProtected } gitBytesBefore gitBytesAfter
        metadata { type isCompared recordsBefore removedCount changedCount removed { label } changed { key label fields } } } }`,
      { f: snapshotA, to: snapshotB },
    )
  ).data.snapshotDiff;
  expect(diff.moved).toEqual([
    { ref: 'refs/heads/main', isForced: true, isProtected: false },
    { ref: 'refs/heads/release', isForced: true, isProtected: true },
  ]);
  expect(diff.gitBytesAfter).toBeLessThan(diff.gitBytesBefore / 2);
  const type = (name: string) => diff.metadata.find((m: { type: string }) => m.type === name);
  expect(type('labels')).toMatchObject({ isCompared: true, recordsBefore: 5, removedCount: 3 });
  expect(
    type('labels')
      .removed.map((r: { label: string }) => r.label)
      .sort(),
  ).toEqual(['bug', 'docs', 'feature']);
  expect(type('issues').changed).toEqual([
    { key: String(issue.id), label: 'second title', fields: expect.arrayContaining(['title']) },
  ]);
  expect(type('protected_branches')).toMatchObject({ removedCount: 1, removed: [{ label: 'stable' }] });

  await t.app.services.anomalies.evaluateRun(b.runId);
  const anomalies = await t.gql(
    `query($o: ID!) { snapshotAnomalies(organizationId: $o) { kind previousSnapshotId } }`,
    {
      o: organizationId,
    },
  );
  expect(anomalies.data.snapshotAnomalies.map((x: { kind: string }) => x.kind).sort()).toEqual([
    'BRANCH_PROTECTION_REMOVED',
    'FORCE_PUSH_DEFAULT_BRANCH',
    'FORCE_PUSH_PROTECTED_BRANCH',
    'MASS_RECORD_DELETION',
    'SIZE_DROP',
  ]);
  expect(
    new Set(anomalies.data.snapshotAnomalies.map((x: { previousSnapshotId: string }) => x.previousSnapshotId)),
  ).toEqual(new Set([snapshotA]));

  const org = (
    await t.gql(
      `query($o: ID!, $from: DateTimeISO!, $to: DateTimeISO!) { organizationDiff(organizationId: $o, from: $from, to: $to) {
        compared unchanged entries { path fromSnapshotId toSnapshotId forcedRefs recordsRemoved recordsChanged } } }`,
      { o: organizationId, from: between.toISOString(), to: new Date().toISOString() },
    )
  ).data.organizationDiff;
  // the repository and its group; nothing changed in the group, so run b made it no new snapshot
  expect(org).toMatchObject({ compared: 2, unchanged: 1 });
  expect(org.entries.filter((e: { path: string }) => e.path === 'globex/svc')).toEqual([
    {
      path: 'globex/svc',
      fromSnapshotId: snapshotA,
      toSnapshotId: snapshotB,
      forcedRefs: ['refs/heads/main', 'refs/heads/release'],
      recordsRemoved: 4,
      recordsChanged: expect.any(Number),
    },
  ]);
  const reversed = await t.gql(
    `query($o: ID!, $from: DateTimeISO!, $to: DateTimeISO!) { organizationDiff(organizationId: $o, from: $from, to: $to) { compared } }`,
    { o: organizationId, from: new Date().toISOString(), to: between.toISOString() },
  );
  expect(reversed.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { to: expect.any(String) } });
});

it("group snapshots: a subgroup deleted and group labels deleted en masse → the group's anomalies, its previous snapshot pinned", async () => {
  const carol = aUser(sim, 'carol');
  const group = sim.createGroup({ path: 'initech', ownerId: carol.id });
  sim.createProject({ namespaceId: group.id, path: 'tps' });
  const reports = sim.createGroup({ path: 'reports', parentId: group.id });
  for (const name of ['a', 'b', 'c', 'd', 'e']) sim.createGroupLabel(group.id, { name, color: '#428bca' });
  const { organizationId } = await connectOrganization(t, sim, {
    userId: carol.id,
    login: 'carol',
    namespacePath: 'initech',
    includeGroups: true,
  });
  const groupSnapshotOf = async (runId: string) =>
    (
      await t.app.dataSource.query(
        `SELECT i.snapshot_id, g.id AS group_id FROM backup_run_items i JOIN gitlab_groups g ON g.id = i.group_id
          WHERE i.run_id = $1 AND g.full_path = 'initech'`,
        [runId],
      )
    )[0] as { snapshot_id: string; group_id: string };
  const a = await runBackup(t, organizationId);
  expect(a.status).toBe('SUCCEEDED');
  const before = await groupSnapshotOf(a.runId);

  sim.deleteGroup(reports.id);
  for (const name of ['a', 'b', 'c']) sim.deleteGroupLabel(group.id, name);
  const synced = nextJob(t, 'repositories.sync'); // the deleted subgroup is no longer backed up
  await t.gql(`mutation($o: ID!) { syncRepositories(organizationId: $o) { id } }`, { o: organizationId });
  await synced;
  const b = await runBackup(t, organizationId);
  expect(b.status).toBe('SUCCEEDED');
  const after = await groupSnapshotOf(b.runId);

  await t.app.services.anomalies.evaluateRun(b.runId);
  const anomalies = (
    await t.gql(
      `query($o: ID!) { snapshotAnomalies(organizationId: $o) { kind repositoryId groupId snapshotId previousSnapshotId message } }`,
      { o: organizationId },
    )
  ).data.snapshotAnomalies;
  expect([...anomalies].sort((x: { kind: string }, y: { kind: string }) => x.kind.localeCompare(y.kind))).toEqual([
    {
      kind: 'MASS_RECORD_DELETION',
      repositoryId: null,
      groupId: before.group_id,
      snapshotId: after.snapshot_id,
      previousSnapshotId: before.snapshot_id,
      message: '3 of 5 group labels deleted',
    },
    {
      kind: 'SUBGROUP_DELETED',
      repositoryId: null,
      groupId: before.group_id,
      snapshotId: after.snapshot_id,
      previousSnapshotId: before.snapshot_id,
      message: expect.stringContaining('1 subgroup(s) gone: reports'),
    },
  ]);
  const pin = await t.gql(`query($s: ID!) { snapshotPin(snapshotId: $s) { isPinned } }`, { s: before.snapshot_id });
  expect(pin.data.snapshotPin.isPinned).toBe(true);
});
