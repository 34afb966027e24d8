import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, anOrganization } from '../support/gitlab-seed.js';

/**
 * The `repositories.schedule` job calls `startDueSyncs()` every minute; here the test is the
 * minute hand: it moves a fake clock and runs the same service method the job runs.
 */
const clock = new FakeClock('2026-01-01T00:00:00Z');
let sim: GitLabSimulator;
let t: TestApp;
let connectionId: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  anOrganization(sim, alice.id, { path: 'acme', projectCount: 2 });
  anOrganization(sim, alice.id, { path: 'globex', projectCount: 2 });
  t = await startTestApp({ gitlab: { url: sim.url }, clock, worker: false });
  const r = await t.gql(
    `mutation($input: ConnectGitLabInput!) { connectGitLab(input: $input) { connection { id } } }`,
    {
      input: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        personalAccessToken: aToken(sim, alice.id).token,
      },
    },
  );
  connectionId = r.data.connectGitLab.connection.id;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function protect(path: string, repoSyncSchedule: Record<string, unknown>) {
  const r = await t.gql(
    `mutation($input: ProtectNamespaceInput!) { protectNamespace(input: $input) { id nextSyncAt } }`,
    {
      input: { connectionId, namespacePath: path, repoSyncSchedule },
    },
  );
  expect(r.errors).toBeUndefined();
  return r.data.protectNamespace as { id: string; nextSyncAt: string };
}

const scheduledRuns = async (orgId: string) =>
  (
    await t.app.dataSource.query(
      `SELECT created_at FROM sync_runs WHERE organization_id = $1 AND trigger = 'SCHEDULED' ORDER BY created_at`,
      [orgId],
    )
  ).length;

/** Moves the clock minute by minute to `until`, running the scheduler each minute; returns when each org fired. */
async function runMinutes(until: string) {
  const fired: { orgId: string; at: string }[] = [];
  while (clock.now() < new Date(until)) {
    clock.advance(60_000);
    for (const orgId of await t.app.services.sync.startDueSyncs()) fired.push({ orgId, at: clock.now().toISOString() });
    // let the queued run finish instantly, as a worker would, so the next one is not coalesced
    await t.app.dataSource.query(`UPDATE sync_runs SET status = 'SUCCEEDED' WHERE status = 'QUEUED'`);
  }
  return fired;
}

describe('RepoSyncSchedule', () => {
  it('fires hours-of-day schedules at those hours in their time zone, and intervals every interval', async () => {
    const hours = await protect('acme', { kind: 'HOURS', hours: [2, 14], timeZone: 'Europe/Warsaw' });
    const interval = await protect('globex', { kind: 'INTERVAL', intervalMinutes: 360 });
    expect(hours.nextSyncAt).toBe('2026-01-01T01:00:00.000Z');
    expect(interval.nextSyncAt).toBe('2026-01-01T06:00:00.000Z');

    const fired = await runMinutes('2026-01-02T02:00:00Z');
    expect(fired.filter((f) => f.orgId === hours.id).map((f) => f.at)).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T13:00:00.000Z',
      '2026-01-02T01:00:00.000Z',
    ]);
    expect(fired.filter((f) => f.orgId === interval.id).map((f) => f.at)).toEqual([
      '2026-01-01T06:00:00.000Z',
      '2026-01-01T12:00:00.000Z',
      '2026-01-01T18:00:00.000Z',
      '2026-01-02T00:00:00.000Z',
    ]);
    expect(await scheduledRuns(hours.id)).toBe(3);
  });

  it('gives a new backup policy the time zone the organization’s sync runs in, and UTC to an interval sync', async () => {
    const timeZoneOf = async (path: string) => {
      const [org] = (await t.gql(`{ organizations { id fullPath } }`)).data.organizations.filter(
        (o: { fullPath: string }) => o.fullPath === path,
      );
      const r = await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { timeZone } } }`, { o: org.id });
      return r.data.policy.settings.timeZone as string;
    };
    await expect(timeZoneOf('acme')).resolves.toBe('Europe/Warsaw');
    await expect(timeZoneOf('globex')).resolves.toBe('UTC');
  });

  it('reschedules when the schedule is edited', async () => {
    const [org] = (await t.gql(`{ organizations { id fullPath } }`)).data.organizations.filter(
      (o: { fullPath: string }) => o.fullPath === 'acme',
    );
    const r = await t.gql(
      `mutation($id: ID!) { updateOrganization(input: { id: $id, repoSyncSchedule: { kind: INTERVAL, intervalMinutes: 30 } }) { nextSyncAt repoSyncSchedule { kind intervalMinutes } } }`,
      { id: org.id },
    );
    expect(r.data.updateOrganization).toEqual({
      nextSyncAt: new Date(clock.now().getTime() + 30 * 60_000).toISOString(),
      repoSyncSchedule: { kind: 'INTERVAL', intervalMinutes: 30 },
    });
    const start = clock.now().getTime();
    const fired = await runMinutes(new Date(start + 61 * 60_000).toISOString());
    expect(fired.filter((f) => f.orgId === org.id).map((f) => new Date(f.at).getTime() - start)).toEqual([
      30 * 60_000,
      60 * 60_000,
    ]);
  });

  it('is claimed once even when two schedulers run at the same minute', async () => {
    const org = await protect(`alice`, { kind: 'INTERVAL', intervalMinutes: 15 });
    clock.set(new Date(new Date(org.nextSyncAt).getTime()));
    const [a, b] = await Promise.all([t.app.services.sync.startDueSyncs(), t.app.services.sync.startDueSyncs()]);
    expect([...a, ...b].filter((id) => id === org.id)).toHaveLength(1);
  });

  it('refuses a schedule with an unknown time zone, naming the field', async () => {
    const r = await t.gql(`mutation($input: ProtectNamespaceInput!) { protectNamespace(input: $input) { id } }`, {
      input: {
        connectionId,
        namespacePath: 'acme',
        repoSyncSchedule: { kind: 'HOURS', hours: [3], timeZone: 'Nowhere/Special' },
      },
    });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: { 'input.repoSyncSchedule.timeZone': expect.any(String) },
    });
  });
});
