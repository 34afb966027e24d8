import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';
import { customizePolicy } from '../support/backups.js';

/** GitLab misbehaving during a backup: each fault is retried and the run still completes. */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let bigId: number;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  bigId = sim.createProject({ namespaceId: group.id, path: 'big' }).id;
  sim.pushCommit(bigId, { files: { 'blob.bin': randomBytes(2 * 1024 * 1024).toString('base64') } });
  sim.createProject({ namespaceId: group.id, path: 'small' });
  t = await startTestApp({ gitlab: { url: sim.url }, env: {} });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  await customizePolicy(t, orgId, (current) => ({
    ...current,
    include: { ...current.include, metadata: ['issues', 'labels'] },
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function backup(copyType = 'FULL') {
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
  const run = await t.gql(
    `mutation($o: ID!, $c: CopyType) { runNow(input: { organizationId: $o, copyType: $c }) { id } }`,
    { o: orgId, c: copyType },
  );
  const done = await sub.next((e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal);
  sub.dispose();
  const items = (
    await t.gql(
      `query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace status attempts errorMessage snapshotId } } }`,
      { id: run.data.runNow.id },
    )
  ).data.backupRun.items;
  return { status: done.backupProgress.runStatus, items };
}

const gitRequests = () => sim.requests.filter((r) => /git-upload-pack/.test(r.path));

describe('GitLab faults during a backup', () => {
  it('retries a 502 from git over HTTP and completes', async () => {
    const before = gitRequests().length;
    sim.failNext(2, { status: 502, pathPattern: /\/git-upload-pack$/ });
    const result = await backup();
    expect(result.status).toBe('SUCCEEDED');
    expect(
      gitRequests()
        .slice(before)
        .map((r) => r.status),
    ).toEqual(expect.arrayContaining([502, 200]));
    expect(t.logLines.some((l) => l.includes('git transfer failed, retrying'))).toBe(true);
  });

  it('retries a connection reset in the middle of a clone and completes with a verified snapshot', async () => {
    // a fresh full: wipe the mirror so the big repository is cloned again
    const { rm } = await import('node:fs/promises');
    await rm(`${t.app.config.dataDir}/mirrors`, { recursive: true, force: true });
    sim.resetNext(1, { pathPattern: /\/acme\/big\.git\/git-upload-pack$/, afterBytes: 256 * 1024 });
    const retriesBefore = t.logLines.filter(
      (l) => l.includes('git transfer failed, retrying') && l.includes('acme/big'),
    ).length;
    const result = await backup();
    expect(t.logLines.filter((l) => l.includes('git transfer failed, retrying') && l.includes('acme/big')).length).toBe(
      retriesBefore + 1,
    );
    expect(result.status).toBe('SUCCEEDED');
    const big = result.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/big');
    const snapshot = (
      await t.gql(`query($id: ID!) { snapshot(id: $id) { verificationStatus refCount } }`, { id: big.snapshotId })
    ).data.snapshot;
    expect(snapshot).toMatchObject({ verificationStatus: 'VERIFIED', refCount: 1 });
  });

  it('honours 429 with Retry-After on the API (metadata) and completes', async () => {
    sim.rateLimitNext(1, { retryAfterSeconds: 1, pathPattern: /\/issues/ });
    const started = Date.now();
    const result = await backup('INCREMENTAL');
    expect(result.status).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(sim.requests.some((r) => r.status === 429 && /\/issues/.test(r.path))).toBe(true);
  });

  it('marks a repository FAILED with the reason when GitLab keeps failing, and the run PARTIAL', async () => {
    sim.failNext(20, { status: 503, pathPattern: /\/acme\/small\.git\/git-upload-pack$/ });
    const { rm } = await import('node:fs/promises');
    await rm(`${t.app.config.dataDir}/mirrors`, { recursive: true, force: true });
    const result = await backup();
    sim.failNext(0, { status: 503, pathPattern: /\/acme\/small\.git\/git-upload-pack$/ });
    expect(result.status).toBe('PARTIAL');
    const small = result.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/small');
    expect(small).toMatchObject({ status: 'FAILED', errorMessage: expect.stringMatching(/503/) });
  });

  describe('a pack damaged in transit (one byte flipped, the response otherwise whole)', () => {
    const bigUploadPack = /\/acme\/big\.git\/git-upload-pack$/;
    const retriesOfBig = () =>
      t.logLines.filter((l) => l.includes('git transfer failed, retrying') && l.includes('acme/big')).length;
    const verify = async (id: string) =>
      (await t.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems } }`, { id })).data.verifySnapshot;

    it("is refused by git's check in the stream and fetched again for a FULL verified after backup", async () => {
      const retries = retriesOfBig();
      sim.corruptNext(1, { pathPattern: bigUploadPack, packOffset: 1024 * 1024 });
      const result = await backup('FULL');
      expect(result.status).toBe('SUCCEEDED');
      expect(retriesOfBig()).toBe(retries + 1);
      expect(t.logLines.some((l) => l.includes('acme/big') && l.includes("failed git's check"))).toBe(true);
      const big = result.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/big');
      expect(await verify(big.snapshotId)).toEqual({ ok: true, problems: [] });
    });

    describe('when the policy does not verify after backup', () => {
      beforeAll(() => setVerifyAfterBackup(false));
      afterAll(() => setVerifyAfterBackup(true));

      it('is refused (its SHA-1 trailer) and fetched again for a FULL: what is stored is sound', async () => {
        const retries = retriesOfBig();
        sim.corruptNext(1, { pathPattern: bigUploadPack, packOffset: 1024 * 1024 });
        const result = await backup('FULL');
        expect(result.status).toBe('SUCCEEDED');
        expect(retriesOfBig()).toBe(retries + 1);
        const big = result.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/big');
        expect(await verify(big.snapshotId)).toEqual({ ok: true, problems: [] });
      });

      it('is refused and fetched again for an INCREMENTAL (a thin pack, which git cannot check alone)', async () => {
        sim.pushCommit(bigId, { files: { 'more.bin': randomBytes(512 * 1024).toString('base64') } });
        const retries = retriesOfBig();
        sim.corruptNext(1, { pathPattern: bigUploadPack, packOffset: 64 * 1024 });
        const result = await backup('INCREMENTAL');
        expect(result.status).toBe('SUCCEEDED');
        expect(retriesOfBig()).toBe(retries + 1);
        const big = result.items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/big');
        expect(await verify(big.snapshotId)).toEqual({ ok: true, problems: [] });
      });
    });
  });
});

function setVerifyAfterBackup(verifyAfterBackup: boolean) {
  return customizePolicy(t, orgId, (current) => ({ ...current, verifyAfterBackup }));
}
