import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { runBackup } from '../support/backups.js';
import { aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'secret-sauce' }).id;
  sim.pushCommit(projectId, { files: { 'recipe.txt': 'the secret ingredient is love\n' } });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

const SETTINGS = `scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } storage { kind path } compression verifyAfterBackup`;

async function setEncryption(credentialId: string | null) {
  const current = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
  ).data.policy.settings;
  return t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { settings { encryptionCredentialId } } }`,
    {
      o: orgId,
      i: { ...current, include: { ...current.include, metadata: ['issues'] }, encryptionCredentialId: credentialId },
    },
  );
}

async function backup() {
  const { runId, status } = await runBackup(t, orgId);
  const [item] = (await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId } } }`, { id: runId })).data
    .backupRun.items;
  const snapshot = (
    await t.gql(
      `query($id: ID!) { snapshot(id: $id) { id copyType storagePrefix manifest verificationStatus contents { encryption { algorithm keyId } } } }`,
      { id: item.snapshotId },
    )
  ).data.snapshot;
  return { status, snapshot, manifest: JSON.parse(snapshot.manifest) };
}

describe('encrypted backups', () => {
  it('refuses a credential that is not an encryption key, naming the field', async () => {
    const pat = await t.gql(
      `mutation { createCredential(input: { name: "not a key", kind: PASSWORD, secret: "just-a-password" }) { id } }`,
    );
    const r = await setEncryption(pat.data.createCredential.id);
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: { 'input.encryptionCredentialId': expect.any(String) },
    });
  });

  it('encrypts every artifact with the key from the Password Manager, verifies, and starts a new full chain', async () => {
    const plain = await backup();
    expect(plain.manifest.encryption).toBeNull();
    const key = await t.gql(
      `mutation { createCredential(input: { name: "backup key", kind: ENCRYPTION_KEY, secret: "correct horse battery staple 2026" }) { id } }`,
    );
    expect((await setEncryption(key.data.createCredential.id)).errors).toBeUndefined();
    const encrypted = await backup();
    expect(encrypted.status).toBe('SUCCEEDED');
    expect(encrypted.snapshot).toMatchObject({ copyType: 'FULL', verificationStatus: 'VERIFIED' }); // a new chain, not an incremental of the plain one
    expect(encrypted.manifest.encryption).toEqual({ algorithm: 'LKENC1-AES-256-GCM', keyId: expect.any(String) });
    // The typed field says the same as the stored manifest, so clients need not parse it.
    expect(encrypted.snapshot.contents.encryption).toEqual(encrypted.manifest.encryption);
    expect(plain.snapshot.contents.encryption).toBeNull();
    for (const artifact of encrypted.manifest.artifacts) {
      expect(artifact.encrypted).toBe(true);
      const bytes = readFileSync(
        join(t.app.config.dataDir, 'backups', encrypted.snapshot.storagePrefix, artifact.path),
      );
      expect(bytes.subarray(0, 6).toString('latin1')).toBe('LKENC1');
      expect(bytes.toString('latin1')).not.toContain('secret ingredient');
    }
  });

  it('refuses to delete the key while a policy or a snapshot needs it', async () => {
    const keyCredential = (await t.gql(`{ credentials { id kind } }`)).data.credentials.find(
      (c: { kind: string }) => c.kind === 'ENCRYPTION_KEY',
    );
    const whilePolicy = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: keyCredential.id });
    expect(whilePolicy.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/backup policy/),
      extensions: { code: 'CONFLICT', reason: 'CREDENTIAL_IN_USE' },
    });
    await setEncryption(null);
    const whileSnapshots = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: keyCredential.id });
    expect(whileSnapshots.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/encrypted snapshot/),
      extensions: { code: 'CONFLICT' },
    });
  });
});
