import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn } from '../support/browser.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser, anOrganization } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

/**
 * Restore drills in Chromium against the real server and its in-process worker: the Restore drills
 * section of Customize policy (saved, refused beside its input, kept when another section is
 * saved) and the organization page's drill panel (Run drill now, the result arriving live; Refresh).
 * Set up through GraphQL: a PAT connection to `acme` (three projects with commits, groups included)
 * and one backup.
 */
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let orgId: string;

const DRILL_POLICY = `query($o: ID!) { policy(organizationId: $o) { updatedAt settings {
  retention { mode keepLast }
  drill { enabled every weekday time { hour minute } sampleSize target { kind connectionId namespacePath } } } } }`;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  anOrganization(sim, alice.id, { path: 'acme', projectCount: 3, withCommit: true });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: true,
  }));
  const run = await runBackup(t, orgId);
  expect(run.status).toBe('SUCCEEDED');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
});

/** The error text an input is described by (Field renders it right under the input). */
async function errorOf(page: Page, input: ReturnType<Page['getByLabel']>): Promise<string> {
  const describedBy = (await input.getAttribute('aria-describedby')) ?? '';
  return page.locator(`[id="${describedBy.split(' ').pop()}"]`).innerText();
}

describe('Restore drills in Customize policy', () => {
  it('starts from the server’s defaults, off', async () => {
    const policy = (await t.gql(DRILL_POLICY, { o: orgId })).data.policy;
    expect(policy.settings.drill).toMatchObject({ enabled: false, every: 'WEEKLY', sampleSize: 3 });
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}/policy`);
    const section = page.getByRole('group', { name: 'Restore drills' });
    await expect(section.getByLabel('Run restore drills on a schedule').isChecked()).resolves.toBe(false);
    await expect(section.getByLabel('Sample size').inputValue()).resolves.toBe('3');
    // Drills off: no schedule fields to fill in.
    await expect(section.getByLabel('Drill every').count()).resolves.toBe(0);
    await expect(section.getByLabel('Drill time').count()).resolves.toBe(0);
    await context.close();
  });

  it('enables weekly drills of 2 repositories into a scratch bare repository, and the policy query returns them', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}/policy`);
    const section = page.getByRole('group', { name: 'Restore drills' });
    await section.getByLabel('Run restore drills on a schedule').check();
    await section.getByLabel('Drill every').selectOption('WEEKLY');
    await section.getByLabel('Drill weekday').selectOption({ label: 'Wednesday' });
    await section.getByLabel('Drill time').fill('05:15');
    await section.getByLabel('Sample size').fill('2');
    await section.getByRole('radio', { name: /Scratch bare repository/ }).check();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy saved.').waitFor();
    await screenshot(page, '22b-policy-drills');

    const drill = (await t.gql(DRILL_POLICY, { o: orgId })).data.policy.settings.drill;
    expect(drill).toEqual({
      enabled: true,
      every: 'WEEKLY',
      weekday: 3,
      time: { hour: 5, minute: 15 },
      sampleSize: 2,
      target: { kind: 'LOCAL_BARE', connectionId: null, namespacePath: null },
    });
    await context.close();
  });

  it('shows an invalid sample size’s error beside its input and saves nothing', async () => {
    const before = (await t.gql(DRILL_POLICY, { o: orgId })).data.policy;
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}/policy`);
    const sampleSize = page.getByRole('group', { name: 'Restore drills' }).getByLabel('Sample size');
    await expect(sampleSize.inputValue()).resolves.toBe('2');
    await sampleSize.fill('0');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Some fields need attention.').waitFor();
    await expect(sampleSize.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(errorOf(page, sampleSize)).resolves.toMatch(/1 to 100/);
    await expect(page.getByText('Policy saved.').count()).resolves.toBe(0);
    expect((await t.gql(DRILL_POLICY, { o: orgId })).data.policy).toEqual(before);
    await context.close();
  });

  it('keeps the drill settings when another section is saved', async () => {
    const before = (await t.gql(DRILL_POLICY, { o: orgId })).data.policy.settings;
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}/policy`);
    await page.getByRole('radio', { name: 'Keep the last N copies' }).check();
    await page.getByLabel('Copies to keep').fill('9');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy saved.').waitFor();
    const after = (await t.gql(DRILL_POLICY, { o: orgId })).data.policy.settings;
    expect(after.retention).toEqual({ mode: 'BY_COUNT', keepLast: 9 });
    expect(after.drill).toEqual(before.drill);
    expect(after.drill.enabled).toBe(true);
    await context.close();
  });
});

describe('Restore drills on the organization page', () => {
  it('shows the next drill, runs a drill now and shows its PASSED result per repository as it arrives, without Refresh', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}`);
    const panel = page.getByRole('region', { name: 'Restore drills' });
    await panel.getByText('No drill has run yet.').waitFor();
    // Drills are on (nextDrillAt is null until the every-minute schedule job books the slot).
    const org = (await t.gql(`query($id: ID!) { organization(id: $id) { nextDrillAt } }`, { id: orgId })).data
      .organization;
    await panel.getByText(org.nextDrillAt ? /Next scheduled drill:/ : 'Scheduled drills are on').waitFor();

    const finished = nextJob(t, 'drill.run');
    await panel.getByRole('button', { name: 'Run drill now' }).click();
    // The mutation's QUEUED drill shows at once; drillChanged brings the rest (no polling, no Refresh).
    await panel
      .getByText('Queued', { exact: true })
      .or(panel.getByText('Running', { exact: true }))
      .or(panel.getByText('Passed', { exact: true }).first())
      .first()
      .waitFor();
    await finished;
    await panel.getByText('Passed', { exact: true }).first().waitFor();
    const latest = (
      await t.gql(
        `query($id: ID!) { organization(id: $id) { latestDrill { status sampleSize results { path status } groupResults { path status } } } }`,
        { id: orgId },
      )
    ).data.organization.latestDrill;
    expect(latest.status).toBe('PASSED');
    expect(latest.sampleSize).toBe(2);
    expect(latest.results).toHaveLength(2);
    const rows = panel.getByRole('table', { name: 'Repositories restored by the latest drill' }).getByRole('row');
    for (const r of latest.results as { path: string; status: string }[]) {
      await rows.filter({ hasText: r.path }).getByText('Passed').waitFor();
    }
    // the groups' metadata snapshots are drilled too (as many as the sample size), in a table of their own
    expect(latest.groupResults).toHaveLength(2);
    const groupRows = panel.getByRole('table', { name: 'Groups restored by the latest drill' }).getByRole('row');
    for (const g of latest.groupResults as { path: string; status: string }[]) {
      expect(g.status).toBe('PASSED');
      await groupRows
        .filter({ has: page.getByRole('cell', { name: g.path, exact: true }) })
        .getByText('Passed')
        .waitFor();
    }
    await expect(panel.getByText(/sample of 2/).isVisible()).resolves.toBe(true);
    await screenshot(page, '25-drills');
    await context.close();
  });

  it('shows a FAILED drill with each repository’s differences after Refresh', async () => {
    // Flip a byte inside the pack data of every stored bundle (as drill.api.test.ts does for one).
    const nodes = (
      await t.gql(`query($o: ID!) { snapshots(organizationId: $o, first: 50) { nodes { storagePrefix } } }`, {
        o: orgId,
      })
    ).data.snapshots.nodes;
    const originals: [string, Buffer][] = [];
    for (const { storagePrefix } of nodes as { storagePrefix: string }[]) {
      const folder = join(t.app.config.dataDir, 'backups', storagePrefix);
      const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
      if (!manifest.git?.bundle) continue;
      const file = join(folder, manifest.git.bundle);
      const bytes = readFileSync(file);
      originals.push([file, Buffer.from(bytes)]);
      bytes[bytes.length - 100] ^= 0xff;
      writeFileSync(file, bytes);
    }
    expect(originals.length).toBeGreaterThan(0);
    try {
      const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}`);
      const panel = page.getByRole('region', { name: 'Restore drills' });
      await panel.getByText('Latest drill:').waitFor();
      const finished = nextJob(t, 'drill.run');
      await panel.getByRole('button', { name: 'Run drill now' }).click();
      await finished;
      await panel.getByRole('button', { name: 'Refresh' }).click();
      await panel.getByText('Failed', { exact: true }).first().waitFor();
      const latest = (
        await t.gql(
          `query($id: ID!) { organization(id: $id) { latestDrill { status results { path status differences } } } }`,
          { id: orgId },
        )
      ).data.organization.latestDrill;
      expect(latest.status).toBe('FAILED');
      const failed = (latest.results as { path: string; status: string; differences: string[] }[]).filter(
        (r) => r.status === 'FAILED',
      );
      expect(failed.length).toBeGreaterThan(0);
      for (const r of failed) {
        const differences = panel.getByRole('list', { name: `Differences in ${r.path}` });
        await differences.getByText(r.differences[0], { exact: true }).waitFor();
        await expect(differences.getByRole('listitem').count()).resolves.toBe(r.differences.length);
      }
      await screenshot(page, '25b-drills-failed');
      await context.close();
    } finally {
      for (const [file, bytes] of originals) writeFileSync(file, bytes);
    }
  });
});
