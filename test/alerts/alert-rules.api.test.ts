import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startHttpReceiver, type HttpHit, type HttpReceiver } from '../support/alert-receivers.js';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * The rules found by scanning, through a real webhook receiver, under a fake clock: many stale
 * repositories found at once arrive as one DIGEST message (each listed once, never again on its
 * own, even with two evaluations racing); a repository sync that FAILED and a snapshot that failed
 * verification (a storage error) each arrive once; and the DAILY summary of the day arrives once
 * after midnight, per organization with its runs, repository syncs, new repositories and storage
 * growth.
 */
const today = new Date();
const clock = new FakeClock(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), 1)));
const REPOSITORIES = ['api', 'web', 'docs', 'ops', 'cli'];
let sim: GitLabSimulator;
let t: TestApp;
let http: HttpReceiver;
let orgId: string;

const bodyOf = (hit: HttpHit) =>
  JSON.parse(hit.body) as {
    kind: string;
    title: string;
    message: string;
    details: Record<string, unknown> & { alerts?: { kind: string; details: { repository: string } }[] };
  };
const received = (kind: string) => http.hits.items.filter((h) => h.path === '/ops' && bodyOf(h).kind === kind);
const evaluateTwice = () => Promise.all([t.app.services.alerts.evaluate(), t.app.services.alerts.evaluate()]);

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of REPOSITORIES) {
    const id = sim.createProject({ namespaceId: group.id, path }).id;
    sim.pushCommit(id, { files: { 'README.md': `# ${path}\n` } });
  }
  http = await startHttpReceiver();
  t = await startTestApp({ gitlab: { url: sim.url }, clock, jobs: { lockLifetimeMs: 30_000 } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
  const created = await t.gql(
    `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id rules { syncFailed storageErrors summary } } }`,
    {
      i: {
        name: 'ops',
        kind: 'WEBHOOK',
        url: `${http.url}/ops`,
        signingSecret: 'a-signing-secret-of-some-length',
        rules: { staleAfterHours: 1, tokenExpiringWithinDays: null, summary: 'DAILY' },
      },
    },
  );
  expect(created.errors).toBeUndefined();
  expect(created.data.createNotificationChannel.rules).toEqual({
    syncFailed: true,
    storageErrors: true,
    summary: 'DAILY',
  });
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await http?.close();
});

describe('alert rules found by scanning', () => {
  it('sends five repositories gone stale at once as one digest that lists each', async () => {
    clock.advance(2 * 3_600_000);
    await evaluateTwice();
    const digest = await http.hits.next((h) => h.path === '/ops' && bodyOf(h).kind === 'DIGEST', 'digest');
    const body = bodyOf(digest);
    expect(body.title).toBe('5 alerts: 5 stale repositories');
    expect(body.details.alerts!.map((a) => a.details.repository).sort()).toEqual(
      REPOSITORIES.map((r) => `acme/${r}`).sort(),
    );
    for (const r of REPOSITORIES) expect(body.message).toContain(`No successful backup of acme/${r}`);
    // Evaluated again (and by the minute's job): nothing is sent again, alone or in a digest.
    await evaluateTwice();
    const statuses = await t.app.dataSource.query(
      `SELECT a.kind, d.status, count(*)::int AS n FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
        GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(statuses).toEqual([
      { kind: 'DIGEST', status: expect.stringMatching(/^(PENDING|SENDING|SENT)$/), n: 1 },
      { kind: 'REPOSITORY_STALE', status: 'DIGESTED', n: 5 },
    ]);
    expect(received('REPOSITORY_STALE')).toEqual([]);
    expect(received('DIGEST')).toHaveLength(1);
  });

  it('sends a repository sync that FAILED once, with its reason and what to do', async () => {
    sim.failNext(1, { status: 404, pathPattern: /\/api\/v4\/groups\/[^/]+\/projects/ });
    const synced = nextJob(t, 'repositories.sync');
    const r = await t.gql(`mutation($o: ID!) { syncRepositories(organizationId: $o) { id } }`, { o: orgId });
    expect(r.errors).toBeUndefined();
    await synced;
    const [run] = await t.app.dataSource.query(`SELECT status FROM sync_runs WHERE id = $1`, [
      r.data.syncRepositories.id,
    ]);
    expect(run.status).toBe('FAILED');
    await evaluateTwice();
    const hit = await http.hits.next((h) => h.path === '/ops' && bodyOf(h).kind === 'SYNC_FAILED', 'sync failure');
    expect(bodyOf(hit)).toMatchObject({
      title: 'Repository sync of acme FAILED',
      details: { syncRunId: r.data.syncRepositories.id, organization: 'acme' },
    });
    expect(bodyOf(hit).message).toMatch(/What to do: check the connection/);
    await evaluateTwice();
    expect(received('SYNC_FAILED')).toHaveLength(1);
  });

  it('sends a snapshot that failed verification as a storage error, once', async () => {
    const run = await runBackup(t, orgId);
    expect(run.status).toBe('SUCCEEDED');
    const [snapshot] = await t.app.dataSource.query(
      `SELECT s.id, s.storage_prefix FROM snapshots s JOIN repositories r ON r.id = s.repository_id
        WHERE r.path_with_namespace = 'acme/web' ORDER BY s.created_at DESC LIMIT 1`,
    );
    const folder = join(t.app.config.dataDir, 'backups', snapshot.storage_prefix);
    const file = join(folder, JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')).git.bundle);
    const bytes = readFileSync(file);
    bytes[bytes.length - 30] ^= 0xff;
    writeFileSync(file, bytes);
    const verified = await t.gql(`mutation($s: ID!) { verifySnapshot(id: $s) { ok } }`, { s: snapshot.id });
    expect(verified.data.verifySnapshot.ok).toBe(false);
    await evaluateTwice();
    const hit = await http.hits.next((h) => h.path === '/ops' && bodyOf(h).kind === 'STORAGE_ERROR', 'storage error');
    expect(bodyOf(hit)).toMatchObject({
      title: 'Storage error: snapshot of acme/web failed verification',
      details: { problem: 'VERIFICATION_FAILED', snapshotId: snapshot.id, repository: 'acme/web' },
    });
    await evaluateTwice();
    expect(received('STORAGE_ERROR')).toHaveLength(1);
  });

  it("sends the day's summary once after midnight: runs, repository syncs (the failed one counted), new repositories and storage growth per organization", async () => {
    expect(await t.app.services.alerts.summarize()).toBe(0); // the day is not over
    const now = clock.now();
    clock.set(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 0, 5)));
    await Promise.all([t.app.services.alerts.summarize(), t.app.services.alerts.summarize()]);
    const hit = await http.hits.next((h) => h.path === '/ops' && bodyOf(h).kind === 'SUMMARY', 'summary');
    const body = bodyOf(hit);
    const day = now.toISOString().slice(0, 10);
    expect(body.title).toMatch(
      new RegExp(`^Daily summary, ${day}: 0 runs not fully successful, 1 repository sync failed$`),
    );
    expect(body.message).toContain('Organization acme:');
    expect(body.message).toContain(
      '- Failures: 0 runs not fully successful, 0 repositories failed, 1 repository sync failed',
    );
    expect(body.message).toMatch(/- Repository syncs: \d+ \(1 FAILED, \d+ SUCCEEDED\)/);
    expect(body.message).toMatch(/What to do about a failed sync: check the connection/);
    expect(body.message).not.toContain('Nothing needs attention');
    expect(body.message).toContain('- Repositories: 5 new, 0 deleted upstream');
    expect(body.message).toMatch(/- Backup runs: \d+ \(.*SUCCEEDED/);
    expect(body.message).toMatch(/- Storage: \+[\d.]+ (B|KiB|MiB) in 5 snapshots/);
    expect(body.details).toMatchObject({
      cadence: 'DAILY',
      periodStart: `${day}T00:00:00.000Z`,
      organizations: [
        {
          organization: 'acme',
          newRepositories: 5,
          runs: expect.objectContaining({ SUCCEEDED: expect.any(Number) }),
          syncs: expect.objectContaining({ FAILED: 1, SUCCEEDED: expect.any(Number) }),
          addedBytes: expect.any(Number),
        },
      ],
    });
    expect((body.details.organizations as { addedBytes: number }[])[0].addedBytes).toBeGreaterThan(0);
    expect(await t.app.services.alerts.summarize()).toBe(0);
    expect(received('SUMMARY')).toHaveLength(1);
  });
});
