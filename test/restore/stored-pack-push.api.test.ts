import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runBackup } from '../support/backups.js';
import type { GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aBackedUpOrganizationWithATarget, type NewProjectRestoreSetup } from '../support/new-project-restore.js';

/**
 * A NEW_PROJECT restore of a verified FULL snapshot sends the snapshot's stored pack to the new
 * project's receive-pack as it is: no `git push` (git's own client, which re-packs every object
 * from a scratch repository it first indexed) reaches GitLab, and the project ends with exactly
 * the snapshot's refs, its default branch, and a repository git finds whole. A chain with an
 * incremental that brought objects is still rebuilt and pushed with git, to the same result.
 */
let setup: NewProjectRestoreSetup;
let source: GitLabSimulator;
let target: GitLabSimulator;
let appId: number;
let legacyId: number;

const sh = (args: string[], cwd?: string) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A repository's refs as `git for-each-ref` lists them, GitLab's internal ones left out (a push never writes them). */
const refsOf = (dir: string) =>
  sh(['for-each-ref', '--format=%(objectname) %(refname)'], dir)
    .split('\n')
    .filter((line) => line && !/ refs\/(merge-requests|pipelines|environments|keep-around|tmp)\//.test(line))
    .sort();

beforeAll(async () => {
  setup = await aBackedUpOrganizationWithATarget({
    targetGroups: ['restored', 'again'],
    beforeBackup(sim, { appId: app, aliceId }) {
      sim.createTag(app, { tag: 'v1.0.1', message: 'annotated' });
      sim.createMergeRequest(app, {
        title: 'Feature',
        sourceBranch: 'feature',
        targetBranch: 'main',
        authorId: aliceId,
      });
      sim.pushWikiPage(app, { title: 'Home', content: 'Welcome' });
    },
  });
  ({ source, target, appId, legacyId } = setup);
});

afterAll(async () => {
  await setup?.stop();
});

/** Who sent the pushes to a repository (…/git-receive-pack POSTs): `git/…` is git's own client. */
const pushers = (path: string) =>
  target
    .requestsTo(new RegExp(`^/${path}\\.git/git-receive-pack$`))
    .filter((r) => r.method === 'POST')
    .map((r) => (r.userAgent?.startsWith('git/') ? 'git' : r.userAgent));

/** The push options of every successful push into a project (GitLab acts on `ci.skip`). */
const pushOptions = (projectId: number) =>
  target.state.pushes.filter((p) => p.projectId === projectId).map((p) => p.options.join(' '));

describe('a NEW_PROJECT restore of a verified FULL snapshot', () => {
  it('pushes the stored pack as it is, with no git push, and the new projects hold exactly the snapshot’s refs', async () => {
    target.failNext(1, { status: 503, pathPattern: /^\/restored\/app\.git\/git-receive-pack$/ });
    expect(await setup.restoreOrganization('restored')).toBe('SUCCEEDED');

    // app: one push (its head is main, the new project's HEAD) after the 503 was retried;
    // legacy: develop first, alone, so that it becomes the default branch, then the rest.
    expect(pushers('restored/app')).toEqual(['labkeeper', 'labkeeper']);
    expect(target.requestsTo(/^\/restored\/app\.git\/git-receive-pack$/).map((r) => r.status)).toEqual([503, 200]);
    expect(pushers('restored/legacy')).toEqual(['labkeeper', 'labkeeper']);
    expect(pushers('restored/app.wiki')).toEqual(['labkeeper']);

    const app = await setup.project('restored/app');
    const legacy = await setup.project('restored/legacy');
    expect(app.default_branch).toBe('main');
    expect(legacy.default_branch).toBe('develop');
    expect(refsOf(target.repoPath(app.id))).toEqual(refsOf(source.repoPath(appId)));
    expect(refsOf(target.repoPath(app.id))).toContainEqual(expect.stringMatching(/ refs\/tags\/v1\.0\.1$/));
    expect(refsOf(target.wikiPath(app.id))).toEqual(refsOf(source.wikiPath(appId)));
    expect(refsOf(target.repoPath(legacy.id))).toEqual(refsOf(source.repoPath(legacyId)));
    // no pipeline is created and no CI integration is told for a restore's pushes
    expect(pushOptions(app.id)).toEqual(['ci.skip integrations.skip_ci', 'ci.skip integrations.skip_ci']);
    expect(pushOptions(legacy.id)).toEqual(['ci.skip integrations.skip_ci', 'ci.skip integrations.skip_ci']);
    for (const dir of [target.repoPath(app.id), target.wikiPath(app.id), target.repoPath(legacy.id)])
      sh(['fsck', '--strict', '--no-dangling', '--no-progress'], dir); // throws on anything missing or broken
  });

  it('rebuilds and pushes with git a chain whose incremental brought objects, and still pushes from storage one whose later snapshots brought none', async () => {
    source.pushCommit(appId, { branch: 'main', files: { 'later.txt': 'z\n' } });
    source.advanceTime(60 * 60_000);
    expect((await runBackup(setup.t, setup.organizationId)).status).toBe('SUCCEEDED');
    expect(await setup.restoreOrganization('again')).toBe('SUCCEEDED');

    expect(pushers('again/app')).toEqual(['git']); // FULL + INCREMENTAL: materialised, then git push
    // unchanged: its second snapshot has no bundle, so the FULL's pack still holds every object
    expect(pushers('again/legacy')).toEqual(['labkeeper', 'labkeeper']);
    expect(refsOf(target.repoPath((await setup.project('again/legacy')).id))).toEqual(
      refsOf(source.repoPath(legacyId)),
    );
    const app = await setup.project('again/app');
    expect(app.default_branch).toBe('main');
    expect(refsOf(target.repoPath(app.id))).toEqual(refsOf(source.repoPath(appId)));
    sh(['fsck', '--strict', '--no-dangling', '--no-progress'], target.repoPath(app.id));
    // git's own push carries the same options as the stored-pack push
    expect(pushOptions(app.id).length).toBeGreaterThan(0);
    expect(new Set(pushOptions(app.id))).toEqual(new Set(['ci.skip integrations.skip_ci']));
  });
});
