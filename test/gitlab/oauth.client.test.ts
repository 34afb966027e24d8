import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import {
  createPkcePair,
  HttpGitLabOAuthClient,
  pkceChallenge,
  randomState,
} from '../../server/src/gitlab/oauth.client.js';
import type { OAuthApp } from '../../server/src/gitlab/gitlab.port.js';
import { DomainError } from '../../server/src/shared/errors.js';
import { byRoute, inOrder, startScriptedServer, type Script, type ScriptedServer } from './scripted-server.js';

const leftovers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (leftovers.length) await leftovers.pop()!();
});

async function serve(script: Script): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  leftovers.push(() => server.close());
  return server;
}

function anApp(server: ScriptedServer | { url: string }, overrides: Partial<OAuthApp> = {}): OAuthApp {
  return {
    instanceUrl: server.url,
    clientId: 'app-id',
    clientSecret: 'app-secret',
    redirectUri: 'https://labkeeper.example.com/oauth/callback',
    ...overrides,
  };
}

function aClient() {
  const client = new HttpGitLabOAuthClient({ baseDelayMs: 1, maxDelayMs: 2 });
  leftovers.push(() => client.close());
  return client;
}

const tokenAnswer = {
  json: {
    access_token: 'access-1',
    token_type: 'Bearer',
    expires_in: 7200,
    refresh_token: 'refresh-1',
    scope: 'read_api read_repository',
    created_at: 1_767_225_600,
  },
};

async function failureOf(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

describe('PKCE helpers', () => {
  it('makes a verifier of 43 to 128 unreserved characters, as RFC 7636 requires', () => {
    const { verifier } = createPkcePair();

    expect(verifier.length).toBeGreaterThanOrEqual(43);
    expect(verifier.length).toBeLessThanOrEqual(128);
    expect(verifier).toMatch(/^[A-Za-z0-9\-._~]+$/);
  });

  it('derives the challenge as base64url of the verifier’s SHA-256', () => {
    const { verifier, challenge } = createPkcePair();

    expect(challenge).toBe(createHash('sha256').update(verifier).digest('base64url'));
    expect(challenge).not.toMatch(/[+/=]/);
  });

  it('matches the example of RFC 7636 appendix B', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('never repeats a verifier or a state', () => {
    expect(createPkcePair().verifier).not.toBe(createPkcePair().verifier);
    expect(randomState()).not.toBe(randomState());
    expect(randomState()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('HttpGitLabOAuthClient', () => {
  describe('authorizeUrl', () => {
    it('points at /oauth/authorize with the code flow, PKCE S256 and space-separated scopes', () => {
      const url = new URL(
        aClient().authorizeUrl(anApp({ url: 'https://gitlab.example.com/' }), {
          state: 'st',
          codeChallenge: 'ch',
          scopes: ['read_api', 'read_repository'],
        }),
      );

      expect(url.origin + url.pathname).toBe('https://gitlab.example.com/oauth/authorize');
      expect(Object.fromEntries(url.searchParams)).toEqual({
        client_id: 'app-id',
        redirect_uri: 'https://labkeeper.example.com/oauth/callback',
        response_type: 'code',
        state: 'st',
        scope: 'read_api read_repository',
        code_challenge: 'ch',
        code_challenge_method: 'S256',
      });
    });
  });

  describe('exchangeCode', () => {
    it('posts the code and verifier with the client credentials and maps the tokens', async () => {
      const server = await serve(byRoute({ 'POST /oauth/token': tokenAnswer }));

      const tokens = await aClient().exchangeCode(anApp(server), { code: 'the-code', codeVerifier: 'the-verifier' });

      expect(tokens).toEqual({
        accessToken: 'access-1',
        refreshToken: 'refresh-1',
        expiresIn: 7200,
        scopes: ['read_api', 'read_repository'],
        createdAt: new Date(1_767_225_600_000),
      });
      const request = server.requests[0];
      expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
        grant_type: 'authorization_code',
        code: 'the-code',
        code_verifier: 'the-verifier',
        client_id: 'app-id',
        client_secret: 'app-secret',
        redirect_uri: 'https://labkeeper.example.com/oauth/callback',
      });
    });

    it('leaves client_secret out for a public application', async () => {
      const server = await serve(byRoute({ 'POST /oauth/token': tokenAnswer }));

      await aClient().exchangeCode(anApp(server, { clientSecret: null }), { code: 'c', codeVerifier: 'v' });

      expect(new URLSearchParams(server.requests[0].body).has('client_secret')).toBe(false);
    });

    it('turns invalid_grant into GITLAB_UNAUTHORIZED carrying the OAuth error', async () => {
      const server = await serve(
        inOrder({
          status: 400,
          json: {
            error: 'invalid_grant',
            error_description:
              'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
          },
        }),
      );

      const error = await failureOf(aClient().exchangeCode(anApp(server), { code: 'used', codeVerifier: 'v' }));

      expect(error.code).toBe('GITLAB_UNAUTHORIZED');
      expect(error.details).toMatchObject({ oauthError: 'invalid_grant', status: 400 });
      expect(error.message).not.toContain('app-secret');
    });

    it('does not replay a token request after a 502, since GitLab may have used the code', async () => {
      const server = await serve(inOrder({ status: 502, text: 'Bad Gateway' }, tokenAnswer));

      const error = await failureOf(aClient().exchangeCode(anApp(server), { code: 'c', codeVerifier: 'v' }));

      expect(error.code).toBe('GITLAB_UNAVAILABLE');
      expect(server.requests).toHaveLength(1);
    });

    it('retries a token request refused with 429', async () => {
      const server = await serve(inOrder({ status: 429, headers: { 'retry-after': '0' } }, tokenAnswer));

      const tokens = await aClient().exchangeCode(anApp(server), { code: 'c', codeVerifier: 'v' });

      expect(tokens.accessToken).toBe('access-1');
      expect(server.requests).toHaveLength(2);
    });
  });

  describe('refresh', () => {
    it('posts the refresh grant and returns the rotated refresh token', async () => {
      const server = await serve(
        byRoute({
          'POST /oauth/token': { json: { ...tokenAnswer.json, access_token: 'access-2', refresh_token: 'refresh-2' } },
        }),
      );

      const tokens = await aClient().refresh(anApp(server), 'refresh-1');

      expect(tokens).toMatchObject({ accessToken: 'access-2', refreshToken: 'refresh-2' });
      expect(Object.fromEntries(new URLSearchParams(server.requests[0].body))).toMatchObject({
        grant_type: 'refresh_token',
        refresh_token: 'refresh-1',
        client_id: 'app-id',
        redirect_uri: 'https://labkeeper.example.com/oauth/callback',
      });
    });
  });

  describe('revoke', () => {
    it('posts the token with the client credentials to /oauth/revoke', async () => {
      const server = await serve(byRoute({ 'POST /oauth/revoke': { json: {} } }));

      await aClient().revoke(anApp(server), 'access-1');

      expect(Object.fromEntries(new URLSearchParams(server.requests[0].body))).toEqual({
        token: 'access-1',
        client_id: 'app-id',
        client_secret: 'app-secret',
      });
    });

    it('resolves when GitLab says the token was already invalid', async () => {
      const server = await serve(inOrder({ status: 400, json: { error: 'invalid_token' } }));

      await expect(aClient().revoke(anApp(server), 'gone')).resolves.toBeUndefined();
    });

    it('rejects when GitLab does not accept the client', async () => {
      const server = await serve(
        inOrder({
          status: 403,
          json: { error: 'unauthorized_client', error_description: 'You are not authorized to revoke this token' },
        }),
      );

      const error = await failureOf(aClient().revoke(anApp(server), 'access-1'));

      expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { oauthError: 'unauthorized_client' } });
    });
  });
});
