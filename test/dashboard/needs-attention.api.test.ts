import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/** needsAttention: the dashboard's list of current problems, each with what to do, against the simulator. */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let connectionId: string;

const NEEDS_ATTENTION = `{ needsAttention { kind title detail action at organizationId runId repositoryId connectionId drillRunId snapshotId } }`;
const UPLOAD_PACK = /\.git\/git-upload-pack$/;

interface Item {
  kind: string;
  title: string;
  detail: string | null;
  action: string;
  runId: string | null;
  repositoryId: string | null;
  connectionId: string | null;
  organizationId: string | null;
}

async function needsAttention(token?: string): Promise<Item[]> {
  const r = await t.gql(NEEDS_ATTENTION, {}, token);
  expect(r.errors).toBeUndefined();
  return r.data.needsAttention;
}

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['api', 'web']) sim.createProject({ namespaceId: group.id, path, withCommit: true });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId, connectionId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

describe('needsAttention', () => {
  it('is empty while everything is well', async () => {
    const run = await runBackup(t, orgId);
    expect(run.status).toBe('SUCCEEDED');
    await expect(needsAttention()).resolves.toEqual([]);
  });

  it('lists an organization whose latest run FAILED, with the run, the reason and what to do', async () => {
    sim.failEvery(1, { status: 503, pathPattern: UPLOAD_PACK });
    const run = await runBackup(t, orgId);
    sim.failEvery(0, { status: 503, pathPattern: UPLOAD_PACK });
    expect(run.status).toBe('FAILED');

    const items = await needsAttention();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      kind: 'RUN_FAILED',
      title: 'The last backup of acme failed (2 of 2 items failed).',
      detail: expect.stringMatching(/^acme\/api: .*503/),
      action: expect.stringMatching(/^Open the run .* Run now\.$/),
      organizationId: orgId,
      runId: run.runId,
    });
  });

  it('is readable by a VIEWER too', async () => {
    const viewer = await t.gql(
      `mutation { createApiToken(input: { name: "dashboard viewer", role: VIEWER }) { token } }`,
    );
    const items = await needsAttention(viewer.data.createApiToken.token);
    expect(items.map((i) => i.kind)).toEqual(['RUN_FAILED']);
  });

  it('says PARTIAL when only some repositories failed, and forgets the run once a later one succeeds', async () => {
    sim.failEvery(1, { status: 503, pathPattern: /\/acme\/web\.git\/git-upload-pack$/ });
    const partial = await runBackup(t, orgId);
    sim.failEvery(0, { status: 503, pathPattern: /\/acme\/web\.git\/git-upload-pack$/ });
    expect(partial.status).toBe('PARTIAL');
    const items = await needsAttention();
    expect(items).toEqual([
      expect.objectContaining({
        kind: 'RUN_PARTIAL',
        title: 'The last backup of acme finished partly (1 of 2 items failed).',
        runId: partial.runId,
      }),
    ]);

    const ok = await runBackup(t, orgId);
    expect(ok.status).toBe('SUCCEEDED');
    await expect(needsAttention()).resolves.toEqual([]);
  });

  it('lists protected repositories without a successful backup for 48 hours', async () => {
    await t.app.dataSource.query(
      `UPDATE snapshots SET created_at = created_at - interval '3 days' WHERE organization_id = $1`,
      [orgId],
    );
    await t.app.dataSource.query(
      `UPDATE backup_run_items SET finished_at = finished_at - interval '3 days'
        WHERE run_id IN (SELECT id FROM backup_runs WHERE organization_id = $1)`,
      [orgId],
    );
    const items = await needsAttention();
    // Least recently backed up first: which of the two that is depends on which finished first in the run.
    expect(items.map((i) => [i.kind, i.title]).sort()).toEqual([
      ['REPOSITORY_STALE', 'acme/api has had no successful backup for more than 48 hours.'],
      ['REPOSITORY_STALE', 'acme/web has had no successful backup for more than 48 hours.'],
    ]);
    expect(items.every((i) => i.repositoryId && i.organizationId === orgId)).toBe(true);
  });

  it('lists a connection whose token has expired, with how to replace it', async () => {
    await t.app.dataSource.query(`UPDATE connections SET token_expires_at = now() - interval '1 day' WHERE id = $1`, [
      connectionId,
    ]);
    const connection = (await needsAttention()).find((i) => i.connectionId === connectionId);
    expect(connection).toMatchObject({
      kind: 'CONNECTION_EXPIRED',
      title: expect.stringMatching(/^The token of the connection alice on 127\.0\.0\.1:\d+ has expired/),
      action: expect.stringMatching(/Password Manager/),
    });
  });
});
