import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn } from '../support/browser.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { EVENT_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Snapshots timeline, the restore dialog (dry run, then a restore to a new project) and the live
 * restore progress page, in Chromium against the real server and the GitLab simulator.
 */
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let orgId: string;
let repositoryId: string;
let projectId: number;
let aliceToken: string;
let aliceId: number;

const gitAsync = promisify(execFile);
/** Async: the simulator serves git from this process, so a synchronous call would deadlock. */
const refsOf = async (repo: string) =>
  Object.fromEntries(
    (await gitAsync('git', ['ls-remote', repo], { encoding: 'utf8' })).stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t').reverse())
      .filter(([ref]) => ref !== 'HEAD' && !ref.endsWith('^{}') && !ref.startsWith('refs/merge-requests/')),
  );

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  aliceId = alice.id;
  const acme = sim.createGroup({ path: 'acme', ownerId: alice.id });
  sim.createGroup({ path: 'restored', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: acme.id, path: 'api', wikiEnabled: true }).id;
  sim.createBranch(projectId, { branch: 'feature' });
  sim.pushCommit(projectId, { branch: 'feature', files: { 'feature.txt': 'x\n' } });
  sim.createTag(projectId, { tag: 'v1.0.0' });
  sim.pushWikiPage(projectId, { title: 'Home', content: '# Docs' });
  sim.createLabel(projectId, { name: 'bug' });
  const issue = sim.createIssue(projectId, { title: 'Crash on start', labels: ['bug'] });
  sim.createNote(projectId, { noteableType: 'Issue', noteableIid: issue.iid, body: 'Seen on 1.0 too' });
  aliceToken = aToken(sim, alice.id, ['api', 'read_api', 'read_repository', 'write_repository']).token;

  t = await startTestApp({ gitlab: { url: sim.url } });
  const synced = nextJob(t, 'repositories.sync');
  const connected = await t.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id status } } }`,
    {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        personalAccessToken: aliceToken,
        namespacePath: 'acme',
        includeGroups: false,
      },
    },
  );
  expect(connected.data.connectGitLab.connection.status).toBe('CONNECTED');
  await synced;
  const orgs = await t.gql(
    `query($c: ID) { organizations(connectionId: $c) { id repositories { nodes { id pathWithNamespace } } } }`,
    {
      c: connected.data.connectGitLab.connection.id,
    },
  );
  orgId = orgs.data.organizations[0].id;
  repositoryId = orgs.data.organizations[0].repositories.nodes.find(
    (r: { pathWithNamespace: string }) => r.pathWithNamespace === 'acme/api',
  ).id;
  expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

const timelineEntries = (page: Page) =>
  page
    .getByRole('list', { name: 'Snapshots, newest first' })
    .getByRole('listitem')
    .filter({ has: page.getByRole('button', { name: /^Restore…/ }) });

/**
 * The browser's restoreProgress subscription is set up asynchronously after the page learns the
 * run id; while the worker is held, publish a probe event until the page shows it, so no real
 * event can be missed by the test (the API tests use the same handshake).
 */
async function untilPageListens(scope: Locator, runId: string) {
  const probe = scope.getByText('test probe: listening');
  const until = Date.now() + EVENT_TIMEOUT_MS;
  while (Date.now() < until) {
    t.app.pubSub.publish('RESTORE_PROGRESS', {
      runId,
      organizationId: orgId,
      status: 'QUEUED',
      phase: 'QUEUED',
      done: 0,
      total: 1,
      message: 'test probe: listening',
      isTerminal: false,
      at: new Date().toISOString(),
    });
    if (await probe.isVisible()) return;
    await probe.waitFor({ timeout: 100 }).catch(() => undefined);
    if (await probe.isVisible()) return;
  }
  await screenshot(scope.page(), 'debug-probe');
  throw new Error(`the page never showed the probe event of restore run ${runId}`);
}

async function newestRestoreRunId(): Promise<string> {
  const runs = await t.gql(`query($o: ID) { restoreRuns(organizationId: $o) { id } }`, { o: orgId });
  return runs.data.restoreRuns[0].id;
}

let context: BrowserContext;
let page: Page;

it('shows the FULL snapshot, refuses to delete it once an INCREMENTAL depends on it, and shows the INCREMENTAL after a second backup without a reload', async () => {
  ({ context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`));
  await page.getByRole('heading', { name: 'Snapshots of api' }).waitFor();
  const entries = timelineEntries(page);
  await entries.first().waitFor();
  expect(await entries.count()).toBe(1);
  await entries.first().getByText('FULL', { exact: true }).waitFor();
  await entries.first().getByText('Full: stands alone').waitFor();
  await entries
    .first()
    .getByText(/Issues 1 · Labels 1/)
    .waitFor();

  // The page follows the organization's backups (probe: it shows a running one, then forgets it).
  let reloaded = false;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) reloaded = true;
  });
  const running = page.getByRole('status').filter({ hasText: 'A backup of this organization is running' });
  const probe = (isTerminal: boolean) =>
    t.app.pubSub.publish('BACKUP_PROGRESS', {
      organizationId: orgId,
      runId: 'probe',
      runStatus: isTerminal ? 'SUCCEEDED' : 'RUNNING',
      itemsTotal: 1,
      itemsDone: 0,
      itemsFailed: 0,
      item: null,
      isTerminal,
      at: '',
    });
  for (const until = Date.now() + EVENT_TIMEOUT_MS; Date.now() < until && !(await running.isVisible());) {
    probe(false);
    await running.waitFor({ timeout: 100 }).catch(() => undefined);
  }
  await running.waitFor();
  probe(true);
  await running.waitFor({ state: 'hidden' });

  sim.pushCommit(projectId, {
    branch: 'main',
    files: { 'CHANGELOG.md': '## 1.1\n- faster start\n' },
    message: 'Release notes',
  });
  expect((await runBackup(t, orgId)).status).toBe('SUCCEEDED');
  await entries.nth(1).waitFor();
  await running.waitFor({ state: 'hidden' });
  expect(reloaded).toBe(false);
  expect(await entries.count()).toBe(2);
  const [newest, oldest] = [entries.nth(0), entries.nth(1)];
  await newest.getByText('INCREMENTAL', { exact: true }).waitFor();
  await newest.getByRole('link', { name: /the FULL snapshot of/ }).waitFor();
  await oldest.getByText('FULL', { exact: true }).waitFor();

  // Verify the newest: the badge turns Verified.
  await newest.getByRole('button', { name: /^Verify/ }).click();
  await newest.getByText('Verified: every artifact and the bundle chain read back intact.').waitFor();
  await newest.getByText('Verified', { exact: true }).waitFor();

  // The FULL one is needed by the INCREMENTAL: the API refuses and the reason shows.
  await oldest.getByRole('button', { name: /^Delete/ }).click();
  await oldest.getByRole('button', { name: 'Yes, delete' }).click();
  await oldest.getByRole('alert').filter({ hasText: 'is needed by 1 later snapshot(s); delete those first' }).waitFor();
  expect(await entries.count()).toBe(2);
  await screenshot(page, '30-snapshots');
});

it('restores the INCREMENTAL snapshot to a new project: dry run plan, then live progress to SUCCEEDED without a reload', async () => {
  const newest = timelineEntries(page).first();
  await newest.getByRole('button', { name: /^Restore…/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore snapshot' });
  await dialog.getByRole('radio', { name: 'New project' }).check();
  await dialog.getByLabel('Target connection').selectOption({ label: `@alice on ${sim.url}` });
  await dialog.getByLabel('Namespace').fill('restored');
  await dialog.getByLabel('Project path').fill('api-restored');
  expect(await dialog.getByLabel('Include metadata').isChecked()).toBe(true);
  await screenshot(page, '31-restore-dialog');

  // Dry run: the plan the API reports, nothing created.
  await t.app.jobStore.agenda.stop();
  await dialog.getByRole('button', { name: 'Dry run' }).click();
  const dryRun = dialog.getByRole('region', { name: 'Dry run' });
  await dryRun.getByRole('status').filter({ hasText: 'Waiting for a worker' }).waitFor();
  await untilPageListens(dryRun, await newestRestoreRunId());
  await t.app.jobStore.agenda.start();
  await dryRun.getByText('Dry run succeeded.').waitFor();
  await dryRun.getByText('Would create the project restored/api-restored.').waitFor();
  // The plan, below the form, is brought into view with focus on its heading when it arrives.
  const planHeading = dryRun.getByRole('heading', { name: 'Dry run' });
  await expect(planHeading.evaluate((h) => h === document.activeElement)).resolves.toBe(true);
  const box = (await planHeading.boundingBox())!;
  expect(box.y).toBeGreaterThanOrEqual(0);
  expect(box.y + box.height).toBeLessThanOrEqual(page.viewportSize()!.height);
  // It lists metadata per type as well as refs: the issue would be created.
  await dryRun
    .getByRole('table')
    .getByRole('row', { name: /Issues 1 0 0/ })
    .waitFor();
  await dryRun
    .getByText(/refs would be pushed/)
    .first()
    .waitFor();
  await dryRun.getByText('Refs that would be pushed').click();
  await dryRun.getByText('refs/tags/v1.0.0').waitFor();
  const notYet = await fetch(`${sim.url}/api/v4/projects/${encodeURIComponent('restored/api-restored')}`, {
    headers: { 'private-token': aliceToken },
  });
  expect(notYet.status).toBe(404);
  await dryRun.scrollIntoViewIfNeeded();
  await screenshot(page, '32-restore-dry-run');

  // Restore: the live progress page.
  await t.app.jobStore.agenda.stop();
  await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
  await page.waitForURL(/\/restores\/[0-9a-f-]{36}$/);
  const runId = page.url().split('/').at(-1)!;
  let reloaded = false;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) reloaded = true;
  });
  await page.getByRole('heading', { name: 'Restore to a new project' }).waitFor();
  await page.getByRole('status').filter({ hasText: 'Waiting for a worker' }).waitFor();
  await untilPageListens(page.locator('main'), runId);
  await t.app.jobStore.agenda.start();
  await page.getByText('Restore succeeded.').waitFor();
  const phases = page.getByRole('list', { name: 'Phases' });
  await phases.getByText('Done: Done').waitFor();
  await page.getByRole('status').filter({ hasText: 'Done — 1 of 1 repositories' }).waitFor();
  const result = page.getByRole('region', { name: 'Result for acme/api' });
  await result.getByText('Created the project restored/api-restored.').waitFor();
  await result
    .getByRole('table')
    .getByRole('row', { name: /Issues 1 0 0/ })
    .waitFor();
  const history = page.getByRole('region', { name: 'Restores of this organization' });
  await history.getByRole('row', { name: /this one.*to a new project.*Succeeded/ }).waitFor();
  await history.getByRole('row', { name: /Dry run to a new project.*Succeeded/ }).waitFor();
  expect(reloaded).toBe(false);
  await screenshot(page, '33-restore-progress');

  // The simulator has the new project with the snapshot's refs (GitLab's own MR refs aside).
  const project = await (
    await fetch(`${sim.url}/api/v4/projects/${encodeURIComponent('restored/api-restored')}`, {
      headers: { 'private-token': aliceToken },
    })
  ).json();
  const restoredRefs = await refsOf(sim.repoPath(project.id));
  expect(Object.keys(restoredRefs)).toEqual(
    expect.arrayContaining(['refs/heads/main', 'refs/heads/feature', 'refs/tags/v1.0.0']),
  );
  expect(restoredRefs).toEqual(await refsOf(sim.repoPath(projectId)));
  await context.close();
});

it('shows a field error from the API beside its input, and warns before an OVERWRITE', async () => {
  ({ context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`));
  await timelineEntries(page)
    .first()
    .getByRole('button', { name: /^Restore…/ })
    .click();
  const dialog = page.getByRole('dialog', { name: 'Restore snapshot' });
  await dialog.getByRole('radio', { name: 'New project' }).check();
  await dialog.getByLabel('Namespace').fill('   ');
  await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
  const namespace = dialog.getByLabel('Namespace');
  await dialog.getByText('is required: the group that receives the restored projects').waitFor();
  expect(await namespace.getAttribute('aria-invalid')).toBe('true');
  const description = await namespace.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' '),
  );
  expect(description).toContain('is required: the group that receives the restored projects');
  expect(page.url()).toContain('/snapshots');

  await dialog.getByRole('radio', { name: 'Original project' }).check();
  await dialog.getByRole('radio', { name: 'Overwrite' }).check();
  await dialog.getByRole('alert').filter({ hasText: 'Overwrite changes the project.' }).waitFor();
  await context.close();
});

it('prepares a DOWNLOAD and offers the signed archive link when it is ready', async () => {
  ({ context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`));
  await timelineEntries(page)
    .first()
    .getByRole('button', { name: /^Restore…/ })
    .click();
  const dialog = page.getByRole('dialog', { name: 'Restore snapshot' });
  await dialog.getByRole('radio', { name: 'Download' }).check();
  await t.app.jobStore.agenda.stop();
  await dialog.getByRole('button', { name: 'Prepare download' }).click();
  await page.waitForURL(/\/restores\/[0-9a-f-]{36}$/);
  await page.getByRole('heading', { name: 'Restore as a download' }).waitFor();
  await untilPageListens(page.locator('main'), page.url().split('/').at(-1)!);
  await t.app.jobStore.agenda.start();
  const link = page.getByRole('link', { name: 'Download the archive' });
  await link.waitFor();
  await page.getByText(/The archive holds \d+ files/).waitFor();
  const archive = await fetch((await link.getAttribute('href'))!);
  expect(archive.status).toBe(200);
  expect(Buffer.from(await archive.arrayBuffer()).toString('latin1')).toContain('manifest.json');
  await screenshot(page, '34-restore-download');
  await context.close();
});

it('restores the FULL snapshot into the original project with OVERWRITE: the protected branch is reported, not forced, and the run ends PARTIAL', async () => {
  // Upstream moved on since the FULL snapshot: main advanced (and is protected), a new branch appeared.
  sim.protectBranch(projectId, { name: 'main' });
  sim.createBranch(projectId, { branch: 'newer' });
  const before = await refsOf(sim.repoPath(projectId));

  ({ context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`));
  const full = timelineEntries(page).filter({ hasText: 'Full: stands alone' });
  await full.getByRole('button', { name: /^Restore…/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore snapshot' });
  await dialog.getByRole('radio', { name: 'Original project' }).check();
  await dialog.getByRole('radio', { name: 'Overwrite' }).check();
  await dialog.getByRole('alert').filter({ hasText: 'Overwrite changes the project.' }).waitFor();
  await t.app.jobStore.agenda.stop();
  await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
  await page.waitForURL(/\/restores\/[0-9a-f-]{36}$/);
  await page.getByRole('heading', { name: 'Restore to the original project' }).waitFor();
  await untilPageListens(page.locator('main'), page.url().split('/').at(-1)!);
  await t.app.jobStore.agenda.start();
  await page.getByRole('alert').filter({ hasText: 'Restore finished with problems' }).waitFor();
  await page.getByText('Partial', { exact: true }).first().waitFor();
  const result = page.getByRole('region', { name: 'Result for acme/api' });
  await result
    .getByRole('listitem')
    .filter({ hasText: 'refs/heads/main: protected branch: not forced' })
    .first()
    .waitFor();
  await result
    .getByText('1 ref exists in the project but not in the snapshot; it is left as it is: refs/heads/newer')
    .waitFor();
  expect((await refsOf(sim.repoPath(projectId)))['refs/heads/main']).toBe(before['refs/heads/main']);
  await screenshot(page, '35-restore-partial');
  await context.close();
});

it('shows a FAILED restore as Failed with its reason in plain words, and Retry starts a new restore with the same settings', async () => {
  ({ context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`));
  await timelineEntries(page)
    .first()
    .getByRole('button', { name: /^Restore…/ })
    .click();
  const dialog = page.getByRole('dialog', { name: 'Restore snapshot' });
  await dialog.getByRole('radio', { name: 'New project' }).check();
  // "later" does not exist on the target yet: the run fails.
  await dialog.getByLabel('Namespace').fill('later');
  await dialog.getByLabel('Project path').fill('api-again');
  await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
  await page.waitForURL(/\/restores\/[0-9a-f-]{36}$/);
  const failedId = page.url().split('/').at(-1)!;

  const outcome = page.getByRole('alert').filter({ hasText: 'Restore failed.' });
  await outcome.waitFor();
  await outcome
    .getByText('Reason: acme/api: the group or namespace "later" does not exist on the target instance', {
      exact: false,
    })
    .waitFor();
  await page.locator('.page-header').getByText('Failed', { exact: true }).waitFor();
  // Nothing claims success: no "Done" step, no full bar, no "chain of 0".
  await page.getByRole('list', { name: 'Phases' }).getByText('Ended: Failed').waitFor();
  expect(await page.getByRole('list', { name: 'Phases' }).getByText('Done: Done').count()).toBe(0);
  expect(await page.getByRole('progressbar', { name: 'Restore progress' }).getAttribute('aria-valuenow')).toBe('0');
  await page.getByRole('status').filter({ hasText: 'Failed — 0 of 1 repositories restored' }).waitFor();
  expect(await page.getByText('chain of 0').count()).toBe(0);
  const api = await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, { id: failedId });
  expect(api.data.restoreRun.status).toBe('FAILED');
  await screenshot(page, '36-restore-failed');

  // Fix the cause, then Retry: a new run with the same target, snapshot and options succeeds.
  sim.createGroup({ path: 'later', ownerId: aliceId });
  await outcome.getByRole('button', { name: 'Retry' }).click();
  await page.waitForURL((url) => /\/restores\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(failedId));
  const retriedId = page.url().split('/').at(-1)!;
  await page.getByText('Restore succeeded.').waitFor();
  await page
    .getByRole('region', { name: 'Result for acme/api' })
    .getByText('Created the project later/api-again.')
    .waitFor();
  const runs = await t.gql(
    `query($a: ID!, $b: ID!) { a: restoreRun(id: $a) { target isDryRun snapshotIds } b: restoreRun(id: $b) { target isDryRun snapshotIds status } }`,
    { a: failedId, b: retriedId },
  );
  expect(runs.data.b).toEqual({ ...runs.data.a, status: 'SUCCEEDED' });
  const made = await fetch(`${sim.url}/api/v4/projects/${encodeURIComponent('later/api-again')}`, {
    headers: { 'private-token': aliceToken },
  });
  expect(made.status).toBe(200);

  // The way back to the organization.
  await page
    .getByRole('navigation', { name: 'Breadcrumb' })
    .getByRole('link', { name: /^← Back to / })
    .click();
  await page.waitForURL(new RegExp(`/organizations/${orgId}$`));
  await page.getByRole('heading', { level: 1 }).filter({ hasText: 'acme' }).waitFor();
  await context.close();
});

it('shows a restore that GitLab refused in plain words, with git’s own words only inside Technical details', async () => {
  ({ context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`));
  await timelineEntries(page)
    .first()
    .getByRole('button', { name: /^Restore…/ })
    .click();
  const dialog = page.getByRole('dialog', { name: 'Restore snapshot' });
  await dialog.getByRole('radio', { name: 'New project' }).check();
  await dialog.getByLabel('Namespace').fill('later');
  await dialog.getByLabel('Project path').fill('api-refused');
  // GitLab answers the push itself with 404 (the project went away between creation and push).
  sim.failNext(1, { status: 404, pathPattern: /\/later\/api-refused\.git\/git-receive-pack$/ });
  await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
  await page.waitForURL(/\/restores\/[0-9a-f-]{36}$/);
  const failedId = page.url().split('/').at(-1)!;

  const outcome = page.getByRole('alert').filter({ hasText: 'Restore failed.' });
  await outcome.getByText('Reason: acme/api: GitLab did not accept what was pushed to it.').waitFor();
  const api = await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, { id: failedId });
  expect(api.data.restoreRun.status).toBe('FAILED');
  expect(api.data.restoreRun.errorMessage).toContain('git push failed: ');
  // What git said is one click away, not in the sentence.
  const said = api.data.restoreRun.errorMessage.split('git push failed: ')[1].split(' | ')[0];
  const details = outcome.locator('details');
  const shown = await outcome.evaluate((el) => {
    const copy = el.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('details').forEach((d) => d.remove());
    return copy.textContent ?? '';
  });
  expect(shown).not.toContain(said);
  expect(await details.locator('pre').isVisible()).toBe(false);
  await details.getByText('Technical details').click();
  await details.locator('pre').filter({ hasText: said }).waitFor();
  await outcome.getByRole('button', { name: 'Retry' }).waitFor();
  await screenshot(page, '37-restore-refused');
  await context.close();
});
