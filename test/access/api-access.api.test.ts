import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

const tokenFor = async (role: string) => {
  const r = await t.gql(
    `mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token apiToken { id role } } }`,
    {
      i: { name: `${role} token`, role },
    },
  );
  return r.data.createApiToken.token as string;
};

/** Every root field of the schema with a minimal document and the roles that may run it. */
const OPERATIONS: { name: string; query: string; allowed: string[] }[] = [
  {
    name: 'connections',
    query: '{ connections { id } }',
    allowed: ['ADMIN', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR', 'VIEWER'],
  },
  {
    name: 'organizations',
    query: '{ organizations { id } }',
    allowed: ['ADMIN', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR', 'VIEWER'],
  },
  {
    name: 'group',
    query: '{ group(id: "00000000-0000-0000-0000-000000000000") { id } }',
    allowed: ['ADMIN', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR', 'VIEWER'],
  },
  { name: 'workers', query: '{ workers { id } }', allowed: ['ADMIN', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR', 'VIEWER'] },
  { name: 'credentials', query: '{ credentials { id } }', allowed: ['ADMIN', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR'] },
  { name: 'apiTokens', query: '{ apiTokens { id } }', allowed: ['ADMIN'] },
  {
    name: 'needsAttention',
    query: '{ needsAttention { kind } }',
    allowed: ['ADMIN', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR', 'VIEWER'],
  },
  { name: 'auditEvents', query: '{ auditEvents { totalCount } }', allowed: ['ADMIN'] },
  {
    name: 'createCredential',
    query: 'mutation { createCredential(input: { name: "c-ROLE", kind: PASSWORD, secret: "s3cret-value" }) { id } }',
    allowed: ['ADMIN'],
  },
  {
    name: 'createApiToken',
    query: 'mutation { createApiToken(input: { name: "x", role: VIEWER }) { token } }',
    allowed: ['ADMIN'],
  },
  {
    name: 'connectGitLab',
    query: 'mutation { connectGitLab(input: { method: OAUTH }) { authorizationUrl } }',
    allowed: ['ADMIN'],
  },
  {
    name: 'syncRepositories',
    query: 'mutation { syncRepositories(organizationId: "00000000-0000-0000-0000-000000000000") { id } }',
    allowed: ['ADMIN', 'BACKUP_OPERATOR'],
  },
  {
    name: 'runNow',
    query: 'mutation { runNow(input: { organizationId: "00000000-0000-0000-0000-000000000000" }) { id } }',
    allowed: ['ADMIN', 'BACKUP_OPERATOR'],
  },
  {
    name: 'restoreSnapshot',
    query:
      'mutation { restoreSnapshot(input: { target: DOWNLOAD, snapshotIds: ["00000000-0000-0000-0000-000000000000"] }) { id } }',
    allowed: ['ADMIN', 'RESTORE_OPERATOR'],
  },
  {
    name: 'deleteSnapshot',
    query: 'mutation { deleteSnapshot(id: "00000000-0000-0000-0000-000000000000") }',
    allowed: ['ADMIN'],
  },
  {
    name: 'backupRuns',
    query: '{ backupRuns { totalCount } }',
    allowed: ['ADMIN', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR', 'VIEWER'],
  },
  {
    name: 'updateOrganization',
    query: 'mutation { updateOrganization(input: { id: "00000000-0000-0000-0000-000000000000" }) { id } }',
    allowed: ['ADMIN', 'BACKUP_OPERATOR'],
  },
];

describe('API access', () => {
  describe('without a valid token', () => {
    it.each(OPERATIONS.map((o) => [o.name, o.query]))(
      'refuses %s over HTTP with 401 UNAUTHENTICATED',
      async (_name, query) => {
        for (const token of [null, 'lk_not-a-real-token-000000000000000', 'garbage']) {
          const r = await t.gql(query.replace('ROLE', 'anon'), {}, token);
          expect(r.status).toBe(401);
          expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
          expect(r.data).toBeUndefined();
        }
      },
    );

    it('closes a WebSocket whose connection_init has no valid token with 4401', async () => {
      for (const params of [{}, { authorization: 'Bearer lk_wrong_wrong_wrong_wrong_wrong' }]) {
        const socket = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
        const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: params })));
        expect(await closed).toBe(4401);
      }
    });

    it('refuses a revoked token', async () => {
      const created = await t.gql(
        `mutation { createApiToken(input: { name: "short-lived", role: VIEWER }) { token apiToken { id } } }`,
      );
      const { token, apiToken } = created.data.createApiToken;
      expect((await t.gql('{ workers { id } }', {}, token)).status).toBe(200);
      await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: apiToken.id });
      expect((await t.gql('{ workers { id } }', {}, token)).status).toBe(401);
    });
  });

  describe('roles', () => {
    it.each(['BACKUP_OPERATOR', 'RESTORE_OPERATOR', 'VIEWER'])(
      'lets %s do exactly what its role allows',
      async (role) => {
        const token = await tokenFor(role);
        for (const op of OPERATIONS) {
          const r = await t.gql(op.query.replace('ROLE', role), {}, token);
          const code = r.errors?.[0]?.extensions?.code;
          if (op.allowed.includes(role)) expect({ op: op.name, code }).not.toEqual({ op: op.name, code: 'FORBIDDEN' });
          else expect({ op: op.name, code }).toEqual({ op: op.name, code: 'FORBIDDEN' });
        }
      },
    );

    it('stores only a hash of each token', async () => {
      const token = await tokenFor('VIEWER');
      const rows = await t.app.dataSource.query('SELECT * FROM api_tokens');
      expect(JSON.stringify(rows)).not.toContain(token);
      expect(JSON.stringify(rows)).not.toContain(t.adminToken);
    });
  });
});
