/**
 * What the audit log keeps of a mutation's arguments: everything an operator needs to see what was
 * asked, nothing that would let someone act with it. A value is replaced by "[REDACTED]" when its
 * key names a secret (secret, password, token, private key, …, but not ids and timestamps of such
 * things: `credentialId`, `tokenExpiresAt` stay), when it looks like a token whatever its key
 * (Labkeeper's `lk_…`, GitLab's `glpat-…`/`gloas-…`/`glrt-…`, a PEM private key), and a URL keeps
 * no user or password.
 */
export const REDACTED = '[REDACTED]';

const SECRET_KEY = /(secret|password|passphrase|token|private.?key|api.?key|^key$|^value$|^pat$)/i;
const NOT_SECRET_KEY = /(Ids?|At|Count|Days|Name)$/;
const SECRET_VALUE = /^(lk_|glpat-|gloas-|glrt-|glptt-|gldt-)|-----BEGIN [A-Z ]*PRIVATE KEY-----/;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key);
}

export function redactArguments(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (key && isSecretKey(key)) return REDACTED;
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.map((v) => redactArguments(v));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactArguments(v, k)]));
  }
  return value;
}

/**
 * `scheme://user:password@` → `scheme://`. The scheme is bounded (real ones are short): unbounded,
 * the regex backtracks over every suffix of a long run of letters, quadratic in the value's
 * length, so a 120 000-character argument held the API for a minute.
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]{0,31}:\/\/)[^/@\s]*@/gi;

function redactString(value: string): string {
  if (SECRET_VALUE.test(value.trim())) return REDACTED;
  return value.includes('://') ? value.replace(URL_CREDENTIALS, '$1') : value;
}
