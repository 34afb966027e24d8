import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GitbeakerClientFactory } from '../../server/src/gitlab/gitbeaker.adapter.js';
import type { OAuthApp, OAuthTokens } from '../../server/src/gitlab/gitlab.port.js';
import { createPkcePair, HttpGitLabOAuthClient, randomState } from '../../server/src/gitlab/oauth.client.js';
import { DomainError } from '../../server/src/shared/errors.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { authorizeAsUser } from '../support/oauth-browser.js';

/** The authorization-code flow with PKCE, refresh rotation and revocation, against the simulator. */
describe('HttpGitLabOAuthClient against the GitLab simulator', () => {
  const redirectUri = 'http://labkeeper.test/oauth/callback';
  const ada = { login: 'ada', password: 'correct horse battery' };
  const oauth = new HttpGitLabOAuthClient({ baseDelayMs: 1, maxDelayMs: 2 });
  const factory = new GitbeakerClientFactory({ baseDelayMs: 1, maxDelayMs: 2 });
  let gitlab: GitLabSimulator;
  let app: OAuthApp;

  beforeAll(async () => {
    gitlab = await startGitLabSimulator({ rateLimit: null });
    gitlab.createUser({ username: ada.login, password: ada.password, name: 'Ada Lovelace' });
    const registered = gitlab.createOAuthApplication({
      name: 'Labkeeper',
      redirectUri,
      scopes: ['read_api', 'read_repository'],
      confidential: true,
    });
    app = {
      instanceUrl: gitlab.url,
      clientId: registered.clientId,
      clientSecret: registered.clientSecret,
      redirectUri,
    };
  });

  afterAll(async () => {
    oauth.close();
    factory.close();
    await gitlab.close();
  });

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

  /** Runs the browser part of the flow and returns the code and the verifier it needs. */
  async function consent(): Promise<{ code: string; verifier: string }> {
    const pkce = createPkcePair();
    const state = randomState();
    const url = oauth.authorizeUrl(app, {
      state,
      codeChallenge: pkce.challenge,
      scopes: ['read_api', 'read_repository'],
    });

    const callback = await authorizeAsUser(url, ada);

    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('state')).toBe(state);
    return { code: callback.searchParams.get('code')!, verifier: pkce.verifier };
  }

  function apiAs(tokens: OAuthTokens) {
    return factory.create({ instanceUrl: gitlab.url, token: tokens.accessToken, tokenType: 'oauth' });
  }

  it('exchanges an authorization code with its PKCE verifier for tokens that open the API', async () => {
    const { code, verifier } = await consent();

    const tokens = await oauth.exchangeCode(app, { code, codeVerifier: verifier });

    expect(tokens).toMatchObject({ expiresIn: 7200, scopes: ['read_api', 'read_repository'] });
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(Math.abs(tokens.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    await expect(apiAs(tokens).currentUser()).resolves.toMatchObject({ username: 'ada' });
  });

  it('rejects a code presented with the wrong verifier as invalid_grant', async () => {
    const { code } = await consent();

    const error = await failureOf(oauth.exchangeCode(app, { code, codeVerifier: createPkcePair().verifier }));

    expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { oauthError: 'invalid_grant' } });
  });

  it('rejects a code used twice as invalid_grant', async () => {
    const { code, verifier } = await consent();
    await oauth.exchangeCode(app, { code, codeVerifier: verifier });

    const error = await failureOf(oauth.exchangeCode(app, { code, codeVerifier: verifier }));

    expect(error.details).toMatchObject({ oauthError: 'invalid_grant' });
  });

  it('rotates the refresh token: the new pair works and the old refresh token dies', async () => {
    const { code, verifier } = await consent();
    const first = await oauth.exchangeCode(app, { code, codeVerifier: verifier });

    const second = await oauth.refresh(app, first.refreshToken!);
    await apiAs(second).currentUser();

    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.expiresIn).toBe(7200);
    const reuse = await failureOf(oauth.refresh(app, first.refreshToken!));
    expect(reuse).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { oauthError: 'invalid_grant' } });
    const oldAccess = await failureOf(apiAs(first).currentUser());
    expect(oldAccess).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { reason: 'revoked' } });
  });

  it('reports an access token past its two hours as expired', async () => {
    const { code, verifier } = await consent();
    const tokens = await oauth.exchangeCode(app, { code, codeVerifier: verifier });

    gitlab.advanceTime(7201 * 1000);
    const error = await failureOf(apiAs(tokens).currentUser());

    expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { reason: 'expired' } });
    const refreshed = await oauth.refresh(app, tokens.refreshToken!);
    await expect(apiAs(refreshed).currentUser()).resolves.toMatchObject({ username: 'ada' });
  });

  it('revokes an access token, and revoking it again still succeeds', async () => {
    const { code, verifier } = await consent();
    const tokens = await oauth.exchangeCode(app, { code, codeVerifier: verifier });

    await oauth.revoke(app, tokens.accessToken);
    await oauth.revoke(app, tokens.accessToken);

    const error = await failureOf(apiAs(tokens).currentUser());
    expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { reason: 'revoked' } });
  });

  it('sends the user back with access_denied and the state when they press Deny', async () => {
    const state = randomState();
    const url = oauth.authorizeUrl(app, { state, codeChallenge: createPkcePair().challenge, scopes: ['read_api'] });

    const callback = await authorizeAsUser(url, ada, 'deny');

    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.has('code')).toBe(false);
  });

  it('turns a wrong client secret into GITLAB_UNAUTHORIZED with invalid_client', async () => {
    const { code, verifier } = await consent();

    const error = await failureOf(
      oauth.exchangeCode({ ...app, clientSecret: 'wrong' }, { code, codeVerifier: verifier }),
    );

    expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { oauthError: 'invalid_client' } });
    expect(error.message).not.toContain('wrong');
  });
});
