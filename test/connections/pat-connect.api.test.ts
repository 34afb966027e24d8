import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, anOrganization } from '../support/gitlab-seed.js';

let sim: GitLabSimulator;
let t: TestApp;
let alice: { id: number };

beforeAll(async () => {
  sim = await startGitLabSimulator();
  alice = aUser(sim);
  anOrganization(sim, alice.id, { path: 'acme', projectCount: 130 });
  t = await startTestApp({ gitlab: { url: sim.url } });
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const CONNECT = `mutation($input: ConnectGitLabInput!) {
  connectGitLab(input: $input) {
    authorizationUrl
    connection { id status method scopes login gitlabUser { username } credentialId tokenExpiresAt warnings }
  }
}`;

const patInput = (token: string, extra: Record<string, unknown> = {}) => ({
  method: 'PERSONAL_ACCESS_TOKEN',
  instanceUrl: sim.url,
  login: 'alice',
  personalAccessToken: token,
  ...extra,
});

async function counts() {
  const [[c], [k]] = await Promise.all([
    t.app.dataSource.query('SELECT count(*)::int AS n FROM connections'),
    t.app.dataSource.query('SELECT count(*)::int AS n FROM credentials'),
  ]);
  return { connections: c.n, credentials: k.n };
}

describe('connecting with a personal access token', () => {
  it('connects a valid token and discovers every project of a group with nested subgroups over several pages', async () => {
    const { token } = aToken(sim, alice.id);
    const synced = nextJob(t, 'repositories.sync');
    const r = await t.gql(CONNECT, { input: patInput(token, { namespacePath: 'acme', autoAddNewRepositories: true }) });
    expect(r.errors).toBeUndefined();
    const connection = r.data.connectGitLab.connection;
    expect(connection).toMatchObject({
      status: 'CONNECTED',
      method: 'PERSONAL_ACCESS_TOKEN',
      login: 'alice',
      gitlabUser: { username: 'alice' },
    });
    expect(connection.scopes).toEqual(expect.arrayContaining(['read_api', 'read_repository']));
    expect(r.data.connectGitLab.authorizationUrl).toBeNull();
    await synced;

    const org = await t.gql(
      `query($c: ID) { organizations(connectionId: $c) { id fullPath kind lastSync { status repositoriesFound groupsFound }
      repositories(first: 100) { totalCount pageInfo { hasNextPage endCursor } nodes { pathWithNamespace isProtected httpUrlToRepo defaultBranch visibility } }
      groups(first: 100) { totalCount nodes { fullPath } } } }`,
      { c: connection.id },
    );
    const [acme] = org.data.organizations;
    expect(acme).toMatchObject({
      fullPath: 'acme',
      kind: 'GROUP',
      lastSync: { status: 'SUCCEEDED', repositoriesFound: 130, groupsFound: 5 },
    });
    expect(acme.repositories.totalCount).toBe(130);
    expect(acme.repositories.nodes).toHaveLength(100);
    expect(acme.repositories.nodes.every((n: { isProtected: boolean }) => n.isProtected)).toBe(true);
    expect(acme.repositories.nodes.map((n: { pathWithNamespace: string }) => n.pathWithNamespace)).toContain(
      'acme/platform/infra/deep/project-003',
    );
    expect(acme.groups.nodes.map((g: { fullPath: string }) => g.fullPath).sort()).toEqual([
      'acme',
      'acme/apps',
      'acme/platform',
      'acme/platform/infra',
      'acme/platform/infra/deep',
    ]);
    const next = await t.gql(
      `query($id: ID!, $after: String) { organization(id: $id) { repositories(first: 100, after: $after) { nodes { id } pageInfo { hasNextPage } } } }`,
      {
        id: acme.id,
        after: acme.repositories.pageInfo.endCursor,
      },
    );
    expect(next.data.organization.repositories.nodes).toHaveLength(30);
    expect(next.data.organization.repositories.pageInfo.hasNextPage).toBe(false);
    // GitLab was asked with its maximum page size, more than once
    const listings = sim.requests.filter((q) => /\/groups\/\d+\/projects/.test(q.path));
    expect(listings.length).toBeGreaterThan(1);
    expect(listings.every((q) => q.query.per_page === '100')).toBe(true);
  });

  it('keeps the token only in the Password Manager, encrypted, and never returns it', async () => {
    const { token } = aToken(sim, alice.id);
    const r = await t.gql(CONNECT, { input: patInput(token) });
    const credentialId = r.data.connectGitLab.connection.credentialId;
    const creds = await t.gql(`{ credentials { id kind fingerprint username } }`);
    expect(creds.data.credentials).toContainEqual({
      id: credentialId,
      kind: 'PERSONAL_ACCESS_TOKEN',
      fingerprint: `…${token.slice(-4)}`,
      username: 'alice',
    });
    expect(JSON.stringify(r)).not.toContain(token);
    expect(JSON.stringify(creds)).not.toContain(token);
  });

  describe.each([
    [
      'revoked',
      () => aToken(sim, alice.id, ['read_api', 'read_repository'], { revoked: true }).token,
      'TOKEN_REVOKED',
      /revoked/,
    ],
    [
      'expired',
      () => aToken(sim, alice.id, ['read_api', 'read_repository'], { expiresAt: '2020-01-01' }).token,
      'TOKEN_EXPIRED',
      /expired/,
    ],
    [
      'lacking read_repository',
      () => aToken(sim, alice.id, ['read_api']).token,
      'TOKEN_SCOPE_INSUFFICIENT',
      /lacks read_repository/,
    ],
    [
      'lacking read_api',
      () => aToken(sim, alice.id, ['read_repository', 'read_user']).token,
      'TOKEN_SCOPE_INSUFFICIENT',
      /read_api/,
    ],
    ['unknown', () => 'glpat-this-token-does-not-exist', 'TOKEN_INVALID', /not accepted/],
  ])('a %s token', (_what, makeToken, reason, message) => {
    it('is refused with a clear error naming the field, and nothing is created', async () => {
      const before = await counts();
      const r = await t.gql(CONNECT, { input: patInput(makeToken(), { namespacePath: 'acme' }) });
      expect(r.data).toBeNull();
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason });
      expect(r.errors?.[0]?.extensions?.fields?.['input.personalAccessToken']).toMatch(message);
      expect(await counts()).toEqual(before);
    });
  });

  it('connects with a token saved in the Password Manager, which cannot be deleted until the connection is disconnected', async () => {
    const { token } = aToken(sim, alice.id);
    const saved = await t.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
      i: { name: 'alice on the simulator', kind: 'PERSONAL_ACCESS_TOKEN', secret: token, username: 'alice' },
    });
    const credentialId = saved.data.createCredential.id;
    const r = await t.gql(CONNECT, {
      input: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: sim.url, login: 'alice@example.com', credentialId },
    });
    expect(r.data.connectGitLab.connection).toMatchObject({ status: 'CONNECTED', credentialId });
    const refused = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: credentialId });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'CREDENTIAL_IN_USE' });
    await t.gql(`mutation($id: ID!) { disconnect(id: $id) { status } }`, { id: r.data.connectGitLab.connection.id });
    expect(
      (await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: credentialId })).data.deleteCredential,
    ).toBe(credentialId);
  });

  it('refuses a token that belongs to another user than the login given', async () => {
    const { token } = aToken(sim, alice.id);
    const r = await t.gql(CONNECT, { input: patInput(token, { login: 'bob' }) });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: { 'input.login': expect.stringMatching(/alice/) },
    });
  });

  it('warns when the token expires within 14 days', async () => {
    const soon = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
    const { token } = aToken(sim, alice.id, ['read_api', 'read_repository'], { expiresAt: soon });
    const r = await t.gql(CONNECT, { input: patInput(token) });
    expect(r.data.connectGitLab.connection.warnings).toEqual([expect.stringMatching(new RegExp(`expires on ${soon}`))]);
  });

  it('names the field of invalid input', async () => {
    const r = await t.gql(CONNECT, {
      input: patInput('x'.repeat(20), {
        instanceUrl: 'ftp://example.com',
        repoSyncSchedule: { kind: 'HOURS', hours: [25] },
      }),
    });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(Object.keys(r.errors?.[0]?.extensions?.fields ?? {}).join(',')).toMatch(/repoSyncSchedule|instanceUrl/);
  });
});
