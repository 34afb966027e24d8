import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

let sim: GitLabSimulator;
let t: TestApp;
let organizationId: string;
let scratch: string;
beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  // LFS makes the backup go through a local bare mirror (mirrors/), written by child git processes.
  const project = sim.createProject({ namespaceId: group.id, path: 'assets', lfsEnabled: true });
  sim.pushLfsPointer(project.id, { path: 'logo.png', content: randomBytes(30_000) });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
  }));
  scratch = await mkdtemp(join(tmpdir(), 'labkeeper-storage-'));
});
afterAll(async () => {
  await t.stop();
  await sim.close();
  await rm(scratch, { recursive: true, force: true });
});

/** Every entry under `dir` with its permission bits. */
async function walk(dir: string): Promise<{ path: string; mode: number; isDirectory: boolean }[]> {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const info = await stat(path);
    out.push({ path, mode: info.mode & 0o777, isDirectory: entry.isDirectory() });
    if (entry.isDirectory()) out.push(...(await walk(path)));
  }
  return out;
}

const SETTINGS = `scope { mode repositoryIds } include { repository wiki lfs metadata groupMetadata }
  schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast }
  storage { kind path } compression encryptionCredentialId verifyAfterBackup
  drill { enabled every time { hour minute } weekday dayOfMonth sampleSize target { kind connectionId namespacePath } }`;

async function setStoragePath(path: string | null, token = t.adminToken) {
  const settings = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: organizationId })
  ).data.policy.settings;
  return t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { settings { storage { path } } } }`,
    { o: organizationId, i: { ...settings, storage: { kind: 'LOCAL', path } } },
    token,
  );
}

describe('files under the data directory', () => {
  it('are readable by Labkeeper only: folders 0700, files 0600 or stricter, mirrors and tmp included', async () => {
    expect((await runBackup(t, organizationId)).status).toBe('SUCCEEDED');
    const dataDir = t.app.config.dataDir;
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const entries = await walk(dataDir);
    expect(entries.some((e) => e.path.includes(`${dataDir}/mirrors/`) && !e.isDirectory)).toBe(true);
    expect(entries.some((e) => e.path === join(dataDir, 'tmp'))).toBe(true);
    const open = entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => `${e.path} ${e.mode.toString(8)}`);
    expect(open).toEqual([]);
  });
});

describe("a policy's storage path", () => {
  it.each([
    ['/etc', () => '/etc'],
    ['/proc/self', () => '/proc/self'],
    ['/dev/null', () => '/dev/null'],
    ['/', () => '/'],
    ['/tmp', () => '/tmp'],
    ['/usr/local/backups', () => '/usr/local/backups'],
    ['/var/lib/postgresql/16/main', () => '/var/lib/postgresql/16/main'],
    ['the master key', () => join(t.app.config.dataDir, 'master.key')],
    ['the data directory', () => t.app.config.dataDir],
    ['the mirrors', () => join(t.app.config.dataDir, 'mirrors')],
    ['a path with ..', () => `${t.app.config.dataDir}/backups/../../etc`],
  ])('refuses %s with BAD_USER_INPUT naming input.storage.path', async (_what, path) => {
    const r = await setStoragePath(path());
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(Object.keys(r.errors?.[0]?.extensions?.fields ?? {})).toEqual(['input.storage.path']);
  });

  it('refuses a symbolic link that leads to a system path', async () => {
    await symlink('/etc', join(scratch, 'to-etc'));
    const r = await setStoragePath(join(scratch, 'to-etc', 'backups'));
    expect(r.errors?.[0]?.extensions?.fields?.['input.storage.path']).toMatch(/symbolic link/);
  });

  it('accepts a folder Labkeeper owns or may create', async () => {
    const r = await setStoragePath(join(scratch, 'backups'));
    expect(r.errors).toBeUndefined();
    expect(r.data.customizePolicy.settings.storage.path).toBe(join(scratch, 'backups'));
  });

  it('may be changed by an ADMIN token only', async () => {
    const operator = (
      await t.gql(`mutation { createApiToken(input: { name: "operator", role: BACKUP_OPERATOR }) { token } }`)
    ).data.createApiToken.token;
    const r = await setStoragePath(join(scratch, 'elsewhere'), operator);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unchanged = await setStoragePath(join(scratch, 'backups'), operator);
    expect(unchanged.errors).toBeUndefined();
  });
});
