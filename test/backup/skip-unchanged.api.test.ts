import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isProvablyUnchanged } from '../../server/src/backup/skip-unchanged.js';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

describe('isProvablyUnchanged', () => {
  const since = new Date('2026-03-01T12:00:00Z');
  it('is true when the last activity is at least an hour before the previous snapshot', () => {
    expect(isProvablyUnchanged(new Date('2026-03-01T11:00:00Z'), since)).toBe(true);
  });
  it('is false within the hour GitLab may not have recorded yet', () => {
    expect(isProvablyUnchanged(new Date('2026-03-01T11:00:01Z'), since)).toBe(false);
  });
  it('is false without a last activity', () => {
    expect(isProvablyUnchanged(null, since)).toBe(false);
  });
});

/**
 * GitLab's clock is set three hours behind Labkeeper's, as if the projects were last active
 * hours before the first backup: the second pass must not touch git for them.
 */
const labkeeper = new FakeClock('2026-03-01T12:00:00Z');
const gitlab = new FakeClock('2026-03-01T09:00:00Z');
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let changingId: number;

beforeAll(async () => {
  sim = await startGitLabSimulator({ now: () => gitlab.now() });
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['quiet-1', 'quiet-2', 'changing']) {
    const p = sim.createProject({ namespaceId: group.id, path });
    if (path === 'changing') changingId = p.id;
  }
  t = await startTestApp({ gitlab: { url: sim.url }, clock: labkeeper });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    tokenExpiresAt: null,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function backup() {
  const sub = subscribe<{ backupProgress: { runId: string; isTerminal: boolean; runStatus: string } }>(
    t.ws(),
    `subscription($o: ID) { backupProgress(organizationId: $o) { runId isTerminal runStatus } }`,
    { o: orgId },
  );
  await untilListening(
    sub,
    () =>
      t.app.pubSub.publish('BACKUP_PROGRESS', {
        organizationId: orgId,
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
  const run = await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
  await sub.next((e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal);
  sub.dispose();
  const result = (
    await t.gql(
      `query($id: ID!) { backupRun(id: $id) { status items { pathWithNamespace repositoryId status snapshotId } } }`,
      { id: run.data.runNow.id },
    )
  ).data.backupRun;
  // repositories only (groups: test/backup/group-skip-unchanged.api.test.ts)
  return { ...result, items: result.items.filter((i: { repositoryId: string | null }) => i.repositoryId) };
}

const gitRequestsFor = (path: string) => sim.requests.filter((r) => r.path.startsWith(`/acme/${path}.git/`)).length;

describe('a pass after nothing changed', () => {
  it('does not touch git for repositories GitLab proves unchanged, and fetches the one that changed', async () => {
    const first = await backup();
    expect(first.status).toBe('SUCCEEDED');
    const before = {
      quiet: gitRequestsFor('quiet-1') + gitRequestsFor('quiet-2'),
      changing: gitRequestsFor('changing'),
    };

    labkeeper.advance(6 * 3600_000);
    gitlab.set('2026-03-01T14:00:00Z'); // a push two hours after the first backup
    sim.pushCommit(changingId, { files: { 'new.txt': 'new\n' } });
    const second = await backup();
    expect(second.status).toBe('SUCCEEDED');
    const byPath = Object.fromEntries(
      second.items.map((i: { pathWithNamespace: string; status: string }) => [i.pathWithNamespace, i.status]),
    );
    expect(byPath).toEqual({ 'acme/quiet-1': 'UNCHANGED', 'acme/quiet-2': 'UNCHANGED', 'acme/changing': 'SUCCEEDED' });
    expect(gitRequestsFor('quiet-1') + gitRequestsFor('quiet-2')).toBe(before.quiet);
    expect(gitRequestsFor('changing')).toBeGreaterThan(before.changing);
    // an unchanged repository still points at its latest restore point
    const quiet = second.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/quiet-1');
    const firstQuiet = first.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/quiet-1');
    expect(quiet.snapshotId).toBe(firstQuiet.snapshotId);
  });
});
