import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

const REDIRECT_URI = 'http://127.0.0.1:9999/oauth/callback';

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
  created_at: number;
}

/** Reads the hidden inputs of the form with the given id, as a browser would submit them. */
function formFields(html: string, formId: string): Record<string, string> {
  const form = new RegExp(`<form[^>]*id="${formId}"[^>]*>([\\s\\S]*?)</form>`).exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const match of form.matchAll(/<input type="hidden" name="([^"]+)"[^>]*value="([^"]*)"/g)) {
    fields[match[1]] = match[2].replace(/&amp;/g, '&').replace(/&quot;/g, '"');
  }
  return fields;
}

describe('GitLab simulator OAuth 2', () => {
  let sim: GitLabSimulator;
  let clientId: string;
  let clientSecret: string;
  let userId: number;

  beforeAll(async () => {
    sim = await startGitLabSimulator({ now: () => new Date('2026-03-01T10:00:00Z') });
    userId = sim.createUser({ username: 'alice', password: 's3cret-pass' }).id;
    ({ clientId, clientSecret } = sim.createOAuthApplication({
      name: 'Labkeeper',
      redirectUri: REDIRECT_URI,
      scopes: ['api', 'read_user', 'read_repository'],
    }));
  });

  afterAll(async () => {
    await sim.close();
  });

  const form = (fields: Record<string, string>, cookie?: string) => ({
    method: 'POST',
    redirect: 'manual' as const,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(fields).toString(),
  });

  async function signIn(): Promise<string> {
    const res = await fetch(
      `${sim.url}/users/sign_in`,
      form({ 'user[login]': 'alice', 'user[password]': 's3cret-pass', return_to: '/' }),
    );
    return res.headers.get('set-cookie')!.split(';')[0];
  }

  function authorizeUrl(params: Record<string, string>): string {
    return `${sim.url}/oauth/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT_URI, response_type: 'code', ...params })}`;
  }

  /** Runs the browser part of the flow and returns the code from the redirect. */
  async function authorize(verifier: string, state: string, scope = 'api'): Promise<string> {
    const cookie = await signIn();
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const consent = await (
      await fetch(authorizeUrl({ state, scope, code_challenge: challenge, code_challenge_method: 'S256' }), {
        headers: { cookie },
      })
    ).text();
    // GitLab skips consent for a confidential app that already holds a matching token.
    const skipped = /id="redirect-link" href="([^"]+)"/.exec(consent)?.[1];
    if (skipped) return new URL(skipped.replace(/&amp;/g, '&')).searchParams.get('code')!;
    const res = await fetch(
      `${sim.url}/oauth/authorize`,
      form({ ...formFields(consent, 'authorize-form'), commit: 'Authorize' }, cookie),
    );
    return new URL(res.headers.get('location')!).searchParams.get('code')!;
  }

  async function token(fields: Record<string, string>): Promise<Response> {
    return fetch(`${sim.url}/oauth/token`, form(fields));
  }

  describe('authorization code flow with PKCE', () => {
    it('signs in, shows the consent page, redirects with a code and exchanges it for tokens', async () => {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const url = authorizeUrl({
        state: 'xyz',
        scope: 'api read_user',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });

      const anonymous = await fetch(url, { redirect: 'manual' });
      expect(anonymous.status).toBe(302);
      const signInUrl = new URL(anonymous.headers.get('location')!, sim.url);
      expect(signInUrl.pathname).toBe('/users/sign_in');

      const signInPage = await (await fetch(signInUrl)).text();
      const signedIn = await fetch(
        `${sim.url}/users/sign_in`,
        form({ ...formFields(signInPage, 'new_user'), 'user[login]': 'alice', 'user[password]': 's3cret-pass' }),
      );
      expect(signedIn.status).toBe(302);
      const cookie = signedIn.headers.get('set-cookie')!.split(';')[0];

      const consent = await fetch(new URL(signedIn.headers.get('location')!, sim.url), {
        headers: { cookie },
        redirect: 'manual',
      });
      const html = await consent.text();
      expect(consent.status).toBe(200);
      expect(html).toContain(
        'Authorize <a href="http://127.0.0.1:9999/oauth/callback">Labkeeper</a> to use your account?',
      );
      expect(html).toContain('name="commit" value="Authorize"');

      const approved = await fetch(
        `${sim.url}/oauth/authorize`,
        form({ ...formFields(html, 'authorize-form'), commit: 'Authorize' }, cookie),
      );
      expect(approved.status).toBe(302);
      const callback = new URL(approved.headers.get('location')!);
      expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
      expect(callback.searchParams.get('state')).toBe('xyz');

      const exchanged = await token({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: clientId,
        client_secret: clientSecret,
      });
      const body = (await exchanged.json()) as TokenResponse;
      expect(exchanged.status).toBe(200);
      expect(body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 7200,
        scope: 'api read_user',
        created_at: Math.floor(Date.parse('2026-03-01T10:00:00Z') / 1000),
      });

      const user = await fetch(`${sim.url}/api/v4/user`, { headers: { authorization: `Bearer ${body.access_token}` } });
      expect(await user.json()).toMatchObject({ id: userId, username: 'alice' });
      expect(sim.requests[sim.requests.length - 1].auth).toBe('oauth');
    });

    it('redirects with access_denied when the user denies', async () => {
      const cookie = await signIn();
      const html = await (await fetch(authorizeUrl({ state: 's1' }), { headers: { cookie } })).text();

      const denied = await fetch(
        `${sim.url}/oauth/authorize`,
        form({ ...formFields(html, 'deny-form'), commit: 'Deny' }, cookie),
      );
      const location = new URL(denied.headers.get('location')!);

      expect(denied.status).toBe(302);
      expect(Object.fromEntries(location.searchParams)).toEqual({
        error: 'access_denied',
        error_description: 'The resource owner or authorization server denied the request.',
        state: 's1',
      });
    });

    it('renders the error page for a redirect_uri the app did not register', async () => {
      const cookie = await signIn();

      const res = await fetch(authorizeUrl({ redirect_uri: 'http://evil.example/cb' }), {
        headers: { cookie },
        redirect: 'manual',
      });
      const html = await res.text();

      expect(res.status).toBe(200);
      expect(html).toContain('An error has occurred');
      expect(html).toContain('The redirect URI included is not valid.');
    });

    it('skips the consent page when the confidential app already holds a matching token', async () => {
      const cookie = await signIn();

      const res = await fetch(authorizeUrl({ state: 'again', scope: 'api read_user' }), {
        headers: { cookie },
        redirect: 'manual',
      });
      const html = await res.text();

      expect(res.status).toBe(200);
      expect(html).toContain('Redirecting');
      expect(html).toMatch(
        /id="redirect-link" href="http:\/\/127\.0\.0\.1:9999\/oauth\/callback\?code=[0-9a-f]{64}&amp;state=again"/,
      );
    });

    it('rejects a wrong code_verifier with invalid_grant', async () => {
      const code = await authorize(randomBytes(32).toString('base64url'), 'st');

      const res = await token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: 'x'.repeat(43),
        client_id: clientId,
        client_secret: clientSecret,
      });

      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'invalid_grant',
        error_description:
          'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
      });
    });

    it('accepts a code only once', async () => {
      const verifier = randomBytes(32).toString('base64url');
      const code = await authorize(verifier, 'st');
      const fields = {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: clientId,
        client_secret: clientSecret,
      };

      expect((await token(fields)).status).toBe(200);
      expect((await token(fields)).status).toBe(400);
    });

    it('expires a code after 10 minutes', async () => {
      const verifier = randomBytes(32).toString('base64url');
      const code = await authorize(verifier, 'st');
      sim.advanceTime(10 * 60 * 1000);

      const res = await token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: clientId,
        client_secret: clientSecret,
      });

      expect(res.status).toBe(400);
    });

    it('answers invalid_client with 401 for a wrong client secret, also through HTTP Basic', async () => {
      const verifier = randomBytes(32).toString('base64url');
      const code = await authorize(verifier, 'st');

      const res = await fetch(`${sim.url}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:wrong`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        }),
      });

      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    });
  });

  describe('access tokens', () => {
    async function freshPair(): Promise<TokenResponse> {
      const verifier = randomBytes(32).toString('base64url');
      const code = await authorize(verifier, 'st', 'api read_repository');
      return (await (
        await token({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
          client_id: clientId,
          client_secret: clientSecret,
        })
      ).json()) as TokenResponse;
    }

    const apiUser = (accessToken: string) =>
      fetch(`${sim.url}/api/v4/user`, { headers: { authorization: `Bearer ${accessToken}` } });

    it('expire after expires_in on the simulator clock with GitLab expired body', async () => {
      const pair = await freshPair();
      sim.advanceTime(7200 * 1000);

      const res = await apiUser(pair.access_token);

      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: 'invalid_token',
        error_description: 'Token is expired. You can either do re-authorization or token refresh.',
      });
    });

    it('rotate on refresh: once the new token is used the old access and refresh tokens stop working', async () => {
      const old = await freshPair();
      const refreshed = await token({
        grant_type: 'refresh_token',
        refresh_token: old.refresh_token,
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uri: REDIRECT_URI,
      });
      const pair = (await refreshed.json()) as TokenResponse;
      expect(refreshed.status).toBe(200);
      expect(pair.refresh_token).not.toBe(old.refresh_token);

      expect((await apiUser(pair.access_token)).status).toBe(200);

      const oldUse = await apiUser(old.access_token);
      expect(oldUse.status).toBe(401);
      expect(await oldUse.json()).toMatchObject({
        error: 'invalid_token',
        error_description: 'Token was revoked. You have to re-authorize from the user.',
      });
      const reuse = await token({
        grant_type: 'refresh_token',
        refresh_token: old.refresh_token,
        client_id: clientId,
        client_secret: clientSecret,
      });
      expect(reuse.status).toBe(400);
      expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
      expect(sim.isOAuthAccessTokenActive(old.access_token)).toBe(false);
      expect(sim.isOAuthAccessTokenActive(pair.access_token)).toBe(true);
    });

    it('keep the old pair alive until the refreshed access token is first used (refresh_token_revoked_on_use)', async () => {
      const old = await freshPair();
      await token({
        grant_type: 'refresh_token',
        refresh_token: old.refresh_token,
        client_id: clientId,
        client_secret: clientSecret,
      });

      expect((await apiUser(old.access_token)).status).toBe(200);
    });

    it('are revoked by POST /oauth/revoke, which answers {}', async () => {
      const pair = await freshPair();

      const res = await fetch(
        `${sim.url}/oauth/revoke`,
        form({ token: pair.access_token, client_id: clientId, client_secret: clientSecret }),
      );

      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
      expect((await apiUser(pair.access_token)).status).toBe(401);
    });

    it('describe themselves at /oauth/token/info', async () => {
      const pair = await freshPair();
      sim.advanceTime(200 * 1000);

      const info = await (
        await fetch(`${sim.url}/oauth/token/info`, { headers: { authorization: `Bearer ${pair.access_token}` } })
      ).json();

      expect(info).toMatchObject({
        resource_owner_id: userId,
        scope: ['api', 'read_repository'],
        expires_in: 7000,
        application: { uid: clientId },
      });
    });

    it('are refused by /personal_access_tokens/self', async () => {
      const pair = await freshPair();

      const res = await fetch(`${sim.url}/api/v4/personal_access_tokens/self`, {
        headers: { authorization: `Bearer ${pair.access_token}` },
      });

      expect(res.status).toBe(400);
    });
  });
});
