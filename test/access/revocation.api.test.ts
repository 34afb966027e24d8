import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { errorsOf, openRawSocket } from '../support/raw-ws.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: false });
});
afterAll(() => t.stop());

async function aToken(role: string, expiresAt?: Date) {
  const r = await t.gql(`mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token apiToken { id } } }`, {
    i: { name: `${role} ${Math.random()}`, role, ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) },
  });
  expect(r.errors).toBeUndefined();
  return { token: r.data.createApiToken.token as string, id: r.data.createApiToken.apiToken.id as string };
}

const credentialNamed = async (name: string) =>
  Number((await t.app.dataSource.query('SELECT count(*) AS n FROM credentials WHERE name = $1', [name]))[0].n);

describe('API tokens on open WebSockets', () => {
  it('closes every socket of a token within a second of its revocation', async () => {
    const admin = await aToken('ADMIN');
    const sockets = [await openRawSocket(t.url, admin.token), await openRawSocket(t.url, admin.token)];
    const bystander = await openRawSocket(t.url, t.adminToken);
    const revokedAt = Date.now();
    const r = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: admin.id });
    expect(r.errors).toBeUndefined();
    for (const s of sockets) {
      const closed = await s.closed;
      expect(closed.code).toBe(4401);
      expect(closed.at - revokedAt).toBeLessThan(1000);
    }
    const still = await bystander.operation('1', '{ workers { id } }');
    expect(still.type).toBe('next');
    bystander.socket.close();
  });

  it('refuses operations sent on a socket whose token was revoked by another process, and closes it', async () => {
    const admin = await aToken('ADMIN');
    const s = await openRawSocket(t.url, admin.token);
    // Another API process revokes it: only the database knows.
    await t.app.dataSource.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [admin.id]);
    const answer = await s.operation(
      '1',
      'mutation { createCredential(input: { name: "after-revocation", kind: PASSWORD, secret: "s3cret-value" }) { id } }',
    );
    if (answer.type !== 'closed') expect(errorsOf(answer)[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await s.closed).code).toBe(4401);
    expect(await credentialNamed('after-revocation')).toBe(0);
  });

  it('closes a socket within a second of its token expiring', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const shortLived = await aToken('VIEWER', expiresAt);
    const s = await openRawSocket(t.url, shortLived.token);
    expect((await s.operation('1', '{ workers { id } }')).type).toBe('next');
    const closed = await s.closed;
    expect(closed.code).toBe(4401);
    expect(closed.at - expiresAt.getTime()).toBeLessThan(1000);
  });
});
