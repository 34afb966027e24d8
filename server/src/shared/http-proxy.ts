/**
 * The outbound HTTP proxy for every exchange with GitLab — the API, OAuth, LFS, git's smart HTTP
 * (gitlab/http-transport.ts) and the git command (git/git.ts `authEnv`) —, S3 storage and alert
 * channels, read as curl and git read it: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones,
 * `ALL_PROXY` for any other scheme (SMTP) and for http(s) when their own is not set (either name
 * spelled in lower case too), and `NO_PROXY`'s hosts reached directly. The proxy itself is spoken
 * to over http or https; an https server, and an SMTP one, is reached through it with CONNECT, so
 * the proxy never sees a token or a password. Parsed once, with the rest of the configuration
 * (config.ts).
 */
import type { ClientRequest } from 'node:http';
export interface ProxySettings {
  /** For http:// URLs (HTTP_PROXY). */
  httpProxy: URL | null;
  /** For https:// URLs (HTTPS_PROXY). */
  httpsProxy: URL | null;
  /** For every other scheme (SMTP), and for http(s) URLs whose own proxy is not set (ALL_PROXY). */
  allProxy?: URL | null;
  /**
   * Hosts reached directly (NO_PROXY, lower case): `*` for every host; a name for itself and its
   * subdomains (a leading `.` or `*.` means the same); `host:port` for that port only.
   */
  noProxy: string[];
}

/** NO_PROXY's list: comma- or space-separated, lower case, empty entries dropped. */
export function parseNoProxy(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,\s]+/)
    .map((entry) =>
      entry
        .trim()
        .toLowerCase()
        .replace(/^\*?\./, ''),
    )
    .filter(Boolean);
}

const DEFAULT_PORTS: Record<string, string> = { 'https:': '443', 'http:': '80', 'smtp:': '25', 'smtps:': '465' };

/** The proxy `url` is reached through, or null to reach it directly. */
export function proxyFor(url: URL, proxy: ProxySettings | null | undefined): URL | null {
  if (!proxy) return null;
  const own = url.protocol === 'https:' ? proxy.httpsProxy : url.protocol === 'http:' ? proxy.httpProxy : null;
  const via = own ?? proxy.allProxy ?? null;
  if (!via) return null;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || DEFAULT_PORTS[url.protocol] || '';
  const direct = proxy.noProxy.some((entry) => {
    if (entry === '*') return true;
    const at = entry.lastIndexOf(':');
    const [name, onlyPort] =
      at > 0 && /^\d+$/.test(entry.slice(at + 1)) && !entry.includes(']') && entry.indexOf(':') === at
        ? [entry.slice(0, at), entry.slice(at + 1)]
        : [entry.replace(/^\[|\]$/g, ''), null];
    if (onlyPort !== null && onlyPort !== port) return false;
    return host === name || host.endsWith(`.${name}`);
  });
  return direct ? null : via;
}

/** The same settings for a git process (git reads these variables itself). */
export function proxyEnv(proxy: ProxySettings | null | undefined): Record<string, string> {
  if (!proxy) return {};
  return {
    ...(proxy.httpProxy ? { http_proxy: proxy.httpProxy.href } : {}),
    ...(proxy.httpsProxy ? { https_proxy: proxy.httpsProxy.href } : {}),
    ...(proxy.allProxy ? { all_proxy: proxy.allProxy.href } : {}),
    ...(proxy.noProxy.length > 0 ? { no_proxy: proxy.noProxy.join(',') } : {}),
  };
}

/** What to do about a proxy's 407, for every message that reports one. */
export const PROXY_LOGIN_HINT =
  'give them in its URL (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, http://user:password@proxy:port)';

/**
 * Ends `request` with `refused(status)` when the proxy refuses its CONNECT tunnel: https-proxy-agent
 * would replay the proxy's answer to the request as the server's own (an allow-list's 403 would
 * read as the server refusing access). Call it for requests that go through a tunnel only.
 */
export function whenTunnelRefused(request: ClientRequest, refused: (status: number) => Error): void {
  request.once('proxyConnect', (connect: { statusCode?: number }) => {
    const status = connect.statusCode;
    if (typeof status === 'number' && status !== 200) request.destroy(refused(status));
  });
}
