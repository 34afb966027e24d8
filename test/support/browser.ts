/**
 * A real Chromium for end-to-end tests: Debian's `chromium` (installed by .ci/run with apt-get)
 * driven by playwright-core, against the real server and the GitLab simulator. Screenshots of the
 * main screens go to test-output/screenshots/ (ignored by git).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expectPlainScreens, watchPlainText } from './plain-text.js';
import { EVENT_TIMEOUT_MS } from './timeouts.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');

/**
 * Closing the browser also checks the contexts a test left open, so no screen of the e2e suite
 * escapes the plain-text rule (plain-text.ts) for want of a `context.close()`.
 */
export async function launchBrowser(): Promise<Browser> {
  const browser = await launch();
  const close = browser.close.bind(browser);
  browser.close = async (options) => {
    const open = browser.contexts();
    const checks = await Promise.allSettled(open.map((context) => expectPlainScreens(context)));
    await close(options);
    const failed = checks.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed) throw failed.reason;
  };
  return browser;
}

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    // Flags that keep Chromium off the network this machine does not have (SETUP.md).
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh browser profile signed in through the link the server prints (`/#token=…`). */
export async function signedIn(
  browser: Browser,
  appUrl: string,
  token: string,
  path = '/',
  options: { locale?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  context.setDefaultTimeout(EVENT_TIMEOUT_MS);
  await watchPlainText(context, appUrl);
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') console.error(`[browser] ${message.text()}`);
  });
  page.on('pageerror', (error) => console.error(`[browser] ${error.stack ?? error.message}`));
  await page.goto(`${appUrl}${path}#token=${encodeURIComponent(token)}`);
  // The client takes the token out of the address bar and stores it in the same step, during its
  // first render, which React may run after the load event that goto waits for: a test that goes
  // on to another page before then arrives signed out (seen once in CI, under load).
  await page.waitForFunction(() => !/(?:^#|&)token=/.test(location.hash));
  return { context, page };
}

/** Saves the screen, after checking that no text on it (or before it) broke the plain-text rule. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await expectPlainScreens(page.context());
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Clicks what ends an OAuth pop-up's flow (Authorize, or sign-in when consent was given before)
 * and resolves once the pop-up has closed itself. Waiting for 'close' only after the click can
 * miss it: on a loaded machine the pop-up's callback page may close the window before click()
 * returns, and the event has then come and gone.
 */
export async function clickAndAwaitClose(popup: Page, target: Locator): Promise<void> {
  const closed = popup.waitForEvent('close');
  await target.click();
  await closed;
}
