import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, PASSWORD } from '../support/gitlab-seed.js';
import { authorizeAsUser } from '../support/oauth-browser.js';
import { freePort } from '../support/ports.js';

/**
 * Restore asks for write access only when it needs it. An OAuth connection is made with
 * read-only scopes (backups); a restore through it is refused until `authorizeRestore` has run a
 * separate authorization for `api write_repository`, whose tokens are kept beside the read-only
 * ones (backups go on with those), for the connection's own GitLab user only.
 */
let sim: GitLabSimulator;
let t: TestApp;
let aliceId: number;
let orgId: string;
let connectionId: string;
let snapshotId: string;
let appCredentials: { clientId: string; clientSecret: string };
/** One clock for Labkeeper and GitLab, so token lifetimes can be walked through. */
const clock = new FakeClock(new Date());

const CONNECTION = `query($id: ID!) { connection(id: $id) { status scopes writeScopes writeAuthorizedAt } }`;

beforeAll(async () => {
  sim = await startGitLabSimulator({ now: () => clock.now() });
  const alice = aUser(sim);
  aliceId = alice.id;
  aUser(sim, 'carol');
  const acme = sim.createGroup({ path: 'acme', ownerId: alice.id });
  sim.createGroup({ path: 'restored', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: acme.id, path: 'api' });
  sim.createIssue(project.id, { title: 'Crash on start' });
  const port = await freePort();
  const app = sim.createOAuthApplication({
    name: 'Labkeeper',
    redirectUri: `http://127.0.0.1:${port}/oauth/gitlab/callback`,
    scopes: ['api', 'read_api', 'read_repository', 'read_user', 'write_repository'],
  });
  appCredentials = app;
  t = await startTestApp({ gitlab: { url: sim.url, oauthApp: app }, port, clock });

  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { authorizationUrl connection { id } } }`,
    {
      i: { method: 'OAUTH', namespacePath: 'acme', includeGroups: false },
    },
  );
  expect(r.errors).toBeUndefined();
  connectionId = r.data.connectGitLab.connection.id;
  const callback = await authorizeAsUser(r.data.connectGitLab.authorizationUrl, { login: 'alice', password: PASSWORD });
  expect((await fetch(callback, { redirect: 'manual' })).status).toBe(200);
  await synced;
  orgId = (await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, { c: connectionId })).data
    .organizations[0].id;
  const { runId, status } = await runBackup(t, orgId);
  expect(status).toBe('SUCCEEDED');
  snapshotId = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
    .backupRun.items[0].snapshotId;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const restoreInput = (projectPath: string) => ({
  target: 'NEW_PROJECT',
  snapshotIds: [snapshotId],
  targetConnectionId: connectionId,
  namespacePath: 'restored',
  projectPath,
});

async function authorizeRestore(login: string) {
  const r = await t.gql(
    `mutation($c: ID!) { authorizeRestore(connectionId: $c) { authorizationUrl connection { status } } }`,
    { c: connectionId },
  );
  expect(r.errors).toBeUndefined();
  const url = new URL(r.data.authorizeRestore.authorizationUrl);
  const callback = await authorizeAsUser(url.toString(), { login, password: PASSWORD });
  const page = await fetch(callback, { redirect: 'manual' });
  return { url, status: r.data.authorizeRestore.connection.status, html: await page.text() };
}

describe('the separate write authorization of restores', () => {
  it('connects with read-only scopes and refuses a restore through it, naming what to do', async () => {
    expect((await t.gql(CONNECTION, { id: connectionId })).data.connection).toEqual({
      status: 'CONNECTED',
      scopes: ['read_api', 'read_repository', 'read_user'],
      writeScopes: [],
      writeAuthorizedAt: null,
    });
    const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
      i: restoreInput('api'),
    });
    expect(r.errors![0].message).toMatch(/authorizeRestore asks GitLab for api write_repository/);
    expect(r.errors![0].extensions).toMatchObject({
      code: 'FAILED_PRECONDITION',
      reason: 'WRITE_AUTHORIZATION_REQUIRED',
      fields: { 'input.targetConnectionId': expect.any(String) },
    });
    expect((await t.gql(`query { restoreRuns { id } }`)).data.restoreRuns).toEqual([]);
  });

  it('refuses write access granted by another GitLab user', async () => {
    const { html } = await authorizeRestore('carol');
    expect(html).toContain('this connection is alice');
    expect((await t.gql(CONNECTION, { id: connectionId })).data.connection).toMatchObject({
      status: 'CONNECTED',
      writeScopes: [],
    });
    expect(sim.oauthTokens().filter((token) => token.active && token.userId !== aliceId)).toEqual([]); // carol's token revoked
  });

  it('asks GitLab for api write_repository in its own authorization, keeps the read-only pair, and then restores', async () => {
    const { url, status, html } = await authorizeRestore('alice');
    expect(url.searchParams.get('scope')).toBe('api write_repository');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(status).toBe('CONNECTED');
    expect(html).toContain('Restores may now write to GitLab as alice');
    const connection = (await t.gql(CONNECTION, { id: connectionId })).data.connection;
    expect(connection).toMatchObject({
      status: 'CONNECTED',
      scopes: ['read_api', 'read_repository', 'read_user'],
      writeScopes: ['api', 'write_repository'],
    });
    expect(connection.writeAuthorizedAt).not.toBeNull();
    const active = sim
      .oauthTokens(aliceId)
      .filter((token) => token.active)
      .map((token) => token.scopes.join(' '))
      .sort();
    expect(active).toEqual(['api write_repository', 'read_api read_repository read_user']);

    const done = nextJob(t, 'restore.run');
    const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
      i: restoreInput('api'),
    });
    expect(r.errors).toBeUndefined();
    await done;
    const run = (
      await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, { id: r.data.restoreSnapshot.id })
    ).data.restoreRun;
    expect(run).toEqual({ status: 'SUCCEEDED', errorMessage: null });
    const restored = await (
      await fetch(`${sim.url}/api/v4/projects/${encodeURIComponent('restored/api')}/issues`, {
        headers: { 'private-token': aToken(sim, aliceId, ['api']).token },
      })
    ).json();
    expect(restored.map((i: { title: string }) => i.title)).toEqual(['Crash on start']);

    // backups still read with the read-only pair
    expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
  });

  it('is for OAuth connections: a personal access token writes with its own scopes', async () => {
    const pat = await t.gql(
      `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id writeScopes } } }`,
      {
        i: {
          method: 'PERSONAL_ACCESS_TOKEN',
          instanceUrl: sim.url,
          login: 'alice',
          personalAccessToken: aToken(sim, aliceId, ['api', 'read_repository']).token,
        },
      },
    );
    expect(pat.data.connectGitLab.connection.writeScopes).toEqual(['api', 'read_repository']);
    const r = await t.gql(`mutation($c: ID!) { authorizeRestore(connectionId: $c) { authorizationUrl } }`, {
      c: pat.data.connectGitLab.connection.id,
    });
    expect(r.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: { connectionId: expect.stringContaining('personal access token') },
    });
  });

  it('refreshes the write token when it expires, without touching the read-only pair', async () => {
    const readExpiry = (await t.gql(`query($id: ID!) { connection(id: $id) { tokenExpiresAt } }`, { id: connectionId }))
      .data.connection.tokenExpiresAt;
    const writeTokens = () => sim.oauthTokens(aliceId).filter((token) => token.scopes.includes('write_repository'));
    const [before] = writeTokens().filter((token) => token.active);
    clock.advance(2 * 60 * 60_000 + 1000); // both OAuth tokens have expired
    const done = nextJob(t, 'restore.run');
    const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
      i: restoreInput('api-2'),
    });
    await done;
    expect(
      (await t.gql(`query($id: ID!) { restoreRun(id: $id) { status } }`, { id: r.data.restoreSnapshot.id })).data
        .restoreRun.status,
    ).toBe('SUCCEEDED');
    const active = writeTokens().filter((token) => token.active);
    expect(active).toHaveLength(1);
    expect(active[0].accessToken).not.toBe(before.accessToken);
    expect(
      (await t.gql(`query($id: ID!) { connection(id: $id) { tokenExpiresAt } }`, { id: connectionId })).data.connection
        .tokenExpiresAt,
    ).toBe(readExpiry);
  });

  it('drops only the write authorization when GitLab refuses to refresh it; backups go on', async () => {
    const [write] = sim
      .oauthTokens(aliceId)
      .filter((token) => token.active && token.scopes.includes('write_repository'));
    const revoked = await fetch(`${sim.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: write.accessToken,
        client_id: appCredentials.clientId,
        client_secret: appCredentials.clientSecret,
      }).toString(),
    });
    expect(revoked.status).toBe(200);
    clock.advance(2 * 60 * 60_000 + 1000);
    const done = nextJob(t, 'restore.run');
    const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
      i: restoreInput('api-3'),
    });
    expect(r.errors).toBeUndefined();
    await done;
    const run = (
      await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, { id: r.data.restoreSnapshot.id })
    ).data.restoreRun;
    expect(run.status).toBe('FAILED');
    expect(run.errorMessage).toMatch(
      /GitLab refused to refresh the OAuth token .*authorize restores for this connection/,
    );
    expect((await t.gql(CONNECTION, { id: connectionId })).data.connection).toMatchObject({
      status: 'CONNECTED',
      writeScopes: [],
    });
    expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
  });
});
