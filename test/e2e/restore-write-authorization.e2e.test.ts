import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn, clickAndAwaitClose } from '../support/browser.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, PASSWORD } from '../support/gitlab-seed.js';
import { authorizeAsUser } from '../support/oauth-browser.js';
import { freePort } from '../support/ports.js';

/**
 * An OAuth connection reads with backup-only scopes. Restoring through it asks, in the restore
 * dialog, for the separate write authorization in a GitLab pop-up; after it the restore runs.
 */
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let repositoryId: string;
let connectionId: string;
let readToken: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  readToken = aToken(sim, alice.id, ['read_api']).token;
  const acme = sim.createGroup({ path: 'acme', ownerId: alice.id });
  sim.createGroup({ path: 'restored', ownerId: alice.id });
  sim.createProject({ namespaceId: acme.id, path: 'api' });
  const port = await freePort();
  const app = sim.createOAuthApplication({
    name: 'Labkeeper',
    redirectUri: `http://127.0.0.1:${port}/oauth/gitlab/callback`,
    scopes: ['api', 'read_api', 'read_repository', 'read_user', 'write_repository'],
  });
  t = await startTestApp({ gitlab: { url: sim.url, oauthApp: app }, port });

  const synced = nextJob(t, 'repositories.sync');
  const r = await t.gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { authorizationUrl connection { id } } }`,
    {
      i: { method: 'OAUTH', namespacePath: 'acme', includeGroups: false },
    },
  );
  connectionId = r.data.connectGitLab.connection.id;
  const callback = await authorizeAsUser(r.data.connectGitLab.authorizationUrl, { login: 'alice', password: PASSWORD });
  expect((await fetch(callback, { redirect: 'manual' })).status).toBe(200);
  await synced;
  const orgs = await t.gql(`query($c: ID) { organizations(connectionId: $c) { id repositories { nodes { id } } } }`, {
    c: connectionId,
  });
  repositoryId = orgs.data.organizations[0].repositories.nodes[0].id;
  expect((await runBackup(t, orgs.data.organizations[0].id)).status).toBe('SUCCEEDED');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

it('asks for the write authorization in a pop-up when a restore needs it, then restores', async () => {
  const before = await t.gql(`query($id: ID!) { connection(id: $id) { writeScopes } }`, { id: connectionId });
  expect(before.data.connection.writeScopes).toEqual([]);

  const { context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`);
  await page
    .getByRole('button', { name: /^Restore…/ })
    .first()
    .click();
  const dialog = page.getByRole('dialog', { name: 'Restore snapshot' });
  await dialog.getByRole('radio', { name: 'New project' }).check();
  await dialog.getByLabel('Namespace').fill('restored');
  await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
  await dialog.getByText('This restore writes to GitLab, and the connection may only read.').waitFor();
  expect(page.url()).toContain('/snapshots');
  await screenshot(page, '36-restore-write-authorization');

  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    dialog.getByRole('button', { name: 'Authorize write access in GitLab' }).click(),
  ]);
  await popup.locator('#user_login').fill('alice');
  await popup.locator('#user_password').fill(PASSWORD);
  await popup.locator('#sign-in-button').click();
  // GitLab asks for consent again: the write scopes were not granted before.
  await clickAndAwaitClose(popup, popup.locator('#commit-changes'));
  await dialog.getByText(/Restores may now write to GitLab as alice\. Restore again to start\./).waitFor();

  const after = await t.gql(`query($id: ID!) { connection(id: $id) { scopes writeScopes } }`, { id: connectionId });
  expect(after.data.connection.writeScopes).toEqual(expect.arrayContaining(['api', 'write_repository']));
  expect(after.data.connection.scopes).not.toContain('api');

  await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
  await page.waitForURL(/\/restores\/[\w-]+$/);
  await page.getByText('Created the project restored/api.').waitFor();
  const project = await fetch(`${sim.url}/api/v4/projects/${encodeURIComponent('restored/api')}`, {
    headers: { 'private-token': readToken },
  });
  expect(project.status).toBe(200);
  await context.close();
});
