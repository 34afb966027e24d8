import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from '../support/app.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { statementCounter } from '../support/sql-statements.js';

/**
 * The cost in SQL statements of the queries the web client issues, measured on an API-only
 * process (no jobs share its database pool) against real PostgreSQL. README "API performance"
 * documents the bounds; they are fixed numbers, whatever the page size or number of organizations.
 * Authentication's own statements (the token lookup, and its last-used write at most once a
 * minute) are the same for every request and are not counted. The response cache is off in the
 * process measured: these are the costs of computing an answer (response-cache.api.test.ts shows
 * what a repeated query costs).
 */
const PAGE_OF_50_BOUND = 6;
const OVERVIEW_BOUND = 5;
/** runs, connections, drills, replica copies, verifications, stale repositories, anomalies */
const NEEDS_ATTENTION_BOUND = 7;

const DETAIL = `query($id: ID!, $first: Int) { organization(id: $id) {
  id name repositoryCounts { total protected unprotected deletedUpstream }
  lastSync { id status }
  repositories(first: $first) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id pathWithNamespace isProtected latestSnapshot { id createdAt copyType sizeBytes verificationStatus holdsWiki holdsLfsObjects } } } } }`;
const OVERVIEW = `query($c: ID) { organizations(connectionId: $c) {
  id name lastSync { id status } repositoryCounts { total protected unprotected deletedUpstream } }
  connections { id status warnings gitlabUser { id username } } }`;

let sim: GitLabSimulator;
let seeder: TestApp;
let api: TestApp;
let acme: { organizationId: string; connectionId: string };
let beta: { organizationId: string; connectionId: string };

let measure: ReturnType<typeof statementCounter>;

/** Two snapshots per repository (the newer one is "latest"), as rows a backup would leave. */
async function seedSnapshots(dataSource: DataSource, organizationId: string): Promise<Map<string, string>> {
  await dataSource.query(
    `INSERT INTO snapshots (id, repository_id, organization_id, run_id, copy_type, chain_key, storage_root,
       storage_prefix, manifest_sha256, size_bytes, artifact_count, ref_count, created_at)
     SELECT gen_random_uuid(), r.id, r.organization_id, $2::uuid, v.copy_type, 'c', '/x', 'p', 'sha', 10, 1, 1,
            now() - v.age * interval '1 hour'
       FROM repositories r CROSS JOIN (VALUES ('FULL', 2), ('INCREMENTAL', 1)) AS v(copy_type, age)
      WHERE r.organization_id = $1`,
    [organizationId, randomUUID()],
  );
  const rows: { repository_id: string; id: string }[] = await dataSource.query(
    `SELECT repository_id, id FROM snapshots WHERE organization_id = $1 AND copy_type = 'INCREMENTAL'`,
    [organizationId],
  );
  return new Map(rows.map((r) => [r.repository_id, r.id]));
}

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const acmeGroup = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (let i = 0; i < 60; i++) sim.createProject({ namespaceId: acmeGroup.id, path: `p${i}`, withCommit: false });
  const betaGroup = sim.createGroup({ path: 'beta', ownerId: alice.id });
  for (let i = 0; i < 3; i++) sim.createProject({ namespaceId: betaGroup.id, path: `b${i}`, withCommit: false });
  seeder = await startTestApp({ gitlab: { url: sim.url } });
  acme = await connectOrganization(seeder, sim, { userId: alice.id, namespacePath: 'acme', includeGroups: false });
  beta = await connectOrganization(seeder, sim, { userId: alice.id, namespacePath: 'beta', includeGroups: false });
  api = await startTestApp({
    gitlab: { url: sim.url },
    databaseUrl: seeder.databaseUrl,
    masterKey: seeder.masterKey,
    worker: false,
    env: { LABKEEPER_API_CACHE_SECONDS: '0' },
  });
  measure = statementCounter(api.app.dataSource);
});
afterAll(async () => {
  await api?.stop();
  await seeder?.stop();
  await sim?.close();
});

describe('statements per operation', () => {
  let newest: Map<string, string>;
  beforeAll(async () => {
    newest = await seedSnapshots(seeder.app.dataSource, acme.organizationId);
  });

  it(`answers a page of 50 repositories with their latest snapshot in at most ${PAGE_OF_50_BOUND} statements`, async () => {
    const { result, statements } = await measure(() => api.gql(DETAIL, { id: acme.organizationId, first: 50 }));
    expect(result.errors).toBeUndefined();
    const nodes = result.data.organization.repositories.nodes as { id: string; latestSnapshot: { id: string } }[];
    expect(nodes).toHaveLength(50);
    for (const node of nodes) expect(node.latestSnapshot.id).toBe(newest.get(node.id));
    expect(result.data.organization.repositoryCounts).toEqual({
      total: 60,
      protected: 60,
      unprotected: 0,
      deletedUpstream: 0,
    });
    expect(statements.length).toBeLessThanOrEqual(PAGE_OF_50_BOUND);
  });

  it('costs the same for a page of 5 as for a page of 50', async () => {
    const five = await measure(() => api.gql(DETAIL, { id: acme.organizationId, first: 5 }));
    const fifty = await measure(() => api.gql(DETAIL, { id: acme.organizationId, first: 50 }));
    expect(five.result.data.organization.repositories.nodes).toHaveLength(5);
    expect(fifty.statements.length).toBe(five.statements.length);
  });

  it(`lists every organization with its counts and last sync in at most ${OVERVIEW_BOUND} statements, however many there are`, async () => {
    const one = await measure(() => api.gql(OVERVIEW, { c: acme.connectionId }));
    const all = await measure(() => api.gql(OVERVIEW, {}));
    expect(one.result.errors).toBeUndefined();
    expect(one.result.data.organizations).toHaveLength(1);
    expect(all.result.data.organizations.map((o: { id: string }) => o.id).sort()).toEqual(
      [acme.organizationId, beta.organizationId].sort(),
    );
    const counts = Object.fromEntries(
      all.result.data.organizations.map((o: { id: string; repositoryCounts: { total: number } }) => [
        o.id,
        o.repositoryCounts.total,
      ]),
    );
    expect(counts).toEqual({ [acme.organizationId]: 60, [beta.organizationId]: 3 });
    for (const o of all.result.data.organizations) expect(o.lastSync.status).toBe('SUCCEEDED');
    expect(all.result.data.connections).toHaveLength(2);
    expect(all.statements.length).toBe(one.statements.length);
    expect(all.statements.length).toBeLessThanOrEqual(OVERVIEW_BOUND);
  });

  it(`lists what needs attention across every organization in ${NEEDS_ATTENTION_BOUND} statements, however many items there are`, async () => {
    const query = `{ needsAttention { kind organizationId repositoryId } }`;
    const none = await measure(() => api.gql(query));
    expect(none.result.errors).toBeUndefined();
    expect(none.result.data.needsAttention).toEqual([]);
    // Every repository of both organizations silent for three days: stale, up to 50 listed.
    await seeder.app.dataSource.query(`UPDATE snapshots SET created_at = created_at - interval '3 days'`);
    await seeder.app.dataSource.query(`UPDATE repositories SET discovered_at = discovered_at - interval '4 days'`);
    const many = await measure(() => api.gql(query));
    const items = many.result.data.needsAttention as { kind: string; organizationId: string }[];
    expect(items).toHaveLength(50);
    expect(new Set(items.map((i) => i.kind))).toEqual(new Set(['REPOSITORY_STALE']));
    expect(new Set(items.map((i) => i.organizationId))).toEqual(new Set([acme.organizationId, beta.organizationId]));
    expect(many.statements.length).toBe(none.statements.length);
    expect(many.statements.length).toBeLessThanOrEqual(NEEDS_ATTENTION_BOUND);
  });
});
