/**
 * Secrets GitLab hands out in ordinary metadata, removed before a record is written to a snapshot
 * (encrypted or not, like a hook's secret token GitLab itself never returns):
 * - `runners_token` of project_settings (the project's runner registration token) is dropped;
 * - a webhook URL's user info (`https://user:pass@host`) and the values of query parameters named
 *   like credentials (`token`, `secret`, `key`, `password`, `signature`, `sig`, `auth`, …) are
 *   replaced by `REDACTED`. A restore recreates such hooks with the redacted URL; docs/FORMAT.md
 *   says so, and the user enters the secret again.
 */
export const REDACTED = 'REDACTED';
const SECRET_KEYS = ['runners_token', 'runners_token_encrypted'];
const SECRET_PARAM = /token|secret|key|pass|signature|^sig$|auth|credential/i;

export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  let changed = false;
  if (url.username || url.password) {
    url.username = REDACTED;
    url.password = '';
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) {
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? url.toString() : value;
}

/** The record as it may be stored: secrets dropped or redacted (a copy; the input is not changed). */
export function withoutSecrets(type: string, record: Record<string, unknown>): Record<string, unknown> {
  if (type === 'project_settings') {
    if (!SECRET_KEYS.some((k) => k in record)) return record;
    const copy = { ...record };
    for (const key of SECRET_KEYS) delete copy[key];
    return copy;
  }
  if (type === 'webhooks' && typeof record.url === 'string') {
    const url = redactUrl(record.url);
    return url === record.url ? record : { ...record, url };
  }
  return record;
}
