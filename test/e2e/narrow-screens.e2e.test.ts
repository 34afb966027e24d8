import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn } from '../support/browser.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, anOrganization } from '../support/gitlab-seed.js';

/**
 * Every main screen at phone width (390 px) and at desktop width (1440 px), in Chromium against
 * the real server and the GitLab simulator: the navigation folds behind Menu and opens and closes,
 * at 1280 px (a small laptop) it sits on one line of the bar and below that it folds, no page is wider than the screen, tables scroll inside their card, the restore dialog fits, and
 * the progress bar's label stays readable on its fill. Screenshots of each screen at both widths go
 * to test-output/screenshots/.
 */
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let orgId: string;
let repositoryId: string;
let runId: string;
let restoreId: string;

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1440, height: 900 };

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const { projects } = anOrganization(sim, alice.id, { path: 'acme', projectCount: 3, withCommit: true });
  sim.createLabel(projects[0].id, { name: 'a-rather-long-label-name-that-must-wrap-on-a-phone' });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  // alice connected a second time (another group): the restore dialog must tell the two apart.
  sim.createGroup({ path: 'other', ownerId: alice.id });
  await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'other' });
  const run = await runBackup(t, orgId);
  expect(run.status).toBe('SUCCEEDED');
  runId = run.runId;
  const repositories = await t.gql(
    `query($o: ID!) { organization(id: $o) { repositories { nodes { id pathWithNamespace latestSnapshot { id } } } } }`,
    { o: orgId },
  );
  const first = repositories.data.organization.repositories.nodes.find(
    (r: { pathWithNamespace: string }) => r.pathWithNamespace === 'acme/project-000',
  );
  repositoryId = first.id;
  const restore = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
    i: { target: 'DOWNLOAD', snapshotIds: [first.latestSnapshot.id] },
  });
  expect(restore.errors).toBeUndefined();
  restoreId = restore.data.restoreSnapshot.id;
  const credential = await t.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
    i: {
      kind: 'PERSONAL_ACCESS_TOKEN',
      name: 'A token for the phone screenshots',
      secret: 'glpat-narrow-screens-0001',
    },
  });
  expect(credential.errors).toBeUndefined();
  // A channel on the Alerts screen, so the phone shows one with its rules and buttons.
  const channel = await t.gql(
    `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`,
    {
      i: {
        kind: 'EMAIL',
        name: 'On-call e-mail for the whole operations team',
        email: { host: 'smtp.example.com', from: 'labkeeper@example.com', to: ['oncall-team@example.com'] },
        rules: { summary: 'WEEKLY' },
      },
    },
  );
  expect(channel.errors).toBeUndefined();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

/** The main screens, each with the heading that says it has loaded. */
const screens = (): { name: string; path: string; heading: RegExp }[] => [
  { name: 'dashboard', path: '/', heading: /Dashboard/ },
  { name: 'devops', path: '/devops', heading: /DevOps/ },
  { name: 'advanced-mode', path: '/devops/gitlab/advanced', heading: /Advanced/ },
  { name: 'connections', path: '/connections', heading: /Connections/ },
  { name: 'organizations', path: '/organizations', heading: /Organizations/ },
  { name: 'organization', path: `/organizations/${orgId}`, heading: /ACME/ },
  { name: 'policy', path: `/organizations/${orgId}/policy`, heading: /policy/i },
  { name: 'run-history', path: `/organizations/${orgId}/runs`, heading: /Run history/ },
  { name: 'run', path: `/runs/${runId}`, heading: /run/i },
  { name: 'snapshots', path: `/repositories/${repositoryId}/snapshots`, heading: /Snapshots of/ },
  { name: 'restore', path: `/restores/${restoreId}`, heading: /Restore/ },
  { name: 'password-manager', path: '/password-manager', heading: /Password Manager/ },
  { name: 'workers', path: '/workers', heading: /Workers/ },
  { name: 'alerts', path: '/alerts', heading: /Alerts/ },
  { name: 'api-tokens', path: '/api-tokens', heading: /API tokens/ },
  { name: 'audit-log', path: '/audit-log', heading: /Audit log/ },
  { name: 'storages', path: '/storages', heading: /Storages/ },
];

/** The left edges of the policy form's sections: how many columns it is laid out in. */
async function policyColumns(page: Page): Promise<number> {
  return page.evaluate(() => {
    const lefts = Array.from(document.querySelectorAll('form.policy-form .form-sections > fieldset')).map((f) =>
      Math.round(f.getBoundingClientRect().left),
    );
    return new Set(lefts).size;
  });
}

async function open(page: Page, path: string, heading: RegExp) {
  await page.goto(`${t.url}${path}`);
  await page.getByRole('heading', { level: 1 }).filter({ hasText: heading }).first().waitFor();
  await page.locator('.state-loading').first().waitFor({ state: 'detached' });
}

/**
 * What makes the page wider than the screen: the document's scroll width, and the elements that
 * end past the right edge without an ancestor that scrolls them (named so a failure says where).
 */
async function overflow(page: Page): Promise<{ documentWidth: number; viewport: number; culprits: string[] }> {
  return page.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const scrolls = (el: Element | null): boolean => {
      for (let a = el; a && a !== document.body; a = a.parentElement) {
        const o = getComputedStyle(a).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
      }
      return false;
    };
    const culprits: string[] = [];
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.right <= viewport + 0.5 || scrolls(el.parentElement)) continue;
      const name = `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''}`;
      culprits.push(`${name} (right edge ${Math.round(box.right)}): ${(el.textContent ?? '').slice(0, 60)}`);
    }
    return { documentWidth: document.documentElement.scrollWidth, viewport, culprits: culprits.slice(0, 8) };
  });
}

/** Tables wider than the screen scroll inside their card (an ancestor with overflow-x auto that fits). */
async function tablesThatDoNotFit(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const bad: string[] = [];
    for (const table of Array.from(document.querySelectorAll('main table'))) {
      const box = table.getBoundingClientRect();
      if (box.left >= 0 && box.right <= viewport + 0.5) continue;
      let scroller: Element | null = table.parentElement;
      while (scroller && !['auto', 'scroll'].includes(getComputedStyle(scroller).overflowX))
        scroller = scroller.parentElement;
      const fits = scroller && scroller.getBoundingClientRect().right <= viewport + 0.5;
      if (!fits) bad.push(table.getAttribute('aria-label') ?? table.querySelector('caption')?.textContent ?? 'table');
    }
    return bad;
  });
}

/** What inside a dialog ends past its right edge, or past the screen's (named so a failure says where). */
async function cutOnTheRight(dialog: ReturnType<Page['getByRole']>): Promise<string[]> {
  return dialog.evaluate((el) => {
    const right = Math.min(el.getBoundingClientRect().right, document.documentElement.clientWidth);
    return Array.from(el.querySelectorAll('*'))
      .filter((c) => c.getBoundingClientRect().width > 0 && c.getBoundingClientRect().right > right + 0.5)
      .map((c) => `${c.tagName.toLowerCase()}: ${(c.textContent ?? '').slice(0, 40)}`);
  });
}

describe('At 390 px (a phone)', () => {
  it('folds the navigation behind Menu, which opens and closes, and a chosen screen closes it', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/');
    await page.setViewportSize(PHONE);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    const menu = page.getByRole('button', { name: 'Menu' });
    const nav = page.getByRole('navigation', { name: 'Main' });
    const workers = nav.getByRole('link', { name: 'Workers' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    expect(await workers.isVisible()).toBe(false);

    await menu.click();
    const close = page.getByRole('button', { name: 'Close menu' });
    expect(await close.getAttribute('aria-expanded')).toBe('true');
    await workers.waitFor();
    // Each entry on one line, inside the screen ("Password Manager" is not broken in two).
    const entry = nav.getByRole('link', { name: 'Password Manager' });
    const lineHeight = await entry.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
    const box = (await entry.boundingBox())!;
    expect(box.height).toBeLessThan(2 * lineHeight);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, 'narrow-390-menu-open');

    await close.click();
    await workers.waitFor({ state: 'hidden' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');

    await menu.click();
    await workers.click();
    await page.getByRole('heading', { level: 1, name: /Workers/ }).waitFor();
    await workers.waitFor({ state: 'hidden' });
    await context.close();
  });

  it('shows every main screen without sideways scrolling, tables scrolling inside their card', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/');
    await page.setViewportSize(PHONE);
    const problems: string[] = [];
    for (const screen of screens()) {
      await open(page, screen.path, screen.heading);
      const { documentWidth, viewport, culprits } = await overflow(page);
      if (documentWidth > viewport)
        problems.push(`${screen.name}: ${documentWidth} px wide at ${viewport} px: ${culprits.join(' | ')}`);
      for (const table of await tablesThatDoNotFit(page)) problems.push(`${screen.name}: table "${table}" is cut`);
      if (screen.name === 'organization') {
        // One brightest button: Run now. Run drill now is not the call to action.
        expect(await page.locator('main .button-primary').allInnerTexts()).toEqual(['Run now']);
      }
      if (screen.name === 'policy') expect(await policyColumns(page)).toBe(1);
      await screenshot(page, `narrow-390-${screen.name}`);
    }
    expect(problems).toEqual([]);
    await context.close();
  });

  it('fits the restore dialog in the screen', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/repositories/${repositoryId}/snapshots`);
    await page.setViewportSize(PHONE);
    await page
      .getByRole('button', { name: /^Restore…/ })
      .first()
      .click();
    const dialog = page.getByRole('dialog', { name: 'Restore snapshot' });
    await dialog.getByRole('radio', { name: 'New project' }).check();
    await dialog.getByLabel('Namespace').waitFor();
    // Two connections of @alice on the same instance: each option reads differently.
    const targets = (await dialog.getByLabel('Target connection').locator('option').allInnerTexts()).filter((o) =>
      o.startsWith('@alice on'),
    );
    expect(targets).toHaveLength(2);
    expect(new Set(targets).size).toBe(2);
    const box = (await dialog.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    // Nothing inside is cut on the right: the dialog's content is no wider than the dialog.
    const inner = await dialog.evaluate((el) => {
      const right = el.getBoundingClientRect().right;
      return Array.from(el.querySelectorAll('*'))
        .filter((c) => c.getBoundingClientRect().width > 0 && c.getBoundingClientRect().right > right + 0.5)
        .map((c) => `${c.tagName.toLowerCase()}: ${(c.textContent ?? '').slice(0, 40)}`);
    });
    expect(inner).toEqual([]);
    const { documentWidth, viewport } = await overflow(page);
    expect(documentWidth).toBeLessThanOrEqual(viewport);
    await screenshot(page, 'narrow-390-restore-dialog');
    await context.close();
  });
  it('fits the new-channel form and a new API token in the screen', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/alerts');
    await page.setViewportSize(PHONE);
    await page.getByRole('button', { name: 'Add channel' }).click();
    const channel = page.getByRole('dialog', { name: 'Add a notification channel' });
    await channel.getByLabel('Summary report').selectOption('DAILY');
    await channel.getByLabel('Summary time zone').waitFor();
    expect(await cutOnTheRight(channel)).toEqual([]);
    await screenshot(page, 'narrow-390-add-channel');
    await channel.getByRole('button', { name: 'Cancel' }).click();

    await open(page, '/api-tokens', /API tokens/);
    await page.getByRole('button', { name: 'Create token' }).click();
    const create = page.getByRole('dialog', { name: 'Create an API token' });
    expect(await cutOnTheRight(create)).toEqual([]);
    await create.getByLabel('Name').fill('a phone-width token');
    await create.getByRole('button', { name: 'Create token' }).click();
    await page.getByLabel('New API token').waitFor();
    const { documentWidth, viewport, culprits } = await overflow(page);
    expect({ documentWidth, culprits }).toEqual({ documentWidth: viewport, culprits: [] });
    await screenshot(page, 'narrow-390-new-api-token');
    await context.close();
  });
});

describe('At 1280 px (a small laptop) and below', () => {
  it('shows the ten entries of the navigation on one line of the bar at 1280 px, and folds them behind Menu at 1100 px', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/');
    await page.setViewportSize({ width: 1280, height: 800 });
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Storages' }).waitFor();
    expect(await page.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false);
    const links = await nav.getByRole('link').all();
    expect(links).toHaveLength(10);
    const boxes = await Promise.all(links.map(async (link) => (await link.boundingBox())!));
    // One row: every entry at the same height, each on one line, none past the Sign out button.
    expect(new Set(boxes.map((b) => Math.round(b.y))).size).toBe(1);
    const signOut = (await page.getByRole('button', { name: 'Sign out' }).boundingBox())!;
    expect(signOut.height).toBeLessThan(2 * boxes[0].height); // "Sign out" on one line too
    expect(Math.max(...boxes.map((b) => b.x + b.width))).toBeLessThanOrEqual(signOut.x);
    const middle = (b: { y: number; height: number }) => b.y + b.height / 2;
    expect(Math.abs(middle(signOut) - middle(boxes[0]))).toBeLessThan(boxes[0].height);
    expect((await overflow(page)).documentWidth).toBeLessThanOrEqual(1280);
    await screenshot(page, 'laptop-1280-navigation');

    await page.setViewportSize({ width: 1100, height: 800 });
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.waitFor();
    expect(await nav.getByRole('link', { name: 'Storages' }).isVisible()).toBe(false);
    await menu.click();
    await nav.getByRole('link', { name: 'Storages' }).waitFor();
    await context.close();
  });
});

describe('At 1440 px (a desktop)', () => {
  it('shows the navigation without Menu, and every main screen without sideways scrolling', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/');
    await page.setViewportSize(DESKTOP);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workers' }).waitFor();
    expect(await page.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false);
    const problems: string[] = [];
    for (const screen of screens()) {
      await open(page, screen.path, screen.heading);
      const { documentWidth, viewport, culprits } = await overflow(page);
      if (documentWidth > viewport) problems.push(`${screen.name}: ${documentWidth} px: ${culprits.join(' | ')}`);
      // The policy form uses the width: its sections side by side, not one half-width column.
      if (screen.name === 'policy') expect(await policyColumns(page)).toBeGreaterThan(1);
      await screenshot(page, `wide-1440-${screen.name}`);
    }
    expect(problems).toEqual([]);
    await context.close();
  });

  it('writes the progress percentage in a colour readable on the bar’s fill', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/runs/${runId}`);
    await page.setViewportSize(DESKTOP);
    const bar = page.locator('[role="progressbar"][aria-label="Overall progress"][aria-valuenow="100"]');
    await bar.waitFor();
    // The label's middle lies on the fill at 100 %: the text drawn there must contrast with it.
    const contrast = await bar.evaluate((el) => {
      const fill = el.querySelector('.progress-fill')!;
      const box = el.getBoundingClientRect();
      const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2)!;
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const luminance = ([r, g, b]: number[]) => {
        const [R, G, B] = [r, g, b].map((v) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * R + 0.7152 * G + 0.0722 * B;
      };
      const a = luminance(rgb(getComputedStyle(top).color));
      const b = luminance(rgb(getComputedStyle(fill).backgroundColor));
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    });
    expect(contrast).toBeGreaterThanOrEqual(4.5);
    await context.close();
  });
});

/**
 * Text whose colour contrasts less than 4.5:1 (WCAG AA) with what is behind it: each visible
 * element with text of its own, against its nearest painted background (translucent ones blended
 * over what lies under them). Named so a failure says where.
 */
async function lowContrastText(page: Page): Promise<{ background: number; problems: string[] }> {
  return page.evaluate(() => {
    const rgba = (c: string) => {
      const [r, g, b, a] = (c.match(/[\d.]+/g) ?? []).map(Number);
      return { r, g, b, a: a ?? 1 };
    };
    const luminance = ({ r, g, b }: { r: number; g: number; b: number }) => {
      const [R, G, B] = [r, g, b].map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const backgroundOf = (el: Element | null): { r: number; g: number; b: number } => {
      if (!el) return rgba(getComputedStyle(document.documentElement).backgroundColor);
      const own = rgba(getComputedStyle(el).backgroundColor);
      if (own.a === 0) return backgroundOf(el.parentElement);
      if (own.a >= 1) return own;
      const under = backgroundOf(el.parentElement);
      const mix = (x: number, y: number) => x * own.a + y * (1 - own.a);
      return { r: mix(own.r, under.r), g: mix(own.g, under.g), b: mix(own.b, under.b) };
    };
    const problems: string[] = [];
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      if (el.closest('svg, option, [aria-hidden="true"]')) continue;
      // What a user types into is text too: inputs, selects and text areas.
      const field = el.matches(
        "input:not([type='checkbox']):not([type='radio']):not([type='hidden']), select, textarea",
      );
      const ownText = field
        ? `(${el.tagName.toLowerCase()})`
        : Array.from(el.childNodes)
            .filter((n) => n.nodeType === Node.TEXT_NODE)
            .map((n) => n.textContent ?? '')
            .join('')
            .trim();
      const style = getComputedStyle(el);
      if (!ownText || style.visibility !== 'visible' || el.getBoundingClientRect().width === 0) continue;
      // A progress label drawn again over the fill (clipped to it) is read against the fill.
      const fill = el.classList.contains('progress-text-on-fill')
        ? el.parentElement?.querySelector('.progress-fill')
        : null;
      const a = luminance(rgba(style.color));
      const b = luminance(fill ? backgroundOf(fill) : backgroundOf(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5)
        problems.push(`${el.tagName.toLowerCase()}.${el.className} "${ownText.slice(0, 30)}": ${ratio.toFixed(2)}`);
    }
    return { background: luminance(backgroundOf(document.body)), problems: [...new Set(problems)].slice(0, 12) };
  });
}

describe('In dark mode (the system setting)', () => {
  it('shows every main screen dark, with every text readable on what is behind it', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize(DESKTOP);
    const problems: string[] = [];
    for (const screen of screens()) {
      await open(page, screen.path, screen.heading);
      const { background, problems: found } = await lowContrastText(page);
      if (background > 0.05) problems.push(`${screen.name}: the page is not dark (luminance ${background.toFixed(2)})`);
      problems.push(...found.map((p) => `${screen.name}: ${p}`));
      await screenshot(page, `dark-1440-${screen.name}`);
    }
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('In the browser’s locale', () => {
  it('writes sizes and dates the German way for a German browser, on every screen alike', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/', { locale: 'de-DE' });
    await open(page, `/organizations/${orgId}`, /ACME/);
    const sizes = await page.getByText(/^snapshot /).allInnerTexts();
    expect(sizes.length).toBeGreaterThan(0);
    // "2,9 KB", not "2.9 KB"; whole numbers have no separator at all.
    for (const size of sizes) expect(size).toMatch(/^snapshot \d+(,\d)? (B|KB|MB)$/);
    await open(page, `/runs/${runId}`, /run/i);
    const text = await page.locator('main').innerText();
    expect(text).not.toMatch(/\b\d+\.\d (B|KB|MB|GB)\b/);
    // Dates as German readers write them (e.g. "03.12.2026, 02:18" or "3. Dez. 2026"), not "Dec 3, 2026".
    expect(text).not.toMatch(/\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}/);
    await context.close();
  });
});
