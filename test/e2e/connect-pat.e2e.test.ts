import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn, clickAndAwaitClose } from '../support/browser.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser, anOrganization, PASSWORD } from '../support/gitlab-seed.js';
import { freePort } from '../support/ports.js';
import { createDeferred } from '../support/deferred.js';
import { EVENT_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Advanced mode with a login and a personal access token from the Password Manager, the
 * Connections screen's expiry warning and disconnect, Workers, and the dashboard after a backup —
 * in Chromium against the real server and the GitLab simulator.
 */
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let alice: { id: number };
let bob: { id: number };
let organizationId: string;
let projectIds: number[];
let ownApp: { clientId: string; clientSecret: string };
let workerName: string;
let workerHost: string;
let workerConcurrency: number;

const CONNECT = `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id warnings } } }`;

async function counts() {
  const [[c], [k], [o]] = await Promise.all([
    t.app.dataSource.query('SELECT count(*)::int AS n FROM connections'),
    t.app.dataSource.query('SELECT count(*)::int AS n FROM credentials'),
    t.app.dataSource.query('SELECT count(*)::int AS n FROM organizations'),
  ]);
  return { connections: c.n, credentials: k.n, organizations: o.n };
}

beforeAll(async () => {
  sim = await startGitLabSimulator();
  alice = aUser(sim);
  bob = aUser(sim, 'bob');
  projectIds = anOrganization(sim, alice.id, { path: 'acme', projectCount: 5, withCommit: true }).projects.map(
    (p) => p.id,
  );
  const carol = aUser(sim, 'carol');
  anOrganization(sim, carol.id, { path: 'globex', projectCount: 2 });
  // No instance-wide OAuth app: the user brings their own, registered with Labkeeper's redirect URI.
  const port = await freePort();
  ownApp = sim.createOAuthApplication({
    name: 'My Labkeeper',
    redirectUri: `http://127.0.0.1:${port}/oauth/gitlab/callback`,
    scopes: ['api', 'read_api', 'read_repository', 'read_user'],
  });
  t = await startTestApp({ gitlab: { url: sim.url }, port });
  browser = await launchBrowser();
  ({
    name: workerName,
    host: workerHost,
    concurrency: workerConcurrency,
  } = (await t.gql('{ workers { name host concurrency } }')).data.workers[0]);
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

/**
 * Publishes a probe sync event (the running sync's own id and status, an unmistakable count) until
 * the page shows it: from then on the page's subscription hears the sync's real events.
 */
async function untilPageFollowsSync(page: Page) {
  const [run] = await t.app.dataSource.query(
    `SELECT id, organization_id FROM sync_runs WHERE status = 'RUNNING' ORDER BY created_at DESC LIMIT 1`,
  );
  const probe = page.getByText('4242 projects listed', { exact: false });
  for (const until = Date.now() + EVENT_TIMEOUT_MS; Date.now() < until && !(await probe.isVisible());) {
    t.app.pubSub.publish('SYNC_PROGRESS', run.organization_id, {
      organizationId: run.organization_id,
      syncRunId: run.id,
      status: 'RUNNING',
      phase: 'LISTING_PROJECTS',
      projectsListed: 4242,
      projectsTotal: null,
      groupsListed: 0,
      repositoriesAdded: 0,
      repositoriesGone: 0,
      errorCode: null,
      errorMessage: null,
      at: new Date().toISOString(),
    });
    await probe.waitFor({ timeout: 100 }).catch(() => undefined);
  }
  await probe.waitFor();
}

describe('Advanced mode → Login and Personal Access Token', () => {
  it('connects with a token added to the Password Manager in the UI, with groups, an interval sync, a default worker and a group to protect', async () => {
    const { token } = aToken(sim, alice.id);
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/password-manager');
    await page.getByRole('heading', { name: 'Password Manager' }).waitFor();
    await page.getByText('The Password Manager is empty.').waitFor();

    // Add the token; a too-short secret is refused first, beside the Secret field.
    await page.getByRole('button', { name: 'Add credential' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a credential' });
    await dialog.getByLabel('Kind').selectOption('PERSONAL_ACCESS_TOKEN');
    await dialog.getByLabel('Name', { exact: true }).fill('alice on the simulator');
    await dialog.getByLabel('Secret').fill('short');
    await dialog.getByLabel('Username (optional)').fill('alice');
    await dialog.getByRole('button', { name: 'Save to Password Manager' }).click();
    await dialog.getByText(/8 characters/).waitFor();
    expect(await dialog.getByLabel('Secret').getAttribute('aria-invalid')).toBe('true');
    await dialog.getByLabel('Secret').fill(token);
    await dialog.getByRole('button', { name: 'Save to Password Manager' }).click();
    const row = page.getByRole('row', { name: /alice on the simulator/ });
    await row.waitFor();
    await expect(row.getByText(`…${token.slice(-4)}`).isVisible()).resolves.toBe(true);
    expect(await page.content()).not.toContain(token);

    // Advanced mode, prefilled with the instance from the self-managed tile's link.
    await page.goto(`${t.url}/devops/gitlab/advanced?instance=${encodeURIComponent(sim.url)}`);
    await page.getByRole('heading', { name: 'Advanced mode' }).waitFor();
    await expect(page.getByLabel('Instance URL').inputValue()).resolves.toBe(sim.url);
    await page.getByRole('radio', { name: 'Login and Personal Access Token' }).check();
    await page.getByLabel('Username or e-mail').fill('alice');
    await page.getByRole('radio', { name: 'Use a token saved in the Password Manager' }).check();
    await page
      .getByLabel('Personal access token', { exact: true })
      .selectOption({ label: `alice on the simulator (alice) …${token.slice(-4)}` });
    await page.getByLabel('Include GitLab groups in the backup').check();
    await page.getByRole('radio', { name: 'At an interval' }).check();
    await page.getByLabel('Interval (minutes)').fill('120');
    await page.getByLabel('Default worker').selectOption({ label: `${workerName} (${workerHost}) — online` });
    await page.getByLabel('Group to protect (optional)').fill('acme');
    await screenshot(page, '10-advanced-mode');

    // The organization page opens while the sync still runs (GitLab's project listing is held), and
    // the page's re-read after the sync's end is held too: the facts follow the live sync at once,
    // as the banner does, and the counts and Run now follow once the re-read lands.
    const listing = sim.holdNext({ pathPattern: /\/api\/v4\/groups\/[^/]+\/projects/, method: 'GET' });
    const reread = createDeferred();
    let loads = 0;
    await page.route('**/graphql', async (route) => {
      const body = route.request().postDataJSON() as { operationName?: string; variables?: { first?: number } } | null;
      if (body?.operationName === 'OrganizationDetail' && body.variables?.first === 1 && ++loads > 1)
        await reread.promise;
      await route.continue();
    });
    const synced = nextJob(t, 'repositories.sync');
    await page.getByRole('button', { name: 'Proceed' }).click();
    await page.waitForURL(/\/organizations\/[\w-]+$/);
    await listing.reached;
    const lastSync = page.getByTestId('last-sync');
    await lastSync.getByText(/^(Queued|Running)$/).waitFor();
    await page
      .getByTestId('repository-counts')
      .getByText(/^0 protected/)
      .waitFor();
    await untilPageFollowsSync(page);
    listing.release();
    await synced;
    await page.getByText('Repository sync: Succeeded').waitFor();
    await lastSync.getByText('Succeeded').waitFor();
    reread.resolve();
    await page
      .getByTestId('repository-counts')
      .getByText(/^5 protected/)
      .waitFor();
    await expect(page.getByRole('button', { name: 'Run now' }).isEnabled()).resolves.toBe(true);
    await page.unroute('**/graphql');

    const connections = await t.gql(
      `{ connections { id status method login credentialId includeGroups defaultWorkerId repoSyncSchedule { kind intervalMinutes } } }`,
    );
    const credentials = await t.gql(`{ credentials { id name } }`);
    expect(credentials.data.credentials).toHaveLength(1);
    expect(connections.data.connections).toEqual([
      expect.objectContaining({
        status: 'CONNECTED',
        method: 'PERSONAL_ACCESS_TOKEN',
        login: 'alice',
        credentialId: credentials.data.credentials[0].id,
        includeGroups: true,
        repoSyncSchedule: { kind: 'INTERVAL', intervalMinutes: 120 },
      }),
    ]);
    const worker = (await t.gql(`{ workers { id name } }`)).data.workers.find(
      (w: { name: string }) => w.name === workerName,
    );
    const orgs = await t.gql(
      `{ organizations { id fullPath includeGroups defaultWorkerId repoSyncSchedule { kind intervalMinutes } repositories(first: 10) { totalCount } groups { totalCount } } }`,
    );
    const [acme] = orgs.data.organizations;
    expect(acme).toMatchObject({
      fullPath: 'acme',
      includeGroups: true,
      defaultWorkerId: worker.id,
      repoSyncSchedule: { kind: 'INTERVAL', intervalMinutes: 120 },
      repositories: { totalCount: 5 },
      groups: { totalCount: 5 },
    });
    expect(page.url()).toBe(`${t.url}/organizations/${acme.id}`);
    organizationId = acme.id;
    await context.close();
  });

  it('shows a revoked token’s error on the token field and creates nothing', async () => {
    const { token } = aToken(sim, alice.id, ['read_api', 'read_repository'], { revoked: true });
    const before = await counts();
    const { context, page } = await signedIn(
      browser,
      t.url,
      t.adminToken,
      `/devops/gitlab/advanced?instance=${encodeURIComponent(sim.url)}`,
    );
    await page.getByRole('radio', { name: 'Login and Personal Access Token' }).check();
    await page.getByLabel('Username or e-mail').fill('alice');
    await page.getByRole('radio', { name: 'Type a new token' }).check();
    const tokenField = page.getByLabel('Personal access token', { exact: true });
    await tokenField.fill(token);
    await page.getByLabel('Group to protect (optional)').fill('acme');
    await page.getByRole('button', { name: 'Proceed' }).click();
    await page.getByText('was revoked on GitLab').waitFor();
    expect(await tokenField.getAttribute('aria-invalid')).toBe('true');
    // The message is the token input's description, so a screen reader reads it with the field.
    const describedBy = (await tokenField.getAttribute('aria-describedby')) ?? '';
    const descriptions = await Promise.all(
      describedBy.split(' ').map((id) => page.locator(`[id="${id}"]`).textContent()),
    );
    expect(descriptions.join(' ')).toContain('was revoked on GitLab');
    await expect(page.getByLabel('Username or e-mail').getAttribute('aria-invalid')).resolves.toBeNull();
    expect(page.url()).toContain('/devops/gitlab/advanced');
    expect(await counts()).toEqual(before);

    // Switching to a saved token leaves the typed token's error behind.
    await page.getByRole('radio', { name: 'Use a token saved in the Password Manager' }).check();
    const picker = page.getByLabel('Personal access token', { exact: true });
    await expect(picker.getAttribute('aria-invalid')).resolves.toBeNull();
    await expect(page.getByText('was revoked on GitLab').count()).resolves.toBe(0);
    await context.close();
  });

  it('flags every empty required field at once, and sends nothing', async () => {
    const before = await counts();
    const { context, page } = await signedIn(
      browser,
      t.url,
      t.adminToken,
      `/devops/gitlab/advanced?instance=${encodeURIComponent(sim.url)}`,
    );
    await page.getByRole('radio', { name: 'Login and Personal Access Token' }).check();
    await page.getByRole('button', { name: 'Proceed' }).click();
    await page.getByText('Some fields need attention.').waitFor();
    await expect(page.getByLabel('Username or e-mail').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByLabel('Personal access token', { exact: true }).getAttribute('aria-invalid')).resolves.toBe(
      'true',
    );
    await expect(page.getByLabel('Username or e-mail').evaluate((e) => e === document.activeElement)).resolves.toBe(
      true,
    );

    await page.getByRole('radio', { name: 'Connect using OAuth App' }).check();
    await page.getByRole('button', { name: 'Proceed' }).click();
    await expect(page.getByLabel('Application ID').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.locator('input[type="password"]').getAttribute('aria-invalid')).resolves.toBe('true');
    expect(await counts()).toEqual(before);
    await context.close();
  });
});

describe('Advanced mode → repository sync at specific hours', () => {
  it('names the schedule field the API refuses and keeps the form as it was', async () => {
    const before = await counts();
    const { context, page } = await signedIn(
      browser,
      t.url,
      t.adminToken,
      `/devops/gitlab/advanced?instance=${encodeURIComponent(sim.url)}`,
    );
    await page.getByRole('radio', { name: 'Login and Personal Access Token' }).check();
    await page.getByLabel('Username or e-mail').fill('alice');
    await page.getByLabel('Personal access token', { exact: true }).fill(aToken(sim, alice.id).token);
    await page.getByRole('radio', { name: 'Specific hours of the day' }).check();
    const hours = page.getByRole('group', { name: 'Hours of the day' });
    await hours.getByRole('checkbox', { name: '02:00' }).uncheck();
    await page.getByLabel('Time zone').fill('Europe/Warsaw');
    await page.getByRole('button', { name: 'Proceed' }).click();
    await hours.getByText(/at least (one|1)/).waitFor();
    await page.getByText('Some fields need attention.').waitFor();
    await expect(page.getByLabel('Time zone').inputValue()).resolves.toBe('Europe/Warsaw');
    expect(await counts()).toEqual(before);
    await context.close();
  });
});

describe('Advanced mode → Connect using OAuth App', () => {
  it('shows the redirect URI, takes the secret added inline to the Password Manager, and connects through the pop-up', async () => {
    const { context, page } = await signedIn(
      browser,
      t.url,
      t.adminToken,
      `/devops/gitlab/advanced?instance=${encodeURIComponent(sim.url)}`,
    );
    await expect(page.getByRole('radio', { name: 'Connect using OAuth App' }).isChecked()).resolves.toBe(true);
    await page
      .getByLabel('Redirect URI')
      .filter({ hasText: `${t.url}/oauth/gitlab/callback` })
      .waitFor();
    await expect(page.getByLabel('Redirect URI').textContent()).resolves.toBe(`${t.url}/oauth/gitlab/callback`);
    // One click copies it, to paste into GitLab's application form.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
    await page.getByRole('button', { name: 'Copy the redirect URI' }).click();
    await page.getByText('Copied.').waitFor();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(`${t.url}/oauth/gitlab/callback`);
    await page.getByLabel('Application ID').fill(ownApp.clientId);
    await page.getByRole('radio', { name: 'Use a secret saved in the Password Manager' }).check();
    await page.getByRole('button', { name: 'Add to Password Manager…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add an OAuth client secret' });
    await dialog.getByLabel('Name', { exact: true }).fill('My Labkeeper application');
    await dialog.getByLabel('Secret').fill(ownApp.clientSecret);
    await dialog.getByRole('button', { name: 'Save to Password Manager' }).click();
    // The new entry is chosen at once.
    const saved = page.getByLabel('Saved secret');
    await saved.locator('option:checked', { hasText: 'My Labkeeper application' }).waitFor({ state: 'attached' });
    await page.getByLabel('Group to protect (optional)').fill('globex');

    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('button', { name: 'Proceed' }).click(),
    ]);
    await page.getByText('Waiting for you to sign in to GitLab').waitFor();
    await popup.locator('#user_login').fill('carol');
    await popup.locator('#user_password').fill(PASSWORD);
    await popup.locator('#sign-in-button').click();
    await clickAndAwaitClose(popup, popup.locator('#commit-changes'));
    await page.waitForURL(/\/organizations\/[\w-]+$/);

    const connections = await t.gql(
      `{ connections { method status oauthClientId credentialId gitlabUser { username } } credentials { id name kind } organizations { id fullPath } }`,
    );
    const secret = connections.data.credentials.find((c: { name: string }) => c.name === 'My Labkeeper application');
    expect(secret.kind).toBe('OAUTH_CLIENT_SECRET');
    expect(connections.data.connections).toContainEqual({
      method: 'OAUTH_APP',
      status: 'CONNECTED',
      oauthClientId: ownApp.clientId,
      credentialId: secret.id,
      gitlabUser: { username: 'carol' },
    });
    const globex = connections.data.organizations.find((o: { fullPath: string }) => o.fullPath === 'globex');
    expect(page.url()).toBe(`${t.url}/organizations/${globex.id}`);
    await context.close();
  });
});

describe('Connections', () => {
  it('warns prominently about a token that expires within 14 days, and disconnects after confirmation', async () => {
    const soon = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
    const expiring = await t.gql(CONNECT, {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        personalAccessToken: aToken(sim, alice.id, ['read_api', 'read_repository'], { expiresAt: soon }).token,
      },
    });
    expect(expiring.data.connectGitLab.connection.warnings).toHaveLength(1);
    const bobs = await t.gql(CONNECT, {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'bob',
        personalAccessToken: aToken(sim, bob.id).token,
      },
    });
    expect(bobs.errors).toBeUndefined();

    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/connections');
    await page.getByRole('heading', { name: 'Connections' }).waitFor();
    const cards = page.getByTestId('connection');
    await cards.first().waitFor();
    await expect(cards.count()).resolves.toBe(4);
    await expect(
      page
        .getByRole('article', { name: /Connection @carol/ })
        .getByRole('button', { name: 'Reauthorize' })
        .isVisible(),
    ).resolves.toBe(true);
    const warned = cards.filter({ has: page.getByRole('alert').filter({ hasText: `expires on ${soon}` }) });
    await expect(warned.count()).resolves.toBe(1);
    await expect(warned.getByText('Personal access token', { exact: true }).isVisible()).resolves.toBe(true);
    await expect(warned.getByText('read_api', { exact: true }).isVisible()).resolves.toBe(true);
    // Each card lists the organizations protected through it: carol's globex; none for bob's.
    await page
      .getByRole('article', { name: /Connection @carol/ })
      .getByRole('list', { name: /Organizations of/ })
      .getByRole('link', { name: 'GLOBEX' })
      .waitFor();
    await page
      .getByRole('article', { name: /Connection @bob/ })
      .getByText('none protected through it')
      .waitFor();
    await screenshot(page, '13-connections');

    const bobCard = page.getByRole('article', { name: /Connection @bob/ });
    await bobCard.getByRole('button', { name: 'Disconnect' }).click();
    const confirm = page.getByRole('dialog', { name: 'Disconnect?' });
    await confirm.getByText('Disconnect @bob').waitFor();
    await confirm.getByRole('button', { name: 'Disconnect' }).click();
    // The badge changes through the connectionStatusChanged subscription (and the re-read list).
    await bobCard.getByText('Disconnected', { exact: true }).waitFor();
    await expect(bobCard.getByRole('button', { name: 'Disconnect' }).count()).resolves.toBe(0);
    const status = await t.gql(`query($id: ID!) { connection(id: $id) { status } }`, {
      id: bobs.data.connectGitLab.connection.id,
    });
    expect(status.data.connection.status).toBe('DISCONNECTED');

    // Reauthorize the OAuth connection through the pop-up (GitLab skips consent: the app already has it).
    const carolCard = page.getByRole('article', { name: /Connection @carol/ });
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      carolCard.getByRole('button', { name: 'Reauthorize' }).click(),
    ]);
    await page.getByText('Waiting for you to authorize Labkeeper again').waitFor();
    await carolCard.getByText('Awaiting authorization', { exact: true }).waitFor();
    await popup.locator('#user_login').fill('carol');
    await popup.locator('#user_password').fill(PASSWORD);
    await clickAndAwaitClose(popup, popup.locator('#sign-in-button'));
    await carolCard.getByText('Connected', { exact: true }).waitFor();
    await page.getByText('Waiting for you to authorize Labkeeper again').waitFor({ state: 'detached' });

    // A change made elsewhere (another client, a token refresh) arrives live, without a reload.
    let reloaded = false;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) reloaded = true;
    });
    const carols = (await t.gql(`{ connections { id gitlabUser { username } } }`)).data.connections.find(
      (c: { gitlabUser: { username: string } | null }) => c.gitlabUser?.username === 'carol',
    );
    await t.gql(`mutation($id: ID!) { disconnect(id: $id) { status } }`, { id: carols.id });
    await carolCard.getByText('Disconnected', { exact: true }).waitFor();
    await expect(carolCard.getByRole('button', { name: 'Reauthorize' }).count()).resolves.toBe(0);
    expect(reloaded).toBe(false);
    await context.close();
  });
});

describe('Password Manager', () => {
  it('refuses to delete a credential a connection uses, with the reason, and deletes one no longer used', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/password-manager');
    const inUse = page.getByRole('row', { name: /alice on the simulator/ });
    await inUse.waitFor();
    await screenshot(page, '11-password-manager');

    await inUse.getByRole('button', { name: 'Delete alice on the simulator' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete credential?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await confirm
      .getByRole('alert')
      .filter({ hasText: /Not deleted: .*still needed by connection/ })
      .waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(inUse.isVisible()).resolves.toBe(true);

    // bob's connection was disconnected above, so the token saved for it may go.
    const bobsToken = page.getByRole('row', { name: /GitLab bob/ });
    await bobsToken.getByRole('button', { name: /^Delete / }).click();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await page.getByText(/“GitLab bob .*” was deleted\./).waitFor();
    await bobsToken.waitFor({ state: 'detached' });
    const names = (await t.gql(`{ credentials { name } }`)).data.credentials.map((c: { name: string }) => c.name);
    expect(names).toContain('alice on the simulator');
    expect(names.some((n: string) => n.startsWith('GitLab bob'))).toBe(false);
    await context.close();
  });
});

describe('Password Manager → Rotate', () => {
  it('gives a credential a new secret, shown by its new last characters and never the secret itself', async () => {
    const { token } = aToken(sim, alice.id);
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/password-manager');
    const row = page.getByRole('row', { name: /alice on the simulator/ });
    await row.getByRole('button', { name: 'Rotate alice on the simulator' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate credential' });
    await dialog.getByLabel('New secret').fill(token);
    await dialog.getByRole('button', { name: 'Rotate' }).click();
    await page.getByText('“alice on the simulator” has its new secret.').waitFor();
    await row.getByText(`…${token.slice(-4)}`).waitFor();
    expect(await page.content()).not.toContain(token);
    await context.close();
  });
});

describe('Workers', () => {
  it('lists the worker online with its concurrency and the organization that uses it by default', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/workers');
    const row = page.getByRole('row', { name: new RegExp(workerName) });
    await row.waitFor();
    await expect(row.getByText('Online', { exact: true }).isVisible()).resolves.toBe(true);
    await expect(row.getByRole('link', { name: 'acme' }).isVisible()).resolves.toBe(true);
    await expect(row.getByRole('cell', { name: String(workerConcurrency), exact: true }).isVisible()).resolves.toBe(
      true,
    );
    // Its load: the jobs it reported running at its last heartbeat, of its concurrency.
    const { runningJobs } = (await t.gql('{ workers { runningJobs } }')).data.workers[0];
    await expect(row.getByRole('progressbar', { name: `Load of ${workerName}` }).isVisible()).resolves.toBe(true);
    await row.getByText(`${runningJobs} of ${workerConcurrency} running`).waitFor();
    await screenshot(page, '12-workers');
    await context.close();
  });
});

describe('Dashboard', () => {
  it('shows protected and unprotected totals, the last backup run and the storage chart after backups on two days', async () => {
    const repos = await t.gql(
      `query($id: ID!) { organization(id: $id) { repositories(first: 10) { nodes { id } } } }`,
      { id: organizationId },
    );
    const unprotect = await t.gql(
      `mutation($i: SetRepositoriesProtectedInput!) { setRepositoriesProtected(input: $i) { id } }`,
      {
        i: { organizationId, isProtected: false, repositoryIds: [repos.data.organization.repositories.nodes[0].id] },
      },
    );
    expect(unprotect.errors).toBeUndefined();
    // A first backup "six days ago" (its snapshots moved back in time), then one today after a push.
    const first = await runBackup(t, organizationId);
    expect(first.status).toBe('SUCCEEDED');
    await t.app.dataSource.query(
      `UPDATE snapshots SET created_at = created_at - interval '6 days' WHERE organization_id = $1`,
      [organizationId],
    );
    sim.pushCommit(projectIds[1], { files: { 'CHANGELOG.md': '# 1.1.0\n'.repeat(200) }, message: 'Release 1.1.0' });
    const run = await runBackup(t, organizationId);
    expect(['SUCCEEDED', 'PARTIAL']).toContain(run.status);

    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const stat = (label: string) =>
      page
        .getByRole('listitem')
        .filter({ has: page.getByText(label, { exact: true }) })
        .locator('.stat');
    await stat('Protected repositories').waitFor();
    const counts = (await t.gql(`{ organizations { repositoryCounts { protected unprotected } } }`)).data.organizations;
    const sum = (key: 'protected' | 'unprotected') =>
      counts.reduce((n: number, o: { repositoryCounts: Record<string, number> }) => n + o.repositoryCounts[key], 0);
    expect(counts).toHaveLength(2);
    expect(sum('unprotected')).toBe(1);
    await expect(stat('Protected repositories').textContent()).resolves.toBe(String(sum('protected')));
    await expect(stat('Unprotected repositories').textContent()).resolves.toBe('1');

    const acme = page.getByRole('row', { name: /^acme/ });
    await acme.getByText(run.status === 'SUCCEEDED' ? 'Succeeded' : 'Partial', { exact: true }).waitFor();
    await expect(acme.getByRole('link', { name: /ago|now/ }).getAttribute('href')).resolves.toBe(`/runs/${run.runId}`);

    const chart = page.getByRole('img', { name: /Storage growth/ });
    await chart.waitFor();
    const snapshots = await t.gql(
      `query($o: ID) { snapshots(organizationId: $o, first: 100) { nodes { sizeBytes } } }`,
      { o: organizationId },
    );
    expect(snapshots.data.snapshots.nodes.length).toBeGreaterThan(0);
    await expect(chart.locator('desc').textContent()).resolves.toContain(
      `(${snapshots.data.snapshots.nodes.length} snapshots kept)`,
    );
    // The connection whose token expires soon needs attention.
    await expect(
      page
        .getByRole('region', { name: 'Connections needing attention' })
        .getByText(/expires on/)
        .isVisible(),
    ).resolves.toBe(true);
    await screenshot(page, '14-dashboard');

    // The same numbers as a table, for those who cannot see the chart: from the day before the first snapshot to today.
    await page.getByText('Show the data as a table').click();
    const table = page.getByRole('table', { name: 'Storage by day' });
    await table.waitFor();
    const rows = table.getByRole('row');
    await expect(rows.count()).resolves.toBe(1 + 8);
    // Days are written as everywhere else in the app (the browser's locale), not as ISO dates.
    const today = await page.evaluate(
      (day) =>
        new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, {
          month: 'short',
          day: 'numeric',
          year: 'numeric',
          timeZone: 'UTC',
        }),
      new Date().toISOString().slice(0, 10),
    );
    expect(today).not.toMatch(/^\d{4}-/);
    await expect(rows.last().getByRole('rowheader').textContent()).resolves.toBe(today);
    await expect(rows.last().getByRole('cell').last().textContent()).resolves.toBe(
      String(snapshots.data.snapshots.nodes.length),
    );
    await context.close();
  });
});
