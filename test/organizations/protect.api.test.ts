import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, anOrganization } from '../support/gitlab-seed.js';

/** One Organization per GitLab group: protecting it again, through any connection to the same instance, is refused. */
let sim: GitLabSimulator;
let t: TestApp;
let existing: { organizationId: string; connectionId: string };
let bobConnectionId: string;
let userIds: { alice: number; bob: number };

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const bob = aUser(sim, 'bob');
  userIds = { alice: alice.id, bob: bob.id };
  const acme = anOrganization(sim, alice.id, { path: 'acme', projectCount: 3 });
  sim.addMember('group', acme.root.id, bob.id, 40);
  t = await startTestApp({ gitlab: { url: sim.url } });
  existing = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' });
  const r = await t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'bob',
      personalAccessToken: aToken(sim, bob.id).token,
    },
  });
  bobConnectionId = r.data.connectGitLab.connection.id;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const PROTECT = `mutation($i: ProtectNamespaceInput!) { protectNamespace(input: $i) { id } }`;
const organizationCount = async () =>
  (await t.app.dataSource.query('SELECT count(*)::int AS n FROM organizations'))[0].n;

describe('protecting a group already protected', () => {
  it('through another connection to the same instance is refused, naming the existing organization', async () => {
    const before = await organizationCount();
    const r = await t.gql(PROTECT, { i: { connectionId: bobConnectionId, namespacePath: 'acme' } });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      reason: 'ORGANIZATION_ALREADY_PROTECTED',
      fields: { 'input.namespacePath': expect.stringContaining(existing.organizationId) },
    });
    expect(r.errors?.[0]?.message).toContain(existing.organizationId);
    expect(await organizationCount()).toBe(before);
  });

  it('through the same connection is refused the same way', async () => {
    const r = await t.gql(PROTECT, { i: { connectionId: existing.connectionId, namespacePath: 'acme' } });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      fields: { 'input.namespacePath': expect.stringContaining(existing.organizationId) },
    });
  });

  it('twice at once through two connections stores one organization', async () => {
    const both = sim.createGroup({ path: 'both', ownerId: userIds.alice });
    sim.addMember('group', both.id, userIds.bob, 40);
    const results = await Promise.all([
      t.gql(PROTECT, { i: { connectionId: existing.connectionId, namespacePath: 'both' } }),
      t.gql(PROTECT, { i: { connectionId: bobConnectionId, namespacePath: 'both' } }),
    ]);
    expect(results.filter((r) => r.errors === undefined)).toHaveLength(1);
    expect(results.find((r) => r.errors)?.errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      reason: 'ORGANIZATION_ALREADY_PROTECTED',
    });
    expect(
      (await t.app.dataSource.query(`SELECT count(*)::int AS n FROM organizations WHERE full_path = 'both'`))[0].n,
    ).toBe(1);
  });
});
