import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, anOrganization, PASSWORD } from '../support/gitlab-seed.js';
import { authorizeAsUser } from '../support/oauth-browser.js';
import { freePort } from '../support/ports.js';

/**
 * Plants unique secrets (a PAT, an OAuth app's client secret, the OAuth tokens GitLab issues
 * including the restore write authorization's pair, API tokens), drives every flow that handles them, and then looks for them in every GraphQL
 * response, every log line and every column of every table.
 */
const clock = new FakeClock(new Date());
let sim: GitLabSimulator;
let t: TestApp;
const responses: string[] = [];
const secrets: Record<string, string> = {};

async function gql(query: string, variables?: Record<string, unknown>) {
  const r = await t.gql(query, variables);
  responses.push(JSON.stringify(r));
  return r;
}

beforeAll(async () => {
  sim = await startGitLabSimulator({ now: () => clock.now() });
  const alice = aUser(sim);
  anOrganization(sim, alice.id, { path: 'acme', projectCount: 3 });
  const port = await freePort();
  const app = sim.createOAuthApplication({
    name: 'own app',
    redirectUri: `http://127.0.0.1:${port}/oauth/gitlab/callback`,
    scopes: ['read_api', 'read_repository', 'read_user', 'api', 'write_repository'],
  });
  t = await startTestApp({ gitlab: { url: sim.url }, port, clock });
  secrets.pat = aToken(sim, alice.id).token;
  secrets.clientSecret = app.clientSecret;
  secrets.adminToken = t.adminToken;

  // PAT connection with discovery
  const synced = nextJob(t, 'repositories.sync');
  await gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: secrets.pat,
      namespacePath: 'acme',
    },
  });
  await synced;
  // a refused PAT (its value must not be echoed either)
  secrets.refusedPat = aToken(sim, alice.id, ['read_user']).token;
  await gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: secrets.refusedPat,
    },
  });
  // OAuth app connection: consent, callback, then a refresh
  const oauth = await gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { authorizationUrl connection { id } } }`,
    {
      i: { method: 'OAUTH_APP', instanceUrl: sim.url, clientId: app.clientId, clientSecret: secrets.clientSecret },
    },
  );
  const redirect = await authorizeAsUser(oauth.data.connectGitLab.authorizationUrl, {
    login: 'alice',
    password: PASSWORD,
  });
  responses.push(await (await fetch(redirect)).text());
  clock.advance(7190 * 1000);
  await gql(`query($id: ID!) { connection(id: $id) { namespaces { fullPath } } }`, {
    id: oauth.data.connectGitLab.connection.id,
  });
  // the separate write authorization restores use: a second token pair, kept beside the first
  const write = await gql(`mutation($c: ID!) { authorizeRestore(connectionId: $c) { authorizationUrl } }`, {
    c: oauth.data.connectGitLab.connection.id,
  });
  const writeRedirect = await authorizeAsUser(write.data.authorizeRestore.authorizationUrl, {
    login: 'alice',
    password: PASSWORD,
  });
  responses.push(await (await fetch(writeRedirect)).text());
  const granted = await gql(`query($id: ID!) { connection(id: $id) { writeScopes } }`, {
    id: oauth.data.connectGitLab.connection.id,
  });
  expect(granted.data.connection.writeScopes).toContain('write_repository');
  // an API token
  const created = await gql(`mutation { createApiToken(input: { name: "ci", role: VIEWER }) { token } }`);
  secrets.apiToken = created.data.createApiToken.token;
  responses.pop(); // the one response that must show the new API token, once
  // notification channels: each kind's secret, saved, tested (nothing listens on port 9) and read back
  secrets.signingSecret = `whsec-planted-${randomUUID()}`;
  secrets.slackUrl = `http://127.0.0.1:9/services/T0/B0/${randomUUID()}`;
  secrets.heartbeatUrl = `http://127.0.0.1:9/ping/${randomUUID()}`;
  secrets.smtpPassword = `smtp-planted-${randomUUID()}`;
  for (const input of [
    { name: 'hook', kind: 'WEBHOOK', url: 'http://127.0.0.1:9/hook', signingSecret: secrets.signingSecret },
    { name: 'slack', kind: 'SLACK', secretUrl: secrets.slackUrl },
    { name: 'beat', kind: 'HEARTBEAT', secretUrl: secrets.heartbeatUrl },
    {
      name: 'mail',
      kind: 'EMAIL',
      email: {
        host: '127.0.0.1',
        port: 9,
        username: 'u',
        password: secrets.smtpPassword,
        from: 'a@b.c',
        to: ['d@e.f'],
      },
    },
  ]) {
    const channel = await gql(
      `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`,
      { i: input },
    );
    const tested = await gql(`mutation($id: ID!) { testNotificationChannel(id: $id) { isDelivered message } }`, {
      id: channel.data.createNotificationChannel.id,
    });
    expect(tested.data.testNotificationChannel.isDelivered).toBe(false);
  }
  await gql(`{ notificationChannels { id name kind url secretCredentialId email { host port username from to } } }`);
  // read everything back
  await gql(`{ connections { id instanceUrl method status statusReason login gitlabUser { id username name webUrl } scopes tokenExpiresAt credentialId oauthClientId hasCustomCaCertificate warnings writeScopes writeAuthorizedAt }
    credentials { id name kind username fingerprint description } apiTokens { id name prefix role }
    organizations { id fullPath repositories { nodes { httpUrlToRepo sshUrlToRepo webUrl } } } workers { id name } }`);
  // the first pair, its refreshed pair and the write pair
  expect(sim.oauthTokens().length).toBeGreaterThanOrEqual(3);
  for (const [i, token] of sim.oauthTokens().entries()) {
    secrets[`oauthAccess${i}`] = token.accessToken;
    secrets[`oauthRefresh${i}`] = token.refreshToken;
  }
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

function leaks(haystack: string): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => haystack.includes(value))
    .map(([name]) => name);
}

describe('secrets', () => {
  it('were really exercised: OAuth tokens were issued and refreshed, and the PAT was used', () => {
    expect(Object.keys(secrets).filter((k) => k.startsWith('oauthAccess')).length).toBeGreaterThanOrEqual(2);
    expect(sim.requests.some((r) => r.auth === 'pat' && r.status === 200)).toBe(true);
  });

  it('never appear in a GraphQL response', () => {
    expect(leaks(responses.join('\n'))).toEqual([]);
  });

  it('never appear in a log line', () => {
    const messages = t.logLines.map((l) => JSON.parse(l).msg);
    expect(messages).toEqual(
      expect.arrayContaining(['connected with a personal access token', 'OAuth token refreshed', 'credential created']),
    );
    expect(leaks(t.logLines.join('\n'))).toEqual([]);
  });

  it('never appear in clear in any database column', async () => {
    const tables: { table_name: string }[] = await t.app.dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    expect(tables.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['connections', 'credentials', 'oauth_attempts', 'api_tokens', 'audit_events']),
    );
    // The audit log recorded the mutations that carried the secrets (and is searched below like every table).
    const audited: { operation: string }[] = await t.app.dataSource.query(`SELECT operation FROM audit_events`);
    expect(audited.map((r) => r.operation)).toEqual(expect.arrayContaining(['connectGitLab', 'createApiToken']));
    for (const { table_name } of tables) {
      const rows: Record<string, unknown>[] = await t.app.dataSource.query(`SELECT * FROM "${table_name}"`);
      const text = JSON.stringify(rows, (_k, v) =>
        v && typeof v === 'object' && v.type === 'Buffer' ? Buffer.from(v.data).toString('latin1') : v,
      );
      expect({ table: table_name, leaks: leaks(text) }).toEqual({ table: table_name, leaks: [] });
    }
  });
});
