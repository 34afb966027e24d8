import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

const FIELDS = 'id name kind username fingerprint description createdAt updatedAt rotatedAt lastUsedAt expiresAt';
const create = (input: Record<string, unknown>) =>
  t.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { ${FIELDS} } }`, { i: input });
const update = (input: Record<string, unknown>) =>
  t.gql(`mutation($i: UpdateCredentialInput!) { updateCredential(input: $i) { ${FIELDS} } }`, { i: input });

describe('the Password Manager', () => {
  it('creates a credential and shows its name, kind, username and last 4 characters, never the secret', async () => {
    const r = await create({
      name: 'ci token',
      kind: 'PERSONAL_ACCESS_TOKEN',
      secret: 'glpat-create-secret-9876',
      username: 'alice',
    });
    expect(r.data.createCredential).toMatchObject({
      name: 'ci token',
      kind: 'PERSONAL_ACCESS_TOKEN',
      username: 'alice',
      fingerprint: '…9876',
    });
    const list = await t.gql(`{ credentials { ${FIELDS} } }`);
    expect(list.data.credentials).toContainEqual(r.data.createCredential);
    expect(JSON.stringify([r, list])).not.toContain('glpat-create-secret');
  });

  it('stores the secret encrypted with AES-256-GCM, bound to its row', async () => {
    const r = await create({ name: 'at rest', kind: 'PASSWORD', secret: 'plain-text-never-stored' });
    const [row] = await t.app.dataSource.query('SELECT * FROM credentials WHERE id = $1', [r.data.createCredential.id]);
    expect(JSON.stringify(row)).not.toContain('plain-text-never-stored');
    expect(row.secret_ciphertext.toString('latin1')).not.toContain('plain-text-never-stored');
    expect(row.secret_ciphertext[0]).toBe(1); // format version
    expect(await t.app.services.credentials.reveal(r.data.createCredential.id)).toBe('plain-text-never-stored');
  });

  it('renames and rotates: the new secret replaces the old one and the fingerprint follows', async () => {
    const { id } = (await create({ name: 'rotating', kind: 'PERSONAL_ACCESS_TOKEN', secret: 'first-secret-aaaa' })).data
      .createCredential;
    const r = await update({ id, name: 'rotated', secret: 'second-secret-bbbb' });
    expect(r.data.updateCredential).toMatchObject({
      name: 'rotated',
      fingerprint: '…bbbb',
      rotatedAt: expect.any(String),
    });
    expect(await t.app.services.credentials.reveal(id)).toBe('second-secret-bbbb');
  });

  it('deletes an unused credential', async () => {
    const { id } = (await create({ name: 'to delete', kind: 'PASSWORD', secret: 'delete-me-please' })).data
      .createCredential;
    expect((await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id })).data.deleteCredential).toBe(id);
    expect((await t.gql(`{ credentials { id } }`)).data.credentials).not.toContainEqual({ id });
  });

  describe('bad input', () => {
    it('refuses a duplicate name with CONFLICT', async () => {
      await create({ name: 'unique', kind: 'PASSWORD', secret: 'secret-one-1' });
      const r = await create({ name: 'unique', kind: 'PASSWORD', secret: 'secret-two-2' });
      expect(r.errors?.[0]?.extensions).toMatchObject({
        code: 'CONFLICT',
        reason: 'CREDENTIAL_NAME_TAKEN',
        fields: { 'input.name': expect.any(String) },
      });
    });

    it('refuses a too short secret with BAD_USER_INPUT naming the field', async () => {
      const r = await create({ name: 'short', kind: 'PASSWORD', secret: 'abc' });
      expect(r.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        fields: { 'input.secret': expect.any(String) },
      });
    });

    it('answers NOT_FOUND for an unknown id', async () => {
      const r = await update({ id: '00000000-0000-0000-0000-000000000000', name: 'x' });
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'CREDENTIAL_NOT_FOUND' });
    });
  });
});
