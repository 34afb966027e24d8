import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { nextJob, startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';

/**
 * Restore drills through the API: a drill of a good backup passes; a drill of a snapshot whose
 * stored bundle had a byte flipped, or was cut short, fails and names the artifact; the latest
 * drill shows on the organization; the policy's drill cadence starts drills under a fake clock;
 * a drill into a scratch namespace restores through GitLab and deletes what it created.
 */
const clock = new FakeClock('2026-03-02T10:00:00Z');
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let connectionId: string;
let apiProjectId: number;
let aliceId: number;

const DRILL_FIELDS = `id status trigger target namespacePath sampleSize errorMessage scheduledFor
  results { repositoryId path snapshotId chainLength status differences checkedRefs checkedLfsObjects checkedMetadataRecords }`;
const POLICY_FIELDS = `scope { mode repositoryIds } include { repository wiki lfs metadata groupMetadata }
  schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast }
  storage { kind path } compression encryptionCredentialId verifyAfterBackup
  drill { enabled every time { hour minute } weekday dayOfMonth sampleSize target { kind connectionId namespacePath } }`;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  aliceId = alice.id;
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  sim.createGroup({ path: 'drills', ownerId: alice.id });
  apiProjectId = sim.createProject({ namespaceId: group.id, path: 'api', wikiEnabled: true, lfsEnabled: true }).id;
  sim.createBranch(apiProjectId, { branch: 'feature' });
  sim.pushCommit(apiProjectId, { branch: 'feature', files: { 'feature.txt': 'x\n' } });
  sim.createTag(apiProjectId, { tag: 'v1.0.0' });
  sim.pushWikiPage(apiProjectId, { title: 'Home', content: '# Docs' });
  sim.pushLfsPointer(apiProjectId, { path: 'logo.png', content: randomBytes(50_000) });
  sim.createLabel(apiProjectId, { name: 'bug' });
  sim.createIssue(apiProjectId, { title: 'Crash on start', labels: ['bug'] });
  sim.createProject({ namespaceId: group.id, path: 'web' });

  t = await startTestApp({ gitlab: { url: sim.url }, clock });
  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      namespacePath: 'acme',
      includeGroups: false,
      personalAccessToken: aToken(sim, alice.id, ['api', 'read_repository', 'write_repository']).token,
    },
  });
  expect(r.errors).toBeUndefined();
  await synced;
  connectionId = r.data.connectGitLab.connection.id;
  orgId = (await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: connectionId })).data
    .organizations[0].id;
  const backup = await runBackup(t, orgId);
  expect(backup.status).toBe('SUCCEEDED');
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

/** Starts a drill through the API and resolves with it once its job completed. */
async function drill(token?: string) {
  const done = nextJob(t, 'drill.run');
  const r = await t.gql(
    `mutation($o: ID!) { runDrill(organizationId: $o) { id status trigger } }`,
    { o: orgId },
    token,
  );
  expect(r.errors).toBeUndefined();
  expect(r.data.runDrill).toMatchObject({ status: 'QUEUED', trigger: 'MANUAL' });
  await done;
  return (await t.gql(`query($id: ID!) { drillRun(id: $id) { ${DRILL_FIELDS} } }`, { id: r.data.runDrill.id })).data
    .drillRun;
}

/** The stored bundle of the latest snapshot of acme/api, and a function that puts it back as it was. */
async function latestApiBundle(): Promise<{ file: string; restore: () => void }> {
  const nodes = (
    await t.gql(`query($o: ID!) { snapshots(organizationId: $o, first: 50) { nodes { id storagePrefix } } }`, {
      o: orgId,
    })
  ).data.snapshots.nodes;
  const manifestOf = (prefix: string) =>
    JSON.parse(readFileSync(join(t.app.config.dataDir, 'backups', prefix, 'manifest.json'), 'utf8'));
  const snapshot = nodes.find(
    (n: { storagePrefix: string }) => manifestOf(n.storagePrefix).repository?.pathWithNamespace === 'acme/api',
  );
  const folder = join(t.app.config.dataDir, 'backups', snapshot.storagePrefix);
  const manifest = manifestOf(snapshot.storagePrefix);
  const file = join(folder, manifest.git.bundle);
  const original = readFileSync(file);
  return { file, restore: () => writeFileSync(file, original) };
}

async function customizeDrill(drillSettings: Record<string, unknown> | null) {
  const settings = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${POLICY_FIELDS} } } }`, { o: orgId })
  ).data.policy.settings;
  return t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { settings { drill { enabled every sampleSize } } } }`,
    {
      o: orgId,
      i: { ...settings, drill: drillSettings },
    },
  );
}

describe('restore drills', () => {
  it('passes on a good backup: every sampled repository restored, refs, LFS and metadata as the manifest says', async () => {
    const run = await drill();
    expect(run).toMatchObject({ status: 'PASSED', target: 'LOCAL_BARE', sampleSize: 3, errorMessage: null });
    expect(run.results.map((r: { path: string }) => r.path).sort()).toEqual(['acme/api', 'acme/web']);
    const api = run.results.find((r: { path: string }) => r.path === 'acme/api');
    expect(api).toMatchObject({ status: 'PASSED', differences: [], chainLength: 1, checkedLfsObjects: 1 });
    expect(api.checkedRefs).toBeGreaterThanOrEqual(4); // main, feature, v1.0.0 and the wiki's branch
    expect(api.checkedMetadataRecords).toBeGreaterThanOrEqual(2); // the label and the issue at least
  });

  it('clears what an attempt killed mid-way left in its scratch folder when the job runs again, and leaves nothing', async () => {
    const first = await drill();
    // As if the worker had died during this drill: still RUNNING, its scratch folder left behind.
    await t.app.dataSource.query(`UPDATE drill_runs SET status = 'RUNNING', finished_at = NULL WHERE id = $1`, [
      first.id,
    ]);
    const stale = join(t.app.config.dataDir, 'tmp', `drill-${first.id}`, 'left-by-the-killed-attempt');
    mkdirSync(stale, { recursive: true });

    await t.app.services.drills.execute(first.id); // the job's retry

    expect(existsSync(join(t.app.config.dataDir, 'tmp', `drill-${first.id}`))).toBe(false);
    expect(
      (await t.gql(`query($id: ID!) { drillRun(id: $id) { status } }`, { id: first.id })).data.drillRun.status,
    ).toBe('PASSED');
  });

  it('announces a drill to drillChanged subscribers from QUEUED to its end', async () => {
    const sub = subscribe<{
      drillChanged: { drillRunId: string; status: string; repositoriesDone: number; isTerminal: boolean };
    }>(
      t.ws(),
      `subscription($o: ID!) { drillChanged(organizationId: $o) { drillRunId status repositoriesDone isTerminal } }`,
      { o: orgId },
    );
    await untilListening(
      sub,
      () =>
        t.app.pubSub.publish('DRILL_CHANGED', {
          drillRunId: 'probe',
          organizationId: orgId,
          status: 'QUEUED',
          repositoriesDone: 0,
          isTerminal: false,
          at: '',
        }),
      (e) => e.drillChanged.drillRunId === 'probe',
    );
    const run = await drill();
    const last = await sub.next((e) => e.drillChanged.drillRunId === run.id && e.drillChanged.isTerminal);
    const statuses = sub.events.filter((e) => e.drillChanged.drillRunId === run.id).map((e) => e.drillChanged.status);
    expect(statuses[0]).toBe('QUEUED');
    expect(statuses).toContain('RUNNING');
    expect(last.drillChanged).toMatchObject({ status: 'PASSED', repositoriesDone: run.results.length });
    sub.dispose();
  });

  it('shows the latest drill on the organization and lists drills newest first', async () => {
    const org = (await t.gql(`query($id: ID!) { organization(id: $id) { latestDrill { id status } } }`, { id: orgId }))
      .data.organization;
    const list = (
      await t.gql(`query($o: ID!) { drillRuns(organizationId: $o, first: 10) { totalCount nodes { id status } } }`, {
        o: orgId,
      })
    ).data.drillRuns;
    expect(list.totalCount).toBeGreaterThanOrEqual(1);
    expect(org.latestDrill).toEqual(list.nodes[0]);
  });

  it('fails a snapshot whose stored bundle had a byte flipped, naming the artifact, and does not stop at it', async () => {
    const { file, restore } = await latestApiBundle();
    const bytes = readFileSync(file);
    bytes[bytes.length - 100] ^= 0xff; // inside the pack data, past the bundle header `git bundle verify` reads
    writeFileSync(file, bytes);
    try {
      const run = await drill();
      expect(run.status).toBe('FAILED');
      const api = run.results.find((r: { path: string }) => r.path === 'acme/api');
      const web = run.results.find((r: { path: string }) => r.path === 'acme/web');
      expect(api.status).toBe('FAILED');
      expect(api.differences.join('\n')).toMatch(new RegExp(`${api.snapshotId}/repository\\.bundle: sha256 mismatch`));
      expect(api.differences.join('\n')).toMatch(/git: bundle of snapshot .* is damaged/);
      expect(web).toMatchObject({ status: 'PASSED', differences: [] });
      expect(run.errorMessage).toMatch(/1 of 2 repositories failed: acme\/api: .*repository\.bundle/);
      const org = (
        await t.gql(`query($id: ID!) { organization(id: $id) { latestDrill { id status } } }`, { id: orgId })
      ).data.organization;
      expect(org.latestDrill).toEqual({ id: run.id, status: 'FAILED' });
    } finally {
      restore();
    }
  });

  it('fails a snapshot whose stored bundle was truncated, naming the artifact and its sizes', async () => {
    const { file, restore } = await latestApiBundle();
    const size = readFileSync(file).length;
    truncateSync(file, Math.floor(size / 2));
    try {
      const run = await drill();
      expect(run.status).toBe('FAILED');
      const api = run.results.find((r: { path: string }) => r.path === 'acme/api');
      expect(api.status).toBe('FAILED');
      expect(api.differences[0]).toBe(
        `${api.snapshotId}/repository.bundle: ${Math.floor(size / 2)} bytes stored, the manifest says ${size} (truncated or extended)`,
      );
      expect(api.differences.join('\n')).toMatch(/git: bundle of snapshot .* is damaged/);
    } finally {
      restore();
    }
  });

  it('refuses a drill to a VIEWER and names the field of a bad drill setting', async () => {
    const viewer = (await t.gql(`mutation { createApiToken(input: { name: "viewer", role: VIEWER }) { token } }`)).data
      .createApiToken.token;
    const refused = await t.gql(`mutation($o: ID!) { runDrill(organizationId: $o) { id } }`, { o: orgId }, viewer);
    expect(refused.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN' });
    const operator = (
      await t.gql(`mutation { createApiToken(input: { name: "operator", role: RESTORE_OPERATOR }) { token } }`)
    ).data.createApiToken.token;
    expect((await drill(operator)).status).toBe('PASSED');

    const bad = await customizeDrill({
      enabled: true,
      every: 'DAILY',
      time: { hour: 3, minute: 0 },
      sampleSize: 0,
      target: { kind: 'SCRATCH_NAMESPACE', namespacePath: 'drills' },
    });
    expect(bad.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: {
        'input.drill.sampleSize': 'must be a whole number from 1 to 100',
        'input.drill.target.connectionId': expect.stringContaining('SCRATCH_NAMESPACE'),
      },
    });
    const unknown = await t.gql(`mutation { runDrill(organizationId: "00000000-0000-4000-8000-000000000000") { id } }`);
    expect(unknown.errors![0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'ORGANIZATION_NOT_FOUND' });
  });

  it('starts a drill when the policy cadence is due, under a fake clock, and books the next one', async () => {
    const saved = await customizeDrill({
      enabled: true,
      every: 'DAILY',
      time: { hour: 3, minute: 0 },
      sampleSize: 1,
      target: { kind: 'LOCAL_BARE' },
    });
    expect(saved.errors).toBeUndefined();
    clock.set('2026-03-02T10:00:00Z');
    expect(await t.app.services.drillScheduler.startDueDrills()).toEqual([]); // books the next slot
    const nextAt = async () =>
      (await t.gql(`query($id: ID!) { organization(id: $id) { nextDrillAt } }`, { id: orgId })).data.organization
        .nextDrillAt;
    expect(await nextAt()).toBe('2026-03-03T03:00:00.000Z');

    clock.set('2026-03-03T02:59:00Z');
    expect(await t.app.services.drillScheduler.startDueDrills()).toEqual([]);
    clock.set('2026-03-03T03:00:00Z');
    const done = nextJob(t, 'drill.run');
    const started = await t.app.services.drillScheduler.startDueDrills();
    // (the real every-minute drill.schedule job runs on the same fake clock: should it have
    // claimed the slot in between, it started this drill and our call found nothing due)
    const latest = (await t.gql(`query($id: ID!) { organization(id: $id) { latestDrill { id } } }`, { id: orgId })).data
      .organization.latestDrill;
    expect(started.length === 1 ? started : [latest.id]).toEqual([latest.id]);
    await done;
    const run = (await t.gql(`query($id: ID!) { drillRun(id: $id) { ${DRILL_FIELDS} } }`, { id: latest.id })).data
      .drillRun;
    expect(run).toMatchObject({
      status: 'PASSED',
      trigger: 'SCHEDULED',
      sampleSize: 1,
      scheduledFor: '2026-03-03T03:00:00.000Z',
    });
    expect(run.results).toHaveLength(1);
    expect(await nextAt()).toBe('2026-03-04T03:00:00.000Z');
    // a second scheduler at the same instant finds nothing due
    expect(await t.app.services.drillScheduler.startDueDrills()).toEqual([]);

    // a drill that cannot start is recorded FAILED with the reason, on the organization
    const readOnly = await t.gql(
      `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`,
      {
        i: {
          method: 'PERSONAL_ACCESS_TOKEN',
          instanceUrl: sim.url,
          login: 'alice',
          personalAccessToken: aToken(sim, aliceId).token,
        },
      },
    );
    const target = {
      kind: 'SCRATCH_NAMESPACE',
      connectionId: readOnly.data.connectGitLab.connection.id,
      namespacePath: 'drills',
    };
    expect(
      (await customizeDrill({ enabled: true, every: 'DAILY', time: { hour: 3, minute: 0 }, sampleSize: 1, target }))
        .errors,
    ).toBeUndefined();
    clock.set('2026-03-04T03:00:00Z');
    await t.app.services.drillScheduler.startDueDrills();
    const refused = (
      await t.gql(`query($id: ID!) { organization(id: $id) { latestDrill { ${DRILL_FIELDS} } } }`, { id: orgId })
    ).data.organization.latestDrill;
    expect(refused).toMatchObject({
      status: 'FAILED',
      trigger: 'SCHEDULED',
      scheduledFor: '2026-03-04T03:00:00.000Z',
      results: [],
    });
    expect(refused.errorMessage).toMatch(
      /^the scheduled drill could not start: connection .* cannot create drill projects: its token lacks the api scope/,
    );
    expect(await nextAt()).toBe('2026-03-05T03:00:00.000Z');

    // switched off: nothing booked, nothing started
    await customizeDrill({
      enabled: false,
      every: 'DAILY',
      time: { hour: 3, minute: 0 },
      sampleSize: 1,
      target: { kind: 'LOCAL_BARE' },
    });
    clock.set('2026-03-06T03:00:00Z');
    expect(await t.app.services.drillScheduler.startDueDrills()).toEqual([]);
    expect(await nextAt()).toBeNull();
  });

  it('restores into a scratch namespace through GitLab, compares, and deletes the drill project', async () => {
    const saved = await customizeDrill({
      enabled: false,
      every: 'WEEKLY',
      time: { hour: 4, minute: 0 },
      weekday: 0,
      sampleSize: 5,
      target: { kind: 'SCRATCH_NAMESPACE', connectionId, namespacePath: 'drills' },
    });
    expect(saved.errors).toBeUndefined();
    const created = () =>
      sim.requestsTo(/^\/api\/v4\/projects$/).filter((r) => r.method === 'POST' && r.status === 201).length;
    const before = created();
    const run = await drill();
    expect(run).toMatchObject({ status: 'PASSED', target: 'SCRATCH_NAMESPACE', namespacePath: 'drills' });
    expect(run.results.every((r: { status: string }) => r.status === 'PASSED')).toBe(true);
    expect(created() - before).toBe(2);
    const deleted = sim
      .requestsTo(/^\/api\/v4\/projects\/\d+$/)
      .filter((r) => r.method === 'DELETE' && r.status === 202);
    expect(deleted).toHaveLength(2);
    const left = await (
      await fetch(`${sim.url}/api/v4/groups/drills/projects`, {
        headers: { 'private-token': aToken(sim, aliceId, ['api']).token },
      })
    ).json();
    expect(left).toEqual([]);
    // nor does anything the restore recorded for them
    expect(await t.app.dataSource.query('SELECT scope FROM restore_mappings')).toEqual([]);
  });
});
