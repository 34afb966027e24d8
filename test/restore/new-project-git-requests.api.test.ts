import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { aBackedUpOrganizationWithATarget, type NewProjectRestoreSetup } from '../support/new-project-restore.js';

/**
 * What a NEW_PROJECT restore asks of the target's git, per repository: a project it has just created
 * is not asked for its refs (it has none), and the refs go in one push when the snapshot's head is
 * the branch the new project's HEAD already names (main); a project whose head is another branch
 * still gets that branch pushed first, on its own, so that GitLab makes it the default branch.
 */
let setup: NewProjectRestoreSetup;

beforeAll(async () => {
  setup = await aBackedUpOrganizationWithATarget({ targetGroups: ['restored'] });
});

afterAll(async () => {
  await setup?.stop();
});

const pushesTo = (path: string) =>
  setup.target.requestsTo(new RegExp(`^/${path}\\.git/git-receive-pack$`)).filter((r) => r.method === 'POST').length;

const refsAsked = (path: string) =>
  setup.target.requestsTo(new RegExp(`^/${path}\\.git/info/refs$`)).filter((r) => r.query.service === 'git-upload-pack')
    .length;

describe('a NEW_PROJECT restore talking to the target’s git', () => {
  it('pushes each repository once when its head is main, twice when it is another branch, and never asks a new project for its refs', async () => {
    expect(await setup.restoreOrganization('restored')).toBe('SUCCEEDED');

    expect(pushesTo('restored/app')).toBe(1);
    expect(pushesTo('restored/legacy')).toBe(2);
    expect(refsAsked('restored/app') + refsAsked('restored/legacy')).toBe(0);
    expect((await setup.project('restored/app')).default_branch).toBe('main');
    expect((await setup.project('restored/legacy')).default_branch).toBe('develop');
  });
});
