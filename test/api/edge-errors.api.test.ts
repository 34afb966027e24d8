import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LIMITS } from '../../server/src/graphql/hardening.js';
import { MAX_REQUEST_BYTES } from '../../server/src/graphql/server.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { INTERNALS } from '../support/internals.js';
import { errorsOf, openRawSocket, type RawSocket } from '../support/raw-ws.js';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe.each(['development', 'production'])('errors at the edge in %s mode', (mode) => {
  let t: TestApp;
  let ws: RawSocket;
  let viewer: string;
  let op = 0;
  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { NODE_ENV: mode } });
    ws = await openRawSocket(t.url, t.adminToken);
    const r = await t.gql(`mutation { createApiToken(input: { name: "viewer", role: VIEWER }) { token } }`);
    viewer = r.data.createApiToken.token;
  });
  afterAll(async () => {
    ws.socket.close();
    await t.stop();
  });

  /** The same operation over HTTP and graphql-ws: both answers' errors. */
  async function both(query: string, variables?: Record<string, unknown>) {
    const http = await t.gql(query, variables);
    const overWs = await ws.operation(String(++op), query, variables);
    return [http.errors ?? [], errorsOf(overWs)];
  }

  describe('request bodies', () => {
    const post = (body: string | ArrayBuffer, headers: Record<string, string> = {}) =>
      fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}`, ...headers },
        body,
      });

    it.each([
      ['malformed JSON', () => post('{"query": "{ workers { id } }"'), 400, 'BAD_REQUEST'],
      [
        'a body falsely labelled gzip',
        () => post('{"query":"{ workers { id } }"}', { 'content-encoding': 'gzip' }),
        400,
        'BAD_REQUEST',
      ],
      [
        'a truncated gzip body',
        () =>
          post(new Uint8Array(gzipSync('{"query":"{ workers { id } }"}').subarray(0, 20)).slice().buffer, {
            'content-encoding': 'gzip',
          }),
        400,
        'BAD_REQUEST',
      ],
      [
        'a body over the limit',
        () => post(JSON.stringify({ query: `{ workers { id } } #${'x'.repeat(MAX_REQUEST_BYTES)}` })),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ])('answers %s with a JSON error carrying a code', async (_what, send, status, code) => {
      const response = await send();
      const text = await response.text();
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/json/);
      expect(JSON.parse(text).errors[0].extensions.code).toBe(code);
      expect(text).not.toMatch(INTERNALS);
    });
  });

  describe('WebSocket messages', () => {
    it('answers a message over the size limit with PAYLOAD_TOO_LARGE and does not run it', async () => {
      const answer = await ws.operation(
        'big',
        `mutation { createCredential(input: { name: "big", kind: PASSWORD, secret: "${'x'.repeat(MAX_REQUEST_BYTES)}" }) { id } }`,
      );
      expect(answer.type).toBe('error');
      expect(errorsOf(answer)[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
      expect((await t.gql('{ credentials { name } }')).data.credentials).toEqual([]);
    });

    it(`applies the ${LIMITS.maxTokens}-token limit of HTTP documents`, async () => {
      const [http, overWs] = await both(`{ workers { ${'id '.repeat(LIMITS.maxTokens)} } }`);
      for (const errors of [http, overWs]) expect(errors[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    });

    it('answers a role refusal with FORBIDDEN like HTTP', async () => {
      const viewerWs = await openRawSocket(t.url, viewer);
      const answer = await viewerWs.operation('1', '{ apiTokens { id } }');
      expect(errorsOf(answer)[0]?.extensions?.code).toBe('FORBIDDEN');
      const http = await t.gql('{ apiTokens { id } }', {}, viewer);
      expect(http.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      viewerWs.socket.close();
    });

    it('gives validation and variable errors a code', async () => {
      for (const errors of await both('{ workers { nope } }'))
        expect(errors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      for (const errors of await both('query($id: ID!) { connection(id: $id) { id } }', { id: { not: 'an id' } })) {
        expect(errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    });
  });

  describe('arguments', () => {
    it.each([
      ['connection(id)', 'query($v: ID!) { connection(id: $v) { id } }', 'id'],
      ['organization(id)', 'query($v: ID!) { organization(id: $v) { id } }', 'id'],
      ['organizations(connectionId)', 'query($v: ID) { organizations(connectionId: $v) { id } }', 'connectionId'],
      ['snapshots(repositoryId)', 'query($v: ID) { snapshots(repositoryId: $v) { totalCount } }', 'repositoryId'],
      [
        'drillRuns(organizationId)',
        'query($v: ID!) { drillRuns(organizationId: $v) { totalCount } }',
        'organizationId',
      ],
      ['restoreRuns(organizationId)', 'query($v: ID) { restoreRuns(organizationId: $v) { id } }', 'organizationId'],
      ['revokeApiToken(id)', 'mutation($v: ID!) { revokeApiToken(id: $v) { id } }', 'id'],
    ])(
      'refuses an id that is not a UUID in %s with BAD_USER_INPUT naming the argument',
      async (_name, query, argument) => {
        for (const value of ['x', '', "1' OR '1'='1"]) {
          for (const errors of await both(query, { v: value })) {
            expect(errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
            expect(Object.keys(errors[0]?.extensions?.fields ?? {})).toEqual([argument]);
            expect(JSON.stringify(errors)).not.toMatch(INTERNALS);
          }
        }
      },
    );

    it.each([
      ['a NUL byte', 'a\u0000b', 'must not contain NUL'],
      ['a lone surrogate', 'a\uD800b', 'lone surrogate'],
    ])('refuses a string with %s, naming the field, and stores nothing', async (_what, name, message) => {
      const query = 'mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }';
      for (const errors of await both(query, { i: { name, kind: 'PASSWORD', secret: 's3cret-value' } })) {
        expect(errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(errors[0]?.extensions?.fields?.['input.name']).toMatch(message);
      }
      expect(Number((await t.app.dataSource.query('SELECT count(*) AS n FROM credentials'))[0].n)).toBe(0);
    });

    it('answers an unknown id with NOT_FOUND', async () => {
      for (const errors of await both('query($v: ID!) { connection(id: $v) { id } }', { v: UNKNOWN_ID })) {
        expect(errors[0]?.extensions?.code).toBe('NOT_FOUND');
      }
    });

    it('never shows runtime text for a null where a service expected a value', async () => {
      const created = await t.gql(
        'mutation { createCredential(input: { name: "n", kind: PASSWORD, secret: "s3cret-value" }) { id } }',
      );
      const id = created.data.createCredential.id;
      for (const errors of await both('mutation($i: UpdateCredentialInput!) { updateCredential(input: $i) { id } }', {
        i: { id, name: null },
      })) {
        expect(errors[0]?.extensions?.code).toBeDefined();
        expect(JSON.stringify(errors)).not.toMatch(INTERNALS);
      }
      await t.gql('mutation($id: ID!) { deleteCredential(id: $id) }', { id });
    });
  });
});
