/**
 * HTTP exchanges with GitLab over node:http/https: buffered ones for the API requester, the OAuth
 * client and the LFS Batch API, streamed ones (`open`) for git's smart HTTP and LFS object bodies.
 * One keep-alive agent per custom CA serves both (see TransportPool and gitlab-http.ts). Through an
 * outbound proxy (http-proxy.ts) an https URL is reached with CONNECT (https-proxy-agent: the TLS
 * session, with the custom CA, is with GitLab itself) and an http one by asking the proxy for the
 * absolute URL (http-proxy-agent); NO_PROXY's hosts go directly.
 *
 * Why not fetch: a self-managed GitLab behind a private certificate authority needs a custom CA.
 * Node 20's global fetch (undici) takes one only through a `dispatcher` (undici's Agent with
 * `connect: { ca }`), and Node does not expose undici's Agent class; `undici` is not a dependency
 * of this project. node:https takes `ca` on an Agent directly, so one transport covers both cases.
 * Redirects are not followed (fetch would follow them and forward our headers), and each attempt
 * has its own deadline rather than one shared by a whole paginated listing.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { DomainError } from '../shared/errors.js';
import { PROXY_LOGIN_HINT, proxyFor, whenTunnelRefused, type ProxySettings } from '../shared/http-proxy.js';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';

export interface HttpExchange {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Deadline for this one attempt, from connect to the last byte. */
  timeoutMs: number;
}

export interface HttpAnswer {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  text: string;
}

export type HttpTransport = (exchange: HttpExchange) => Promise<HttpAnswer>;

/** An exchange whose answer is read as a stream (git packs, LFS objects). */
export interface StreamExchange {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A Readable is streamed (chunked unless `content-length` is among the headers). */
  body?: string | Buffer | Readable;
  signal?: AbortSignal;
  /** Gives up (ETIMEDOUT) when the connection moves no byte for this long. */
  idleTimeoutMs: number;
}

/** Buffered exchanges, plus streamed ones over the same agent. */
export interface PooledTransport extends HttpTransport {
  /**
   * Sends the request and resolves with the response once its headers arrived, whatever its
   * status; the caller reads (or destroys) the body. Redirects are not followed. Rejects with
   * node's own errors (ECONNRESET, certificate errors, AbortError): gitlab.errors.ts maps them.
   */
  open(exchange: StreamExchange): Promise<http.IncomingMessage>;
  close(): void;
}

/** Thrown when an attempt exceeds its deadline (named like AbortSignal.timeout's error). */
export class HttpTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
  }
}

/** Refuses bodies past this size: a listing page is a few hundred KiB at most. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface HttpTransportOptions {
  /** PEM of an extra CA to trust besides the public roots (self-managed instances). */
  caCertificate?: string | null;
  /** The outbound proxy (none: every URL directly). */
  proxy?: ProxySettings | null;
}

/**
 * The agent of one request, the TLS options its https target is checked with through a tunnel,
 * and whether it goes through one (a CONNECT the proxy may refuse).
 */
type Route = (url: URL) => { agent: http.Agent; tls: { ca?: string[] }; tunnel: boolean };

/**
 * Creates a transport. With a CA it owns a keep-alive https.Agent, and through a proxy a tunnelling
 * agent per proxy: call `close()` when done. Reaching GitLab directly without a CA, it uses Node's
 * global agents.
 */
export function createHttpTransport(options: HttpTransportOptions = {}): PooledTransport {
  const ca = options.caCertificate?.trim();
  const trusted = ca ? [...tls.rootCertificates, ca] : undefined;
  const httpsAgent = trusted
    ? new https.Agent({ keepAlive: true, timeout: 5_000, scheduling: 'lifo', ca: trusted })
    : https.globalAgent;
  // One tunnelling agent per proxy, made on first use (keep-alive: a tunnel serves several requests).
  const tunnels = new Map<string, http.Agent>();
  const through = (proxy: URL, isHttps: boolean) => {
    const key = `${isHttps ? 'https' : 'http'} ${proxy.href}`;
    let agent = tunnels.get(key);
    if (!agent) {
      agent = isHttps
        ? new HttpsProxyAgent(proxy, { keepAlive: true, timeout: 5_000, scheduling: 'lifo' })
        : new HttpProxyAgent(proxy, { keepAlive: true, timeout: 5_000, scheduling: 'lifo' });
      tunnels.set(key, agent);
    }
    return agent;
  };
  const route: Route = (url) => {
    const isHttps = url.protocol === 'https:';
    const proxy = proxyFor(url, options.proxy);
    if (!proxy) return { agent: isHttps ? httpsAgent : http.globalAgent, tls: {}, tunnel: false };
    // Through a CONNECT tunnel the TLS session is with GitLab: the request's own options carry the CA.
    return { agent: through(proxy, isHttps), tls: isHttps && trusted ? { ca: trusted } : {}, tunnel: isHttps };
  };
  const transport = (exchange: HttpExchange) => send(exchange, route);
  return Object.assign(transport, {
    open: (exchange: StreamExchange) => open(exchange, route),
    close: () => {
      if (httpsAgent !== https.globalAgent) httpsAgent.destroy();
      for (const agent of tunnels.values()) agent.destroy();
      tunnels.clear();
    },
  });
}

function open(exchange: StreamExchange, route: Route): Promise<http.IncomingMessage> {
  const { url, method, body, signal, idleTimeoutMs } = exchange;
  const isHttps = url.protocol === 'https:';
  const headers = { ...exchange.headers };
  if (typeof body === 'string' || Buffer.isBuffer(body)) headers['content-length'] = String(Buffer.byteLength(body));
  const { agent, tls: checked, tunnel } = route(url);
  return new Promise((resolve, reject) => {
    const request = (isHttps ? https : http).request(url, { method, headers, signal, agent, ...checked }, resolve);
    if (tunnel) whenTunnelRefused(request, (status) => refusedTunnel(status, url));
    request.setTimeout(idleTimeoutMs, () =>
      request.destroy(
        Object.assign(new Error(`no data for ${Math.round(idleTimeoutMs / 1000)} s`), { code: 'ETIMEDOUT' }),
      ),
    );
    request.on('error', reject);
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      request.end(body);
    } else {
      body.on('error', (error) => request.destroy(error));
      body.pipe(request);
    }
  });
}

function send(exchange: HttpExchange, route: Route): Promise<HttpAnswer> {
  const { url, method, body, timeoutMs } = exchange;
  const isHttps = url.protocol === 'https:';
  const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate', ...exchange.headers };
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const { agent, tls: checked, tunnel } = route(url);

  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(answer!);
    };
    const request = (isHttps ? https : http).request(url, { method, headers, agent, ...checked }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          request.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => finish(error));
      response.on('end', () => {
        try {
          const raw = Buffer.concat(chunks);
          const text = decode(raw, response.headers['content-encoding']).toString('utf8');
          finish(null, { status: response.statusCode ?? 0, headers: flatten(response.headers), text });
        } catch (error) {
          finish(error as Error);
        }
      });
    });
    if (tunnel) whenTunnelRefused(request, (status) => refusedTunnel(status, url));
    const timer = setTimeout(() => request.destroy(new HttpTimeoutError(timeoutMs)), timeoutMs);
    request.on('error', (error) => finish(error));
    if (body !== undefined) request.write(body);
    request.end();
  });
}

/** The proxy's reason for refusing the tunnel to GitLab: the proxy's, not GitLab refusing the token. */
function refusedTunnel(status: number, url: URL): DomainError {
  const why =
    status === 407
      ? `it asks for credentials: ${PROXY_LOGIN_HINT}`
      : status === 403
        ? `it does not allow ${url.host}: have that host allowed, or name it in NO_PROXY if it is reachable directly`
        : `it could not open a tunnel to ${url.host}`;
  return new DomainError('GITLAB_UNAVAILABLE', `The HTTP proxy refused the tunnel to GitLab (${status}): ${why}`, {
    retryable: status >= 500,
    details: { proxyStatus: status },
  });
}

function decode(raw: Buffer, encoding: string | undefined): Buffer {
  if (!raw.length) return raw;
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(raw);
    case 'deflate':
      return zlib.inflateSync(raw);
    default:
      return raw;
  }
}

function flatten(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** One transport per custom CA (and one without), so keep-alive connections are reused. */
export class TransportPool {
  private readonly transports = new Map<string, PooledTransport>();

  constructor(private readonly proxy: ProxySettings | null = null) {}

  get(caCertificate: string | null | undefined): PooledTransport {
    const key = caCertificate?.trim() ?? '';
    let transport = this.transports.get(key);
    if (!transport) {
      transport = createHttpTransport({ caCertificate: key || null, proxy: this.proxy });
      this.transports.set(key, transport);
    }
    return transport;
  }

  /** Destroys the agents of custom CAs; later `get` calls create fresh ones. */
  close(): void {
    for (const transport of this.transports.values()) transport.close();
    this.transports.clear();
  }
}
