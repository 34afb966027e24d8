/**
 * GET /oauth/gitlab/callback — where GitLab sends the pop-up after consent. Completes the
 * authorization, then shows a page that tells the opener (postMessage, target origin = our own
 * public URL) and closes the window; without an opener it links back to the app.
 */
import { createHash } from 'node:crypto';
import type { Express } from 'express';
import type { Logger } from '../shared/logger.js';
import type { OAuthAttempts } from './oauth-attempts.js';

export const OAUTH_CALLBACK_PATH = '/oauth/gitlab/callback';

const STYLE = 'body{font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem;text-align:center}';
/** CSP source for an inline block: its sha256, so no other inline script or style may run. */
const hashSource = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function mountOAuthRoutes(app: Express, attempts: OAuthAttempts, publicUrl: string, logger: Logger): void {
  app.get(OAUTH_CALLBACK_PATH, async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    let outcome;
    try {
      outcome = await attempts.complete({
        state: q.state,
        code: q.code,
        error: q.error,
        errorDescription: q.error_description,
      });
    } catch (error) {
      logger.error({ err: error }, 'OAuth callback failed');
      outcome = { ok: false, connectionId: null, message: 'Labkeeper could not complete the authorization.' };
    }
    const message = JSON.stringify({ type: 'labkeeper:oauth', ...outcome }).replace(/</g, '\\u003c');
    const origin = JSON.stringify(new URL(publicUrl).origin);
    const script = `
  if (window.opener) { try { window.opener.postMessage(${message}, ${origin}); } catch (e) {} window.close(); }
`;
    res
      .status(outcome.ok ? 200 : 400)
      .set('Cache-Control', 'no-store')
      .set(
        'Content-Security-Policy',
        `default-src 'none'; script-src ${hashSource(script)}; style-src ${hashSource(STYLE)}; frame-ancestors 'none'; base-uri 'none'`,
      )
      .type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Labkeeper — GitLab authorization</title>
<style>${STYLE}</style></head>
<body>
<h1 id="result">${outcome.ok ? 'Connected' : 'Not connected'}</h1>
<p id="message">${escapeHtml(outcome.message)}</p>
<p>${outcome.ok ? 'You can close this window.' : 'Close this window and try again in Labkeeper.'}</p>
<p><a href="${escapeHtml(publicUrl)}/">Back to Labkeeper</a></p>
<script>${script}</script>
</body></html>`);
  });
}
