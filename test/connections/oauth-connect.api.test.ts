import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, anOrganization, PASSWORD } from '../support/gitlab-seed.js';
import { authorizeAsUser } from '../support/oauth-browser.js';
import { freePort } from '../support/ports.js';

let sim: GitLabSimulator;
let t: TestApp;
let alice: { id: number };
let ownApp: { clientId: string; clientSecret: string };
let instanceApp: { clientId: string; clientSecret: string };
/** One clock for Labkeeper and GitLab, so token lifetimes can be walked through. */
const clock = new FakeClock(new Date());

beforeAll(async () => {
  sim = await startGitLabSimulator({ now: () => clock.now() });
  alice = aUser(sim);
  aUser(sim, 'carol');
  anOrganization(sim, alice.id, { path: 'acme', projectCount: 3 });
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/oauth/gitlab/callback`;
  instanceApp = sim.createOAuthApplication({
    name: 'Labkeeper',
    redirectUri,
    scopes: ['api', 'read_api', 'read_repository', 'read_user', 'write_repository'],
  });
  ownApp = sim.createOAuthApplication({
    name: 'Our own backup app',
    redirectUri,
    scopes: ['read_api', 'read_repository', 'read_user'],
  });
  t = await startTestApp({ gitlab: { url: sim.url, oauthApp: instanceApp }, port, clock });
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const CONNECT = `mutation($input: ConnectGitLabInput!) {
  connectGitLab(input: $input) { authorizationUrl connection { id status method credentialId } }
}`;
const CONNECTION = `query($id: ID!) { connection(id: $id) { id status statusReason scopes tokenExpiresAt gitlabUser { username } } }`;

function watchStatuses() {
  const sub = subscribe<{ connectionStatusChanged: { connectionId: string; status: string; reason: string | null } }>(
    t.ws(),
    `subscription { connectionStatusChanged { connectionId status reason } }`,
  );
  const ready = untilListening(
    sub,
    () =>
      t.app.pubSub.publish('CONNECTION_STATUS_CHANGED', {
        connectionId: 'probe',
        status: 'ERROR',
        reason: null,
        at: '',
      }),
    (e) => e.connectionStatusChanged.connectionId === 'probe',
  );
  const of = (id: string) =>
    sub.events
      .filter((e) => e.connectionStatusChanged.connectionId === id)
      .map((e) => e.connectionStatusChanged.status);
  return { sub, ready, of };
}

/** Opens Labkeeper's callback as the pop-up would after GitLab redirects there. */
async function openCallback(url: URL) {
  const response = await fetch(url, { redirect: 'manual' });
  return { status: response.status, html: await response.text() };
}

async function connectThroughBrowser(
  input: Record<string, unknown>,
  decision: 'authorize' | 'deny' = 'authorize',
  login = 'alice',
) {
  const r = await t.gql(CONNECT, { input });
  expect(r.errors).toBeUndefined();
  const { authorizationUrl, connection } = r.data.connectGitLab;
  const redirect = await authorizeAsUser(authorizationUrl, { login, password: PASSWORD }, decision);
  return { connection, authorizationUrl: new URL(authorizationUrl), redirect };
}

afterEach(() => {
  clock.set(new Date());
});

describe('connecting with OAuth', () => {
  it('goes AWAITING_AUTHORIZATION → CONNECTED through GitLab sign-in, consent and the callback, with PKCE S256', async () => {
    const watch = watchStatuses();
    await watch.ready;
    const { connection, authorizationUrl, redirect } = await connectThroughBrowser({ method: 'OAUTH' });
    expect(connection.status).toBe('AWAITING_AUTHORIZATION');
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('scope')).toBe('read_api read_repository read_user');
    expect(redirect.pathname).toBe('/oauth/gitlab/callback');

    const page = await openCallback(redirect);
    expect(page.status).toBe(200);
    expect(page.html).toContain('You can close this window');
    expect(page.html).toContain('window.opener.postMessage');
    await watch.sub.next(
      (e) =>
        e.connectionStatusChanged.connectionId === connection.id && e.connectionStatusChanged.status === 'CONNECTED',
    );
    expect(watch.of(connection.id)).toEqual(['AWAITING_AUTHORIZATION', 'CONNECTED']);

    const after = await t.gql(CONNECTION, { id: connection.id });
    expect(after.data.connection).toMatchObject({ status: 'CONNECTED', gitlabUser: { username: 'alice' } });
    // GitLab's created_at has second precision
    expect(new Date(after.data.connection.tokenExpiresAt).getTime() - clock.now().getTime()).toBeGreaterThan(
      7199 * 1000,
    );
    const namespaces = await t.gql(`query($id: ID!) { connection(id: $id) { namespaces { fullPath kind } } }`, {
      id: connection.id,
    });
    expect(namespaces.data.connection.namespaces).toContainEqual({ fullPath: 'acme', kind: 'group' });
  });

  it('announces CONNECTED only once the namespace it was asked to protect is an organization', async () => {
    const watch = watchStatuses();
    await watch.ready;
    const { connection, redirect } = await connectThroughBrowser({
      method: 'OAUTH',
      namespacePath: 'acme',
      includeGroups: false,
    });
    const protecting = sim.holdNext({ pathPattern: /\/api\/v4\/namespaces\/acme$/, method: 'GET' });
    const page = openCallback(redirect);
    await protecting.reached;
    // Events arrive in the order they were published: one published now comes after any CONNECTED.
    await untilListening(
      watch.sub,
      () =>
        t.app.pubSub.publish('CONNECTION_STATUS_CHANGED', {
          connectionId: 'probe-2',
          status: 'ERROR',
          reason: null,
          at: '',
        }),
      (e) => e.connectionStatusChanged.connectionId === 'probe-2',
    );
    expect(watch.of(connection.id)).toEqual(['AWAITING_AUTHORIZATION']);

    protecting.release();
    await watch.sub.next(
      (e) =>
        e.connectionStatusChanged.connectionId === connection.id && e.connectionStatusChanged.status === 'CONNECTED',
    );
    const orgs = await t.gql(`query($c: ID) { organizations(connectionId: $c) { fullPath } }`, { c: connection.id });
    expect(orgs.data.organizations).toEqual([{ fullPath: 'acme' }]);
    expect((await page).status).toBe(200);
  });

  it('names the instance OAUTH signs in to: the one Labkeeper’s own application is registered on', async () => {
    const r = await t.gql(`{ oauthInstanceUrl }`);
    expect(r.errors).toBeUndefined();
    expect(r.data.oauthInstanceUrl).toBe(sim.url);
  });

  it('connects with the user’s own OAuth application and keeps its secret in the Password Manager', async () => {
    const redirectUri = await t.gql(`{ oauthRedirectUri }`);
    expect(redirectUri.data.oauthRedirectUri).toBe(`${t.url}/oauth/gitlab/callback`);
    const { connection, authorizationUrl, redirect } = await connectThroughBrowser({
      method: 'OAUTH_APP',
      instanceUrl: sim.url,
      clientId: ownApp.clientId,
      clientSecret: ownApp.clientSecret,
    });
    expect(authorizationUrl.searchParams.get('client_id')).toBe(ownApp.clientId);
    expect((await openCallback(redirect)).status).toBe(200);
    expect((await t.gql(CONNECTION, { id: connection.id })).data.connection.status).toBe('CONNECTED');
    const creds = await t.gql(`{ credentials { id kind } }`);
    expect(creds.data.credentials).toContainEqual({ id: connection.credentialId, kind: 'OAUTH_CLIENT_SECRET' });
    const deletion = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: connection.credentialId });
    expect(deletion.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'CREDENTIAL_IN_USE' });
  });

  it('marks the connection ERROR when the user denies consent', async () => {
    const watch = watchStatuses();
    await watch.ready;
    // carol has never authorized Labkeeper, so GitLab shows her the consent page
    const { connection, redirect } = await connectThroughBrowser({ method: 'OAUTH' }, 'deny', 'carol');
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    const page = await openCallback(redirect);
    expect(page.status).toBe(400);
    await watch.sub.next(
      (e) => e.connectionStatusChanged.connectionId === connection.id && e.connectionStatusChanged.status === 'ERROR',
    );
    const after = await t.gql(CONNECTION, { id: connection.id });
    expect(after.data.connection).toMatchObject({ status: 'ERROR', statusReason: expect.stringMatching(/denied/) });
  });

  it('refuses a forged state without exchanging the code or burning the attempt: the genuine consent still connects', async () => {
    const { connection, redirect } = await connectThroughBrowser({ method: 'OAUTH' });
    const forged = new URL(redirect);
    const [attemptId] = redirect.searchParams.get('state')!.split('.');
    forged.searchParams.set('state', `${attemptId}.forged-${'x'.repeat(30)}`);
    const tokensBefore = sim.oauthTokens(alice.id).length;
    expect((await openCallback(forged)).status).toBe(400);
    expect(sim.oauthTokens(alice.id)).toHaveLength(tokensBefore);
    expect((await t.gql(CONNECTION, { id: connection.id })).data.connection.status).toBe('AWAITING_AUTHORIZATION');
    expect((await openCallback(redirect)).status).toBe(200);
    expect((await t.gql(CONNECTION, { id: connection.id })).data.connection.status).toBe('CONNECTED');
  });

  it('refuses a replayed callback without touching the connected connection', async () => {
    const { connection, redirect } = await connectThroughBrowser({ method: 'OAUTH' });
    expect((await openCallback(redirect)).status).toBe(200);
    const replay = await openCallback(redirect);
    expect(replay.status).toBe(400);
    expect(replay.html).toMatch(/already used/);
    expect((await t.gql(CONNECTION, { id: connection.id })).data.connection.status).toBe('CONNECTED');
  });

  it('marks an attempt older than 10 minutes ERROR', async () => {
    const { connection, redirect } = await connectThroughBrowser({ method: 'OAUTH' });
    clock.advance(11 * 60_000);
    expect((await openCallback(redirect)).status).toBe(400);
    expect((await t.gql(CONNECTION, { id: connection.id })).data.connection).toMatchObject({
      status: 'ERROR',
      statusReason: expect.stringMatching(/expired/),
    });
  });

  describe('token refresh', () => {
    async function connected() {
      const { connection, redirect } = await connectThroughBrowser({ method: 'OAUTH' });
      await openCallback(redirect);
      const token = sim.oauthTokens(alice.id).at(-1)!;
      return { id: connection.id as string, token };
    }
    const listNamespaces = (id: string) =>
      t.gql(`query($id: ID!) { connection(id: $id) { namespaces { fullPath } } }`, { id });

    it('refreshes shortly before expiry, and the rotated old pair stops working', async () => {
      const { id, token } = await connected();
      clock.advance((7200 - 120) * 1000); // 2 minutes left: inside the refresh margin
      const r = await listNamespaces(id);
      expect(r.errors).toBeUndefined();
      expect(sim.isOAuthAccessTokenActive(token.accessToken)).toBe(false);
      const newest = sim.oauthTokens(alice.id).at(-1)!;
      expect(newest.id).not.toBe(token.id);
      expect(newest.active).toBe(true);
      const reuse = await fetch(`${sim.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token.refreshToken }).toString(),
      });
      expect(reuse.status).toBe(400);
      const after = await t.gql(CONNECTION, { id });
      expect(new Date(after.data.connection.tokenExpiresAt).getTime()).toBeGreaterThan(
        clock.now().getTime() + 7199 * 1000,
      );
    });

    it('refreshes after GitLab answers 401 for a token Labkeeper still thought valid, and retries', async () => {
      const { id, token } = await connected();
      // GitLab's clock runs ahead: the token has expired there, not yet for Labkeeper.
      sim.advanceTime(7300 * 1000);
      const r = await listNamespaces(id);
      expect(r.errors).toBeUndefined();
      expect(r.data.connection.namespaces).toContainEqual({ fullPath: 'acme' });
      expect(sim.isOAuthAccessTokenActive(token.accessToken)).toBe(false);
      expect(sim.requests.some((q) => q.status === 401)).toBe(true);
      sim.advanceTime(-7300 * 1000);
    });

    it('marks the connection EXPIRED and publishes it when GitLab refuses the refresh', async () => {
      const { id, token } = await connected();
      const watch = watchStatuses();
      await watch.ready;
      await fetch(`${sim.url}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: token.refreshToken,
          client_id: instanceApp.clientId,
          client_secret: instanceApp.clientSecret,
        }).toString(),
      });
      clock.advance(7200 * 1000);
      const r = await listNamespaces(id);
      expect(r.errors?.[0]?.extensions).toMatchObject({
        code: 'FAILED_PRECONDITION',
        reason: 'CONNECTION_NOT_CONNECTED',
      });
      await watch.sub.next(
        (e) => e.connectionStatusChanged.connectionId === id && e.connectionStatusChanged.status === 'EXPIRED',
      );
      expect((await t.gql(CONNECTION, { id })).data.connection.statusReason).toMatch(/refused to refresh/);
    });
  });

  it('disconnect revokes the OAuth tokens on GitLab and keeps the connection as history', async () => {
    const { connection, redirect } = await connectThroughBrowser({ method: 'OAUTH' });
    await openCallback(redirect);
    const token = sim.oauthTokens(alice.id).at(-1)!;
    const r = await t.gql(`mutation($id: ID!) { disconnect(id: $id) { status disconnectedAt } }`, {
      id: connection.id,
    });
    expect(r.data.disconnect.status).toBe('DISCONNECTED');
    expect(sim.isOAuthAccessTokenActive(token.accessToken)).toBe(false);
    expect((await t.gql(`{ connections { id } }`)).data.connections).toContainEqual({ id: connection.id });
  });
});
