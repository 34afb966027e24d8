import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../server/src/config/config.js';
import { proxyFor } from '../../server/src/shared/http-proxy.js';

describe('loadConfig', () => {
  it('needs nothing: embedded PostgreSQL under ./data, port 4000, PostgreSQL job store, no OAuth app', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      publicUrl: 'http://localhost:4000',
      jobStore: { kind: 'postgres' },
      gitlabOAuth: null,
      adminToken: null,
      masterKey: null,
    });
    expect('embedded' in config.database && config.database.embedded.dataDir).toMatch(/data\/postgres$/);
  });

  it('uses DATABASE_URL, a MongoDB job store and the instance-wide OAuth app when set', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/labkeeper',
      AGENDA_MONGO_URL: 'mongodb://mongo:27017/labkeeper',
      GITLAB_OAUTH_CLIENT_ID: 'id',
      GITLAB_OAUTH_CLIENT_SECRET: 'secret',
      LABKEEPER_PUBLIC_URL: 'https://backup.example.com/',
    });
    expect(config).toMatchObject({
      database: { url: 'postgres://u:p@db:5432/labkeeper' },
      jobStore: { kind: 'mongo', url: 'mongodb://mongo:27017/labkeeper' },
      gitlabOAuth: { clientId: 'id', clientSecret: 'secret', instanceUrl: 'https://gitlab.com' },
      publicUrl: 'https://backup.example.com',
    });
  });

  it('reads the outbound proxy to GitLab as curl and git do: the lower-case name first, NO_PROXY as a list', () => {
    expect(loadConfig({}).proxy).toBeNull();
    const { proxy } = loadConfig({
      https_proxy: 'http://proxy.corp:3128',
      HTTPS_PROXY: 'http://other:8080',
      HTTP_PROXY: 'http://proxy.corp:3128',
      NO_PROXY: 'localhost, .internal,*.corp.example  gitlab.lan:8443',
    });
    expect(proxy).toEqual({
      httpsProxy: new URL('http://proxy.corp:3128'),
      httpProxy: new URL('http://proxy.corp:3128'),
      allProxy: null,
      noProxy: ['localhost', 'internal', 'corp.example', 'gitlab.lan:8443'],
    });
    expect(() => loadConfig({ HTTPS_PROXY: 'proxy.corp:3128' })).toThrow(/HTTPS_PROXY: must be a URL/);
  });

  it('reads ALL_PROXY as curl does: for SMTP, and for web URLs whose own proxy is not set', () => {
    const { proxy } = loadConfig({ all_proxy: 'http://mail-proxy:3128', ALL_PROXY: 'http://other:8080' });
    expect(proxy).toMatchObject({ httpsProxy: null, httpProxy: null, allProxy: new URL('http://mail-proxy:3128') });
    expect(proxyFor(new URL('smtp://mail.example.com:587'), proxy)?.href).toBe('http://mail-proxy:3128/');
    expect(proxyFor(new URL('https://gitlab.example.com'), proxy)?.href).toBe('http://mail-proxy:3128/');
    // a web URL's own proxy wins; SMTP has no other
    const both = loadConfig({ HTTPS_PROXY: 'http://web-proxy:3128', ALL_PROXY: 'http://mail-proxy:3128' }).proxy;
    expect(proxyFor(new URL('https://gitlab.example.com'), both)?.href).toBe('http://web-proxy:3128/');
    expect(proxyFor(new URL('smtps://mail.example.com:465'), both)?.href).toBe('http://mail-proxy:3128/');
    expect(
      proxyFor(new URL('smtp://mail.example.com:587'), loadConfig({ HTTPS_PROXY: 'http://web:1' }).proxy),
    ).toBeNull();
    // SOCKS is not spoken: said at start, naming the variable
    expect(() => loadConfig({ ALL_PROXY: 'socks5://proxy.corp:1080' })).toThrow(/ALL_PROXY/);
  });

  it('reports every problem together, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        LABKEEPER_MASTER_KEY: 'short',
        GITLAB_OAUTH_CLIENT_ID: 'only-id',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'LABKEEPER_MASTER_KEY', 'GITLAB_OAUTH_CLIENT_SECRET'])
      expect(problems).toContain(name);
  });

  it('accepts a master key as 64 hex characters or base64 of 32 bytes', () => {
    const hex = 'ab'.repeat(32);
    expect(loadConfig({ LABKEEPER_MASTER_KEY: hex }).masterKey?.toString('hex')).toBe(hex);
    expect(
      loadConfig({ LABKEEPER_MASTER_KEY: Buffer.from(hex, 'hex').toString('base64') }).masterKey?.toString('hex'),
    ).toBe(hex);
  });
});
