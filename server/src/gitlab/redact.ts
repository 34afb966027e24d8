/**
 * The one redactor for everything exchanged with GitLab: error messages, logs and git's stderr
 * pass through here before anyone sees them. It removes URL userinfo, token-bearing query or form
 * parameters, Authorization header values and GitLab's prefixed tokens (glpat-, gloas-, …).
 */

const SECRET_PARAMS =
  /\b(private_token|access_token|job_token|refresh_token|client_secret|code_verifier|code|token|state)=([^&\s"'#]*)/gi;

/** Removes credentials from any text that may contain URLs, form bodies, headers or tokens. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1[redacted]@')
    .replace(SECRET_PARAMS, '$1=[redacted]')
    .replace(/(authorization:\s*\w+\s+)\S+/gi, '$1[redacted]')
    .replace(/\b(glpat|gloas|glrt|gldt|glptt|glft|glimt|glagent|glsoat)-[\w-]+/g, '$1-[redacted]');
}

/** A URL fit for messages and logs: no userinfo, no token-bearing query parameters. */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(String(url));
    parsed.username = '';
    parsed.password = '';
    for (const name of [...parsed.searchParams.keys()]) {
      if (/token|secret|code|state|password/i.test(name)) parsed.searchParams.set(name, '[redacted]');
    }
    return parsed.toString().replace(/%5Bredacted%5D/g, '[redacted]');
  } catch {
    return redactSecrets(String(url));
  }
}

/**
 * scheme://host/path of a URL: no credentials, no query (pre-signed object-storage URLs carry
 * their signature there) and no fragment. For URLs GitLab handed out (LFS actions).
 */
export function bareUrl(href: string | URL): string {
  try {
    const url = new URL(String(href));
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}
