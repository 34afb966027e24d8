import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * A restore to NEW_PROJECT run by a separate worker process that is SIGKILLed in the middle of
 * the metadata restore — at the worst moment: GitLab has created an issue (or a note) but the
 * worker has not heard back, so no restore_mapping names it. The simulator holds that response
 * (holdNext), which makes the kill point deterministic. Another worker takes the job over once
 * the lock expires and completes the restore; the target has exactly one of each issue, label,
 * milestone and note, found again by mapping or, for the unmapped one, by its origin marker.
 */
let sim: GitLabSimulator;
let api: TestApp;
let orgId: string;
let connectionId: string;
let token: string;
const workers: WorkerProcess[] = [];
const ISSUES = ['Crash on start', 'Slow login', 'Typo in README', 'Dark mode'];
const LABELS = ['bug', 'feature', 'docs'];
const MILESTONES = ['v1', 'v2'];

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  sim.createGroup({ path: 'restored', ownerId: alice.id });
  const projectId = sim.createProject({ namespaceId: group.id, path: 'api' }).id;
  for (const name of LABELS) sim.createLabel(projectId, { name });
  for (const title of MILESTONES) sim.createMilestone(projectId, { title });
  for (const [i, title] of ISSUES.entries()) {
    const issue = sim.createIssue(projectId, {
      title,
      labels: [LABELS[i % LABELS.length]],
      description: i > 0 ? `After #${i}` : 'First',
    });
    sim.createNote(projectId, { noteableType: 'Issue', noteableIid: issue.iid, body: `Note on ${title}` });
  }
  token = aToken(sim, alice.id, ['api', 'read_repository', 'write_repository']).token;

  api = await startTestApp({ gitlab: { url: sim.url }, worker: false });
  const first = startWorkerProcess(api, {
    LABKEEPER_WORKER_NAME: 'doomed',
    LABKEEPER_JOB_LOCK_LIFETIME_MS: '3000',
    GITLAB_URL: sim.url,
  });
  workers.push(first);
  await first.started;
  const synced = first.logged((l) => l.msg === 'repository sync finished');
  const r = await api.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: token,
      namespacePath: 'acme',
      includeGroups: false,
    },
  });
  expect(r.errors).toBeUndefined();
  connectionId = r.data.connectGitLab.connection.id;
  await synced;
  orgId = (await api.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: connectionId })).data
    .organizations[0].id;
  const backedUp = first.logged((l) => l.msg === 'backup run finished');
  await api.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
  await backedUp;
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  await api?.stop();
  await sim?.close();
});

const gitlab = async (path: string) =>
  (await fetch(`${sim.url}/api/v4${path}`, { headers: { 'private-token': token } })).json();

/** The only live worker process (killed in each case, replaced by a rescuer). */
const liveWorker = () => workers.find((w) => w.child.exitCode === null && w.child.signalCode === null)!;
const mappings = async (projectId: number, kind: string) =>
  (
    await api.app.dataSource.query(
      `SELECT count(*)::int AS n FROM restore_mappings WHERE kind = $1 AND scope LIKE $2`,
      [kind, `%:${projectId}`],
    )
  )[0].n as number;

describe('a restore killed mid-way and run again', () => {
  it.each([
    // GitLab has created the second issue, the worker never heard back: no mapping names it
    [
      'after GitLab created an issue the worker never heard of',
      'api-issue',
      /^\/api\/v4\/projects\/\d+\/issues$/,
      'issue',
      { issues: 2, issueMappings: 1 },
    ],
    // every issue exists; the second note was created, its mapping never written
    [
      'after GitLab created a note the worker never heard of',
      'api-note',
      /^\/api\/v4\/projects\/\d+\/issues\/\d+\/notes$/,
      'note',
      { issues: ISSUES.length, issueMappings: ISSUES.length },
    ],
  ] as const)(
    '%s: creates no duplicate issue, label, milestone or note',
    async (_what, projectPath, pathPattern, kind, crashed) => {
      const snapshots = (
        await api.gql(`query($o: ID!) { snapshots(organizationId: $o) { nodes { id } } }`, { o: orgId })
      ).data.snapshots.nodes;
      expect(snapshots).toHaveLength(1);
      const held = sim.holdNext({ method: 'POST', pathPattern, skip: 1 });
      const run = await api.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
        i: {
          target: 'NEW_PROJECT',
          snapshotIds: [snapshots[0].id],
          targetConnectionId: connectionId,
          namespacePath: 'restored',
          projectPath,
        },
      });
      expect(run.errors).toBeUndefined();
      const runId = run.data.restoreSnapshot.id;
      await held.reached;
      const doomed = liveWorker();
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      held.release(); // to a client that is gone

      // the state the crash left: one more created than mapped
      const project = await gitlab(`/projects/${encodeURIComponent(`restored/${projectPath}`)}`);
      expect(await gitlab(`/projects/${project.id}/issues?per_page=100`)).toHaveLength(crashed.issues);
      expect(await mappings(project.id, 'issue')).toBe(crashed.issueMappings);
      if (kind === 'note') expect(await mappings(project.id, 'note')).toBe(1);
      expect(
        (await api.gql(`query($id: ID!) { restoreRun(id: $id) { status } }`, { id: runId })).data.restoreRun.status,
      ).toBe('RUNNING');

      // another worker takes the job over once the dead one's lock expires
      const sub = subscribe<{ restoreProgress: { runId: string; status: string; isTerminal: boolean; done: number } }>(
        api.ws(),
        `subscription($r: ID!) { restoreProgress(runId: $r) { runId status isTerminal done } }`,
        { r: runId },
      );
      await untilListening(
        sub,
        () =>
          api.app.pubSub.publish('RESTORE_PROGRESS', {
            runId,
            organizationId: orgId,
            status: 'RUNNING',
            phase: 'RESTORING',
            done: -1,
            total: 0,
            message: null,
            isTerminal: false,
            at: '',
          }),
        (e) => e.restoreProgress.done === -1,
      );
      workers.push(
        startWorkerProcess(api, {
          LABKEEPER_WORKER_NAME: `rescuer-${workers.length}`,
          LABKEEPER_JOB_LOCK_LIFETIME_MS: '3000',
          GITLAB_URL: sim.url,
        }),
      );
      const last = await sub.next((e) => e.restoreProgress.isTerminal);
      sub.dispose();
      const finished = (await api.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, { id: runId }))
        .data.restoreRun;
      expect(finished).toEqual({ status: 'SUCCEEDED', errorMessage: null });
      expect(last.restoreProgress.status).toBe('SUCCEEDED');

      // exactly one of each
      const titles = (list: { title?: string; name?: string }[]) => list.map((x) => x.title ?? x.name).sort();
      const issues = await gitlab(`/projects/${project.id}/issues?per_page=100&state=all`);
      expect(titles(issues)).toEqual([...ISSUES].sort());
      expect(titles(await gitlab(`/projects/${project.id}/labels?per_page=100`))).toEqual([...LABELS].sort());
      expect(titles(await gitlab(`/projects/${project.id}/milestones?per_page=100`))).toEqual([...MILESTONES].sort());
      for (const issue of issues) {
        const notes = (await gitlab(`/projects/${project.id}/issues/${issue.iid}/notes?per_page=100`)).filter(
          (n: { system: boolean }) => !n.system,
        );
        expect(notes.map((n: { body: string }) => n.body.split('\n').at(-1))).toEqual([`Note on ${issue.title}`]);
      }
      // cross-references point to the right issues despite the crash
      const byTitle = new Map(issues.map((i: { title: string; iid: number }) => [i.title, i]));
      const slow = byTitle.get('Slow login') as { description: string };
      expect(slow.description).toContain(`After #${(byTitle.get('Crash on start') as { iid: number }).iid}`);
      expect(await mappings(project.id, 'issue')).toBe(ISSUES.length);
      expect(await mappings(project.id, 'note')).toBe(ISSUES.length);
      expect(await mappings(project.id, 'label')).toBe(LABELS.length);
      expect(await mappings(project.id, 'milestone')).toBe(MILESTONES.length);
    },
  );
});
