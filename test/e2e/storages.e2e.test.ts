import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { nextJob, startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { launchBrowser, screenshot, signedIn } from '../support/browser.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { S3RVER_ACCESS_KEY, startS3Server, type TestS3Server } from '../support/s3-server.js';

/**
 * The Storages screen and the storage parts of the policy form and the snapshot cards, in Chromium
 * against the real server, a real S3 server (s3rver) and the GitLab simulator: an S3 storage added
 * with a wrong access key is refused with the reason beside that field, added once the key is
 * right, tested (timings and what the server supports), made the policy's replica, and the
 * snapshot of the next backup shows both of its copies.
 */
let s3: TestS3Server;
let sim: GitLabSimulator;
let t: TestApp;
let browser: Browser;
let orgId: string;
let repositoryId: string;

beforeAll(async () => {
  s3 = await startS3Server('backups');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'api' });
  sim.pushCommit(project.id, { files: { 'readme.md': '# api\n' } });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  const repositories = await t.gql(`query($o: ID!) { organization(id: $o) { repositories { nodes { id } } } }`, {
    o: orgId,
  });
  repositoryId = repositories.data.organization.repositories.nodes[0].id;
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await sim?.close();
  await s3?.close();
});

const storageCount = async () =>
  (await t.app.dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM storages'))[0].n;

describe('Storages', () => {
  it('refuses a wrong access key beside the field, adds the storage once it is right, and tests it', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, '/storages');
    await page.getByRole('heading', { name: 'Storages', level: 1 }).waitFor();
    await page.getByText('No S3 storage yet.').waitFor();
    await page.getByRole('button', { name: 'Add S3 storage' }).click();
    const form = page.getByRole('form', { name: 'Add an S3 storage' });
    await form.getByLabel('Name', { exact: true }).fill('offsite');
    await form.getByLabel('Endpoint').fill(s3.endpoint);
    await form.getByLabel('Region').fill('us-east-1');
    await form.getByLabel('Bucket', { exact: true }).fill('backups');
    await form.getByLabel('Prefix (optional)').fill('labkeeper');
    await form.getByLabel('Access key id').fill('NOT-A-KEY');
    await form.getByLabel('Secret access key', { exact: true }).fill('a-secret-access-key-0123456789');
    await form.getByRole('button', { name: 'Test and add' }).click();

    const accessKey = form.getByLabel('Access key id');
    await form.locator('[aria-invalid="true"]').waitFor();
    expect(await accessKey.getAttribute('aria-invalid')).toBe('true');
    const errorId = (await accessKey.getAttribute('aria-describedby'))!.split(' ').find((id) => id.endsWith('-error'))!;
    expect(await page.locator(`[id="${errorId}"]`).innerText()).toMatch(
      /^the storage server refused: the access key id is not known/i,
    );
    expect(await storageCount()).toBe(0);
    await screenshot(page, '60-storage-wrong-key');

    await accessKey.fill(S3RVER_ACCESS_KEY);
    await form.getByRole('button', { name: 'Test and add' }).click();
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'offsite' }) });
    await card.getByText('Test OK').waitFor();
    expect(await storageCount()).toBe(1);

    // Test again from the card: the probe's timings and what the server supports.
    await page.reload();
    await card.getByRole('button', { name: 'Test' }).click();
    const result = card.getByRole('status').filter({ hasText: 'Test OK' });
    await result.waitFor();
    expect(await result.innerText()).toMatch(
      /write \d+ ms, read \d+ ms, list \d+ ms, delete \d+ ms\. The server supports conditional writes.*The bucket has no Object Lock\./,
    );
    await screenshot(page, '61-storages');

    // Edit keeps the saved secret key unless another is given, and checks the bucket again.
    await card.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit storage offsite' });
    await expect(edit.getByLabel('Secret access key from').inputValue()).resolves.toBe('KEEP');
    await edit.getByLabel('Storage class (optional)').fill('STANDARD');
    await edit.getByRole('button', { name: 'Test and save' }).click();
    await edit.waitFor({ state: 'detached' });
    await card.getByText('Test OK').waitFor();
    const [saved] = await t.app.dataSource.query<{ settings: { storageClass: string } }[]>(
      'SELECT settings FROM storages',
    );
    expect(saved.settings.storageClass).toBe('STANDARD');
    await context.close();
  });

  it('is picked as the policy’s replica, and the next snapshot’s card shows both copies', async () => {
    const { context, page } = await signedIn(browser, t.url, t.adminToken, `/organizations/${orgId}/policy`);
    await page.getByRole('heading', { name: 'Customize policy' }).waitFor();
    await expect(page.getByLabel('Primary storage').inputValue()).resolves.toBe('LOCAL');
    await page.getByRole('checkbox', { name: /^Copy to offsite \(S3 backups\/labkeeper\)/ }).check();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy saved.').waitFor();
    const storage = (
      await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { storage { kind replicaStorageIds } } } }`, {
        o: orgId,
      })
    ).data.policy.settings.storage;
    const [{ id: offsiteId }] = await t.app.dataSource.query(`SELECT id FROM storages WHERE name = 'offsite'`);
    expect(storage).toEqual({ kind: 'LOCAL', replicaStorageIds: [offsiteId] });

    const run = await runBackup(t, orgId);
    expect({ status: run.status, problems: run.problems }).toEqual({ status: 'SUCCEEDED', problems: [] });
    await allCopied();

    await page.goto(`${t.url}/repositories/${repositoryId}/snapshots`);
    const copies = page.getByRole('list', { name: /^Copies of the snapshot of / }).first();
    await copies.waitFor();
    const rows = await copies.getByRole('listitem').allInnerTexts();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^Local directory\s+primary\s+Copied/);
    expect(rows[1]).toMatch(/^offsite\s+replica\s+Copied/);
    await screenshot(page, '62-snapshot-copies');

    // The storage now holds the replica; deleting it is refused in words.
    await page.goto(`${t.url}/storages`);
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'offsite' }) });
    await card.getByText('Replica copies').waitFor();
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: 'Yes, delete' }).click();
    await card
      .getByText(
        /^Not deleted: storage "offsite" is still used: \d+ replica cop(y|ies) of snapshots, the policy of acme \(as its replica storage\)/,
      )
      .waitFor();
    expect(await storageCount()).toBe(1);
    await context.close();
  });
});

/** Waits, job by job, until every snapshot's replica copy is COPIED. */
async function allCopied() {
  for (;;) {
    const next = nextJob(t, 'snapshot.replicate');
    const rows: { status: string }[] = await t.app.dataSource.query('SELECT status FROM snapshot_copies');
    if (rows.length > 0 && rows.every((r) => r.status === 'COPIED')) {
      next.catch(() => undefined);
      return;
    }
    expect(rows.filter((r) => r.status === 'FAILED')).toEqual([]);
    await next;
  }
}
