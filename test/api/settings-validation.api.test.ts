/**
 * Settings are stored as sent or refused: an enum-like value Labkeeper does not know, or an empty
 * id, is never read as something else (a scope mode it does not know as ALL, storage "S3" as
 * LOCAL, an empty encryption key id as "no encryption"). Each is refused with BAD_USER_INPUT
 * naming the field, and the database is left as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';

let sim: GitLabSimulator;
let t: TestApp;
let alice: { id: number };
let orgId: string;
let connectionId: string;
let snapshotId: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const projectId = sim.createProject({ namespaceId: group.id, path: 'api' }).id;
  sim.pushCommit(projectId, { files: { 'README.md': 'hello\n' } });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId, connectionId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
  }));
  const { runId } = await runBackup(t, orgId);
  snapshotId = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
    .backupRun.items[0].snapshotId;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

/** The refusal: BAD_USER_INPUT naming exactly this field. */
function expectRefused(r: { errors?: { extensions?: Record<string, any> }[] }, field: string) {
  expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'VALIDATION_FAILED' });
  expect(Object.keys(r.errors?.[0]?.extensions?.fields ?? {})).toEqual([field]);
}

const rows = (sql: string, params: unknown[] = []) => t.app.dataSource.query(sql, params);

describe('policy settings', () => {
  const SETTINGS = `scope { mode repositoryIds } include { repository wiki lfs metadata groupMetadata }
    schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast }
    storage { kind path } compression encryptionCredentialId verifyAfterBackup
    drill { enabled every time { hour minute } weekday dayOfMonth sampleSize target { kind connectionId namespacePath } }`;

  async function customize(change: (settings: Record<string, any>) => Record<string, any>) {
    const settings = (
      await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
    ).data.policy.settings;
    return t.gql(
      `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
      { o: orgId, i: change(settings) },
    );
  }
  const storedPolicy = async () =>
    (await rows('SELECT value, chain_key, updated_at FROM backup_policies WHERE organization_id = $1', [orgId]))[0];

  it.each([
    [
      'a scope mode it does not know',
      (s: Record<string, any>) => ({ ...s, scope: { mode: 'selected', repositoryIds: null } }),
      'input.scope.mode',
    ],
    [
      'a storage kind it does not offer',
      (s: Record<string, any>) => ({ ...s, storage: { kind: 'S3', path: null } }),
      'input.storage.kind',
    ],
    [
      'an empty encryption key id',
      (s: Record<string, any>) => ({ ...s, encryptionCredentialId: '' }),
      'input.encryptionCredentialId',
    ],
    [
      'a drill cadence it does not know',
      (s: Record<string, any>) => ({ ...s, drill: { ...s.drill, every: 'daily' } }),
      'input.drill.every',
    ],
  ])('refuses %s and keeps the stored policy', async (_name, change, field) => {
    const before = await storedPolicy();
    expectRefused(await customize(change), field);
    expect(await storedPolicy()).toEqual(before);
  });

  it('still takes the same settings back unchanged (the refusals above are about the one field)', async () => {
    const r = await customize((s) => s);
    expect(r.errors).toBeUndefined();
  });
});

describe('connection input', () => {
  const CONNECT = `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`;
  const stored = async () => ({
    connections: (await rows('SELECT id FROM connections ORDER BY id')).map((r: { id: string }) => r.id),
    credentials: (await rows('SELECT id FROM credentials ORDER BY id')).map((r: { id: string }) => r.id),
    attempts: (await rows('SELECT count(*)::int AS n FROM oauth_attempts'))[0].n,
  });

  it.each([
    ['an empty saved-credential id beside a new token', () => ({ credentialId: '' }), 'input.credentialId'],
    ['an empty default worker id', () => ({ defaultWorkerId: '' }), 'input.defaultWorkerId'],
  ])('refuses %s and stores no connection or credential', async (_name, extra, field) => {
    const before = await stored();
    const token = aToken(sim, alice.id).token;
    const r = await t.gql(CONNECT, {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: sim.url,
        login: 'alice',
        personalAccessToken: token,
        ...extra(),
      },
    });
    expectRefused(r, field);
    expect(await stored()).toEqual(before);
  });

  it('refuses an empty client-secret credential id of an OAuth application and starts no authorization', async () => {
    const before = await stored();
    const r = await t.gql(CONNECT, {
      i: {
        method: 'OAUTH_APP',
        instanceUrl: sim.url,
        clientId: 'app-id',
        clientSecret: 'app-secret',
        clientSecretCredentialId: '',
      },
    });
    expectRefused(r, 'input.clientSecretCredentialId');
    expect(await stored()).toEqual(before);
  });
});

describe('restore input', () => {
  const RESTORE = `mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`;
  const restoreRuns = async () => (await rows('SELECT count(*)::int AS n FROM restore_runs'))[0].n;

  it.each([
    [
      'an empty target connection id',
      () => ({ target: 'NEW_PROJECT', snapshotIds: [snapshotId], namespacePath: 'restored', targetConnectionId: '' }),
      'input.targetConnectionId',
    ],
    [
      'an empty new project path',
      () => ({
        target: 'NEW_PROJECT',
        snapshotIds: [snapshotId],
        namespacePath: 'restored',
        targetConnectionId: connectionId,
        projectPath: '',
      }),
      'input.projectPath',
    ],
    [
      'an empty ref prefix',
      () => ({ target: 'ORIGINAL', snapshotIds: [snapshotId], refMode: 'PREFIX', refPrefix: '' }),
      'input.refPrefix',
    ],
    ['an empty snapshot id', () => ({ target: 'DOWNLOAD', snapshotIds: [snapshotId, ''] }), 'input.snapshotIds'],
    ['an empty organization id', () => ({ target: 'DOWNLOAD', organizationId: '' }), 'input.organizationId'],
  ])('refuses %s and queues no restore', async (_name, input, field) => {
    const before = await restoreRuns();
    expectRefused(await t.gql(RESTORE, { i: input() }), field);
    expect(await restoreRuns()).toBe(before);
  });
});
