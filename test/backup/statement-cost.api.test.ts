import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
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
 * About 18 per repository when written, the statements that follow the run's duration left out
 * (TIME_DRIVEN); 25 before (the snapshot row read four times, save()'s transactions, a credential
 * write per use, a replica lookup for a snapshot that cannot have one yet). About 17 since the
 * item's snapshot id is fixed in the statement that marks it RUNNING: no re-read of the item
 * after the repository's lock, no statement of its own for the id.
 */
const PER_REPOSITORY_BOUND = 18;
/**
 * Statements whose number follows the run's duration, not its repositories (a busy machine makes
 * the run longer): the run row read once a second for a cancellation, and by each job; the phase
 * written once a phase has lasted a second; worker heartbeats; and the every-minute schedulers.
 */
const TIME_DRIVEN = [
  /FROM "backup_runs"/,
  /^UPDATE "backup_run_items" SET "phase" = \$1 WHERE/,
  /"workers"|\bworkers\b/,
  /"backup_policies"|"drills"|"drill_|"alert|"sync_runs"|"organizations"."repo_sync/i,
];
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
    const perRepository = statements.filter((sql) => !TIME_DRIVEN.some((p) => p.test(sql))).length / REPOSITORIES;
    expect(perRepository).toBeLessThanOrEqual(PER_REPOSITORY_BOUND);
  });

  it("sends none of Agenda's job-state notifications (nothing listens to them across processes)", async () => {
    const listener = new pg.Client({ connectionString: t.databaseUrl });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.channel));
    await listener.query('LISTEN "agenda:jobs"');
    await listener.query('LISTEN "agenda:jobs:state"');
    try {
      const run = await runBackup(t, organizationId, { copyType: 'FULL' });

      expect(run).toMatchObject({ status: 'SUCCEEDED' });
      // The run's jobs were announced to the workers on the same connection's other channel…
      expect(heard.filter((channel) => channel === 'agenda:jobs').length).toBeGreaterThanOrEqual(REPOSITORIES);
      // …and none of their starts, successes or completions.
      expect(heard.filter((channel) => channel === 'agenda:jobs:state')).toEqual([]);
    } finally {
      await listener.end();
    }
  });
});
