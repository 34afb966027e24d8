import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { createTestDatabase } from '../support/database.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { statementCounter } from '../support/sql-statements.js';

/**
 * The API's response cache (graphql/response-cache.ts) on an API-only process with real
 * PostgreSQL: a repeated query is answered without computing it, and never with a state older
 * than the last committed write — whoever wrote it — nor older than its age bound.
 */
const DETAIL = `query($id: ID!, $first: Int = 50) { organization(id: $id) { id name repositoryCounts { total }
  repositories(first: $first) { totalCount nodes { id name latestSnapshot { id } } } } }`;
const TOKENS = `{ apiTokens { name revokedAt } }`;

let sim: GitLabSimulator;
let db: { url: string; drop(): Promise<void> };
let backups: string;
let api: TestApp;
let elsewhere: pg.Client;
let organizationId: string;
const clock = new FakeClock(new Date());
let measure: ReturnType<typeof statementCounter>;

/** Only the database version was read: the answer came from memory. */
const VERSION_ONLY = [expect.stringMatching(/pg_current_snapshot\(\)/)];

/**
 * One process with a worker connects the organization and backs it up, then stops: from then on
 * nothing writes to the database but the tests themselves (through the API process, or through
 * `elsewhere`, a connection of its own standing for another process).
 */
beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (let i = 0; i < 12; i++) sim.createProject({ namespaceId: group.id, path: `p${i}`, withCommit: i === 0 });
  db = await createTestDatabase();
  // Its data directory (holding the backup) outlives it: the API process reads the manifest there.
  backups = await mkdtemp(join(tmpdir(), 'labkeeper-cache-test-'));
  const seeder = await startTestApp({
    gitlab: { url: sim.url },
    databaseUrl: db.url,
    env: { LABKEEPER_DATA_DIR: backups },
  });
  try {
    ({ organizationId } = await connectOrganization(seeder, sim, {
      userId: alice.id,
      namespacePath: 'acme',
      includeGroups: false,
    }));
    const run = await runBackup(seeder, organizationId);
    expect(run.problems).toEqual([]);
  } finally {
    await seeder.stop();
  }
  api = await startTestApp({
    gitlab: { url: sim.url },
    databaseUrl: db.url,
    masterKey: seeder.masterKey,
    worker: false,
    clock,
    env: { LABKEEPER_API_CACHE_SECONDS: '2' },
  });
  measure = statementCounter(api.app.dataSource);
  elsewhere = new pg.Client({ connectionString: db.url });
  await elsewhere.connect();
});
afterAll(async () => {
  await elsewhere?.end();
  await api?.stop();
  await db?.drop();
  await sim?.close();
  if (backups) await rm(backups, { recursive: true, force: true });
});

async function tokenOf(role: string, name: string): Promise<string> {
  const created = await api.gql(`mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }`, {
    i: { name, role },
  });
  expect(created.errors).toBeUndefined();
  return created.data.createApiToken.token as string;
}

/** PostgreSQL's snapshot now, read through a connection that writes nothing. */
async function databaseVersionNow(): Promise<string> {
  return ((await elsewhere.query('SELECT pg_current_snapshot()::text AS v')).rows[0] as { v: string }).v;
}

/**
 * Runs `act` (after `prepare`, each time) until it ran while no writer committed: the snapshot is
 * the same before and after. It is the whole PostgreSQL server's (other test files' databases share
 * it), so a commit anywhere rightly makes the cache compute again; what is asserted of a cache hit
 * is asserted of a moment in which nothing changed.
 */
async function whileNothingCommits<T>(act: () => Promise<T>, prepare?: () => Promise<unknown>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await prepare?.();
    const before = await databaseVersionNow();
    const result = await act();
    if ((await databaseVersionNow()) === before) return result;
    if (attempt === 100) throw new Error('the database never stayed unchanged for the length of one attempt');
  }
}

describe('the response cache', () => {
  it('answers the same query again from memory while the database is unchanged', async () => {
    const first = await measure(() => api.gql(DETAIL, { id: organizationId }));
    expect(first.result.errors).toBeUndefined();
    expect(first.statements.length).toBeGreaterThan(1);
    const again = await whileNothingCommits(async () => {
      await api.gql(DETAIL, { id: organizationId }); // computed and stored, unless stored already
      return measure(() => api.gql(DETAIL, { id: organizationId }));
    });
    expect(again.result.data).toEqual(first.result.data);
    expect(again.statements).toEqual(VERSION_ONLY);
  });

  it('computes an answer asked by many at once only once', async () => {
    const alone = await measure(() => api.gql(DETAIL, { id: organizationId, first: 49 }));
    const computing = alone.statements.filter((q) => !/pg_current_snapshot/.test(q));
    expect(computing.length).toBeGreaterThan(0);
    const together = await whileNothingCommits(
      () =>
        measure(() =>
          Promise.all(Array.from({ length: 10 }, () => api.gql(DETAIL, { id: organizationId, first: 49 }))),
        ),
      () => elsewhere.query(`UPDATE repositories SET name = name || '-' WHERE organization_id = $1`, [organizationId]),
    );
    for (const r of together.result) expect(r.data).toEqual(together.result[0].data);
    expect(together.statements.filter((q) => !/pg_current_snapshot/.test(q))).toHaveLength(computing.length);
  });

  it('shows a write another process committed in the very next answer', async () => {
    await api.gql(DETAIL, { id: organizationId });
    await elsewhere.query(
      `UPDATE repositories SET name = 'renamed-elsewhere'
        WHERE id = (SELECT id FROM repositories WHERE organization_id = $1 ORDER BY id LIMIT 1)`,
      [organizationId],
    );
    const after = await measure(() => api.gql(DETAIL, { id: organizationId }));
    expect(after.statements.length).toBeGreaterThan(1);
    const names = after.result.data.organization.repositories.nodes.map((n: { name: string }) => n.name);
    expect(names).toContain('renamed-elsewhere');
  });

  it("shows a mutation's effect to the next query", async () => {
    const before = await api.gql(TOKENS);
    expect(before.data.apiTokens.map((t: { name: string }) => t.name)).not.toContain('written through the API');
    await tokenOf('VIEWER', 'written through the API');
    const after = await api.gql(TOKENS);
    expect(after.data.apiTokens.map((t: { name: string }) => t.name)).toContain('written through the API');
  });

  it("never serves one token's answer to another", async () => {
    const viewer = await tokenOf('VIEWER', 'a viewer');
    await api.gql('{ organizations { id } }', {}, viewer); // its first use writes lastUsedAt
    const admin = await api.gql(TOKENS);
    expect(admin.errors).toBeUndefined();
    const asViewer = await api.gql(TOKENS, {}, viewer);
    expect(asViewer.data).toBeNull();
    expect(asViewer.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a revoked token even when its answer is stored', async () => {
    const operator = await tokenOf('BACKUP_OPERATOR', 'revoked soon');
    expect((await api.gql(DETAIL, { id: organizationId }, operator)).errors).toBeUndefined();
    const { data } = await api.gql(TOKENS.replace('name', 'id name'));
    const id = data.apiTokens.find((t: { name: string }) => t.name === 'revoked soon').id;
    expect((await api.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id })).errors).toBeUndefined();
    const refused = await api.gql(DETAIL, { id: organizationId }, operator);
    expect(refused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('computes the answer again once the stored one is older than the age bound', async () => {
    const cached = await whileNothingCommits(async () => {
      await api.gql(DETAIL, { id: organizationId });
      return measure(() => api.gql(DETAIL, { id: organizationId }));
    });
    expect(cached.statements).toEqual(VERSION_ONLY);
    clock.advance(2_000);
    const aged = await measure(() => api.gql(DETAIL, { id: organizationId }));
    expect(aged.statements.length).toBeGreaterThan(1);
  });

  it("never stores an answer read from a storage (a snapshot's manifest)", async () => {
    const query = `query($o: ID!) { snapshots(organizationId: $o, first: 1) { nodes { id manifest } } }`;
    const first = await api.gql(query, { o: organizationId });
    expect(first.errors).toBeUndefined();
    expect(JSON.parse(first.data.snapshots.nodes[0].manifest)).toHaveProperty('artifacts');
    const again = await measure(() => api.gql(query, { o: organizationId }));
    expect(again.result.data).toEqual(first.data);
    expect(again.statements.length).toBeGreaterThan(1);
  });
});
