import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, PASSWORD } from '../support/gitlab-seed.js';
import { authorizeAsUser } from '../support/oauth-browser.js';
import { freePort } from '../support/ports.js';

/**
 * GitLab's real failures during a run, over an OAuth connection: a token rejected before its
 * expiry, git 500s, a connection cut mid-pack, git throttled with Retry-After. Every transport
 * renews the token once and retries under one policy, and the run ends SUCCEEDED.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let aliceId: number;
const PROJECTS = ['big', 'p1', 'p2', 'p3', 'p4'];
const projectIds = new Map<string, number>();

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  aliceId = alice.id;
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of PROJECTS) {
    const id = sim.createProject({ namespaceId: group.id, path }).id;
    projectIds.set(path, id);
    const size = path === 'big' ? 2 * 1024 * 1024 : 1024;
    sim.pushCommit(id, { files: { 'blob.bin': randomBytes(size).toString('base64') } });
  }
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/oauth/gitlab/callback`;
  const app = sim.createOAuthApplication({
    name: 'Labkeeper',
    redirectUri,
    scopes: ['api', 'read_api', 'read_repository', 'read_user', 'write_repository'],
  });
  t = await startTestApp({ gitlab: { url: sim.url, oauthApp: app }, port });

  const connected = await t.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { authorizationUrl connection { id } } }`,
    {
      i: { method: 'OAUTH', namespacePath: 'acme' },
    },
  );
  expect(connected.errors).toBeUndefined();
  const redirect = await authorizeAsUser(connected.data.connectGitLab.authorizationUrl, {
    login: 'alice',
    password: PASSWORD,
  });
  const synced = nextJob(t, 'repositories.sync');
  expect((await fetch(redirect, { redirect: 'manual' })).status).toBe(200);
  await synced;
  const orgs = await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, {
    c: connected.data.connectGitLab.connection.id,
  });
  orgId = orgs.data.organizations[0].id;
});

afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

afterEach(() => {
  sim.failEvery(0, { status: 500, pathPattern: /\/git-upload-pack$/ });
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
  const run = await t.gql(`mutation($o: ID!) { runNow(input: { organizationId: $o, copyType: FULL }) { id } }`, {
    o: orgId,
  });
  expect(run.errors).toBeUndefined();
  const done = await sub.next((e) => e.backupProgress.runId === run.data.runNow.id && e.backupProgress.isTerminal);
  sub.dispose();
  const items = (
    await t.gql(`query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace status attempts errorMessage } } }`, {
      id: run.data.runNow.id,
    })
  ).data.backupRun.items as Array<{
    pathWithNamespace: string;
    status: string;
    attempts: number;
    errorMessage: string | null;
  }>;
  return { status: done.backupProgress.runStatus, items };
}

/** GitLab stops accepting the access token while the run's git transfers are under way (Labkeeper still thinks it valid). */
function rejectTokenDuringGit() {
  const held = sim.holdNext({ pathPattern: /\.git\/info\/refs$/ });
  void held.reached.then(() => {
    sim.expireOAuthAccessTokens();
    held.release();
  });
}

const since = (before: number) => sim.requests.slice(before);
/** The repositories backed up (SUCCEEDED), in PROJECTS order; the group's item aside. */
const everyRepository = (items: Array<{ pathWithNamespace: string; status: string }>) =>
  PROJECTS.filter((path) => items.some((i) => i.pathWithNamespace === `acme/${path}` && i.status === 'SUCCEEDED'))
    .length;

describe('a backup run over OAuth when GitLab fails the way it really does', () => {
  it('completes SUCCEEDED with every repository when GitLab rejects the access token before its expiry, git included', async () => {
    const before = sim.requests.length;
    const tokens = sim.oauthTokens(aliceId).length;
    rejectTokenDuringGit();

    const result = await backup();

    expect(result.status).toBe('SUCCEEDED');
    expect(everyRepository(result.items)).toBe(PROJECTS.length);
    expect(since(before).some((r) => r.status === 401 && /\.git\/(info\/refs|git-upload-pack)$/.test(r.path))).toBe(
      true,
    );
    expect(sim.oauthTokens(aliceId).length).toBeGreaterThan(tokens); // refreshed, not reconnected
  });

  it('completes SUCCEEDED with every repository when, besides, every 10th upload-pack request answers 500', async () => {
    const before = sim.requests.length;
    sim.failEvery(10, { status: 500, pathPattern: /\/git-upload-pack$/ });
    rejectTokenDuringGit();

    const result = await backup();

    expect(result.status).toBe('SUCCEEDED');
    expect(everyRepository(result.items)).toBe(PROJECTS.length);
    expect(since(before).some((r) => r.status === 500 && /\/git-upload-pack$/.test(r.path))).toBe(true);
    expect(since(before).some((r) => r.status === 401)).toBe(true);
  });

  it('completes SUCCEEDED with every repository when, besides, a connection is reset in the middle of a pack', async () => {
    const before = sim.requests.length;
    sim.resetNext(1, { pathPattern: /\/acme\/big\.git\/git-upload-pack$/, afterBytes: 256 * 1024 });
    rejectTokenDuringGit();

    const result = await backup();

    expect(result.status).toBe('SUCCEEDED');
    expect(everyRepository(result.items)).toBe(PROJECTS.length);
    expect(t.logLines.some((l) => l.includes('git transfer failed, retrying') && l.includes('acme/big'))).toBe(true);
    expect(since(before).some((r) => r.status === 401)).toBe(true);
  });

  it('waits for Retry-After before every git retry while each upload-pack is throttled for 60 s, and completes SUCCEEDED', async () => {
    // GitLab's Git HTTP limit spent for 60 s (real time: the product waits on the real clock, and a
    // faked one would prove nothing): every upload-pack (ls-refs and fetch) in that stretch
    // answers 429 with Retry-After naming the end of its 10 s period.
    const before = sim.requests.length;
    const WINDOW_MS = 60_000;
    const windowStart = Date.now();
    sim.throttleGitFor(WINDOW_MS, { pathPattern: /\/git-upload-pack$/, periodSeconds: 10 });

    const result = await backup();

    expect(result.status).toBe('SUCCEEDED');
    expect(everyRepository(result.items)).toBe(PROJECTS.length);
    const git = since(before).filter((r) => /\.git\/(info\/refs|git-upload-pack)$/.test(r.path));
    const repositoryOf = (path: string) => path.replace(/\.git\/.*$/, '');
    const throttled = git.filter((r) => r.status === 429);
    // Every upload-pack that came within the 60 s was refused, each repository's first included…
    expect(
      git.filter((r) => /upload-pack$/.test(r.path) && r.at < windowStart + WINDOW_MS && r.status !== 429),
    ).toEqual([]);
    for (const path of PROJECTS) expect(throttled.some((r) => repositoryOf(r.path) === `/acme/${path}`)).toBe(true);
    // …and none of a repository's requests after a 429 (its retry starts again at info/refs) came before its Retry-After.
    const early = throttled.flatMap((refused) => {
      const retry = git
        .filter((r) => repositoryOf(r.path) === repositoryOf(refused.path) && r.at > refused.at)
        .sort((a, b) => a.at - b.at)[0];
      expect(retry).toBeDefined();
      expect(refused.retryAfter).toBeGreaterThan(0);
      return retry.at - refused.at < refused.retryAfter! * 1000 ? [{ refused, retry }] : [];
    });
    expect(early).toEqual([]);
    // The throttle outlasted the transport's first attempts: repositories were retried across the whole stretch.
    expect(Math.max(...throttled.map((r) => r.at)) - windowStart).toBeGreaterThan(WINDOW_MS - 10_000);
  });

  it('tries a repository again later in the same run when its transfers fail past the transport’s retries', async () => {
    sim.failNext(6, { status: 503, pathPattern: /\/acme\/p1\.git\/git-upload-pack$/ });

    const result = await backup();

    expect(result.status).toBe('SUCCEEDED');
    expect(result.items.find((i) => i.pathWithNamespace === 'acme/p1')).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
    });
  });

  it('tries a repository again later in the same run when a metadata listing keeps failing, instead of ending PARTIAL', async () => {
    // The issues listing of p2 fails as often as the transport tries it (5 times within seconds).
    const listing = new RegExp(`^/api/v4/projects/${projectIds.get('p2')}/issues$`);
    const before = sim.requests.length;
    sim.failNext(5, { status: 500, pathPattern: listing });

    const result = await backup();

    expect(since(before).filter((r) => r.status === 500 && listing.test(r.path))).toHaveLength(5);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.items.find((i) => i.pathWithNamespace === 'acme/p2')).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
    });
  });
});
