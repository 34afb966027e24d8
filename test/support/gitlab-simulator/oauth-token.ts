/**
 * GitLab's Doorkeeper token endpoints (doc/api/oauth2.md; doorkeeper lib/doorkeeper/oauth/*):
 *
 * - POST /oauth/token: client credentials from HTTP Basic or the body (Doorkeeper's default
 *   client_credentials :from_basic, :from_params); form-encoded or JSON bodies.
 *   authorization_code: single use, expires after 10 minutes, redirect_uri must match, PKCE
 *   (S256 or plain) verified when the grant has a challenge. refresh_token: issues a new pair;
 *   GitLab's oauth_access_tokens has previous_refresh_token, so Doorkeeper's
 *   refresh_token_revoked_on_use applies: the old pair is revoked when the new access token is
 *   first used (or at once when the old refresh token is used again: InvalidGrantReuse).
 *   password: the resource owner password credentials flow.
 *   Errors: {"error","error_description"}; 400 except invalid_client (401).
 * - POST /oauth/revoke → 200 {} (also for unknown tokens); 403 unauthorized_client when a
 *   confidential app's credentials do not match the token's app.
 * - GET /oauth/token/info → resource_owner_id, scope, expires_in, application.uid, created_at.
 */
import { createHash } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import { findOAuthToken, oauthIsExpired, revokePreviousRefreshToken } from './auth.js';
import type { SimContext } from './context.js';
import type { OAuthApplicationRecord, OAuthTokenRecord } from './model.js';
import { OAUTH_MESSAGES } from './oauth.js';
import { issueOAuthToken } from './oauth-store.js';

type OAuthErrorCode =
  'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';

function sendError(res: Response, error: OAuthErrorCode, description?: string): void {
  const status = error === 'invalid_client' ? 401 : 400;
  const text = description ?? OAUTH_MESSAGES[error];
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  if (status === 401)
    res.setHeader('WWW-Authenticate', `Bearer realm="Doorkeeper", error="${error}", error_description="${text}"`);
  res.status(status).json({ error, error_description: text });
}

function sendToken(res: Response, token: OAuthTokenRecord): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.status(200).json({
    access_token: token.token,
    token_type: 'Bearer',
    expires_in: token.expiresInSeconds,
    refresh_token: token.refreshToken,
    scope: token.scopes.join(' '),
    created_at: Math.floor(token.createdAt.getTime() / 1000),
  });
}

function credentials(req: Request): { uid?: string; secret?: string } {
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i >= 0)
      return { uid: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
  }
  const body = (req.body ?? {}) as Record<string, unknown>;
  return {
    uid: typeof body.client_id === 'string' && body.client_id ? body.client_id : undefined,
    secret: typeof body.client_secret === 'string' && body.client_secret ? body.client_secret : undefined,
  };
}

/** Application.by_uid_and_secret: a public (non-confidential) app may omit its secret. */
function authenticateClient(
  ctx: SimContext,
  creds: { uid?: string; secret?: string },
): OAuthApplicationRecord | undefined {
  if (!creds.uid) return undefined;
  const app = [...ctx.state.oauthApps.values()].find((a) => a.uid === creds.uid);
  if (!app) return undefined;
  if (creds.secret === undefined) return app.confidential ? undefined : app;
  return creds.secret === app.secret ? app : undefined;
}

function pkceMatches(challenge: string, method: string | null, verifier: string): boolean {
  if (method === 'S256') return createHash('sha256').update(verifier).digest('base64url') === challenge;
  return verifier === challenge;
}

export function registerOAuthTokenRoutes(ctx: SimContext, app: Express): void {
  const { state } = ctx;

  app.post('/oauth/token', (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    const creds = credentials(req);
    switch (body.grant_type) {
      case 'authorization_code': {
        if (!body.code) return sendError(res, 'invalid_request', 'Missing required parameter: code.');
        if (!body.redirect_uri) return sendError(res, 'invalid_request', 'Missing required parameter: redirect_uri.');
        const client = authenticateClient(ctx, creds);
        if (!client) return sendError(res, 'invalid_client');
        const grant = state.oauthGrants.get(body.code);
        const now = state.now().getTime();
        if (
          !grant ||
          grant.revoked ||
          grant.applicationId !== client.id ||
          grant.createdAt.getTime() + grant.expiresInSeconds * 1000 <= now
        ) {
          return sendError(res, 'invalid_grant');
        }
        if (grant.redirectUri !== body.redirect_uri) return sendError(res, 'invalid_grant');
        if (grant.codeChallenge) {
          if (!body.code_verifier)
            return sendError(res, 'invalid_request', 'Missing required parameter: code_verifier.');
          if (!pkceMatches(grant.codeChallenge, grant.codeChallengeMethod, body.code_verifier))
            return sendError(res, 'invalid_grant');
        }
        grant.revoked = true;
        return sendToken(
          res,
          issueOAuthToken(state, { applicationId: client.id, userId: grant.userId, scopes: grant.scopes }),
        );
      }
      case 'refresh_token': {
        if (!body.refresh_token) return sendError(res, 'invalid_request', 'Missing required parameter: refresh_token.');
        const old = [...state.oauthTokens.values()].find((t) => t.refreshToken === body.refresh_token);
        if (!old || old.revokedAt) return sendError(res, 'invalid_grant');
        const client = creds.uid ? authenticateClient(ctx, creds) : undefined;
        if (creds.uid && !client) return sendError(res, 'invalid_client');
        if (old.applicationId !== null && client?.id !== old.applicationId) return sendError(res, 'invalid_grant');
        const scopes = body.scope ? body.scope.split(/\s+/).filter(Boolean) : old.scopes;
        if (!scopes.every((s) => old.scopes.includes(s))) return sendError(res, 'invalid_scope');
        // refresh_token_revoked_on_use: the old pair stays valid until the new access token is used
        // (Doorkeeper::OAuth::RefreshTokenRequest#before_successful_response).
        const fresh = issueOAuthToken(state, {
          applicationId: old.applicationId,
          userId: old.userId,
          scopes,
          previousRefreshToken: old.refreshToken,
        });
        return sendToken(res, fresh);
      }
      case 'password': {
        const user = body.username ? state.findUserByLogin(body.username) : undefined;
        const client = creds.uid ? authenticateClient(ctx, creds) : undefined;
        if (creds.uid && !client) return sendError(res, 'invalid_client');
        if (!user || user.password !== body.password) {
          return sendError(res, 'invalid_grant');
        }
        const scopes = body.scope ? body.scope.split(/\s+/).filter(Boolean) : ['api'];
        return sendToken(res, issueOAuthToken(state, { applicationId: client?.id ?? null, userId: user.id, scopes }));
      }
      default:
        if (!body.grant_type) return sendError(res, 'invalid_request', 'Missing required parameter: grant_type.');
        return sendError(res, 'unsupported_grant_type');
    }
  });

  app.post('/oauth/revoke', (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    const value = body.token;
    const token = value
      ? [...state.oauthTokens.values()].find((t) => t.token === value || t.refreshToken === value)
      : undefined;
    if (token && token.applicationId !== null) {
      const owner = state.oauthApps.get(token.applicationId);
      const client = authenticateClient(ctx, credentials(req));
      if (owner?.confidential && client?.id !== owner.id) {
        res
          .status(403)
          .json({ error: 'unauthorized_client', error_description: 'You are not authorized to revoke this token' });
        return;
      }
    }
    if (token && !token.revokedAt) token.revokedAt = state.now();
    res.status(200).json({});
  });

  app.get('/oauth/token/info', (req: Request, res: Response) => {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const value = (typeof req.query.access_token === 'string' ? req.query.access_token : undefined) ?? bearer;
    const token = value ? findOAuthToken(state, value) : undefined;
    let problem: string | null = null;
    if (!token) problem = 'The access token is invalid';
    else if (token.revokedAt) problem = 'The access token was revoked';
    else if (oauthIsExpired(token, state.now())) problem = 'The access token expired';
    if (problem || !token) {
      res.setHeader(
        'WWW-Authenticate',
        `Bearer realm="Doorkeeper", error="invalid_token", error_description="${problem}"`,
      );
      res.status(401).json({ error: 'invalid_token', error_description: problem, state: 'unauthorized' });
      return;
    }
    revokePreviousRefreshToken(state, token);
    const expiresIn = Math.max(
      0,
      Math.floor((token.createdAt.getTime() + token.expiresInSeconds * 1000 - state.now().getTime()) / 1000),
    );
    const application = token.applicationId !== null ? state.oauthApps.get(token.applicationId) : undefined;
    res.status(200).json({
      resource_owner_id: token.userId,
      scope: token.scopes,
      expires_in: expiresIn,
      application: application ? { uid: application.uid } : null,
      created_at: Math.floor(token.createdAt.getTime() / 1000),
      // Deprecated aliases GitLab still sends (doc/api/oauth2.md "Deprecated fields").
      scopes: token.scopes,
      expires_in_seconds: expiresIn,
    });
  });
}
