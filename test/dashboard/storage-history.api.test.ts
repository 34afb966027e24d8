import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/** storageHistory: the dashboard's stored bytes per day, from the snapshots that are kept. */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;

const HISTORY = `query($o: ID, $d: Int) { storageHistory(organizationId: $o, days: $d) { date storedBytes addedBytes snapshotCount } }`;
const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

async function snapshots(): Promise<{ id: string; sizeBytes: number }[]> {
  const r = await t.gql(`query($o: ID) { snapshots(organizationId: $o, first: 100) { nodes { id sizeBytes } } }`, {
    o: orgId,
  });
  return r.data.snapshots.nodes;
}

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['api', 'web']) sim.createProject({ namespaceId: group.id, path, withCommit: true });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

describe('storageHistory', () => {
  it('is a flat line of zeros before anything is backed up', async () => {
    const r = await t.gql(HISTORY, { d: 3 });
    expect(r.errors).toBeUndefined();
    expect(r.data.storageHistory).toEqual(
      [daysAgo(2), daysAgo(1), today()].map((date) => ({ date, storedBytes: 0, addedBytes: 0, snapshotCount: 0 })),
    );
  });

  describe('after a backup', () => {
    let kept: { id: string; sizeBytes: number }[];
    beforeAll(async () => {
      const run = await runBackup(t, orgId);
      expect(run.status).toBe('SUCCEEDED');
      kept = await snapshots();
      expect(kept.length).toBeGreaterThanOrEqual(2);
    });
    const total = () => kept.reduce((sum, s) => sum + s.sizeBytes, 0);

    it('counts today the bytes of every snapshot kept, by default over 30 days ending today', async () => {
      const points = (await t.gql(HISTORY, {})).data.storageHistory;
      expect(points).toHaveLength(30);
      expect(points[29]).toEqual({
        date: today(),
        storedBytes: total(),
        addedBytes: total(),
        snapshotCount: kept.length,
      });
      expect(points[28]).toMatchObject({ date: daysAgo(1), storedBytes: 0, snapshotCount: 0 });
    });

    it('accumulates by the day each snapshot was made, and counts older ones from the first day of the window', async () => {
      const [older, middle] = kept;
      await t.app.dataSource.query(`UPDATE snapshots SET created_at = now() - interval '10 days' WHERE id = $1`, [
        older.id,
      ]);
      await t.app.dataSource.query(`UPDATE snapshots SET created_at = now() - interval '3 days' WHERE id = $1`, [
        middle.id,
      ]);
      const points = (await t.gql(HISTORY, { o: orgId, d: 7 })).data.storageHistory;
      expect(points.map((p: { date: string }) => p.date)).toEqual([6, 5, 4, 3, 2, 1, 0].map(daysAgo));
      expect(points[0]).toEqual({ date: daysAgo(6), storedBytes: older.sizeBytes, addedBytes: 0, snapshotCount: 1 });
      expect(points[3]).toEqual({
        date: daysAgo(3),
        storedBytes: older.sizeBytes + middle.sizeBytes,
        addedBytes: middle.sizeBytes,
        snapshotCount: 2,
      });
      expect(points[6]).toMatchObject({ storedBytes: total(), snapshotCount: kept.length });
    });

    it('counts only the organization asked for', async () => {
      const points = (await t.gql(HISTORY, { o: randomUUID(), d: 2 })).data.storageHistory;
      expect(points.every((p: { storedBytes: number }) => p.storedBytes === 0)).toBe(true);
    });
  });

  it('names the field when days is out of range', async () => {
    const r = await t.gql(HISTORY, { d: 0 });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: { days: expect.stringMatching(/1 to 366/) },
    });
  });

  it('answers any signed-in token (a VIEWER too) and nobody else', async () => {
    const created = await t.gql(`mutation { createApiToken(input: { name: "wall screen", role: VIEWER }) { token } }`);
    const viewer = created.data.createApiToken.token;
    expect((await t.gql(HISTORY, { d: 1 }, viewer)).data.storageHistory).toHaveLength(1);
    expect((await t.gql(HISTORY, { d: 1 }, null)).status).toBe(401);
  });
});
