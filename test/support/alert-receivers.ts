/**
 * Real receivers for alert deliveries, on loopback: an SMTP server (the `smtp-server` package,
 * with username/password authentication) and an HTTP server that records every request and
 * answers each path from a script of statuses (`500, 500, 200` for a flaky receiver).
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { EVENT_TIMEOUT_MS } from './timeouts.js';

interface Waiter<T> {
  predicate: (item: T) => boolean;
  resolve: (item: T) => void;
}

/** A list that resolves waiters as matching items arrive. */
class Recorded<T> {
  readonly items: T[] = [];
  private waiters: Waiter<T>[] = [];
  push(item: T) {
    this.items.push(item);
    for (const w of this.waiters.splice(0)) {
      if (w.predicate(item)) w.resolve(item);
      else this.waiters.push(w);
    }
  }
  /** Resolves with the first item (already here or to come) matching `predicate`. */
  next(predicate: (item: T) => boolean, what: string): Promise<T> {
    const found = this.items.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} arrived`)), EVENT_TIMEOUT_MS);
      timer.unref();
      this.waiters.push({ predicate, resolve: (i) => (clearTimeout(timer), resolve(i)) });
    });
  }
}

export interface SmtpMessage {
  from: string;
  to: string[];
  user: string | undefined;
  /** The session ran over TLS (implicit, or upgraded with STARTTLS). */
  isSecure: boolean;
  raw: string;
}

/**
 * How the receiver speaks: plain SMTP without STARTTLS (the default), STARTTLS offered with
 * `tls`, or implicit TLS from the first byte (`secure` with `tls`).
 */
export interface SmtpReceiverOptions {
  tls?: { key: string; cert: string };
  secure?: boolean;
}

export interface SmtpReceiver {
  port: number;
  messages: Recorded<SmtpMessage>;
  close(): Promise<void>;
}

export async function startSmtpReceiver(
  credentials: { user: string; pass: string },
  options: SmtpReceiverOptions = {},
): Promise<SmtpReceiver> {
  const messages = new Recorded<SmtpMessage>();
  const server = new SMTPServer({
    ...(options.tls
      ? { key: options.tls.key, cert: options.tls.cert, secure: options.secure ?? false, allowInsecureAuth: false }
      : { disabledCommands: ['STARTTLS'], allowInsecureAuth: true }),
    authOptional: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.pass)
        return callback(null, { user: auth.username });
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          isSecure: Boolean(session.secure),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  // A client that refuses the certificate closes mid-handshake: an expected outcome, not a crash.
  server.on('error', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as AddressInfo).port;
  return { port, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface HttpHit {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface HttpReceiver {
  url: string;
  hits: Recorded<HttpHit>;
  /** The statuses a path answers, in order; the last one repeats (default 200). */
  script(path: string, statuses: number[]): void;
  close(): Promise<void>;
}

/** A receiver of alerts over HTTP, or over HTTPS with `tls` (its key and certificate). */
export async function startHttpReceiver(options: { tls?: { key: string; cert: string } } = {}): Promise<HttpReceiver> {
  const hits = new Recorded<HttpHit>();
  const scripts = new Map<string, number[]>();
  const listener: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const script = scripts.get(path);
      const status = script && script.length > 1 ? script.shift()! : (script?.[0] ?? 200);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
      hits.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        status,
      });
    });
  };
  const server: Server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
  // A client that refuses the certificate closes mid-handshake: an expected outcome, not a crash.
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    hits,
    script: (path, statuses) => scripts.set(path, [...statuses]),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
