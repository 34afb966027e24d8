/**
 * A bounded fuzz of every query and mutation, generated from the schema itself: each argument in
 * turn gets hostile values for its type (ids that are not UUIDs, NUL bytes, lone surrogates, huge
 * strings, nulls, unknown enum values, out-of-range numbers) while the others stay plausible. Every
 * answer, over HTTP and graphql-ws, in development and production modes, must give each error an
 * `extensions.code` and show no database, runtime, library or file-system text; and when the
 * answer is an error, no table may have changed.
 */
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
  isInterfaceType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { startTestApp, type TestApp } from '../support/app.js';
import { errorsOf, openRawSocket, type RawSocket } from '../support/raw-ws.js';
import { INTERNALS } from '../support/internals.js';

const RANDOM_UUID = '3f0e6c1a-8a47-4a7e-9d1e-2b1b7a3c9d10';
const HOSTILE: Record<string, unknown[]> = {
  ID: ['x', '', "1' OR '1'='1", 'a\u0000', RANDOM_UUID],
  String: ['a\u0000b', 'a\uD800b', 'x'.repeat(120_000), '../../../../etc/passwd', ''],
  Int: [-1, 2 ** 31 - 1],
  Float: [-1e308],
  Boolean: [true],
  DateTimeISO: ['1970-01-01T00:00:00Z', 'not a date'],
};

/** A plausible value of a type (required input fields filled in), used for the arguments not under test. */
function plausible(type: GraphQLInputType, depth = 0): unknown {
  if (isNonNullType(type)) return plausible(type.ofType, depth);
  if (isListType(type)) return [plausible(type.ofType, depth)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    if (depth > 3) return out;
    for (const field of Object.values(type.getFields()))
      if (isNonNullType(field.type)) out[field.name] = plausible(field.type, depth + 1);
    return out;
  }
  return (
    { ID: RANDOM_UUID, String: 'fuzz', Int: 1, Float: 1, Boolean: false, DateTimeISO: '2100-01-01T00:00:00Z' }[
      getNamedType(type).name
    ] ?? 'fuzz'
  );
}

/** Hostile values for a type, each with the path (inside the argument) it was put at. */
function hostile(type: GraphQLInputType, depth = 0): { path: string[]; value: unknown }[] {
  const named = getNamedType(type);
  const out: { path: string[]; value: unknown }[] = [{ path: [], value: null }];
  if (isEnumType(named)) out.push({ path: [], value: 'NOT_A_KNOWN_VALUE' });
  else if (isInputObjectType(named)) {
    if (depth < 2) {
      for (const field of Object.values(named.getFields())) {
        for (const h of hostile(field.type, depth + 1)) out.push({ path: [field.name, ...h.path], value: h.value });
      }
    }
  } else out.push(...(HOSTILE[named.name] ?? ['fuzz']).map((value) => ({ path: [], value })));
  return out;
}

function set(base: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const target = Array.isArray(base) ? { ...(base[0] as object) } : { ...(base as object) };
  (target as Record<string, unknown>)[path[0]] = set(
    (target as Record<string, unknown>)[path[0]] ?? {},
    path.slice(1),
    value,
  );
  return Array.isArray(base) ? [target] : target;
}

const selection = (field: GraphQLField<unknown, unknown>) => {
  const type = getNamedType(field.type);
  return isObjectType(type) || isInterfaceType(type) || isUnionType(type) ? ' { __typename }' : '';
};

function document(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>) {
  const defs = field.args.map((a: GraphQLArgument) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = field.args.map((a: GraphQLArgument) => `${a.name}: $${a.name}`).join(', ');
  return `${kind}${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection(field)} }`;
}

interface Case {
  name: string;
  query: string;
  variables: Record<string, unknown>;
}

function cases(schema: GraphQLSchema): Case[] {
  const out: Case[] = [];
  for (const [kind, root] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const) {
    for (const field of Object.values(root!.getFields())) {
      const base = Object.fromEntries(field.args.map((a) => [a.name, plausible(a.type)]));
      const query = document(kind, field);
      out.push({ name: `${field.name} (plausible)`, query, variables: base });
      for (const arg of field.args) {
        for (const h of hostile(arg.type)) {
          out.push({
            name: `${field.name}(${[arg.name, ...h.path].join('.')} = ${JSON.stringify(h.value)?.slice(0, 30)})`,
            query,
            variables: { ...base, [arg.name]: set(base[arg.name], h.path, h.value) },
          });
        }
      }
    }
  }
  return out;
}

/**
 * Hashes every table's rows in one statement (jobs and api token use times change on their own;
 * the audit log records every refused mutation on purpose, test/audit/audit.api.test.ts checks it).
 */
async function tableState(t: TestApp): Promise<Record<string, string>> {
  const tables: { name: string }[] = await t.app.dataSource.query(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT IN ('migrations', 'api_tokens', 'audit_events') AND table_name NOT LIKE '%job%' AND table_name <> 'workers' ORDER BY 1`,
  );
  const rows: { name: string; h: string }[] = await t.app.dataSource.query(
    tables
      .map(
        ({ name }) =>
          `SELECT '${name}' AS name, count(*)::text || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS h FROM "${name}" x`,
      )
      .join(' UNION ALL '),
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.h]));
}

/** Stay within a bounded budget: a deterministic sample of the generated cases… */
const MAX_CASES_PER_MODE = 150;

/**
 * …plus, for the operations named here, every argument path once (its hostile values taken in
 * turn across the paths, so each kind of value still appears), since a sample can miss a whole
 * operation. Alerts: a channel's input holds URLs, secrets, SMTP settings and the rules.
 */
const EVERY_PATH =
  /^(createNotificationChannel|updateNotificationChannel|deleteNotificationChannel|testNotificationChannel|notificationChannels|alertDeliveries)\b/;

/** `op(arg.path = value)` → `op(arg.path)`; the plausible case is its own path. */
const pathOf = (c: Case) => c.name.replace(/ = .*\)$/, ')');

function select(generated: Case[]): Case[] {
  const step = Math.max(1, Math.ceil(generated.length / MAX_CASES_PER_MODE));
  const chosen = new Set(generated.filter((_, i) => i % step === 0));
  const byPath = new Map<string, Case[]>();
  for (const c of generated.filter((c) => EVERY_PATH.test(c.name)))
    byPath.set(pathOf(c), [...(byPath.get(pathOf(c)) ?? []), c]);
  let turn = 0;
  for (const variants of byPath.values())
    if (!variants.some((c) => chosen.has(c))) chosen.add(variants[turn++ % variants.length]);
  return generated.filter((c) => chosen.has(c));
}

describe.each(['development', 'production'])('fuzz of every operation in %s mode', (mode) => {
  let t: TestApp;
  let ws: RawSocket;
  let all: Case[];
  let alertPaths: Set<string>;
  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { NODE_ENV: mode } });
    ws = await openRawSocket(t.url, t.adminToken);
    const introspection = await t.gql(getIntrospectionQuery());
    const generated = cases(buildClientSchema(introspection.data)).filter(
      (c) => !/^(revokeApiToken|createApiToken)/.test(c.name),
    );
    all = select(generated);
    alertPaths = new Set(generated.filter((c) => EVERY_PATH.test(c.name)).map(pathOf));
  });
  afterAll(async () => {
    ws?.socket.close();
    await t?.stop();
  });

  it('answers every case with coded errors, no internals, and no write on error (HTTP and graphql-ws)', async () => {
    expect(all.length).toBeGreaterThan(100);
    // Every argument path of the alert operations is tried (the sample alone misses most).
    expect(alertPaths.size).toBeGreaterThan(50);
    expect([...alertPaths].filter((p) => !all.some((c) => pathOf(c) === p))).toEqual([]);
    const problems: string[] = [];
    let id = 0;
    let before = await tableState(t);
    for (const c of all) {
      const http = await t.gql(c.query, c.variables);
      const overWs = await ws.operation(String(++id), c.query, c.variables);
      for (const [transport, errors, text] of [
        ['HTTP', http.errors ?? [], JSON.stringify(http)],
        ['graphql-ws', errorsOf(overWs), JSON.stringify(overWs)],
      ] as const) {
        for (const e of errors)
          if (!e.extensions?.code) problems.push(`${transport} ${c.name}: error without code: ${e.message}`);
        const internal = INTERNALS.exec(text.replace(/"__typename":"[^"]*"/g, ''));
        if (internal) problems.push(`${transport} ${c.name}: shows "${internal[0]}"`);
      }
      // One hash per case: this case's "after" is the next one's "before".
      const after = await tableState(t);
      if ((http.errors?.length ?? 0) > 0 && errorsOf(overWs).length > 0) {
        for (const table of Object.keys(after))
          if (after[table] !== before[table]) problems.push(`${c.name}: answered an error but changed ${table}`);
      }
      before = after;
    }
    expect(problems).toEqual([]);
  });
});
