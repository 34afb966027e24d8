import { describe, expect, it } from '@jest/globals';
import { REDACTED, redactUrl, withoutSecrets } from '../../server/src/backup/metadata-secrets.js';

describe('secrets in metadata records', () => {
  it("drops a project's runners_token and keeps everything else", () => {
    const record = { id: 7, path: 'api', runners_token: 'GR1348941secretsecret', visibility: 'private' };
    expect(withoutSecrets('project_settings', record)).toEqual({ id: 7, path: 'api', visibility: 'private' });
  });

  it("redacts user info and credential-like query parameters of a webhook's URL", () => {
    const record = { id: 1, url: 'https://bot:hunter2@hooks.example.com/notify?token=abc123&channel=ops&api_key=k' };
    const stored = withoutSecrets('webhooks', record) as { url: string };
    expect(stored.url).not.toMatch(/hunter2|abc123|=k(&|$)/);
    expect(new URL(stored.url).searchParams.get('channel')).toBe('ops');
    expect(new URL(stored.url).searchParams.get('token')).toBe(REDACTED);
  });

  it('leaves a URL without secrets unchanged', () => {
    expect(redactUrl('https://hooks.example.com/notify?channel=ops')).toBe(
      'https://hooks.example.com/notify?channel=ops',
    );
  });
});
