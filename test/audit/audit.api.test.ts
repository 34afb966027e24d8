import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isAbstractType,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * The audit log: every mutation of the schema, over HTTP and over a WebSocket, leaves exactly one
 * event with its arguments and result, and the secrets planted in its arguments are in no row;
 * sign-ins are recorded; only ADMIN tokens read it (GraphQL and the JSON Lines export); retention
 * deletes what is older than the configured days.
 */
const PLANTED = `planted-secret-${randomUUID()}`;
let t: TestApp;
let schema: GraphQLSchema;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp({ worker: false, env: { LABKEEPER_AUDIT_RETENTION_DAYS: '30' } });
  schema = buildClientSchema((await t.gql(getIntrospectionQuery())).data);
  for (const role of ['VIEWER', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR']) {
    const created = await t.gql(`mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }`, {
      i: { name: `audit ${role}`, role },
    });
    tokens[role] = created.data.createApiToken.token;
  }
});
afterAll(() => t?.stop());

/** A value of the type that passes GraphQL's own validation; secret-looking strings get the planted secret. */
function valueOf(type: GraphQLInputType, name: string): unknown {
  if (isNonNullType(type)) return valueOf(type.ofType, name);
  if (isListType(type)) return [valueOf(type.ofType, name)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    return Object.fromEntries(
      fields
        .filter((f) => isNonNullType(f.type) || /secret|token|password/i.test(f.name))
        .filter((f) => !/Id$|ExpiresAt$/.test(f.name))
        .map((f) => [f.name, valueOf(f.type, f.name)]),
    );
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return randomUUID();
      case 'Int':
      case 'Float':
        return 1;
      case 'Boolean':
        return false;
      case 'DateTimeISO':
        return new Date().toISOString();
      case 'JSONObject':
        return {};
      default:
        return /secret|token|password/i.test(name) ? PLANTED : 'x';
    }
  }
  throw new Error(`no value for ${String(type)}`);
}

/** `mutation($a: T!) { field(a: $a) { __typename } }` with values for every required argument. */
function callOf(fieldName: string): { query: string; variables: Record<string, unknown> } {
  const field = schema.getMutationType()!.getFields()[fieldName];
  const args = field.args.filter((a) => isNonNullType(a.type) || /secret|token|password/i.test(a.name));
  const named = getNamedType(field.type);
  const selection = isObjectType(named) || isAbstractType(named) ? ' { __typename }' : '';
  const definitions = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const passing = args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return {
    query: `mutation${definitions ? `(${definitions})` : ''} { ${fieldName}${passing ? `(${passing})` : ''}${selection} }`,
    variables: Object.fromEntries(args.map((a) => [a.name, valueOf(a.type, a.name)])),
  };
}

const auditRows = (operation: string, transport: string): Promise<Record<string, unknown>[]> =>
  t.app.dataSource.query(`SELECT * FROM audit_events WHERE operation = $1 AND transport = $2`, [operation, transport]);

async function overWebSocket(query: string, variables: Record<string, unknown>) {
  const client = t.ws();
  try {
    return await new Promise<{ errors?: unknown[] }>((resolve, reject) => {
      let result: { errors?: unknown[] } = {};
      client.subscribe(
        { query, variables },
        {
          next: (r) => (result = r as never),
          error: (e) => resolve({ errors: Array.isArray(e) ? e : [e] }),
          complete: () => resolve(result),
        },
      );
      void reject;
    });
  } finally {
    await client.dispose();
  }
}

describe('the audit log', () => {
  const mutations = () => Object.keys(schema.getMutationType()!.getFields()).sort();

  it('records each mutation of the schema over HTTP exactly once, with its result and no secret', async () => {
    expect(mutations().length).toBeGreaterThan(15);
    for (const name of mutations()) {
      const { query, variables } = callOf(name);
      const before = (await auditRows(name, 'HTTP')).length;
      const response = await t.gql(query, variables);
      const rows = await auditRows(name, 'HTTP');
      expect({ name, added: rows.length - before }).toEqual({ name, added: 1 });
      const row = rows.at(-1)!;
      const code = (response.errors?.[0]?.extensions?.code as string | undefined) ?? null;
      expect({ name, result: row.result, code: row.error_code }).toEqual({
        name,
        result: code ? 'ERROR' : 'OK',
        code,
      });
      expect(row.token_role).toBe('ADMIN');
      expect(row.client_address).toBeTruthy();
    }
  });

  it('records each mutation over a WebSocket exactly once too', async () => {
    for (const name of mutations()) {
      const { query, variables } = callOf(name);
      const before = (await auditRows(name, 'WEBSOCKET')).length;
      await overWebSocket(query, variables);
      const rows = await auditRows(name, 'WEBSOCKET');
      expect({ name, added: rows.length - before }).toEqual({ name, added: 1 });
    }
  });

  it('keeps arguments, with the planted secrets redacted in every row', async () => {
    const rows: Record<string, unknown>[] = await t.app.dataSource.query(`SELECT * FROM audit_events`);
    expect(JSON.stringify(rows)).not.toContain(PLANTED);
    const credential = (await auditRows('createCredential', 'HTTP')).at(-1)!;
    expect(credential.arguments).toMatchObject({ input: { secret: '[REDACTED]', name: 'x' } });
    const created = (await auditRows('createApiToken', 'HTTP')).find(
      (r) => (r.arguments as { input: { name: string } }).input.name === 'audit VIEWER',
    );
    expect(created).toMatchObject({ result: 'OK', error_code: null, token_role: 'ADMIN' });
  });

  it('records sign-ins over WebSocket, and failed authentications', async () => {
    const before = (await auditRows('signIn', 'WEBSOCKET')).length;
    await overWebSocket('{ workers { id } }', {});
    const refused = await t.gql('{ workers { id } }', {}, 'lk_not_a_valid_token_at_all_000000');
    expect(refused.status).toBe(401);
    const signIns = await auditRows('signIn', 'WEBSOCKET');
    expect(signIns.length - before).toBe(1);
    expect(signIns.at(-1)).toMatchObject({ result: 'OK', token_role: 'ADMIN' });
    expect((await auditRows('signIn', 'HTTP')).at(-1)).toMatchObject({
      result: 'ERROR',
      error_code: 'UNAUTHENTICATED',
      token_id: null,
    });
  });

  it('is read by ADMIN tokens only, filtered and paginated', async () => {
    const query = `query($o: String, $f: Int) { auditEvents(operation: $o, first: $f) { totalCount pageInfo { hasNextPage } nodes { operation result errorCode tokenName transport arguments } } }`;
    for (const role of ['VIEWER', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR']) {
      const refused = await t.gql(query, {}, tokens[role]);
      expect({ role, code: refused.errors?.[0]?.extensions?.code }).toEqual({ role, code: 'FORBIDDEN' });
      const exported = await fetch(`${t.url}/audit/events.jsonl`, {
        headers: { authorization: `Bearer ${tokens[role]}` },
      });
      expect({ role, status: exported.status }).toEqual({ role, status: 403 });
    }
    const page = await t.gql(query, { o: 'createApiToken', f: 2 });
    expect(page.errors).toBeUndefined();
    expect(page.data.auditEvents.totalCount).toBe(5); // three in beforeAll, one over HTTP, one over WS
    expect(page.data.auditEvents.nodes).toHaveLength(2);
    expect(page.data.auditEvents.pageInfo.hasNextPage).toBe(true);
    expect(page.data.auditEvents.nodes.every((n: { operation: string }) => n.operation === 'createApiToken')).toBe(
      true,
    );
  });

  it('exports as JSON Lines, oldest first', async () => {
    const response = await fetch(`${t.url}/audit/events.jsonl?operation=createApiToken`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await response.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({
      operation: 'createApiToken',
      result: 'OK',
      arguments: { input: { name: 'audit VIEWER' } },
    });
    expect(lines.map((l) => l.at)).toEqual([...lines.map((l) => l.at)].sort());
  });

  it('deletes events older than the retention period and keeps the rest', async () => {
    const total = async () => Number((await t.app.dataSource.query(`SELECT count(*) AS n FROM audit_events`))[0].n);
    const old = randomUUID();
    await t.app.dataSource.query(
      `INSERT INTO audit_events (id, at, operation, transport, arguments, result, client_address)
       VALUES ($1, now() - interval '31 days', 'runNow', 'HTTP', '{}', 'OK', '127.0.0.1')`,
      [old],
    );
    const before = await total();
    expect(await t.app.services.audit.pruneExpired()).toBe(1);
    expect(await total()).toBe(before - 1);
    expect(await t.app.dataSource.query(`SELECT id FROM audit_events WHERE id = $1`, [old])).toEqual([]);
  });
});
