import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn } from '../support/browser.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * Operations in Chromium against the real server and the GitLab simulator: the dashboard's
 * "Needs attention" lists a run that failed (GitLab answered 503 to every fetch) with a link that
 * opens it, and the API tokens screen creates a token, shows its secret once, and revokes it.
 */
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let orgId: string;

const UPLOAD_PACK = /\.git\/git-upload-pack$/;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['api', 'web']) sim.createProject({ namespaceId: group.id, path, withCommit: true });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

describe('The dashboard’s Needs attention', () => {
  it('lists a run that failed against GitLab, with what to do and a link that opens the run', async () => {
    sim.failEvery(1, { status: 503, pathPattern: UPLOAD_PACK });
    const run = await runBackup(t, orgId);
    sim.failEvery(0, { status: 503, pathPattern: UPLOAD_PACK });
    expect(run.status).toBe('FAILED');

    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/');
    const attention = page.getByRole('region', { name: 'Needs attention' });
    const item = attention.getByRole('listitem').filter({ hasText: 'The last backup of acme failed' });
    await item.waitFor();
    await expect(item.innerText()).resolves.toMatch(/2 of 2 items failed[\s\S]*What to do: Open the run/);
    await screenshot(page, '40-dashboard-needs-attention');

    await item.getByRole('link', { name: 'Open the run' }).click();
    await page.waitForURL(`${t.url}/runs/${run.runId}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: /run/i }).waitFor();
    await page.getByText('acme/api').first().waitFor();
    await context.close();
  });
});

describe('The API tokens screen', () => {
  let secret: string;

  it('creates a token with a role and shows its secret once, with a copy button', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/api-tokens');
    await page.getByRole('heading', { level: 1, name: 'API tokens' }).waitFor();
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create an API token' });
    await dialog.getByLabel('Name').fill('nightly report script');
    await dialog.getByLabel('Role').selectOption({ label: 'Viewer' });
    await dialog.getByRole('button', { name: 'Create token' }).click();

    const shown = page.getByLabel('New API token');
    secret = (await shown.innerText()).trim();
    expect(secret.length).toBeGreaterThan(20);
    await page.getByText('you will not see it again').waitFor();
    await page.getByRole('button', { name: 'Copy token' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'nightly report script' });
    await expect(row.innerText()).resolves.toMatch(/Viewer[\s\S]*never/);
    await screenshot(page, '41-api-token-created');

    // The token works, with its role.
    const asViewer = await t.gql(`{ organizations { fullPath } }`, {}, secret);
    expect(asViewer.errors).toBeUndefined();
    expect(asViewer.data.organizations).toEqual([{ fullPath: 'acme' }]);

    // Gone on reload: the server keeps only its hash.
    await page.reload();
    await row.waitFor();
    await expect(page.getByLabel('New API token').count()).resolves.toBe(0);
    await expect(page.locator('body').innerText()).resolves.not.toContain(secret);
    await context.close();
  });

  it('tells someone who is not an administrator, in words, that the screen is not for them', async () => {
    const { context, page } = await signedIn(browser, t.url, secret, '/api-tokens');
    await page.getByText('Only administrators can see API tokens.').waitFor();
    await expect(page.getByRole('button', { name: 'Create token' }).count()).resolves.toBe(0);
    await context.close();
  });

  it('revokes the token after a confirmation, and the API then refuses it', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/api-tokens');
    await page.getByRole('button', { name: 'Revoke nightly report script' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke token?' });
    await dialog.getByText('This cannot be undone.').waitFor();
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('“nightly report script” was revoked').waitFor();
    await page
      .getByRole('row')
      .filter({ hasText: 'nightly report script' })
      .getByText(/^Revoked/)
      .waitFor();

    const refused = await t.gql(`{ organizations { fullPath } }`, {}, secret);
    expect(refused.data).toBeFalsy();
    expect(refused.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    await context.close();
  });
});
