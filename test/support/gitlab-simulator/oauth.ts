/**
 * GitLab as an OAuth 2 provider, browser side (doc/api/oauth2.md; app/controllers/oauth/
 * authorizations_controller.rb; app/views/doorkeeper/authorizations/*.haml):
 *
 * - GET /oauth/authorize without a session redirects to /users/sign_in and comes back after login.
 * - Invalid client_id, redirect_uri, response_type, scope or PKCE method render the error page
 *   ("An error has occurred" + description) with status 200: GitLab's controller renders
 *   doorkeeper/authorizations/error without a status instead of redirecting.
 * - Otherwise the consent page: "Authorize <app> to use your account?", the scopes, a Deny form
 *   (POST with _method=delete) and an Authorize form, both POSTing to /oauth/authorize.
 * - A confidential app that already holds a matching token skips consent and gets the
 *   "Redirecting" page (200, link + script), as GitLab's `new` does.
 * - Authorize → 302 redirect_uri?code=…&state=…; Deny → 302 redirect_uri?error=access_denied&…
 */
import type { Express, Request, Response } from 'express';
import type { SimContext } from './context.js';
import type { OAuthApplicationRecord, UserRecord } from './model.js';
import { newGrantCode, newSessionId } from './oauth-store.js';
import { registerOAuthTokenRoutes } from './oauth-token.js';

const SESSION_COOKIE = '_gitlab_session';

// config/locales/doorkeeper.en.yml (GitLab's copy)
export const OAUTH_MESSAGES = {
  invalid_request:
    'The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.',
  invalid_redirect_uri: 'The redirect URI included is not valid.',
  access_denied: 'The resource owner or authorization server denied the request.',
  invalid_scope: 'The requested scope is invalid, unknown, or malformed.',
  invalid_client:
    'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
  invalid_grant:
    'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
  unsupported_grant_type: 'The authorization grant type is not supported by the authorization server.',
  unsupported_response_type: 'The authorization server does not support this response type.',
  invalid_code_challenge_method: 'The code challenge method must be plain or S256.',
} as const;

// config/locales/doorkeeper.en.yml doorkeeper.scopes / scope_desc
const SCOPE_DESCRIPTIONS: Record<string, string> = {
  api: 'Grants complete read/write access to the API, including all groups and projects.',
  read_api: 'Grants read access to the API, including all groups and projects.',
  read_user: "Grants read-only access to the authenticated user's profile through the /user API endpoint.",
  read_repository:
    'Grants read-only access to repositories on private projects using Git-over-HTTP or the Repository Files API.',
  write_repository:
    'Grants read-write access to repositories on private projects using Git-over-HTTP (not using the API).',
};

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)} · GitLab</title></head>\n<body>\n${body}\n</body></html>\n`;
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

export function sessionUser(ctx: SimContext, req: Request): UserRecord | undefined {
  const sid = readCookie(req, SESSION_COOKIE);
  const userId = sid ? ctx.state.sessions.get(sid) : undefined;
  return userId === undefined ? undefined : ctx.state.users.get(userId);
}

interface PreAuth {
  app: OAuthApplicationRecord;
  redirectUri: string;
  state: string | undefined;
  scopes: string[];
  codeChallenge: string | undefined;
  codeChallengeMethod: string | undefined;
}

/** Doorkeeper::OAuth::PreAuthorization validations, in Doorkeeper's order. */
function preAuthorize(
  ctx: SimContext,
  params: Record<string, unknown>,
): PreAuth | { error: keyof typeof OAUTH_MESSAGES } {
  const str = (k: string) => (typeof params[k] === 'string' && params[k] !== '' ? params[k] : undefined);
  const clientId = str('client_id');
  const app = clientId ? [...ctx.state.oauthApps.values()].find((a) => a.uid === clientId) : undefined;
  if (!app) return { error: 'invalid_client' };
  const redirectUri = str('redirect_uri');
  if (!redirectUri) return { error: 'invalid_request' };
  if (!app.redirectUris.includes(redirectUri)) return { error: 'invalid_redirect_uri' };
  if (str('response_type') !== 'code') return { error: 'unsupported_response_type' };
  // Gitlab::Auth::DEFAULT_SCOPES is api when the request names none.
  const scopes = (str('scope') ?? 'api').split(/[\s+]+/).filter(Boolean);
  if (scopes.length === 0 || !scopes.every((s) => app.scopes.includes(s))) return { error: 'invalid_scope' };
  const codeChallenge = str('code_challenge');
  const method = str('code_challenge_method');
  if (codeChallenge && method !== undefined && method !== 'S256' && method !== 'plain')
    return { error: 'invalid_code_challenge_method' };
  return {
    app,
    redirectUri,
    state: str('state'),
    scopes,
    codeChallenge,
    codeChallengeMethod: codeChallenge ? (method ?? 'plain') : undefined,
  };
}

function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

function hiddenFields(pre: PreAuth): string {
  const fields: Record<string, string> = {
    client_id: pre.app.uid,
    redirect_uri: pre.redirectUri,
    state: pre.state ?? '',
    response_type: 'code',
    scope: pre.scopes.join(' '),
    nonce: '',
    code_challenge: pre.codeChallenge ?? '',
    code_challenge_method: pre.codeChallengeMethod ?? '',
  };
  return Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" id="${k}" value="${escapeHtml(v)}">`)
    .join('\n');
}

function consentPage(pre: PreAuth): string {
  const scopes = pre.scopes
    .map((s) => `<li><strong>${escapeHtml(s)}</strong><div>${escapeHtml(SCOPE_DESCRIPTIONS[s] ?? s)}</div></li>`)
    .join('\n');
  return page(
    'Authorize',
    `<main role="main" class="doorkeeper-authorize">
<h4 id="authorize-title">Authorize <a href="${escapeHtml(pre.redirectUri)}">${escapeHtml(pre.app.name)}</a> to use your account?</h4>
<p>An application called ${escapeHtml(pre.app.name)} is requesting access to your GitLab account.</p>
<p>This application will be able to:</p>
<ul id="scopes">${scopes}</ul>
<form action="/oauth/authorize" method="post" id="deny-form">
<input type="hidden" name="_method" value="delete">
${hiddenFields(pre)}
<button type="submit" name="commit" value="Deny" id="deny-button">Deny</button>
</form>
<form action="/oauth/authorize" method="post" id="authorize-form">
${hiddenFields(pre)}
<button type="submit" name="commit" value="Authorize" id="commit-changes" data-qa-selector="authorization_button">Authorize</button>
</form>
</main>`,
  );
}

function errorPage(error: keyof typeof OAUTH_MESSAGES): string {
  return page(
    'An error has occurred',
    `<h3 class="page-title">An error has occurred</h3>\n<main role="main"><pre id="error-description">${escapeHtml(OAUTH_MESSAGES[error])}</pre></main>`,
  );
}

function signInPage(returnTo: string, failed: boolean): string {
  return page(
    'Sign in',
    `<main role="main">
${failed ? '<div class="flash-alert" id="flash-alert">Invalid login or password.</div>' : ''}
<form action="/users/sign_in" method="post" id="new_user">
<input type="hidden" name="return_to" value="${escapeHtml(returnTo)}">
<label for="user_login">Username or primary email</label>
<input type="text" name="user[login]" id="user_login" autocomplete="username">
<label for="user_password">Password</label>
<input type="password" name="user[password]" id="user_password" autocomplete="current-password">
<button type="submit" name="commit" value="Sign in" id="sign-in-button">Sign in</button>
</form>
</main>`,
  );
}

function issueGrant(ctx: SimContext, pre: PreAuth, user: UserRecord): string {
  const code = newGrantCode();
  ctx.state.oauthGrants.set(code, {
    code,
    applicationId: pre.app.id,
    userId: user.id,
    redirectUri: pre.redirectUri,
    scopes: pre.scopes,
    codeChallenge: pre.codeChallenge ?? null,
    codeChallengeMethod: pre.codeChallengeMethod ?? null,
    // Doorkeeper authorization_code_expires_in default: 10 minutes.
    createdAt: ctx.state.now(),
    expiresInSeconds: 600,
    revoked: false,
  });
  return withParams(pre.redirectUri, { code, state: pre.state });
}

export function registerOAuthRoutes(ctx: SimContext, app: Express): void {
  const { state } = ctx;

  app.get('/users/sign_in', (req, res) => {
    const returnTo = typeof req.query.return_to === 'string' ? req.query.return_to : '/';
    res.type('text/html').send(signInPage(returnTo, false));
  });

  app.post('/users/sign_in', (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { user?: { login?: string; password?: string }; return_to?: string };
    const user = body.user?.login ? state.findUserByLogin(body.user.login) : undefined;
    const returnTo =
      body.return_to && body.return_to.startsWith('/') && !body.return_to.startsWith('//') ? body.return_to : '/';
    if (!user || user.password !== body.user?.password) {
      res.status(200).type('text/html').send(signInPage(returnTo, true));
      return;
    }
    const sid = newSessionId();
    state.sessions.set(sid, user.id);
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${sid}; path=/; HttpOnly; SameSite=Lax`);
    res.redirect(302, returnTo);
  });

  app.get('/oauth/authorize', (req: Request, res: Response) => {
    const user = sessionUser(ctx, req);
    if (!user) {
      // resource_owner_authenticator stores the request and redirects to sign in.
      res.redirect(302, `/users/sign_in?return_to=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    const pre = preAuthorize(ctx, req.query);
    if ('error' in pre) {
      res.status(200).type('text/html').send(errorPage(pre.error));
      return;
    }
    const matching = [...state.oauthTokens.values()].some(
      (t) =>
        t.applicationId === pre.app.id &&
        t.userId === user.id &&
        !t.revokedAt &&
        pre.scopes.every((s) => t.scopes.includes(s)) &&
        t.scopes.length === pre.scopes.length,
    );
    if (matching && pre.app.confidential) {
      const target = issueGrant(ctx, pre, user);
      res
        .status(200)
        .type('text/html')
        .send(
          page(
            'Redirecting',
            `<h1 class="page-title">Redirecting</h1>
<div><a id="redirect-link" href="${escapeHtml(target)}">Click here to redirect to ${escapeHtml(target)}</a></div>
<script>window.location = ${JSON.stringify(target)};</script>`,
          ),
        );
      return;
    }
    res.status(200).type('text/html').send(consentPage(pre));
  });

  const decide = (req: Request, res: Response, deny: boolean) => {
    const user = sessionUser(ctx, req);
    if (!user) {
      res.redirect(302, '/users/sign_in');
      return;
    }
    const params = (req.body ?? {}) as Record<string, unknown>;
    const pre = preAuthorize(ctx, params);
    if ('error' in pre) {
      res.status(200).type('text/html').send(errorPage(pre.error));
      return;
    }
    if (deny || params._method === 'delete') {
      res.redirect(
        302,
        withParams(pre.redirectUri, {
          error: 'access_denied',
          error_description: OAUTH_MESSAGES.access_denied,
          state: pre.state,
        }),
      );
      return;
    }
    res.redirect(302, issueGrant(ctx, pre, user));
  };
  app.post('/oauth/authorize', (req: Request, res: Response) => decide(req, res, false));
  // Rails' form _method=delete and a real DELETE both reach Doorkeeper's destroy (deny).
  app.delete('/oauth/authorize', (req: Request, res: Response) => decide(req, res, true));

  registerOAuthTokenRoutes(ctx, app);
}
