import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BackupProgressed } from '../../server/src/backup/backup.events.js';
import { FakeClock } from '../../server/src/shared/clock.js';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';

/**
 * The `backup.schedule` job runs `startDueBackups()` every minute. Here the test moves a fake
 * clock to each due time (checking that nothing starts a minute earlier), runs the scheduler as
 * the job would, and lets the real worker execute the backup before moving on.
 */
const clock = new FakeClock('2026-01-30T00:00:00Z');
let sim: GitLabSimulator;
let t: TestApp;
let connectionId: string;
let seq = 0;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  for (const path of ['basic', 'custom', 'forever', 'gfs']) {
    const group = sim.createGroup({ path, ownerId: alice.id });
    sim.createProject({ namespaceId: group.id, path: 'repo' });
  }
  t = await startTestApp({ gitlab: { url: sim.url }, clock });
  const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: aToken(sim, alice.id).token,
    },
  });
  connectionId = r.data.connectGitLab.connection.id;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function protectWith(path: string, schedule: Record<string, unknown>, start: string) {
  clock.set(start);
  const synced = nextJob(t, 'repositories.sync');
  const org = await t.gql(`mutation($i: ProtectNamespaceInput!) { protectNamespace(input: $i) { id } }`, {
    i: { connectionId, namespacePath: path },
  });
  await synced;
  const id = org.data.protectNamespace.id;
  const current = (
    await t.gql(
      `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression } } }`,
      { o: id },
    )
  ).data.policy.settings;
  const r = await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { nextBackupAt nextCopyType } }`,
    {
      o: id,
      i: {
        ...current,
        include: { ...current.include, metadata: [], groupMetadata: [] },
        schedule: { time: null, ...schedule },
        timeZone: 'UTC',
        window: null,
        verifyAfterBackup: false,
      },
    },
  );
  expect(r.errors).toBeUndefined();
  return id as string;
}

/** Jumps to each next due time `count` times; returns [at, copyType of the run, of the snapshot]. */
async function fire(orgId: string, count: number) {
  const fired: string[] = [];
  for (let i = 0; i < count; i++) {
    const policy = (await t.gql(`query($o: ID!) { policy(organizationId: $o) { nextBackupAt } }`, { o: orgId })).data
      .policy;
    const due = new Date(policy.nextBackupAt);
    clock.set(new Date(due.getTime() - 60_000));
    expect(await t.app.services.backupScheduler.startDueBackups()).toEqual([]);
    const runsBefore = await runIdsOf(orgId);
    clock.set(due);
    const finished = terminalEventOf(orgId);
    // The real every-minute `backup.schedule` job may claim the slot first; either way exactly one run starts.
    const started = await t.app.services.backupScheduler.startDueBackups();
    expect(started.length).toBeLessThanOrEqual(1);
    await finished;
    const newRuns = (await runIdsOf(orgId)).filter((id) => !runsBefore.includes(id));
    expect(newRuns).toHaveLength(1);
    if (started.length === 1) expect(newRuns).toEqual(started);
    const run = (await t.gql(`query($id: ID!) { backupRun(id: $id) { copyType status trigger } }`, { id: newRuns[0] }))
      .data.backupRun;
    expect(run).toMatchObject({ status: 'SUCCEEDED', trigger: 'SCHEDULED' });
    fired.push(`${due.toISOString().slice(0, 16)} ${run.copyType}`);
  }
  // back to MANUAL, so this organization does not fire during the next test
  const settings = (
    await t.gql(
      `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup } } }`,
      { o: orgId },
    )
  ).data.policy.settings;
  await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    { o: orgId, i: { ...settings, schedule: { type: 'MANUAL' } } },
  );
  return fired;
}

async function runIdsOf(orgId: string): Promise<string[]> {
  const r = await t.gql(`query($o: ID) { backupRuns(organizationId: $o, first: 100) { nodes { id } } }`, { o: orgId });
  return r.data.backupRuns.nodes.map((n: { id: string }) => n.id);
}

function terminalEventOf(orgId: string): Promise<void> {
  const iterator = t.app.pubSub.subscribe('BACKUP_PROGRESS')[Symbol.asyncIterator]();
  const tag = ++seq;
  return (async () => {
    for (;;) {
      const { value } = await iterator.next();
      const event = value as BackupProgressed;
      if (event.organizationId === orgId && event.isTerminal) break;
    }
    await iterator.return?.();
    void tag;
  })();
}

describe('backup schedules', () => {
  it('BASIC: a monthly full on its day, incrementals the other days, at the set time', async () => {
    const org = await protectWith(
      'basic',
      { type: 'BASIC', time: { hour: 2, minute: 30 }, fullDayOfMonth: 1 },
      '2026-01-30T00:00:00Z',
    );
    expect(await fire(org, 4)).toEqual([
      '2026-01-30T02:30 FULL', // no full yet
      '2026-01-31T02:30 INCREMENTAL',
      '2026-02-01T02:30 FULL',
      '2026-02-02T02:30 INCREMENTAL',
    ]);
  });

  it('CUSTOM: full and incremental each on their own days and times', async () => {
    const org = await protectWith(
      'custom',
      {
        type: 'CUSTOM',
        full: { weekdays: [6], daysOfMonth: [], times: [{ hour: 22, minute: 0 }] },
        incremental: {
          weekdays: [],
          daysOfMonth: [],
          times: [
            { hour: 8, minute: 0 },
            { hour: 20, minute: 0 },
          ],
        },
      },
      '2026-01-30T00:00:00Z', // a Friday
    );
    expect(await fire(org, 6)).toEqual([
      '2026-01-30T08:00 FULL',
      '2026-01-30T20:00 INCREMENTAL',
      '2026-01-31T08:00 INCREMENTAL',
      '2026-01-31T20:00 INCREMENTAL',
      '2026-01-31T22:00 FULL',
      '2026-02-01T08:00 INCREMENTAL',
    ]);
  });

  it('FOREVER_INCREMENTAL: one full, then incrementals at the cadence', async () => {
    const org = await protectWith(
      'forever',
      { type: 'FOREVER_INCREMENTAL', every: 'HOURLY', time: { hour: 0, minute: 15 }, weekday: 0, dayOfMonth: 1 },
      '2026-01-30T00:00:00Z',
    );
    expect(await fire(org, 3)).toEqual([
      '2026-01-30T00:15 FULL',
      '2026-01-30T01:15 INCREMENTAL',
      '2026-01-30T02:15 INCREMENTAL',
    ]);
  });

  it('GFS: monthly full, weekly differential against it, daily incremental', async () => {
    const org = await protectWith(
      'gfs',
      { type: 'GFS', time: { hour: 1, minute: 0 }, fullDayOfMonth: 1, differentialWeekday: 0 },
      '2026-01-31T00:00:00Z',
    );
    const fired = await fire(org, 9);
    expect(fired).toEqual([
      '2026-01-31T01:00 FULL',
      '2026-02-01T01:00 FULL', // the 1st is also a Sunday: the bigger copy wins
      '2026-02-02T01:00 INCREMENTAL',
      '2026-02-03T01:00 INCREMENTAL',
      '2026-02-04T01:00 INCREMENTAL',
      '2026-02-05T01:00 INCREMENTAL',
      '2026-02-06T01:00 INCREMENTAL',
      '2026-02-07T01:00 INCREMENTAL',
      '2026-02-08T01:00 DIFFERENTIAL',
    ]);
    const snapshots = (
      await t.gql(
        `query($o: ID!) { snapshots(organizationId: $o, first: 20) { nodes { id copyType parentId createdAt } } }`,
        { o: org },
      )
    ).data.snapshots.nodes;
    const differential = snapshots.find((s: { copyType: string }) => s.copyType === 'DIFFERENTIAL');
    const febFull = snapshots.find(
      (s: { createdAt: string; copyType: string }) => s.copyType === 'FULL' && s.createdAt.startsWith('2026-02-01'),
    );
    expect(differential.parentId).toBe(febFull.id);
  });

  it('retention keeps what the pure function decides, with every chain it needs, and deletes the rest from storage', async () => {
    const [gfs] = (await t.gql(`{ organizations { id fullPath } }`)).data.organizations.filter(
      (o: { fullPath: string }) => o.fullPath === 'gfs',
    );
    const current = (
      await t.gql(
        `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone storage { kind path } compression verifyAfterBackup } } }`,
        { o: gfs.id },
      )
    ).data.policy.settings;
    await t.gql(
      `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
      {
        o: gfs.id,
        i: { ...current, retention: { mode: 'BY_COUNT', keepLast: 2 } },
      },
    );
    const before = (
      await t.gql(
        `query($o: ID!) { snapshots(organizationId: $o, first: 20) { nodes { id copyType parentId storagePrefix } } }`,
        { o: gfs.id },
      )
    ).data.snapshots.nodes;
    const decisions = await t.app.services.retention.prune(gfs.id);
    const kept = decisions[gfs.id].keep.map((d) => d.id).sort();
    const after = (
      await t.gql(`query($o: ID!) { snapshots(organizationId: $o, first: 20) { nodes { id } } }`, { o: gfs.id })
    ).data.snapshots.nodes;
    expect(after.map((s: { id: string }) => s.id).sort()).toEqual(kept);
    // the newest two (the differential, and the incremental before it) plus everything they build
    // on: the February full and the incremental chain up to it; only January's full goes
    expect(decisions[gfs.id].forget.map((d) => d.id)).toEqual([
      before.find((s: { copyType: string }, i: number) => s.copyType === 'FULL' && i === before.length - 1).id,
    ]);
    expect(kept).toHaveLength(before.length - 1);
    for (const s of before) {
      const dir = join(t.app.config.dataDir, 'backups', s.storagePrefix);
      expect({ id: s.id, onDisk: existsSync(join(dir, 'manifest.json')) }).toEqual({
        id: s.id,
        onDisk: kept.includes(s.id),
      });
    }
  });
});
