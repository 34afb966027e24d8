import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { launchBrowser, screenshot, signedIn, clickAndAwaitClose } from '../support/browser.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, anOrganization, PASSWORD } from '../support/gitlab-seed.js';
import { freePort } from '../support/ports.js';
import { watchPlainText } from '../support/plain-text.js';

let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  anOrganization(sim, alice.id, { path: 'acme', projectCount: 3 });
  aUser(sim, 'carol');
  const port = await freePort();
  const oauthApp = sim.createOAuthApplication({
    name: 'Labkeeper',
    redirectUri: `http://127.0.0.1:${port}/oauth/gitlab/callback`,
    scopes: ['api', 'read_api', 'read_repository', 'read_user', 'write_repository'],
  });
  t = await startTestApp({ gitlab: { url: sim.url, oauthApp }, port });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

it('signs in from the printed link and shows the dashboard without asking for a token', async () => {
  const { context, page } = await signedIn(browser, t.url, t.adminToken);
  await expect(page.getByRole('navigation', { name: 'Main' }).isVisible()).resolves.toBe(true);
  expect(page.url()).not.toContain('token=');
  await context.close();
});

it('refuses a wrong token on the sign-in screen and accepts the right one', async () => {
  const context = await browser.newContext();
  await watchPlainText(context, t.url);
  const page = await context.newPage();
  await page.goto(`${t.url}/`);
  await page.getByLabel('API token').fill('lk_not_a_token_at_all_000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('This token is not valid').waitFor();
  await screenshot(page, '01-sign-in');
  await page.getByLabel('API token').fill(t.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  await context.close();
});

it('connects GitLab through the OAuth pop-up and the main window shows CONNECTED without a reload', async () => {
  const { context, page } = await signedIn(browser, t.url, t.adminToken, '/devops');
  await page.getByRole('heading', { name: 'DevOps' }).waitFor();
  await page.getByText('No GitLab connection yet.').waitFor();
  await screenshot(page, '02-devops');
  let reloaded = false;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) reloaded = true;
  });

  const tile = page.getByRole('article', { name: 'GitLab', exact: true });
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    tile.getByRole('button', { name: 'Connect' }).click(),
  ]);
  await page.getByText('Waiting for you to sign in to GitLab').waitFor();

  // In the pop-up: GitLab's sign-in page, then its Authorize page.
  await popup.locator('#user_login').waitFor();
  await popup.locator('#user_login').fill('alice');
  await popup.locator('#user_password').fill(PASSWORD);
  await popup.locator('#sign-in-button').click();
  await clickAndAwaitClose(popup, popup.locator('#commit-changes'));

  const connection = page.getByTestId('connection');
  await connection.getByText('Connected', { exact: true }).waitFor();
  await expect(connection.getByText('@alice').isVisible()).resolves.toBe(true);
  await page.getByText('Connected. Choose the organization to protect below.').waitFor();
  expect(reloaded).toBe(false);

  // Protect the group it found: the organization screen opens.
  await connection.getByRole('button', { name: 'Protect acme' }).click();
  await page.waitForURL(/\/organizations\/[\w-]+$/);
  const organizations = await t.gql('{ organizations { fullPath } }');
  expect(organizations.data.organizations).toEqual([{ fullPath: 'acme' }]);
  await page.goto(`${t.url}/devops`);
  await page.getByRole('link', { name: 'Open organization' }).waitFor();
  await screenshot(page, '03-devops-connected');
  await context.close();
});

it('shows how to allow a blocked pop-up and offers the same tab instead', async () => {
  const { context, page } = await signedIn(browser, t.url, t.adminToken, '/devops');
  // A browser that blocks pop-ups returns null from window.open.
  await page.evaluate(() => {
    window.open = () => null;
  });
  await page.getByRole('article', { name: 'GitLab', exact: true }).getByRole('button', { name: 'Connect' }).click();
  await page.getByText('Your browser blocked the GitLab authorization pop-up.').waitFor();
  const sameTab = page.getByRole('link', { name: 'continue the authorization in this tab' });
  expect(await sameTab.getAttribute('href')).toMatch(new RegExp(`^${sim.url}/oauth/authorize\\?`));
  await screenshot(page, '04-devops-popup-blocked');

  // The same tab: GitLab, then back to Labkeeper's callback, which links back to the app.
  // (carol has not authorized Labkeeper yet, so GitLab asks for consent.)
  await sameTab.click();
  await page.locator('#user_login').fill('carol');
  await page.locator('#user_password').fill(PASSWORD);
  await page.locator('#sign-in-button').click();
  await page.locator('#commit-changes').click();
  await page.getByRole('heading', { name: 'Connected' }).waitFor();
  await page.getByRole('link', { name: 'Back to Labkeeper' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await context.close();
});

it('names the instance the GitLab tile signs in to, and the waiting notice reopens a closed pop-up and cancels', async () => {
  const { context, page } = await signedIn(browser, t.url, t.adminToken, '/devops');
  const tile = page.getByRole('article', { name: 'GitLab', exact: true });
  await tile.getByText(`Sign in to ${new URL(sim.url).host} in a pop-up.`).waitFor();

  const [first] = await Promise.all([
    page.waitForEvent('popup'),
    tile.getByRole('button', { name: 'Connect' }).click(),
  ]);
  await page.getByText('Waiting for you to sign in to GitLab').waitFor();
  await first.waitForURL(/\/users\/sign_in|\/oauth\/authorize/);
  // The user closes the pop-up by mistake: Reopen brings GitLab's authorization back.
  await first.close();
  const [again] = await Promise.all([
    page.waitForEvent('popup'),
    page.getByRole('button', { name: 'Reopen the GitLab window' }).click(),
  ]);
  await again.waitForURL(/\/users\/sign_in|\/oauth\/authorize/);
  await again.locator('#user_login').waitFor();

  // Cancel closes it and stops waiting.
  await Promise.all([again.waitForEvent('close'), page.getByRole('button', { name: 'Cancel' }).click()]);
  await page.getByText('Waiting for you to sign in to GitLab').waitFor({ state: 'detached' });
  await expect(tile.getByRole('button', { name: 'Connect' }).isEnabled()).resolves.toBe(true);
  await context.close();
});

it('shows the self-managed instance URL’s placeholder whole, at 390 px and at 1440 px', async () => {
  const { context, page } = await signedIn(browser, t.url, t.adminToken, '/devops');
  const input = page.getByRole('article', { name: 'GitLab Self-managed' }).getByLabel('Instance URL');
  for (const width of [390, 1440]) {
    await page.setViewportSize({ width, height: 900 });
    await input.waitFor();
    // The placeholder's text, in the input's font, fits the input's content box.
    const { text, room } = await input.evaluate((el: HTMLInputElement) => {
      const style = getComputedStyle(el);
      const context2d = document.createElement('canvas').getContext('2d')!;
      context2d.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      return {
        text: context2d.measureText(el.placeholder).width,
        room: el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
      };
    });
    expect(text).toBeLessThanOrEqual(room);
  }
  await context.close();
});
