import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { createTestCertificates } from '../gitlab/test-ca.js';
import { startHttpReceiver, type HttpReceiver } from '../support/alert-receivers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn } from '../support/browser.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * Operations in Chromium against the real server and the GitLab simulator: the dashboard's
 * "Needs attention" lists a run that failed (GitLab answered 503 to every fetch) with a link that
 * opens it; the API tokens screen creates a token, shows its secret once, and revokes it; the audit
 * log shows (and filters, and exports) those changes; the Alerts screen adds a webhook channel,
 * tests it against a real receiver, sets a weekly summary at an hour in a time zone, and deletes it;
 * and a webhook to an HTTPS receiver of a private certificate authority is trusted through the
 * authority's certificate given in the form, shown again on a change, and removed there.
 */
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let orgId: string;
let receiver: HttpReceiver;

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
  receiver = await startHttpReceiver();
  browser = await launchBrowser();
});
afterAll(async () => {
  await receiver?.close();
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
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await context.close();
  });
});

describe('The audit log screen', () => {
  it('lists the token changes with their token and result, filters by operation, and downloads JSON Lines', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/audit-log');
    const table = page.getByRole('table', { name: 'Audit events' });
    await table.getByRole('row').filter({ hasText: 'Revoke API token' }).first().waitFor();
    await expect(table.getByRole('row').filter({ hasText: 'Create API token' }).count()).resolves.toBeGreaterThan(0);
    await screenshot(page, '42-audit-log');

    await page.getByLabel('Operation').fill('revokeApiToken');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText(/^1 event;/).waitFor();
    const rows = table.locator('tbody tr');
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().innerText()).resolves.toMatch(/Revoke API token[\s\S]*bootstrap admin/);

    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download as JSON Lines' }).click();
    const download = await downloading;
    const lines = (await readFile(await download.path(), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).operation)).toEqual(['revokeApiToken']);
    await context.close();
  });
});

describe('The Alerts screen', () => {
  const SIGNING_SECRET = 'a signing secret of 16+ characters';
  const CHANNELS = `{ notificationChannels { id name kind url rules { runFailed summary summaryHour summaryTimeZone } } }`;

  it('adds a webhook channel, sends a test alert the receiver gets, sets a weekly summary at 08:00 in Warsaw, and deletes it', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/alerts');
    await page.getByText('No channel yet').waitFor();
    await page.getByRole('button', { name: 'Add channel' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a notification channel' });
    await dialog.getByRole('radio', { name: /Webhook/ }).check();
    await dialog.getByLabel('Name').fill('Ops webhook');
    await dialog.getByLabel('Receiver address').fill(`${receiver.url}/hook`);
    await dialog.getByLabel('Signing secret').fill(SIGNING_SECRET);
    await dialog.getByRole('button', { name: 'Add channel' }).click();
    await page.getByText('“Ops webhook” was added.').waitFor();
    const [saved] = (await t.gql(CHANNELS)).data.notificationChannels;
    expect(saved).toMatchObject({ name: 'Ops webhook', kind: 'WEBHOOK', url: `${receiver.url}/hook` });
    expect(saved.rules).toEqual({
      runFailed: true,
      summary: null,
      summaryHour: 0,
      summaryTimeZone: expect.any(String),
    });

    const channel = page.getByRole('listitem', { name: 'Ops webhook' });
    const log = channel.getByRole('region', { name: 'Recent deliveries to Ops webhook' });
    await log.getByText('Nothing has been sent to this channel yet.').waitFor();
    await channel.getByRole('button', { name: 'Send a test' }).click();
    await channel.getByText(/^The test alert was delivered/).waitFor();
    const hit = await receiver.hits.next((h) => h.path === '/hook', 'test alert');
    expect(JSON.parse(hit.body)).toMatchObject({ kind: 'TEST' });
    // The delivery log lists the test: when, what, how it went and after how many attempts.
    const delivery = log.getByRole('listitem').filter({ hasText: 'Test of notification channel Ops webhook' });
    await delivery.getByText('Sent after 1 attempt.', { exact: true }).waitFor();
    await expect(delivery.locator('.badge').textContent()).resolves.toBe('Sent');
    await expect(delivery.locator('time').getAttribute('datetime')).resolves.toMatch(/^\d{4}-\d\d-\d\dT/);
    await screenshot(page, '43-alerts');

    await channel.getByRole('button', { name: 'Change' }).click();
    const edit = page.getByRole('dialog', { name: 'Change Ops webhook' });
    await edit.getByLabel('Summary report').selectOption({ label: 'Every week (on Monday)' });
    await edit.getByLabel('Summary hour').selectOption({ label: '08:00' });
    const zone = edit.getByLabel('Summary time zone');
    await zone.fill('Mars/Olympus_Mons');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.getByText(/^must be a time zone such as/).waitFor();
    await expect(zone.getAttribute('aria-invalid')).resolves.toBe('true');
    await zone.fill('Europe/Warsaw');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('“Ops webhook” was saved.').waitFor();
    await channel.getByText('A summary every Monday at 08:00 Europe/Warsaw.').waitFor();
    expect((await t.gql(CHANNELS)).data.notificationChannels[0].rules).toEqual({
      runFailed: true,
      summary: 'WEEKLY',
      summaryHour: 8,
      summaryTimeZone: 'Europe/Warsaw',
    });

    await channel.getByRole('button', { name: 'Delete Ops webhook' }).click();
    await page.getByRole('dialog', { name: 'Delete channel?' }).getByRole('button', { name: 'Delete channel' }).click();
    await page.getByText('“Ops webhook” was deleted.').waitFor();
    expect((await t.gql(CHANNELS)).data.notificationChannels).toEqual([]);
    await context.close();
  });

  it('trusts an HTTPS receiver of a private authority once the form is given its certificate, shows it on a change and removes it there', async () => {
    const ca = createTestCertificates();
    const privateReceiver = await startHttpReceiver({ tls: { key: ca.serverKey, cert: ca.serverCert } });
    const CA = `{ notificationChannels { name caCertificate } }`;
    try {
      const { context, page } = await signedIn(browser, t.url, t.adminToken, '/alerts');
      await page.getByRole('button', { name: 'Add channel' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add a notification channel' });
      await dialog.getByRole('radio', { name: /Webhook/ }).check();
      await dialog.getByLabel('Name').fill('Private webhook');
      await dialog.getByLabel('Receiver address').fill(`${privateReceiver.url}/private`);
      await dialog.getByLabel('Signing secret').fill(SIGNING_SECRET);
      const pem = dialog.getByLabel('CA certificate (optional)');
      await pem.fill('not a certificate');
      await dialog.getByRole('button', { name: 'Add channel' }).click();
      await dialog.getByText(/^must be a PEM certificate/).waitFor();
      await expect(pem.getAttribute('aria-invalid')).resolves.toBe('true');
      expect((await t.gql(CA)).data.notificationChannels).toEqual([]);
      await pem.fill(ca.caPem);
      await dialog.getByRole('button', { name: 'Add channel' }).click();
      await page.getByText('“Private webhook” was added.').waitFor();
      expect((await t.gql(CA)).data.notificationChannels).toEqual([
        { name: 'Private webhook', caCertificate: ca.caPem.trim() },
      ]);

      const channel = page.getByRole('listitem', { name: 'Private webhook' });
      await channel.getByRole('button', { name: 'Send a test' }).click();
      await channel.getByText(/^The test alert was delivered/).waitFor();
      await privateReceiver.hits.next((h) => h.path === '/private', 'test alert over HTTPS');

      await channel.getByRole('button', { name: 'Change' }).click();
      const edit = page.getByRole('dialog', { name: 'Change Private webhook' });
      await expect(edit.getByLabel('CA certificate (optional)').inputValue()).resolves.toBe(ca.caPem.trim());
      await edit.getByLabel('CA certificate (optional)').fill('');
      await edit.getByRole('button', { name: 'Save changes' }).click();
      await page.getByText('“Private webhook” was saved.').waitFor();
      expect((await t.gql(CA)).data.notificationChannels).toEqual([{ name: 'Private webhook', caCertificate: null }]);
      await channel.getByRole('button', { name: 'Send a test' }).click();
      await channel.getByText(/^The test alert was not delivered: .*certificate is not trusted/).waitFor();

      await channel.getByRole('button', { name: 'Delete Private webhook' }).click();
      await page
        .getByRole('dialog', { name: 'Delete channel?' })
        .getByRole('button', { name: 'Delete channel' })
        .click();
      await page.getByText('“Private webhook” was deleted.').waitFor();
      await context.close();
    } finally {
      await privateReceiver.close();
    }
  });
});
