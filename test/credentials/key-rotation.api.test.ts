import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * Rotating an ENCRYPTION_KEY (updateCredential with a new secret) keeps the old secret as a
 * previous version: the snapshots encrypted with it stay verifiable, and the next backup starts a
 * new full chain encrypted with the new one.
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let keyId: string;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'vault' });
  sim.pushCommit(project.id, { files: { 'plans.txt': 'the plans\n' } });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  const key = await t.gql(
    `mutation { createCredential(input: { name: "backup key", kind: ENCRYPTION_KEY, secret: "first key material 2026" }) { id } }`,
  );
  keyId = key.data.createCredential.id;
  const policy = await t.gql(
    `query($o: ID!) { policy(organizationId: $o) { settings { scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup } } }`,
    { o: orgId },
  );
  const encrypted = await t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { settings { encryptionCredentialId } } }`,
    {
      o: orgId,
      i: { ...policy.data.policy.settings, encryptionCredentialId: keyId },
    },
  );
  expect(encrypted.errors).toBeUndefined();
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function backup() {
  const { runId, status } = await runBackup(t, orgId);
  expect(status).toBe('SUCCEEDED');
  const items = (
    await t.gql(`query($id: ID!) { backupRun(id: $id) { items { pathWithNamespace snapshotId } } }`, { id: runId })
  ).data.backupRun.items;
  const item = items.find((i: { pathWithNamespace: string }) => i.pathWithNamespace === 'acme/vault');
  const snapshot = (
    await t.gql(`query($id: ID!) { snapshot(id: $id) { id copyType manifest } }`, { id: item.snapshotId })
  ).data.snapshot;
  return {
    id: snapshot.id as string,
    copyType: snapshot.copyType as string,
    keyId: JSON.parse(snapshot.manifest).encryption.keyId as string,
  };
}

const verify = async (id: string) =>
  (
    await t.gql(`mutation($id: ID!) { verifySnapshot(id: $id) { ok problems snapshot { verificationStatus } } }`, {
      id,
    })
  ).data.verifySnapshot;

describe('rotating an encryption key that snapshots use', () => {
  let before: Awaited<ReturnType<typeof backup>>;

  it('is accepted, and the snapshots encrypted with the old key still verify', async () => {
    before = await backup();
    const rotated = await t.gql(
      `mutation($i: UpdateCredentialInput!) { updateCredential(input: $i) { fingerprint rotatedAt } }`,
      {
        i: { id: keyId, secret: 'second key material 2027' },
      },
    );
    expect(rotated.errors).toBeUndefined();
    expect(rotated.data.updateCredential).toMatchObject({ fingerprint: '…2027', rotatedAt: expect.any(String) });
    expect(await verify(before.id)).toEqual({ ok: true, problems: [], snapshot: { verificationStatus: 'VERIFIED' } });
  });

  it('starts a new full chain encrypted with the new key; both chains verify', async () => {
    const after = await backup();
    expect(after.copyType).toBe('FULL');
    expect(after.keyId).not.toBe(before.keyId);
    expect(await verify(after.id)).toMatchObject({ ok: true });
    expect(await verify(before.id)).toMatchObject({ ok: true });
  });

  it('keeps the old secret only sealed, never in plain text', async () => {
    const rows = await t.app.dataSource.query('SELECT * FROM credential_versions WHERE credential_id = $1', [keyId]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain('first key material');
    expect(rows[0].secret_ciphertext.toString('latin1')).not.toContain('first key material');
  });

  it('is still refused for deletion while snapshots need it', async () => {
    const r = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: keyId });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'CREDENTIAL_IN_USE' });
  });
});
