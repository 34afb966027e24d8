/**
 * GitLab's OAuth 2 endpoints (doc/api/oauth2.md): the authorization-code flow with PKCE (S256),
 * the refresh grant (GitLab rotates: each refresh returns a new refresh token and kills the old
 * one) and revocation (RFC 7009).
 *
 * Plain HTTP through the same transport as the API adapter, so a custom CA works here too (Node's
 * fetch cannot take one without undici's Agent). Token requests are form-encoded, with client_id,
 * client_secret (confidential apps) and redirect_uri in the body, as GitLab's docs show.
 *
 * Retries: a POST to /oauth/token must not be replayed after GitLab may have acted on it — a code
 * is single-use and a refresh rotates — so only 429 (refused before acting) and connections that
 * were never established are retried. Failures map through gitlab.errors.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import { systemClock } from '../shared/clock.js';
import { badPayload, fromOAuthFailure, toGitLabError } from './gitlab.errors.js';
import type { GitLabOAuthClient, OAuthApp, OAuthTokens } from './gitlab.port.js';
import { normalizeInstanceUrl } from './instance-url.js';
import { GitLabHttp, type GitLabHttpOptions } from './gitlab-http.js';
import type { HttpAnswer } from './http-transport.js';
import { judgeFailure, judgeStatus, withRetries } from './retry-policy.js';

export interface PkcePair {
  /** RFC 7636 code_verifier: 43 characters of [A-Za-z0-9-_] (32 random bytes, base64url). */
  verifier: string;
  /** base64url(sha256(verifier)), sent with code_challenge_method=S256. */
  challenge: string;
}

export function createPkcePair(): PkcePair {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier) };
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** An unguessable `state` for one authorization attempt (32 random bytes, base64url). */
export function randomState(): string {
  return randomBytes(32).toString('base64url');
}

export interface HttpGitLabOAuthClientOptions extends GitLabHttpOptions {
  /** The application's one transport; without it the client makes its own from these options. */
  http?: GitLabHttp;
  /** Fallback issue time when GitLab sends no `created_at`. Default system clock. */
  clock?: Clock;
}

export class HttpGitLabOAuthClient implements GitLabOAuthClient {
  private readonly http: GitLabHttp;
  private readonly clock: Clock;

  constructor(options: HttpGitLabOAuthClientOptions = {}) {
    this.http = GitLabHttp.of(options);
    this.clock = options.clock ?? systemClock;
  }

  authorizeUrl(app: OAuthApp, params: { state: string; codeChallenge: string; scopes: string[] }): string {
    const url = new URL(`${normalizeInstanceUrl(app.instanceUrl)}/oauth/authorize`);
    url.search = new URLSearchParams({
      client_id: app.clientId,
      redirect_uri: app.redirectUri,
      response_type: 'code',
      state: params.state,
      scope: params.scopes.join(' '),
      code_challenge: params.codeChallenge,
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  exchangeCode(app: OAuthApp, params: { code: string; codeVerifier: string }): Promise<OAuthTokens> {
    return this.token(app, {
      grant_type: 'authorization_code',
      code: params.code,
      code_verifier: params.codeVerifier,
    });
  }

  refresh(app: OAuthApp, refreshToken: string): Promise<OAuthTokens> {
    return this.token(app, { grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  async revoke(app: OAuthApp, token: string): Promise<void> {
    const form: Record<string, string> = { token, client_id: app.clientId };
    if (app.clientSecret) form.client_secret = app.clientSecret;
    const { answer, operation } = await this.post(app, '/oauth/revoke', form);
    if (answer.status >= 200 && answer.status < 300) return;
    const body = parseJson(answer);
    const oauthError = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).error : undefined;
    // RFC 7009 §2.2: an invalid token is not an error for revocation; some servers say it anyway.
    if (oauthError === 'invalid_token' || oauthError === 'invalid_grant') return;
    throw fromOAuthFailure({ status: answer.status, headers: answer.headers, body }, { operation });
  }

  /** Releases the HTTPS agents kept for custom CAs. */
  close(): void {
    this.http.close();
  }

  private async token(app: OAuthApp, grant: Record<string, string>): Promise<OAuthTokens> {
    const form: Record<string, string> = { ...grant, client_id: app.clientId, redirect_uri: app.redirectUri };
    if (app.clientSecret) form.client_secret = app.clientSecret;
    const { answer, operation } = await this.post(app, '/oauth/token', form);
    const body = parseJson(answer);
    if (answer.status < 200 || answer.status >= 300) {
      throw fromOAuthFailure({ status: answer.status, headers: answer.headers, body }, { operation });
    }
    return this.toTokens(body, operation);
  }

  private async post(
    app: OAuthApp,
    path: string,
    form: Record<string, string>,
  ): Promise<{ answer: HttpAnswer; operation: string }> {
    const url = new URL(`${normalizeInstanceUrl(app.instanceUrl)}${path}`);
    const operation = `POST ${url.toString()}`;
    const transport = this.http.transport(app.caCertificate);
    const exchange = {
      method: 'POST',
      url,
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      timeoutMs: this.http.requestTimeoutMs,
    };
    const { outcome, attempts } = await withRetries<HttpAnswer>(
      this.http.retry,
      operation,
      () => transport(exchange),
      (result) =>
        'error' in result
          ? judgeFailure(result.error, false)
          : judgeStatus(result.value.status, result.value.headers, false, this.http.retry.now()),
    );
    if ('error' in outcome) throw toGitLabError(outcome.error, { operation, attempts });
    return { answer: outcome.value, operation };
  }

  private toTokens(body: unknown, operation: string): OAuthTokens {
    if (body === null || typeof body !== 'object')
      throw badPayload('the token answer is not a JSON object', { operation });
    const r = body as Record<string, unknown>;
    if (typeof r.access_token !== 'string' || r.access_token === '') {
      throw badPayload('the token answer has no access_token', { operation });
    }
    const createdAt = typeof r.created_at === 'number' ? new Date(r.created_at * 1000) : this.clock.now();
    return {
      accessToken: r.access_token,
      refreshToken: typeof r.refresh_token === 'string' && r.refresh_token !== '' ? r.refresh_token : null,
      expiresIn: typeof r.expires_in === 'number' ? r.expires_in : null,
      scopes: typeof r.scope === 'string' ? r.scope.split(/\s+/).filter(Boolean) : [],
      createdAt,
    };
  }
}

function parseJson(answer: HttpAnswer): unknown {
  if (!answer.text) return null;
  try {
    return JSON.parse(answer.text);
  } catch {
    return answer.text;
  }
}
