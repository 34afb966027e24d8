import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

/**
 * Each use of a saved credential checks its kind: an encryption key is never sent to GitLab as a
 * token, a token never used as an encryption key. A wrong kind is BAD_USER_INPUT naming the field,
 * and nothing is stored.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
const ids: Record<'key' | 'pat' | 'clientSecret' | 'password', string> = {
  key: '',
  pat: '',
  clientSecret: '',
  password: '',
};

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  sim.createGroup({ path: 'acme', ownerId: alice.id });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  const create = async (name: string, kind: string, secret: string) =>
    (
      await t.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
        i: { name, kind, secret },
      })
    ).data.createCredential.id as string;
  ids.key = await create('backup key', 'ENCRYPTION_KEY', 'key material that is secret');
  ids.pat = await create('alice token', 'PERSONAL_ACCESS_TOKEN', aToken(sim, alice.id).token);
  ids.clientSecret = await create('app secret', 'OAUTH_CLIENT_SECRET', 'gloas-client-secret-0000');
  ids.password = await create('a password', 'PASSWORD', 'hunter2-hunter2');
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function stored() {
  const [[c], [k], [p]] = await Promise.all([
    t.app.dataSource.query('SELECT count(*)::int AS n FROM connections'),
    t.app.dataSource.query('SELECT count(*)::int AS n FROM credentials'),
    t.app.dataSource.query('SELECT value FROM backup_policies'),
  ]);
  return { connections: c.n, credentials: k.n, policies: JSON.stringify(p ?? null) };
}

const CONNECT = `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`;

describe('a credential of the wrong kind', () => {
  it.each([
    ['an encryption key', 'key', /"backup key" is an encryption key/],
    ['an OAuth client secret', 'clientSecret', /"app secret" is an OAuth client secret/],
    ['a password', 'password', /"a password" is a password/],
  ] as const)(
    'is refused as the personal access token of connectGitLab (%s), and never sent to GitLab',
    async (_what, which, message) => {
      const before = stored();
      const requests = sim.requestsTo(/^\/api\/v4\//).length;
      const r = await t.gql(CONNECT, {
        i: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: sim.url, login: 'alice', credentialId: ids[which] },
      });
      expect(r.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        fields: { 'input.credentialId': expect.stringMatching(message) },
      });
      expect(sim.requestsTo(/^\/api\/v4\//)).toHaveLength(requests);
      expect(await stored()).toEqual(await before);
    },
  );

  it('is refused as the client secret of an own OAuth application', async () => {
    const before = await stored();
    const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { authorizationUrl } }`, {
      i: {
        method: 'OAUTH_APP',
        instanceUrl: sim.url,
        clientId: 'some-application-id',
        clientSecretCredentialId: ids.pat,
      },
    });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: { 'input.clientSecretCredentialId': expect.stringMatching(/"alice token" is a personal access token/) },
    });
    expect(await stored()).toEqual(before);
  });

  it('is refused as the encryption key of a backup policy', async () => {
    const settings = (
      await t.gql(
        `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup } } }`,
        { o: orgId },
      )
    ).data.policy.settings;
    const before = await stored();
    for (const which of ['pat', 'clientSecret'] as const) {
      const r = await t.gql(
        `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { settings { encryptionCredentialId } } }`,
        {
          o: orgId,
          i: { ...settings, encryptionCredentialId: ids[which] },
        },
      );
      expect(r.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        fields: { 'input.encryptionCredentialId': expect.stringMatching(/must be the id of an encryption key/) },
      });
    }
    expect(await stored()).toEqual(before);
  });

  it('names the field when the id is no credential at all', async () => {
    const r = await t.gql(CONNECT, {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        credentialId: '00000000-0000-4000-8000-000000000000',
      },
    });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: { 'input.credentialId': expect.stringMatching(/no credential has id/) },
    });
  });

  it('of the right kind is accepted', async () => {
    const r = await t.gql(CONNECT, {
      i: { method: 'PERSONAL_ACCESS_TOKEN', instanceUrl: sim.url, login: 'alice', credentialId: ids.pat },
    });
    expect(r.errors).toBeUndefined();
  });
});
