import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { serverAudits } from 'graphql-http';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * The GraphQL-over-HTTP spec's server audits (package graphql-http) against /graphql, sending a
 * valid API token. MUST audits report 'error' when they fail; SHOULD/MAY report 'warn'/'notice'.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: false });
});
afterAll(() => t.stop());

const audits = serverAudits({
  url: () => `${t.url}/graphql`,
  fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${t.adminToken}`);
    return fetch(input, { ...init, headers });
  },
});

describe('GraphQL over HTTP', () => {
  it.each(audits.filter((a) => a.name.startsWith('MUST')).map((a) => [a.name, a] as const))(
    '%s',
    async (_name, audit) => {
      const result = await audit.fn();
      expect(result.status === 'ok' ? 'ok' : `${result.status}: ${(result as { reason: string }).reason}`).toBe('ok');
    },
  );

  it('has no SHOULD audit failing with an error', async () => {
    const results = await Promise.all(audits.filter((a) => !a.name.startsWith('MUST')).map((a) => a.fn()));
    expect(results.filter((r) => r.status === 'error')).toEqual([]);
  });
});
