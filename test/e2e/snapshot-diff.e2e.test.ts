/**
 * Comparing snapshots in the web client, in Chromium against the real server and the GitLab
 * simulator: two backups of an organization with a force-push of the default branch and an issue
 * retitled in between. On the repository's timeline the user picks the two snapshots and sees the
 * rewritten branch said plainly and the changed issue with the field that changed (and the
 * project's settings, whose activity time and statistics moved with the push, not listed as
 * changed); the organization's "What changed" lists the repository with a link to that comparison.
 * Both screens fit a phone (390 px) without sideways scrolling, and a desktop (1440 px).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn } from '../support/browser.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let organizationId: string;
let repositoryId: string;
let acmeGroupId: number;

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1440, height: 900 };

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const acme = sim.createGroup({ path: 'acme', ownerId: alice.id });
  acmeGroupId = acme.id;
  const project = sim.createProject({ namespaceId: acme.id, path: 'app' });
  sim.pushCommit(project.id, { files: { 'README.md': '# app\n' } });
  sim.pushCommit(project.id, { files: { 'work.txt': 'work in progress\n' } });
  const issue = sim.createIssue(project.id, { title: 'Crash on start' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));

  const first = await runBackup(t, organizationId);
  expect(first.status).toBe('SUCCEEDED');
  // The first backup was taken yesterday, so the organization's changes between yesterday and
  // today compare the two backups.
  const [{ id: firstSnapshot, repository_id }] = await t.app.dataSource.query(
    `SELECT s.id, s.repository_id FROM snapshots s JOIN repositories r ON r.id = s.repository_id
      WHERE r.path_with_namespace = 'acme/app'`,
  );
  repositoryId = repository_id;
  await t.app.dataSource.query(`UPDATE snapshots SET created_at = created_at - interval '1 day' WHERE id = $1`, [
    firstSnapshot,
  ]);

  sim.rewriteBranch(project.id, { files: { 'work.txt': 'history rewritten\n' } });
  issue.title = 'Crash on start with an empty config';
  const second = await runBackup(t, organizationId);
  expect(second.status).toBe('SUCCEEDED');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

/** The page is no wider than the screen: nothing makes the user scroll sideways. */
async function expectNoSidewaysScroll(page: Page) {
  const { documentWidth, viewport } = await page.evaluate(() => ({
    documentWidth: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
  }));
  expect(documentWidth).toBeLessThanOrEqual(viewport);
}

async function expectTheComparison(page: Page) {
  await page.getByRole('heading', { level: 1, name: 'Changes in app' }).waitFor();
  await page
    .getByRole('alert')
    .filter({ hasText: 'main was rewritten: the old commit is no longer in its history. It is the default branch.' })
    .waitFor();
  const moved = page.getByRole('list', { name: 'Moved branches and tags' });
  await moved.getByText('rewritten').waitFor();
  const issues = page.getByRole('region', { name: /^Issues: 1 changed/ });
  await issues.getByRole('listitem').filter({ hasText: 'Crash on start with an empty config' }).waitFor();
  expect(await issues.locator('code').allInnerTexts()).toEqual(['title']);
  // A push moves the project's activity time and statistics: not a change of its settings.
  await page.getByText(/^Unchanged: .*project settings/).waitFor();
  expect(await page.getByRole('region', { name: /^Project settings:/ }).count()).toBe(0);
}

it('compares two snapshots picked on the timeline: the force-push in plain words, the retitled issue', async () => {
  const { context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`);
  await page.setViewportSize(PHONE);
  const compare = page.getByRole('region', { name: 'Compare two snapshots' });
  await compare.waitFor();
  // With the keyboard. The choices start at the newest ("to") and the one before it ("from").
  const from = compare.getByLabel('Compare from');
  const to = compare.getByLabel('Compare to');
  expect(await from.locator('option').count()).toBe(2);
  const [newest, older] = await to
    .locator('option')
    .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
  expect([await from.inputValue(), await to.inputValue()]).toEqual([older, newest]);
  await to.focus();
  await page.keyboard.press('ArrowDown');
  await compare.getByRole('status').filter({ hasText: 'Pick two different snapshots to compare.' }).waitFor();
  // Picked the other way round (newest first): the comparison still runs from the older one.
  await from.focus();
  await page.keyboard.press('ArrowUp');
  expect([await from.inputValue(), await to.inputValue()]).toEqual([newest, older]);
  const show = compare.getByRole('link', { name: 'Show what changed' });
  await expectNoSidewaysScroll(page);
  await screenshot(page, 'snapshot-compare-390');
  expect(await show.getAttribute('href')).toBe(`/snapshots/compare?from=${older}&to=${newest}`);
  await show.focus();
  await page.keyboard.press('Enter');

  await expectTheComparison(page);
  await expectNoSidewaysScroll(page);
  await screenshot(page, 'snapshot-diff-390');
  await page.setViewportSize(DESKTOP);
  await screenshot(page, 'snapshot-diff-1440');
  await context.close();
});

it("lists the repository among the organization's changes since yesterday, with a link to its comparison", async () => {
  const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${organizationId}`);
  await page.setViewportSize(PHONE);
  await page.getByRole('link', { name: 'What changed' }).click();
  await page.getByRole('heading', { level: 1, name: /^What changed in/ }).waitFor();
  const changed = page.getByRole('list', { name: 'Repositories and groups that changed' });
  const entry = changed
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { name: 'Repository acme/app' }) });
  await entry.getByText('main was rewritten: the old commit is no longer in its history.').waitFor();
  await entry.getByText(/Metadata records: 1 changed\./).waitFor();
  await expectNoSidewaysScroll(page);
  await screenshot(page, 'organization-diff-390');
  await page.setViewportSize(DESKTOP);
  await screenshot(page, 'organization-diff-1440');

  await entry.getByRole('link', { name: 'See what changed in acme/app' }).click();
  await expectTheComparison(page);
  await context.close();
});

it('says plainly when the first day is not before the second', async () => {
  const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${organizationId}/changes`);
  await page.getByRole('heading', { level: 1, name: /^What changed in/ }).waitFor();
  const toDay = await page.getByLabel('to the end of').inputValue();
  await page.getByLabel('From the end of').fill(toDay);
  await page.getByRole('button', { name: 'Show changes' }).click();
  await page.getByText('Pick a later day than the first one.').waitFor();
  await context.close();
});

it("says plainly that nothing changed between the group's two snapshots", async () => {
  // Nothing changed in the group, so the second run kept its snapshot (no new one); a FULL run
  // writes the group's records again in full: two snapshots with the same content.
  const full = await runBackup(t, organizationId, { copyType: 'FULL' });
  expect(full.status).toBe('SUCCEEDED');
  const snapshots: { id: string }[] = await t.app.dataSource.query(
    `SELECT id FROM snapshots WHERE group_id IS NOT NULL AND organization_id = $1 ORDER BY created_at, id`,
    [organizationId],
  );
  expect(snapshots).toHaveLength(2);
  const [older, newer] = snapshots.map((s) => s.id);
  const { context, page } = await signedIn(
    browser,
    t.url,
    t.adminToken,
    `/snapshots/compare?from=${older}&to=${newer}`,
  );
  await page.getByRole('heading', { level: 1, name: 'Changes in the group acme', exact: true }).waitFor();
  await page.getByRole('status').filter({ hasText: 'Nothing changed between these two snapshots' }).waitFor();
  expect(await page.getByRole('region', { name: 'Metadata' }).count()).toBe(0);
  // Epics need a paid tier: skipped on both sides, so not compared, and said so.
  await page.getByText('Not compared: epics (not captured in the earlier snapshot: skipped).').waitFor();
  await context.close();
});

it('names the group in the comparison of its two snapshots, and lists the group label added in between', async () => {
  // An unchanged group gets no new snapshot, so the group changes before another backup.
  sim.createGroupLabel(acmeGroupId, { name: 'triage', color: '#ff0000' });
  const next = await runBackup(t, organizationId);
  expect(next.status).toBe('SUCCEEDED');
  const snapshots: { id: string }[] = await t.app.dataSource.query(
    `SELECT id FROM snapshots WHERE group_id IS NOT NULL AND organization_id = $1 ORDER BY created_at, id`,
    [organizationId],
  );
  expect(snapshots).toHaveLength(3); // the FULL of the test above, then this one
  const [older, newer] = snapshots.slice(-2).map((s) => s.id);
  const { context, page } = await signedIn(
    browser,
    t.url,
    t.adminToken,
    `/snapshots/compare?from=${older}&to=${newer}`,
  );
  await page.getByRole('heading', { level: 1, name: 'Changes in the group acme', exact: true }).waitFor();
  await page.getByRole('link', { name: 'What changed' }).waitFor(); // back to the organization's changes
  const labels = page.getByRole('region', { name: /: 1 added/ });
  await labels.getByRole('listitem').filter({ hasText: 'triage' }).waitFor();
  // Epics need a paid tier: skipped on both sides, so not compared, and said so.
  await page.getByText(/^Epics: not captured/).waitFor();
  await context.close();
});
