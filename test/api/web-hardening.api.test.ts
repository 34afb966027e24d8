import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { openRawSocket } from '../support/raw-ws.js';

const LIMIT = 4;
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: false, env: { LABKEEPER_AUTH_FAILURES_PER_MINUTE: String(LIMIT) } });
});
afterAll(() => t.stop());

describe('web hardening', () => {
  it.each([
    ['the web client', () => fetch(`${t.url}/`, { headers: { accept: 'text/html' } })],
    [
      'the API',
      () =>
        fetch(`${t.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` },
          body: '{"query":"{ workers { id } }"}',
        }),
    ],
  ])('sends security headers with %s', async (_what, request) => {
    const response = await request();
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('lets the OAuth callback page run only its own inline script (by hash)', async () => {
    const response = await fetch(`${t.url}/oauth/gitlab/callback?state=x.y&code=z`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toMatch(/unsafe-inline/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
  });

  describe(`after ${LIMIT} failed authentications from one address`, () => {
    it('answers 429 over HTTP and closes WebSockets with 4429, and logs it once', async () => {
      const attempt = () =>
        fetch(`${t.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer lk_wrong_wrong_wrong_wrong_wrong' },
          body: '{"query":"{ workers { id } }"}',
        });
      for (let i = 0; i < LIMIT; i++) expect((await attempt()).status).toBe(401);
      const refused = await attempt();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await refused.json()).errors[0].extensions.code).toBe('TOO_MANY_REQUESTS');
      // While throttled, even a valid token waits: a guessed one must not get through.
      expect((await t.gql('{ workers { id } }')).status).toBe(429);
      const socket = await openRawSocket(t.url, t.adminToken);
      expect((await socket.closed).code).toBe(4429);
      expect(t.logLines.filter((l) => l.includes('authentication throttled'))).toHaveLength(1);
    });
  });
});
