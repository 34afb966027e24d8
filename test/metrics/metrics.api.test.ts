import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { parsePrometheusText, sampleSum, sampleValue, type PromSample } from '../support/prometheus-text.js';

/**
 * /metrics end to end: a run against the simulator (with one 429 on the way) moves the counters,
 * read while the run is under way and after it ended; the output is strict Prometheus text.
 */
const TOKEN = 'metrics-token-0123456789abcdef';
let sim: GitLabSimulator;
let t: TestApp;
let organizationId: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['api', 'web', 'docs']) sim.createProject({ namespaceId: group.id, path });
  t = await startTestApp({ gitlab: { url: sim.url }, env: { LABKEEPER_METRICS_TOKEN: TOKEN } });
  ({ organizationId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  const policy = await t.gql(
    `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup } } }`,
    { o: organizationId },
  );
  const settings = policy.data.policy.settings;
  const custom = await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    { o: organizationId, i: { ...settings, include: { ...settings.include, metadata: [], groupMetadata: [] } } },
  );
  expect(custom.errors).toBeUndefined();
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function scrape(): Promise<PromSample[]> {
  const response = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text()).samples;
}

describe('/metrics', () => {
  it('refuses a scrape without the configured bearer token', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${t.url}/metrics`, {
      headers: { authorization: 'Bearer metrics-token-0123456789abcdeX' },
    });
    expect(wrong.status).toBe(401);
  });

  it('parses as Prometheus text and its counters move as a run progresses', async () => {
    const before = await scrape();
    const finished = (s: PromSample[], status: string) =>
      sampleValue(s, 'labkeeper_backup_repositories_finished_total', { status }) ?? NaN;
    expect(finished(before, 'SUCCEEDED')).toBe(0);
    expect(sampleValue(before, 'labkeeper_repositories_by_last_backup_age', { age: 'never' })).toBe(3);
    expect(sampleValue(before, 'labkeeper_backup_runs_finished_total', { status: 'SUCCEEDED' })).toBe(0);
    const requestsBefore = sampleSum(before, 'labkeeper_gitlab_requests_total');
    expect(requestsBefore).toBeGreaterThan(0); // the connection and its sync talked to GitLab

    sim.rateLimitNext(1, { retryAfterSeconds: 1 });
    const sub = subscribe<{
      backupProgress: { runId: string; isTerminal: boolean; runStatus: string; item: { status: string } | null };
    }>(
      t.ws(),
      `subscription($o: ID) { backupProgress(organizationId: $o) { runId isTerminal runStatus item { status } } }`,
      { o: organizationId },
    );
    await untilListening(
      sub,
      () =>
        t.app.pubSub.publish('BACKUP_PROGRESS', {
          organizationId,
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
    const run = await t.gql(`mutation($i: RunNowInput!) { runNow(input: $i) { id } }`, { i: { organizationId } });
    const runId = run.data.runNow.id as string;
    await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.item?.status === 'SUCCEEDED');
    const during = await scrape();
    const done = await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal);
    sub.dispose();
    expect(done.backupProgress.runStatus).toBe('SUCCEEDED');
    const after = await scrape();

    expect(finished(during, 'SUCCEEDED')).toBeGreaterThanOrEqual(1);
    expect(finished(after, 'SUCCEEDED')).toBe(3);
    expect(finished(during, 'SUCCEEDED')).toBeLessThanOrEqual(finished(after, 'SUCCEEDED'));
    expect(sampleValue(after, 'labkeeper_backup_runs_finished_total', { status: 'SUCCEEDED' })).toBe(1);
    expect(sampleValue(after, 'labkeeper_backup_bytes_written_total')).toBeGreaterThan(
      sampleValue(before, 'labkeeper_backup_bytes_written_total')!,
    );
    expect(sampleValue(after, 'labkeeper_repositories_by_last_backup_age', { age: 'lt_1h' })).toBe(3);
    expect(sampleValue(after, 'labkeeper_repositories_by_last_backup_age', { age: 'never' })).toBe(0);
    // Histograms computed by PostgreSQL (snapshots) and in the worker (steps of each repository).
    expect(sampleSum(after, 'labkeeper_snapshot_size_bytes_count')).toBe(3);
    expect(sampleValue(after, 'labkeeper_backup_step_duration_seconds_count', { step: 'total' })).toBe(3);
    expect(sampleValue(after, 'labkeeper_backup_run_duration_seconds_count', { status: 'SUCCEEDED' })).toBe(1);
    // The GitLab transport: more requests, and the 429 with its one-second Retry-After.
    expect(sampleSum(after, 'labkeeper_gitlab_requests_total')).toBeGreaterThan(requestsBefore);
    expect(sampleValue(after, 'labkeeper_gitlab_requests_total', { method: 'GET', status: '429' })).toBe(1);
    expect(sampleValue(after, 'labkeeper_gitlab_retries_total', { reason: 'rate_limited' })).toBe(1);
    expect(sampleValue(after, 'labkeeper_gitlab_retry_wait_seconds_total', { reason: 'rate_limited' })).toBe(1);
    // Connections, job queues and Node's own metrics are there too.
    expect(sampleValue(after, 'labkeeper_connections', { status: 'CONNECTED' })).toBe(1);
    expect(after.some((s) => s.name === 'labkeeper_job_queue_depth' && s.labels.job === 'backup.repository')).toBe(
      true,
    );
    expect(sampleValue(after, 'labkeeper_database_up')).toBe(1);
    expect(after.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
  });
});

describe('/metrics turned off', () => {
  let off: TestApp;
  beforeAll(async () => {
    off = await startTestApp({ worker: false, env: { LABKEEPER_METRICS: 'off' } });
  });
  afterAll(() => off?.stop());

  it('answers a real 404', async () => {
    const response = await fetch(`${off.url}/metrics`, { headers: { accept: 'text/plain' } });
    expect(response.status).toBe(404);
    expect((await response.json()).errors[0].extensions.code).toBe('NOT_FOUND');
  });
});
