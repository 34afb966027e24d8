/**
 * Event-driven backups start at their deadline. With the real clock and the real Agenda worker,
 * a burst of pushes starts its EVENT run when the quiet period after the last push ends, and a
 * project destroy starts one at once — not at the next tick of a poll (it used to be a 30-s one;
 * only a 5-minute safety net polls now). The test awaits the run's terminal event; the bounds it
 * asserts are on timestamps the server recorded, never on how long the test waited.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BackupProgressed } from '../../server/src/backup/backup.events.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

const QUIET_MS = 1500;
/** How late a run may start after its deadline: the job fires on time; this is a busy machine's slack. */
const SLACK_MS = 2500;

let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;
let groupId: number;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  sim.setTier('premium'); // group webhooks are a Premium feature
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  groupId = group.id;
  projectId = sim.createProject({ namespaceId: group.id, path: 'app' }).id;
  t = await startTestApp({
    gitlab: { url: sim.url },
    env: { LABKEEPER_EVENT_QUIET_PERIOD_MS: String(QUIET_MS), LABKEEPER_EVENT_MAX_DELAY_MS: '600000' },
  });
  orgId = (
    await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme', scopes: ['api', 'read_repository'] })
  ).organizationId;
  expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
  const on = await t.gql(`mutation($i: SetEventDrivenBackupsInput!) { setEventDrivenBackups(input: $i) { state } }`, {
    i: { organizationId: orgId, isEnabled: true },
  });
  expect(on.data.setEventDrivenBackups.state).toBe('ACTIVE');
});

afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

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

const runOf = async (runId: string) => {
  const [row] = await t.app.dataSource.query(`SELECT trigger, created_at FROM backup_runs WHERE id = $1`, [runId]);
  return { trigger: row.trigger as string, createdAt: new Date(row.created_at).getTime() };
};
const lastReceived = async (kind: string) => {
  const [row] = await t.app.dataSource.query(
    `SELECT max(received_at) AS at FROM webhook_deliveries WHERE organization_id = $1 AND kind = $2`,
    [orgId, kind],
  );
  return new Date(row.at).getTime();
};

describe('event-driven backups on the real clock', () => {
  it('a burst of pushes → its EVENT run starts when the quiet period after the last push ends', async () => {
    const finished = nextFinishedRun();
    for (let i = 0; i < 3; i++) sim.pushCommit(projectId, { files: { [`f${i}.txt`]: `${i}\n` } });
    const deliveries = await sim.hooks.settled();
    expect(deliveries.filter((d) => d.headers['x-gitlab-event'] === 'Push Hook').map((d) => d.status)).toEqual([
      200, 200, 200,
    ]);
    const run = await runOf((await finished).runId);
    expect(run.trigger).toBe('EVENT');
    const deadline = (await lastReceived('push')) + QUIET_MS;
    expect(run.createdAt).toBeGreaterThanOrEqual(deadline);
    expect(run.createdAt - deadline).toBeLessThan(SLACK_MS);
  });

  it('a project destroy → its EVENT run starts at once', async () => {
    const [hook] = sim.hooks.hooksOfGroup(groupId);
    sim.hooks.addSystemHook({ url: hook.url, token: hook.token });
    const finished = nextFinishedRun();
    sim.deleteProject(projectId);
    const destroy = (await sim.hooks.settled()).at(-1)!;
    expect(JSON.parse(destroy.body)).toMatchObject({ event_name: 'project_destroy' });
    const run = await runOf((await finished).runId);
    expect(run.trigger).toBe('EVENT');
    const received = await lastReceived('project_destroy');
    expect(run.createdAt).toBeGreaterThanOrEqual(received);
    expect(run.createdAt - received).toBeLessThan(SLACK_MS);
  });
});
