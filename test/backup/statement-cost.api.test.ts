import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { customizePolicy, runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { statementCounter } from '../support/sql-statements.js';

/**
 * What backing up a repository costs the database, in statements sent through TypeORM (the
 * job queue's and the event channel's own clients aside), measured on a FULL run of the default
 * policy's verification: a fixed number per repository, documented in README "Benchmark". Every
 * statement is a round trip to PostgreSQL, and PostgreSQL shares the machine's cores with git.
 * About 20 per repository when written (30 before: the snapshot row read four times, phase UPDATEs of
 * milliseconds-long phases, save() transactions); the bound leaves room for the run's
 * once-a-second cancellation check on a slow machine.
 */
const PER_REPOSITORY_BOUND = 24;
const REPOSITORIES = 8;

let sim: GitLabSimulator;
let t: TestApp;
let organizationId: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (let k = 0; k < REPOSITORIES; k++) {
    const p = sim.createProject({ namespaceId: group.id, path: `app-${k}` });
    sim.pushCommit(p.id, { branch: 'main', files: { 'README.md': `# app ${k}\n` }, message: 'start' });
  }
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  await customizePolicy(t, organizationId, (current) => ({
    ...current,
    include: { ...current.include, wiki: false, lfs: false, metadata: [], groupMetadata: [] },
    verifyAfterBackup: true,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

describe('the database cost of a backup', () => {
  it(`stays within ${PER_REPOSITORY_BOUND} statements per repository for a verified FULL`, async () => {
    const measure = statementCounter(t.app.dataSource);

    const { result: run, statements } = await measure(() => runBackup(t, organizationId, { copyType: 'FULL' }));

    expect(run).toMatchObject({ status: 'SUCCEEDED', problems: [] });
    const perRepository = statements.length / REPOSITORIES;
    expect(perRepository).toBeLessThanOrEqual(PER_REPOSITORY_BOUND);
  });
});
