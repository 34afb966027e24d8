/**
 * Event-driven backups end to end: the organization option registers a group webhook in the
 * simulator, the simulator delivers GitLab-shaped hook payloads to it on pushes and project
 * events, and due repositories become EVENT runs. Time is a FakeClock: the test moves it across
 * the quiet period and runs the scheduler as the `events.backup` job scheduled for the due time
 * would (that job is scheduled on the real clock, the fake clock's distance ahead, so within this
 * file only a due-now one fires by itself; event-deadline.api.test.ts runs them on the real clock).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BackupProgressed } from '../../server/src/backup/backup.events.js';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

const QUIET_MS = 120_000; // the default quiet period
const clock = new FakeClock('2026-03-10T09:00:00Z');
let sim: GitLabSimulator;
let t: TestApp;
let second: TestApp | null = null;
let orgId: string;
let groupId: number;
let projectId: number;
let repositoryId: string;

const STATE = `query($o: ID!) { eventDrivenBackups(organizationId: $o) {
  isEnabled state problem gitlabHookId receiverUrl pendingRepositories registeredAt } }`;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  sim.setTier('premium'); // group webhooks are a Premium feature
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  groupId = group.id;
  projectId = sim.createProject({ namespaceId: group.id, path: 'app' }).id;
  sim.createProject({ namespaceId: group.id, path: 'quiet' });
  t = await startTestApp({ gitlab: { url: sim.url }, clock });
  const connected = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    scopes: ['api', 'read_repository'],
  });
  orgId = connected.organizationId;
  const repos = await t.gql(
    `query($o: ID!) { organization(id: $o) { repositories(first: 10) { nodes { id name } } } }`,
    {
      o: orgId,
    },
  );
  repositoryId = repos.data.organization.repositories.nodes.find((r: { name: string }) => r.name === 'app').id;
  expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED'); // the FULL the event runs build on
});

afterAll(async () => {
  await second?.stop();
  await t?.stop();
  await sim?.close();
});

const state = async () => (await t.gql(STATE, { o: orgId })).data.eventDrivenBackups;

async function eventRuns(): Promise<{ id: string; status: string; trigger: string; createdAt: string }[]> {
  const r = await t.gql(
    `query($o: ID) { backupRuns(organizationId: $o, first: 100) { nodes { id status trigger createdAt } } }`,
    { o: orgId },
  );
  return r.data.backupRuns.nodes.filter((n: { trigger: string }) => n.trigger === 'EVENT');
}

/** Resolves with the next terminal BackupProgressed of the organization (subscribe before acting). */
function nextFinishedRun(): Promise<BackupProgressed> {
  const iterator = t.app.pubSub.subscribe('BACKUP_PROGRESS')[Symbol.asyncIterator]();
  return (async () => {
    for (;;) {
      const event = (await iterator.next()).value as BackupProgressed;
      if (event.organizationId === orgId && event.isTerminal) {
        await iterator.return?.();
        return event;
      }
    }
  })();
}

/** Moves the clock to `at` and runs the scheduler; resolves with the runs that finished. */
async function passQuietPeriod(at: Date): Promise<BackupProgressed> {
  clock.set(at);
  const finished = nextFinishedRun();
  const started = await t.app.services.eventBackups.startDue();
  expect(started.length).toBeLessThanOrEqual(1);
  return finished;
}

/** The group hook Labkeeper registered, as the simulator stores it (its token included). */
const registeredHook = () => sim.hooks.hooksOfGroup(groupId);

async function post(url: string, headers: Record<string, string>, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { message: string } };
}

describe('event-driven backups', () => {
  it('turning the option on registers the group hook with the events and a secret', async () => {
    const r = await t.gql(
      `mutation($i: SetEventDrivenBackupsInput!) { setEventDrivenBackups(input: $i) { isEnabled state gitlabHookId receiverUrl } }`,
      { i: { organizationId: orgId, isEnabled: true } },
    );
    expect(r.errors).toBeUndefined();
    const hooks = registeredHook();
    expect(hooks).toHaveLength(1);
    const [hook] = hooks;
    expect(r.data.setEventDrivenBackups).toEqual({
      isEnabled: true,
      state: 'ACTIVE',
      gitlabHookId: hook.id,
      receiverUrl: `${t.url}/hooks/gitlab/${orgId}`,
    });
    expect(hook.url).toBe(`${t.url}/hooks/gitlab/${orgId}`);
    expect(hook.token?.length).toBeGreaterThanOrEqual(32);
    expect(hook.events).toMatchObject({
      push_events: true,
      tag_push_events: true,
      merge_requests_events: true,
      issues_events: true,
      confidential_issues_events: true,
      note_events: true,
      confidential_note_events: true,
      wiki_page_events: true,
      releases_events: true,
    });
    // The secret never leaves through the API, the log, or a plain column.
    expect(JSON.stringify(await state())).not.toContain(hook.token);
    expect(t.logLines.join('\n')).not.toContain(hook.token);
    const columns = await t.app.dataSource.query(`SELECT to_jsonb(h) AS row FROM event_hooks h`);
    expect(JSON.stringify(columns)).not.toContain(hook.token);
  });

  it('three pushes within the quiet period → one EVENT run after it, an incremental snapshot with the new commits', async () => {
    const before = (await eventRuns()).length;
    const start = new Date('2026-03-10T09:10:00Z');
    const shas: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.set(new Date(start.getTime() + i * 30_000));
      shas.push(sim.pushCommit(projectId, { files: { [`file-${i}.txt`]: `change ${i}\n` }, message: `change ${i}` }));
    }
    const deliveries = await sim.hooks.settled();
    const pushes = deliveries.filter((d) => d.headers['x-gitlab-event'] === 'Push Hook');
    expect(pushes.map((d) => d.status)).toEqual([200, 200, 200]);
    expect(JSON.parse(pushes[0].body)).toMatchObject({ object_kind: 'push', project_id: projectId, after: shas[0] });
    expect(await state()).toMatchObject({ pendingRepositories: 1 });

    // One second before the quiet period after the last push ends: nothing starts.
    const lastPush = start.getTime() + 60_000;
    clock.set(new Date(lastPush + QUIET_MS - 1000));
    expect(await t.app.services.eventBackups.startDue()).toEqual([]);
    expect(await eventRuns()).toHaveLength(before);

    const finished = await passQuietPeriod(new Date(lastPush + QUIET_MS));
    expect(finished.runStatus).toBe('SUCCEEDED');
    const runs = await eventRuns();
    expect(runs).toHaveLength(before + 1);
    const run = runs.find((r) => r.id === finished.runId)!;
    expect(new Date(run.createdAt).getTime()).toBeGreaterThanOrEqual(lastPush + QUIET_MS);
    const items = await t.app.services.backupRuns.itemsOf(run.id);
    expect(items.map((i) => i.repositoryId)).toEqual([repositoryId]); // only the touched repository
    const snapshot = await t.app.services.snapshots.get(items[0].snapshotId!);
    expect(snapshot.copyType).toBe('INCREMENTAL');
    const manifest = await t.app.services.snapshots.reader.manifest(snapshot);
    expect(manifest.git?.refs['refs/heads/main']).toBe(shas[2]);
    expect(manifest.git?.prerequisites.length).toBeGreaterThan(0); // the bundle holds only what is new
    expect(manifest.git?.bundle).not.toBeNull();
    expect(await state()).toMatchObject({ pendingRepositories: 0 });
  });

  it('a bad token → 401 and nothing queued; an event it does not take → 400', async () => {
    const url = `${t.url}/hooks/gitlab/${orgId}`;
    const push = { object_kind: 'push', project_id: projectId, ref: 'refs/heads/main', before: '0', after: '1' };
    const rows = async () =>
      Number((await t.app.dataSource.query(`SELECT count(*) AS n FROM webhook_deliveries`))[0].n);
    const stored = await rows();
    const bad = await post(url, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'not-the-secret' }, push);
    expect(bad.status).toBe(401);
    const missing = await post(url, { 'x-gitlab-event': 'Push Hook' }, push);
    expect(missing.status).toBe(401);
    const [hook] = registeredHook();
    const pipeline = await post(
      url,
      { 'x-gitlab-event': 'Pipeline Hook', 'x-gitlab-token': hook.token! },
      {
        object_kind: 'pipeline',
        project: { id: projectId },
      },
    );
    expect(pipeline.status).toBe(400);
    expect(await rows()).toBe(stored);
    expect(await state()).toMatchObject({ pendingRepositories: 0 });
  });

  it('the same delivery reaching two API processes (GitLab retrying) → one run', async () => {
    second = await startTestApp({
      databaseUrl: t.databaseUrl,
      masterKey: t.masterKey,
      worker: false,
      clock,
      gitlab: { url: sim.url },
      env: { LABKEEPER_ADMIN_TOKEN: t.adminToken }, // one installation: the same admin token
    });
    const before = (await eventRuns()).length;
    const delivered = sim.hooks.deliveries.length;
    clock.set('2026-03-10T09:30:00Z');
    sim.pushCommit(projectId, { files: { 'retry.txt': 'once\n' } });
    await sim.hooks.settled();
    const [delivery] = sim.hooks.deliveries.slice(delivered);
    expect(delivery.status).toBe(200);
    const finished = await passQuietPeriod(new Date(clock.now().getTime() + QUIET_MS));
    expect(finished.runStatus).toBe('SUCCEEDED');

    // GitLab did not get the answer in time and retries: the retry lands on the other API process.
    sim.hooks.redeliver(delivery, `${second.url}/hooks/gitlab/${orgId}`);
    await sim.hooks.settled();
    const retry = sim.hooks.deliveries.at(-1)!;
    expect(retry.url.startsWith(second.url)).toBe(true);
    expect(retry.status).toBe(200);
    clock.set(new Date(clock.now().getTime() + 2 * QUIET_MS));
    expect(await t.app.services.eventBackups.startDue()).toEqual([]);
    expect(await eventRuns()).toHaveLength(before + 1);
    expect(await state()).toMatchObject({ pendingRepositories: 0 });
  });

  it('a project destroy (system hook) → an immediate snapshot attempt; the repository keeps its last snapshot', async () => {
    // A self-managed administrator points a system hook at the same receiver, with the same secret.
    const [hook] = registeredHook();
    sim.hooks.addSystemHook({ url: hook.url, token: hook.token });
    const snapshotsOf = async () =>
      (
        await t.gql(`query($r: ID) { snapshots(repositoryId: $r, first: 100) { nodes { id } } }`, { r: repositoryId })
      ).data.snapshots.nodes.map((n: { id: string }) => n.id);
    const kept = await snapshotsOf();
    expect(kept.length).toBeGreaterThan(0);
    const before = (await eventRuns()).length;
    clock.set('2026-03-10T10:00:00Z');
    const finished = nextFinishedRun();
    sim.deleteProject(projectId);
    await sim.hooks.settled();
    const destroy = sim.hooks.deliveries.at(-1)!;
    expect(destroy.headers['x-gitlab-event']).toBe('System Hook');
    expect(JSON.parse(destroy.body)).toMatchObject({ event_name: 'project_destroy', project_id: projectId });
    expect(destroy.status).toBe(200);
    // No quiet period: the `events.backup` job scheduled for now starts the run, with the clock not moved.
    await finished;
    const runs = await eventRuns();
    expect(runs).toHaveLength(before + 1);
    const items = await t.app.services.backupRuns.itemsOf((await finished).runId);
    expect(items.map((i) => i.repositoryId)).toEqual([repositoryId]); // the attempt was made
    // GitLab has already deleted it: nothing more was readable, and what we had is still there.
    await t.app.services.retention.prune(orgId);
    expect(await snapshotsOf()).toEqual(expect.arrayContaining(kept));
    // After the attempt the repository is marked deleted upstream and reported; its last snapshot
    // is pinned. (The rules run when the run finishes; evaluating again records nothing twice.)
    await t.app.services.anomalies.evaluateRun((await finished).runId);
    const [repository] = await t.app.dataSource.query(`SELECT deleted_upstream_at FROM repositories WHERE id = $1`, [
      repositoryId,
    ]);
    expect(repository.deleted_upstream_at).not.toBeNull();
    const anomalies = (
      await t.gql(`query($o: ID!) { snapshotAnomalies(organizationId: $o) { kind repositoryId snapshotId message } }`, {
        o: orgId,
      })
    ).data.snapshotAnomalies;
    const [{ id: last }] = await t.app.dataSource.query(
      `SELECT id FROM snapshots WHERE repository_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [repositoryId],
    );
    expect(anomalies).toEqual([
      {
        kind: 'REPOSITORY_DELETED_UPSTREAM',
        repositoryId,
        snapshotId: last,
        message: expect.stringContaining('was deleted in GitLab (project_destroy)'),
      },
    ]);
    const pin = await t.gql(`query($s: ID!) { snapshotPin(snapshotId: $s) { isPinned } }`, { s: last });
    expect(pin.data.snapshotPin.isPinned).toBe(true);
  });

  it('a hook deleted upstream is re-created on the next check; turning the option off removes it', async () => {
    const [old] = registeredHook();
    sim.hooks.groupHooks.delete(old.id); // someone deleted it in GitLab
    expect(await t.app.services.eventHooks.checkAll()).toEqual({ checked: 1, recreated: 1, failing: 0 });
    const [recreated] = registeredHook();
    expect(recreated.id).not.toBe(old.id);
    expect(recreated.token).toBe(old.token);
    expect(await state()).toMatchObject({ state: 'ACTIVE', gitlabHookId: recreated.id });
    expect(await t.app.services.eventHooks.checkAll()).toEqual({ checked: 1, recreated: 0, failing: 0 });

    const off = await t.gql(
      `mutation($i: SetEventDrivenBackupsInput!) { setEventDrivenBackups(input: $i) { isEnabled state gitlabHookId } }`,
      { i: { organizationId: orgId, isEnabled: false } },
    );
    expect(off.data.setEventDrivenBackups).toEqual({ isEnabled: false, state: 'DISABLED', gitlabHookId: null });
    expect(registeredHook()).toEqual([]);
    // The old secret no longer opens the receiver.
    const refused = await post(
      `${t.url}/hooks/gitlab/${orgId}`,
      { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': old.token! },
      { object_kind: 'push', project_id: projectId },
    );
    expect(refused.status).toBe(401);
  });

  it('a token without the right to manage hooks is reported, not hidden', async () => {
    const bob = aUser(sim, 'bob');
    sim.createProject({ namespaceId: sim.createGroup({ path: 'bobs', ownerId: bob.id }).id, path: 'tool' });
    const readOnly = await connectOrganization(t, sim, {
      userId: bob.id,
      login: 'bob',
      namespacePath: 'bobs',
      scopes: ['read_api', 'read_repository'],
    });
    const r = await t.gql(
      `mutation($i: SetEventDrivenBackupsInput!) { setEventDrivenBackups(input: $i) { isEnabled state problem } }`,
      { i: { organizationId: readOnly.organizationId, isEnabled: true } },
    );
    expect(r.data.setEventDrivenBackups).toMatchObject({ isEnabled: true, state: 'FORBIDDEN' });
    expect(r.data.setEventDrivenBackups.problem).toMatch(/Owner role and the api scope/);
  });

  it('an unknown organization → NOT_FOUND naming nothing internal', async () => {
    const r = await t.gql(STATE, { o: '00000000-0000-4000-8000-000000000000' });
    expect(r.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});
