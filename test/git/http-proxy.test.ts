import { describe, expect, it } from '@jest/globals';
import { gitEnv } from '../../server/src/git/git.js';
import { parseNoProxy, proxyFor, type ProxySettings } from '../../server/src/shared/http-proxy.js';

/**
 * Which URLs go through the outbound proxy (NO_PROXY as curl reads it), and the git command told
 * the same through the variables it reads itself.
 */
const proxy: ProxySettings = {
  httpsProxy: new URL('http://proxy.corp:3128'),
  httpProxy: new URL('http://plain-proxy.corp:3128'),
  noProxy: parseNoProxy('localhost,.internal,gitlab.lan:8443,10.0.0.7,[::1]'),
};
const via = (url: string) => proxyFor(new URL(url), proxy)?.host ?? 'direct';

describe('the outbound proxy', () => {
  it('takes HTTPS_PROXY for https URLs and HTTP_PROXY for http ones', () => {
    expect(via('https://gitlab.com/api/v4/user')).toBe('proxy.corp:3128');
    expect(via('http://gitlab.example.com/api/v4/user')).toBe('plain-proxy.corp:3128');
    expect(proxyFor(new URL('https://gitlab.com'), { ...proxy, httpsProxy: null })).toBeNull();
  });

  it('reaches NO_PROXY hosts, their subdomains and a named port directly, and nothing else', () => {
    expect(via('https://localhost:8443/x')).toBe('direct');
    expect(via('https://gitlab.internal/x')).toBe('direct');
    expect(via('https://a.b.internal/x')).toBe('direct');
    expect(via('https://internal.example.com/x')).toBe('proxy.corp:3128');
    expect(via('https://gitlab.lan:8443/x')).toBe('direct');
    expect(via('https://gitlab.lan/x')).toBe('proxy.corp:3128');
    expect(via('http://10.0.0.7/x')).toBe('direct');
    expect(via('http://[::1]:80/x')).toBe('direct');
    expect(proxyFor(new URL('https://anything'), { ...proxy, noProxy: parseNoProxy('*') })).toBeNull();
  });

  it('is given to the git command through the variables git reads', () => {
    const env = gitEnv({ username: 'oauth2', password: 't', proxy });
    expect(env).toMatchObject({
      https_proxy: 'http://proxy.corp:3128/',
      http_proxy: 'http://plain-proxy.corp:3128/',
      no_proxy: 'localhost,internal,gitlab.lan:8443,10.0.0.7,[::1]',
    });
    expect(gitEnv({ username: 'oauth2', password: 't' })).not.toHaveProperty('https_proxy');
  });
});
