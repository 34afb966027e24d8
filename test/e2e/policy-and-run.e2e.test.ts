import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { launchBrowser, screenshot, signedIn } from '../support/browser.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, anOrganization } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

/**
 * The organization screens, Customize policy, Run now with the live run view, and run history, in
 * Chromium against the real server, its in-process worker and the GitLab simulator (a PAT
 * connection to the group `acme` with four projects that have commits, set up through GraphQL).
 */
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let orgId: string;
let heldProjectId: number;

const POLICY_QUERY = `query($o: ID!) { policy(organizationId: $o) { updatedAt settings {
  schedule { type every weekday time { hour minute } } retention { mode keepLast fullDays } timeZone } } }`;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const { projects } = anOrganization(sim, alice.id, { path: 'acme', projectCount: 4, withCommit: true });
  // Metadata the snapshots hold, so the run view's counts have something to show.
  heldProjectId = projects[0].id;
  sim.createLabel(heldProjectId, { name: 'bug' });
  const issue = sim.createIssue(heldProjectId, { title: 'Crash on start', labels: ['bug'] });
  sim.createNote(heldProjectId, { noteableType: 'Issue', noteableIid: issue.iid, body: 'Seen on 1.0 too' });
  // Every project has the wiki and LFS features on (GitLab's default), but only these hold any.
  sim.pushWikiPage(projects[1].id, { title: 'Home', content: '# Platform' });
  sim.pushLfsPointer(projects[2].id, { path: 'assets/logo.bin', content: 'not really a logo' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  // The organization syncs at specific hours in New York (twelve hours away, so no sync fires
  // during the test): a new policy takes that time zone instead of UTC.
  const hourInNewYork = Number(
    new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: 'numeric', hourCycle: 'h23' }).format(
      new Date(),
    ),
  );
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    repoSyncSchedule: { kind: 'HOURS', hours: [(hourInNewYork + 12) % 24], timeZone: 'America/New_York' },
  }));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

/**
 * Marks the loaded document; `wasReloaded()` is true when a load replaced it (a live screen must
 * update without one; client-side navigation keeps the document).
 */
async function watchReloads(page: Page): Promise<() => Promise<boolean>> {
  await page.evaluate(() => Object.assign(window, { __sameDocument: true }));
  return async () => !(await page.evaluate(() => '__sameDocument' in window));
}

describe('Organizations', () => {
  it('lists the protected organization with its connection and repository counts', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/organizations');
    const table = page.getByRole('table', { name: 'Protected organizations' });
    const row = table.getByRole('row').filter({ hasText: 'acme' });
    await row.getByRole('link', { name: 'ACME' }).waitFor();
    await expect(row.getByText('@alice').isVisible()).resolves.toBe(true);
    // protected, unprotected, deleted upstream
    await expect(row.getByRole('cell').allInnerTexts()).resolves.toEqual(expect.arrayContaining(['4', '0']));
    await screenshot(page, '20-organizations');
    await row.getByRole('link', { name: 'ACME' }).click();
    await page.getByRole('heading', { name: /ACME/ }).waitFor();
    await context.close();
  });

  it('syncs live, and toggles protection of one repository and of a bulk selection', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}`);
    const wasReloaded = await watchReloads(page);
    const repositories = page.getByRole('table', { name: 'Repositories' });
    await repositories.getByRole('row').filter({ hasText: 'acme/project-000' }).waitFor();
    await expect(repositories.getByTestId('repository-row').count()).resolves.toBe(4);
    // Before any backup no row claims a wiki or LFS objects: nothing is kept yet.
    for (const text of await repositories.getByTestId('repository-row').allInnerTexts()) {
      expect(text).not.toMatch(/\bwiki\b|\bLFS\b/);
    }
    await expect(
      page.getByRole('list', { name: 'Groups' }).getByText('acme/platform/infra/deep').isVisible(),
    ).resolves.toBe(true);
    // Every repository row links to its snapshots.
    const snapshotsLink = repositories.getByRole('link', { name: 'Snapshots of acme/project-000' });
    expect(await snapshotsLink.getAttribute('href')).toMatch(/^\/repositories\/[\w-]+\/snapshots$/);

    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByText('Repository sync: Succeeded').waitFor();

    await page.getByRole('switch', { name: 'Protect acme/project-000' }).click();
    await page.getByRole('switch', { name: 'Protect acme/project-000', checked: false }).waitFor();
    let counts = (
      await t.gql(`query($id: ID!) { organization(id: $id) { repositoryCounts { protected unprotected } } }`, {
        id: orgId,
      })
    ).data.organization.repositoryCounts;
    expect(counts).toEqual({ protected: 3, unprotected: 1 });
    await page.getByText('3 protected · 1 unprotected').waitFor();

    await page.getByRole('checkbox', { name: 'Select every repository on this page' }).check();
    await page.getByText('4 selected').waitFor();
    await page.getByRole('button', { name: 'Protect selected' }).click();
    await page.getByRole('switch', { name: 'Protect acme/project-000', checked: true }).waitFor();
    counts = (
      await t.gql(`query($id: ID!) { organization(id: $id) { repositoryCounts { protected unprotected } } }`, {
        id: orgId,
      })
    ).data.organization.repositoryCounts;
    expect(counts).toEqual({ protected: 4, unprotected: 0 });

    // Search narrows the list through the connection's `search` argument.
    await page.getByRole('searchbox', { name: 'Search repositories' }).fill('project-002');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await repositories.getByRole('row').filter({ hasText: 'project-001' }).waitFor({ state: 'detached' });
    await expect(repositories.getByTestId('repository-row').count()).resolves.toBe(1);
    await expect(repositories.getByText('acme/platform/infra/project-002').isVisible()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Clear search' }).click();
    await repositories.getByRole('row').filter({ hasText: 'project-003' }).waitFor();
    await expect(wasReloaded()).resolves.toBe(false);
    await context.close();
  });
});

describe('Customize policy', () => {
  it('saves a new schedule type and retention, and the policy query returns them', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}`);
    await page.getByRole('link', { name: 'Customize policy' }).click();
    await page.getByRole('heading', { name: 'Customize policy' }).waitFor();
    await expect(page.getByLabel('Time zone').inputValue()).resolves.toBe('America/New_York');
    await page.getByLabel('Schedule type').selectOption('FOREVER_INCREMENTAL');
    await page.getByLabel('Every', { exact: true }).selectOption('WEEKLY');
    await page.getByLabel('Weekday', { exact: true }).selectOption({ label: 'Saturday' });
    await page.getByLabel('Start time').fill('03:30');
    await page.getByRole('radio', { name: 'Keep the last N copies' }).check();
    await page.getByLabel('Copies to keep').fill('14');
    await page.getByLabel('Time zone').fill('Europe/Warsaw');
    await page.getByLabel('Time zone').press('Tab'); // leaves the field, closing its suggestions
    await screenshot(page, '22-policy');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy saved.').waitFor();

    const saved = (await t.gql(POLICY_QUERY, { o: orgId })).data.policy.settings;
    expect(saved).toEqual({
      schedule: { type: 'FOREVER_INCREMENTAL', every: 'WEEKLY', weekday: 6, time: { hour: 3, minute: 30 } },
      retention: { mode: 'BY_COUNT', keepLast: 14, fullDays: null },
      timeZone: 'Europe/Warsaw',
    });
    await context.close();
  });

  it('shows an invalid value’s error beside its input and saves nothing', async () => {
    const before = (await t.gql(POLICY_QUERY, { o: orgId })).data.policy;
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}/policy`);
    const keepLast = page.getByLabel('Copies to keep');
    await expect(keepLast.inputValue()).resolves.toBe('14');
    await keepLast.fill('0');
    await page.getByLabel('Time zone').fill('Mars/Olympus_Mons');
    await page.getByLabel('Time zone').press('Tab');
    await page.getByLabel('Directory').fill('backups');
    await page.getByRole('button', { name: 'Save policy' }).click();

    await page.getByText('Some fields need attention.').waitFor();
    await expect(keepLast.getAttribute('aria-invalid')).resolves.toBe('true');
    // The message is the input's own description, rendered right under it.
    const describedBy = (await keepLast.getAttribute('aria-describedby'))!;
    const keepLastError = page.locator(`[id="${describedBy.split(' ').pop()}"]`);
    await expect(keepLastError.innerText()).resolves.toBe('must be a whole number from 1 to 10000');
    const timeZone = page.getByLabel('Time zone');
    await expect(timeZone.getAttribute('aria-invalid')).resolves.toBe('true');
    const timeZoneError = page.locator(`[id="${(await timeZone.getAttribute('aria-describedby'))!.split(' ').pop()}"]`);
    await expect(timeZoneError.innerText()).resolves.toContain('must be an IANA time zone');
    // Said in plain words, without placeholders such as "<data dir>" or "null".
    const directory = page.getByLabel('Directory');
    const directoryError = page.locator(
      `[id="${(await directory.getAttribute('aria-describedby'))!.split(' ').pop()}"]`,
    );
    await expect(directoryError.innerText()).resolves.toBe(
      'must be a full path on the worker, starting with / (such as /srv/backups); leave it empty to keep backups in the data directory',
    );
    await expect(page.getByText('Policy saved.').count()).resolves.toBe(0);
    await screenshot(page, '22-policy-errors');

    const after = (await t.gql(POLICY_QUERY, { o: orgId })).data.policy;
    expect(after).toEqual(before);

    // Cancel leaves the form for the organization without saving.
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(new RegExp(`/organizations/${orgId}$`));
    expect((await t.gql(POLICY_QUERY, { o: orgId })).data.policy).toEqual(before);
    await context.close();
  });
});

interface ApiRunItem {
  pathWithNamespace: string;
  status: string;
  snapshot: { copyType: string; metadataRecords: { records: number }[] } | null;
}
const TERMINAL_ITEM = ['SUCCEEDED', 'PARTIAL', 'UNCHANGED', 'FAILED', 'CANCELED'];

async function runFromApi(id: string): Promise<{ status: string; copyType: string; items: ApiRunItem[] }> {
  return (
    await t.gql(
      `query($id: ID!) { backupRun(id: $id) { status copyType items { pathWithNamespace status
        snapshot { copyType metadataRecords { records } } } } }`,
      { id },
    )
  ).data.backupRun;
}

const recordsOf = (item: ApiRunItem) => item.snapshot!.metadataRecords.reduce((sum, m) => sum + m.records, 0);

/**
 * The run view agrees with the API: the items-done count, the run's copy-type label (the types of
 * the snapshots it made) and, per finished repository, its snapshot's copy type and metadata records.
 */
async function expectRunViewMatches(page: Page, run: { items: ApiRunItem[] }) {
  const finished = run.items.filter((i) => TERMINAL_ITEM.includes(i.status));
  await page.getByText(`${finished.length} of ${run.items.length} items done`).waitFor();
  const types = [
    ...new Set(finished.filter((i) => i.status !== 'UNCHANGED' && i.snapshot).map((i) => i.snapshot!.copyType)),
  ];
  expect(types).toHaveLength(1);
  await page.getByTestId('run-copy-type').getByText(`${types[0]} copy`).waitFor();
  for (const item of finished.filter((i) => /project-\d+$/.test(i.pathWithNamespace))) {
    const row = page
      .getByTestId('run-item')
      .filter({ has: page.getByRole('rowheader', { name: item.pathWithNamespace }) });
    // td cells: Status, Copy, Progress, Received, Objects, Throughput, Metadata records
    const cells = row.getByRole('cell');
    await cells
      .nth(1)
      .filter({ hasText: new RegExp(`^${item.snapshot!.copyType}$`) })
      .waitFor();
    await cells
      .nth(6)
      .filter({ hasText: new RegExp(`^${recordsOf(item)}$`) })
      .waitFor();
  }
}

describe('Run now and the live run view', () => {
  let runId: string;

  it('starts a run from the organization page and shows it live up to 100 % and Succeeded, without a reload', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}`);
    await page
      .getByRole('table', { name: 'Repositories' })
      .getByRole('row')
      .filter({ hasText: 'acme/project-000' })
      .waitFor();
    const wasReloaded = await watchReloads(page);
    // GitLab's pack for acme/project-000 is held back (its fetch, after the ref listing; a pack
    // stream waits minutes before it counts as stalled): the run is visibly running, with every
    // other item finished, until the test releases it.
    const held = sim.holdNext({ pathPattern: /\/acme\/project-000\.git\/git-upload-pack$/, method: 'POST', skip: 1 });

    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/runs\/[\w-]+$/);
    runId = page.url().split('/').pop()!;
    const status = page.getByTestId('run-status');
    await status.getByText('Running').waitFor();
    await held.reached;
    // Every item but the held one ends: the page's count, copy types and metadata are the API's.
    const { itemsTotal } = (await t.gql(`query($id: ID!) { backupRun(id: $id) { itemsTotal } }`, { id: runId })).data
      .backupRun;
    await page.getByText(`${itemsTotal - 1} of ${itemsTotal} items done`).waitFor();
    const during = await runFromApi(runId);
    expect(during.status).toBe('RUNNING');
    expect(during.items.filter((i) => TERMINAL_ITEM.includes(i.status))).toHaveLength(itemsTotal - 1);
    await expectRunViewMatches(page, during);
    await screenshot(page, '23-run-live');

    held.release();
    await page.locator('[role="progressbar"][aria-label="Overall progress"][aria-valuenow="100"]').waitFor();
    await status.getByText('Succeeded').waitFor();
    await page.getByText(`${itemsTotal} of ${itemsTotal} items done`).waitFor();
    const after = await runFromApi(runId);
    // The policy asks for incrementals, but a first backup makes FULL snapshots: the page says FULL.
    expect(after.copyType).toBe('INCREMENTAL');
    expect(new Set(after.items.filter((i) => i.snapshot).map((i) => i.snapshot!.copyType))).toEqual(new Set(['FULL']));
    await expectRunViewMatches(page, after);
    const heldItem = after.items.find((i) => i.pathWithNamespace === 'acme/project-000')!;
    expect(recordsOf(heldItem)).toBeGreaterThanOrEqual(3); // the label, the issue and its note at least
    const run = (
      await t.gql(`query($id: ID!) { backupRun(id: $id) { status items { pathWithNamespace status } } }`, { id: runId })
    ).data.backupRun;
    expect(run.status).toBe('SUCCEEDED');
    const rows = page.getByTestId('run-item');
    await expect(rows.count()).resolves.toBe(run.items.length);
    const repositoryPaths = run.items
      .map((i: { pathWithNamespace: string }) => i.pathWithNamespace)
      .filter((p: string) => /project-\d+$/.test(p));
    expect(repositoryPaths).toHaveLength(4);
    for (const path of repositoryPaths) {
      const row = rows.filter({ has: page.getByRole('rowheader', { name: path }) });
      await expect(row.getByRole('progressbar').getAttribute('aria-valuenow')).resolves.toBe('100');
    }
    await expect(page.getByRole('button', { name: 'Cancel run' }).count()).resolves.toBe(0);
    await expect(wasReloaded()).resolves.toBe(false);
    await screenshot(page, '23-run-finished');
    await context.close();
  });

  it('shows each repository’s last backup and snapshot size, and lists the run in the run history', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}`);
    const row = page
      .getByRole('table', { name: 'Repositories' })
      .getByRole('row')
      .filter({ hasText: 'acme/project-000' });
    await row.getByText('Succeeded').waitFor();
    await row.getByText(/^snapshot [\d.]+ [KMG]?B$/).waitFor();
    // wiki and LFS follow what each latest snapshot holds, not GitLab's feature switches.
    const rowOf = (path: string) =>
      page.getByTestId('repository-row').filter({ has: page.getByRole('link', { name: path, exact: true }) });
    const holdings = {
      'acme/project-000': '',
      'acme/platform/project-001': 'wiki',
      'acme/platform/infra/project-002': 'LFS',
      'acme/platform/infra/deep/project-003': '',
    };
    for (const [path, holds] of Object.entries(holdings)) {
      await rowOf(path)
        .getByText(/^snapshot /)
        .waitFor();
      const text = await rowOf(path).innerText();
      expect(text.includes(' · wiki')).toBe(holds === 'wiki');
      expect(text.includes(' · LFS')).toBe(holds === 'LFS');
    }
    await page.getByRole('link', { name: /^Last backup: succeeded/ }).waitFor();
    await screenshot(page, '21-organization');
    await page.getByRole('link', { name: 'Run history' }).click();
    await page.getByRole('heading', { name: 'Run history' }).waitFor();
    const rows = page.getByTestId('run-row');
    await rows.first().waitFor();
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().getByText('Succeeded').isVisible()).resolves.toBe(true);
    await expect(rows.first().getByText('Manual').isVisible()).resolves.toBe(true);
    await screenshot(page, '24-run-history');

    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByText('No failed run.').waitFor();
    await page.getByLabel('Status').selectOption('SUCCEEDED');
    await rows.first().getByRole('link').click();
    await page.waitForURL(new RegExp(`/runs/${runId}$`));
    await page.getByTestId('run-status').getByText('Succeeded').waitFor();
    await context.close();
  });
});
