import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * A restore run (and a drill run) executed by two workers at once — its job taken over while the
 * first worker still runs it, as when the job's lock expires during a database outage longer than
 * the lock lifetime — is restored once: the second execution waits for the first and then finds
 * the run finished.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let connectionId: string;
let snapshotId: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  sim.createGroup({ path: 'restored', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'api' });
  sim.pushCommit(project.id, { files: { 'README.md': 'hello\n' } });
  sim.createIssue(project.id, { title: 'Crash on start' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId, connectionId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
    scopes: ['api', 'read_repository', 'write_repository'],
  }));
  const { runId, status } = await runBackup(t, orgId);
  expect(status).toBe('SUCCEEDED');
  snapshotId = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
    .backupRun.items[0].snapshotId;
  await t.app.jobStore.agenda.stop(); // from here on, the test plays the workers
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

describe('a run executed by two workers at once', () => {
  it('restores a snapshot to a new project once: one project, one issue, and the run SUCCEEDED', async () => {
    const run = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
      i: {
        target: 'NEW_PROJECT',
        snapshotIds: [snapshotId],
        targetConnectionId: connectionId,
        namespacePath: 'restored',
        projectPath: 'api-copy',
      },
    });
    expect(run.errors).toBeUndefined();
    const runId = run.data.restoreSnapshot.id as string;
    const before = sim.requests.length;

    await Promise.all([t.app.services.restores.execute(runId), t.app.services.restores.execute(runId)]);

    const created = sim.requests.slice(before).filter((r) => r.method === 'POST' && r.path === '/api/v4/projects');
    expect(created).toHaveLength(1);
    const issuesCreated = sim.requests
      .slice(before)
      .filter((r) => r.method === 'POST' && /^\/api\/v4\/projects\/[^/]+\/issues$/.test(r.path));
    expect(issuesCreated).toHaveLength(1);
    const done = await t.gql(`query($id: ID!) { restoreRun(id: $id) { status } }`, { id: runId });
    expect(done.data.restoreRun.status).toBe('SUCCEEDED');
  });

  it('drills once, and the drill PASSED', async () => {
    const drill = await t.gql(`mutation($o: ID!) { runDrill(organizationId: $o) { id } }`, { o: orgId });
    expect(drill.errors).toBeUndefined();
    const drillRunId = drill.data.runDrill.id as string;

    await Promise.all([t.app.services.drills.execute(drillRunId), t.app.services.drills.execute(drillRunId)]);

    // Each execution that drills logs "drill finished" (or "drill failed") once.
    const drilled = t.logLines.filter((l) => l.includes(drillRunId) && /"msg":"drill (finished|failed)"/.test(l));
    expect(drilled).toHaveLength(1);
    const done = await t.gql(`query($id: ID!) { drillRun(id: $id) { status results { status } } }`, { id: drillRunId });
    expect(done.data.drillRun.status).toBe('PASSED');
    expect(done.data.drillRun.results).toHaveLength(1);
  });
});
