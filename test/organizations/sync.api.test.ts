import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nextJob, startTestApp, subscribe, untilListening, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, anOrganization } from '../support/gitlab-seed.js';

let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let acme: ReturnType<typeof anOrganization>;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  acme = anOrganization(sim, alice.id, { path: 'acme', projectCount: 5 });
  t = await startTestApp({ gitlab: { url: sim.url } });
  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(
    `mutation($input: ConnectGitLabInput!) { connectGitLab(input: $input) { connection { id } } }`,
    {
      input: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        personalAccessToken: aToken(sim, alice.id).token,
        namespacePath: 'acme',
      },
    },
  );
  await synced;
  const orgs = await t.gql(`query($c: ID) { organizations(connectionId: $c) { id } }`, {
    c: r.data.connectGitLab.connection.id,
  });
  orgId = orgs.data.organizations[0].id;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

type Progress = {
  syncProgress: {
    syncRunId: string;
    status: string;
    phase: string;
    projectsListed: number;
    repositoriesAdded: number;
    repositoriesGone: number;
    errorCode: string | null;
  };
};

/** Runs syncRepositories and returns every syncProgress event of that run, through the terminal one. */
async function syncAndWatch() {
  const sub = subscribe<Progress>(
    t.ws(),
    `subscription($o: ID!) { syncProgress(organizationId: $o) { syncRunId status phase projectsListed repositoriesAdded repositoriesGone errorCode } }`,
    { o: orgId },
  );
  await untilListening(
    sub,
    () =>
      t.app.pubSub.publish('SYNC_PROGRESS', orgId, {
        organizationId: orgId,
        syncRunId: 'probe',
        status: 'QUEUED',
        phase: 'QUEUED',
        projectsListed: 0,
        projectsTotal: null,
        groupsListed: 0,
        repositoriesAdded: 0,
        repositoriesGone: 0,
        errorCode: null,
        errorMessage: null,
        at: '',
      }),
    (e) => e.syncProgress.syncRunId === 'probe',
  );
  const r = await t.gql(`mutation($o: ID!) { syncRepositories(organizationId: $o) { id status } }`, { o: orgId });
  const runId = r.data.syncRepositories.id;
  await sub.next((e) => e.syncProgress.syncRunId === runId && e.syncProgress.phase === 'DONE');
  sub.dispose();
  return sub.events.map((e) => e.syncProgress).filter((e) => e.syncRunId === runId);
}

const repositories = async (extra = '') =>
  (
    await t.gql(
      `query($id: ID!) { organization(id: $id) {
      repositoryCounts { total protected unprotected deletedUpstream }
      repositories(first: 100${extra}) { nodes { id gitlabProjectId pathWithNamespace isProtected deletedUpstreamAt } } } }`,
      { id: orgId },
    )
  ).data.organization;

describe('repository sync', () => {
  it('adds a new upstream project to the backup automatically when auto-add is on, reporting progress live', async () => {
    const created = sim.createProject({ namespaceId: acme.groups[2].id, path: 'brand-new', withCommit: false });
    const events = await syncAndWatch();
    expect(events[0]).toMatchObject({ status: 'QUEUED' });
    expect(events.map((e) => e.phase)).toEqual(expect.arrayContaining(['LISTING_PROJECTS', 'SAVING', 'DONE']));
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED', repositoriesAdded: 1, projectsListed: 6 });
    const org = await repositories();
    expect(org.repositories.nodes).toContainEqual(
      expect.objectContaining({ gitlabProjectId: created.id, isProtected: true }),
    );
    expect(org.repositoryCounts).toMatchObject({ total: 6, protected: 6, unprotected: 0 });
  });

  it('lists a new project as unprotected when auto-add is off', async () => {
    await t.gql(
      `mutation($id: ID!) { updateOrganization(input: { id: $id, autoAddNewRepositories: false }) { autoAddNewRepositories } }`,
      { id: orgId },
    );
    const created = sim.createProject({ namespaceId: acme.root.id, path: 'not-yet-protected', withCommit: false });
    await syncAndWatch();
    const org = await repositories();
    expect(org.repositories.nodes).toContainEqual(
      expect.objectContaining({ gitlabProjectId: created.id, isProtected: false }),
    );
    expect(org.repositoryCounts).toMatchObject({ protected: 6, unprotected: 1 });
    const unprotected = await t.gql(
      `query($id: ID!) { organization(id: $id) { repositories(isProtected: false) { nodes { gitlabProjectId } } } }`,
      { id: orgId },
    );
    expect(unprotected.data.organization.repositories.nodes).toEqual([{ gitlabProjectId: created.id }]);
  });

  it('marks a project deleted upstream with the date and keeps it', async () => {
    const gone = acme.projects[0];
    sim.deleteProject(gone.id);
    const events = await syncAndWatch();
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED', repositoriesGone: 1 });
    const org = await repositories(', includeDeletedUpstream: true');
    expect(org.repositories.nodes).toContainEqual(
      expect.objectContaining({ gitlabProjectId: gone.id, deletedUpstreamAt: expect.any(String) }),
    );
    expect(org.repositoryCounts.deletedUpstream).toBe(1);
    const visible = await repositories();
    expect(visible.repositories.nodes.map((n: { gitlabProjectId: number }) => n.gitlabProjectId)).not.toContain(
      gone.id,
    );
  });

  it('honours Retry-After when GitLab answers 429, and completes', async () => {
    sim.rateLimitNext(1, { retryAfterSeconds: 1 });
    const started = Date.now();
    const events = await syncAndWatch();
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const statuses = sim.requests.filter((q) => q.path.startsWith('/api/v4')).map((q) => q.status);
    const i = statuses.lastIndexOf(429);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(statuses[i + 1]).toBe(200);
  });

  it('retries 5xx answers with backoff and completes', async () => {
    sim.failNext(2, { status: 502 });
    const events = await syncAndWatch();
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('keeps the previous list and says why when the sync fails', async () => {
    const before = await repositories(', includeDeletedUpstream: true');
    sim.failNext(50, { status: 503 });
    const events = await syncAndWatch();
    expect(events.at(-1)).toMatchObject({ status: 'FAILED', errorCode: 'GITLAB_UNAVAILABLE' });
    const last = await t.gql(`query($id: ID!) { organization(id: $id) { lastSync { status errorMessage } } }`, {
      id: orgId,
    });
    expect(last.data.organization.lastSync).toMatchObject({ status: 'FAILED', errorMessage: expect.any(String) });
    sim.failNext(0, { status: 503 });
    expect(await repositories(', includeDeletedUpstream: true')).toEqual(before);
  });
});
