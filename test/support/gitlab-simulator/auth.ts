/**
 * API authentication after lib/gitlab/auth/auth_finders.rb and lib/api/api_guard.rb:
 * an OAuth token is looked up first (`access_token` param, `Authorization: Bearer`, `bearer_token`
 * param — Doorkeeper's access_token_methods in config/initializers/doorkeeper.rb), then a personal
 * access token (`private_token` param, `PRIVATE-TOKEN` header, or the Bearer value).
 *
 * - unknown token → 401 {"message":"401 Unauthorized"} (doc/api/rest/index.md "Authentication")
 * - expired / revoked → 401 {"error":"invalid_token","error_description":...} with
 *   `WWW-Authenticate: Bearer realm="The API", error="invalid_token", error_description="..."`
 *   (api_guard.rb oauth2_bearer_token_error_handler; rack-oauth2 Resource::Unauthorized#finish)
 * - insufficient scope → 403 {"error":"insufficient_scope","error_description":...,"scope":"api read_api"};
 *   no WWW-Authenticate header: api_guard.rb notes rack-oauth2's Forbidden does not send one.
 */
import type { Request } from 'express';
import type { OAuthTokenRecord, PersonalAccessTokenRecord, UserRecord } from './model.js';
import { ApiError } from './pagination.js';
import type { SimulatorState } from './state.js';

export type AuthKind = 'oauth' | 'pat' | 'password' | 'none';

export interface Caller {
  user: UserRecord | null;
  kind: AuthKind;
  scopes: string[];
  pat?: PersonalAccessTokenRecord;
  oauth?: OAuthTokenRecord;
}

export const ANONYMOUS: Caller = { user: null, kind: 'none', scopes: [] };

const EXPIRED = 'Token is expired. You can either do re-authorization or token refresh.';
const REVOKED = 'Token was revoked. You have to re-authorize from the user.';
const INSUFFICIENT_SCOPE = 'The request requires higher privileges than provided by the access token.';

export function unauthorized(): ApiError {
  return new ApiError(401, { message: '401 Unauthorized' });
}

function invalidToken(description: string): ApiError {
  return new ApiError(
    401,
    { error: 'invalid_token', error_description: description },
    {
      'WWW-Authenticate': `Bearer realm="The API", error="invalid_token", error_description="${description}"`,
    },
  );
}

export function insufficientScope(scopes: string[]): ApiError {
  return new ApiError(403, {
    error: 'insufficient_scope',
    error_description: INSUFFICIENT_SCOPE,
    scope: scopes.join(' '),
  });
}

function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match ? match[1].trim() : undefined;
}

export function patIsExpired(pat: PersonalAccessTokenRecord, now: Date): boolean {
  // PersonalAccessToken#expired?: expires_at is a date; the token dies at the start of that day (UTC).
  return pat.expiresAt !== null && new Date(`${pat.expiresAt}T00:00:00Z`).getTime() <= now.getTime();
}

export function oauthIsExpired(token: OAuthTokenRecord, now: Date): boolean {
  return token.createdAt.getTime() + token.expiresInSeconds * 1000 <= now.getTime();
}

/** Doorkeeper's refresh_token_revoked_on_use: first use of a refreshed token kills the pair it replaced. */
export function revokePreviousRefreshToken(state: SimulatorState, token: OAuthTokenRecord): void {
  if (!token.previousRefreshToken) return;
  const previous = [...state.oauthTokens.values()].find((t) => t.refreshToken === token.previousRefreshToken);
  if (previous && !previous.revokedAt) previous.revokedAt = state.now();
  token.previousRefreshToken = null;
}

export function findOAuthToken(state: SimulatorState, token: string): OAuthTokenRecord | undefined {
  return [...state.oauthTokens.values()].find((t) => t.token === token);
}

export function findPat(state: SimulatorState, token: string): PersonalAccessTokenRecord | undefined {
  return [...state.pats.values()].find((t) => t.token === token);
}

/**
 * Resolves the caller of an API request; throws ApiError for bad, expired or revoked tokens.
 * Sudo (doc/api/rest/authentication.md "Sudo"): an administrator whose OAuth or personal access
 * token has the `sudo` scope may act as another user by passing `sudo` (query) or a `Sudo` header
 * with that user's id or username (case-insensitive). A token without the scope gets 403
 * insufficient_scope (scope "sudo"), a non-administrator 403 "Must be admin to use sudo", an
 * unknown user 404.
 */
export function authenticateApi(state: SimulatorState, req: Request): Caller {
  const caller = authenticateToken(state, req);
  const sudo = queryString(req, 'sudo') ?? headerValue(req, 'sudo');
  if (sudo === undefined || !caller.user) return caller;
  if (!caller.scopes.includes('sudo')) throw insufficientScope(['sudo']);
  if (!caller.user.isAdmin) throw new ApiError(403, { message: '403 Forbidden - Must be admin to use sudo' });
  const lower = sudo.toLowerCase();
  const user = /^\d+$/.test(sudo)
    ? state.users.get(Number(sudo))
    : [...state.users.values()].find((u) => u.username.toLowerCase() === lower);
  if (!user) throw new ApiError(404, { message: `404 User with ID or username '${sudo}' Not Found` });
  return { ...caller, user };
}

function authenticateToken(state: SimulatorState, req: Request): Caller {
  const now = state.now();
  const oauthCandidate = queryString(req, 'access_token') ?? bearer(req) ?? queryString(req, 'bearer_token');
  if (oauthCandidate) {
    const token = findOAuthToken(state, oauthCandidate);
    if (token) {
      revokePreviousRefreshToken(state, token);
      if (oauthIsExpired(token, now)) throw invalidToken(EXPIRED);
      if (token.revokedAt) throw invalidToken(REVOKED);
      const user = state.users.get(token.userId);
      if (!user) throw unauthorized();
      return { user, kind: 'oauth', scopes: token.scopes, oauth: token };
    }
  }
  const patCandidate = queryString(req, 'private_token') ?? headerValue(req, 'private-token') ?? bearer(req);
  if (!patCandidate) return ANONYMOUS;
  const pat = findPat(state, patCandidate);
  if (!pat) throw unauthorized();
  if (patIsExpired(pat, now)) throw invalidToken(EXPIRED);
  if (pat.revoked) throw invalidToken(REVOKED);
  const user = state.users.get(pat.userId);
  if (!user) throw unauthorized();
  pat.lastUsedAt = now;
  return { user, kind: 'pat', scopes: pat.scopes, pat };
}

function headerValue(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Scope check (AccessTokenValidationService#include_any_scope?). `registered` are the scopes the
 * endpoint class and API::API register, in that order; GitLab names all of them in the error even
 * when an `if:` condition (GET-only for read_api/read_user) excluded some from the check.
 */
export function requireScopes(caller: Caller, method: string, extra: string[] = []): void {
  if (caller.kind === 'none' || caller.kind === 'password') return;
  const isRead = method === 'GET' || method === 'HEAD';
  const allowed = new Set(['api', ...(isRead ? ['read_api', ...extra] : [])]);
  if (!caller.scopes.some((s) => allowed.has(s))) throw insufficientScope([...extra, 'api', 'read_api']);
}

export function requireUser(caller: Caller): UserRecord {
  if (!caller.user) throw unauthorized();
  return caller.user;
}
