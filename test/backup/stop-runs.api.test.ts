import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/** Runs that stop before the end: canceled by a user, or cut by the backup window. */
const clock = new FakeClock('2026-05-04T00:50:00Z');
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const big = sim.createProject({ namespaceId: group.id, path: 'big' });
  for (let i = 0; i < 3; i++)
    sim.pushCommit(big.id, { files: { [`blob-${i}.bin`]: randomBytes(6 * 1024 * 1024).toString('base64') } });
  for (const path of ['small-1', 'small-2']) sim.createProject({ namespaceId: group.id, path });
  t = await startTestApp({ gitlab: { url: sim.url }, clock, env: { LABKEEPER_WORKER_CONCURRENCY: '1' } });
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

type Progress = {
  backupProgress: {
    runId: string;
    runStatus: string;
    isTerminal: boolean;
    item: { pathWithNamespace: string; phase: string } | null;
  };
};

async function watch() {
  const sub = subscribe<Progress>(
    t.ws(),
    `subscription($o: ID) { backupProgress(organizationId: $o) { runId runStatus isTerminal item { pathWithNamespace phase } } }`,
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
  return sub;
}

/** Holds GitLab's answer to the big repository's pack request (its second git-upload-pack POST, after ls-refs): it is being fetched until released. */
const holdBigPack = () => sim.holdNext({ pathPattern: /\/acme\/big\.git\/git-upload-pack$/, method: 'POST', skip: 1 });

const itemsOf = async (runId: string) =>
  (
    await t.gql(
      `query($id: ID!) { backupRun(id: $id) { status items { pathWithNamespace status errorCode snapshotId } } }`,
      { id: runId },
    )
  ).data.backupRun;

describe('stopping runs', () => {
  it('cancelBackupRun stops the repository being fetched and the queued ones; the run ends CANCELED', async () => {
    const sub = await watch();
    const fetching = holdBigPack();
    const run = await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o }) { id } }`, { o: orgId });
    const runId = run.data.runNow.id;
    await sub.next(
      (e) =>
        e.backupProgress.runId === runId &&
        e.backupProgress.item?.pathWithNamespace === 'acme/big' &&
        e.backupProgress.item.phase === 'FETCHING',
    );
    await fetching.reached;
    // Biggest first is an ordering preference, not a promise: a small repository may have finished before the big one started.
    const before = (await itemsOf(runId)).items as { pathWithNamespace: string; status: string }[];
    const queuedAtCancel = before.filter((i) => i.status === 'QUEUED').map((i) => i.pathWithNamespace);
    const doneAtCancel = before.filter((i) => i.status === 'SUCCEEDED').length;
    const canceled = await t.gql(`mutation($id: ID!) { cancelBackupRun(id: $id) { id cancelRequestedAt } }`, {
      id: runId,
    });
    expect(canceled.data.cancelBackupRun.cancelRequestedAt).toEqual(expect.any(String));
    const last = await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal);
    expect(last.backupProgress.runStatus).toBe('CANCELED');
    const { items } = await itemsOf(runId);
    expect(items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/big')).toMatchObject({
      status: 'CANCELED',
      errorCode: 'CANCELED',
      snapshotId: null,
    }); // its snapshot was never committed
    for (const path of queuedAtCancel)
      expect(items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === path)).toMatchObject({
        status: 'CANCELED',
        snapshotId: null,
      });
    const snapshots = (await t.gql(`query($o: ID!) { snapshots(organizationId: $o) { totalCount } }`, { o: orgId }))
      .data.snapshots.totalCount;
    expect(snapshots).toBe(doneAtCancel);
    fetching.release();
    sub.dispose();
  });

  it('a scheduled run still going when its backup window closes stops cleanly and ends TIMED_OUT', async () => {
    const current = (
      await t.gql(
        `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup } } }`,
        { o: orgId },
      )
    ).data.policy.settings;
    const policy = await t.gql(
      `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { nextBackupAt } }`,
      {
        o: orgId,
        i: {
          ...current,
          schedule: { type: 'BASIC', time: { hour: 1, minute: 0 }, fullDayOfMonth: 1 },
          timeZone: 'UTC',
          window: { start: { hour: 1, minute: 0 }, end: { hour: 2, minute: 0 } },
        },
      },
    );
    expect(policy.data.customizePolicy.nextBackupAt).toBe('2026-05-04T01:00:00.000Z');
    const sub = await watch();
    const fetching = holdBigPack();
    clock.set('2026-05-04T01:00:00Z');
    const [runId] = await t.app.services.backupScheduler.startDueBackups();
    await sub.next(
      (e) =>
        e.backupProgress.runId === runId &&
        e.backupProgress.item?.pathWithNamespace === 'acme/big' &&
        e.backupProgress.item.phase === 'FETCHING',
    );
    await fetching.reached;
    const stillQueued = ((await itemsOf(runId)).items as { pathWithNamespace: string; status: string }[])
      .filter((i) => i.status === 'QUEUED')
      .map((i) => i.pathWithNamespace);
    clock.set('2026-05-04T02:00:00Z'); // the window closes while the big repository is fetched
    const last = await sub.next((e) => e.backupProgress.runId === runId && e.backupProgress.isTerminal);
    expect(last.backupProgress.runStatus).toBe('TIMED_OUT');
    const { items } = await itemsOf(runId);
    for (const path of ['acme/big', ...stillQueued])
      expect(items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === path)).toMatchObject({
        errorCode: 'TIMED_OUT',
      });
    fetching.release();
    sub.dispose();
  });
});
