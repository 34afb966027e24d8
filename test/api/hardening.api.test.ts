import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getIntrospectionQuery } from 'graphql';
import { LIMITS } from '../../server/src/graphql/hardening.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: false });
});
afterAll(() => t.stop());

describe('GraphQL hardening', () => {
  it('keeps full introspection available to integrators', async () => {
    const r = await t.gql(getIntrospectionQuery());
    expect(r.errors).toBeUndefined();
    expect(r.data.__schema.mutationType.name).toBe('Mutation');
  });

  it(`refuses more than ${LIMITS.maxAliases} aliases`, async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `w${i}: workers { id }`).join(' ')} }`;
    expect((await t.gql(aliases(LIMITS.maxAliases))).errors).toBeUndefined();
    const r = await t.gql(aliases(LIMITS.maxAliases + 1));
    expect(r.errors?.[0]?.message).toMatch(/aliases/i);
    expect(r.data).toBeUndefined();
  });

  it(`refuses a document of more than ${LIMITS.maxTokens} tokens before validating it`, async () => {
    const r = await t.gql(`{ workers { ${'id '.repeat(LIMITS.maxTokens)} } }`);
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.message).toMatch(/token/i);
  });

  it('refuses a query whose cost exceeds the limit', async () => {
    const fields =
      'id name pathWithNamespace httpUrlToRepo sshUrlToRepo webUrl defaultBranch visibility isArchived isEmpty';
    const big = `{ ${Array.from({ length: LIMITS.maxAliases }, (_, i) => `o${i}: organizations { repositories(first: 100) { edges { node { ${fields} } } nodes { ${fields} } } groups { nodes { id fullPath name } } }`).join(' ')} }`;
    const r = await t.gql(big);
    expect(r.errors?.[0]?.message).toMatch(/cost/i);
  });
});
