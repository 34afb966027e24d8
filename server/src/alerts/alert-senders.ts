/**
 * The one transport for every byte Labkeeper sends to people: SMTP through nodemailer, and HTTP
 * for webhooks, Slack/Mattermost incoming webhooks and heartbeat URLs. Each send either resolves
 * or throws a SendError whose message is written for an operator (no library text, no URL, no
 * secret): it is stored in the delivery log and shown by the API.
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import nodemailer from 'nodemailer';
import { PROXY_LOGIN_HINT, proxyFor, whenTunnelRefused, type ProxySettings } from '../shared/http-proxy.js';
import type { ChannelSettings, EmailSecurity } from './alert.entity.js';
import type { AlertMessage } from './alert-message.js';

export class SendError extends Error {
  override readonly name = 'SendError';
  constructor(
    message: string,
    /** Trying again later may succeed (a 5xx, a timeout, a refused connection); a 4xx will not. */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export const SIGNATURE_HEADER = 'X-Labkeeper-Signature';
export const DELIVERY_HEADER = 'X-Labkeeper-Delivery';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the signing secret>`. A receiver
 * recomputes v1 from the raw body and refuses a timestamp older than a few minutes (replays).
 */
export function signature(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

export interface SendTarget {
  kind: 'EMAIL' | 'WEBHOOK' | 'SLACK' | 'HEARTBEAT';
  settings: ChannelSettings;
  /** The channel's secret: signing secret, Slack or heartbeat URL, SMTP password (or null). */
  secret: string | null;
}

export interface SendOptions {
  timeoutMs: number;
  /** The outbound proxy: webhook, Slack and heartbeat URLs (HTTPS_PROXY, HTTP_PROXY), SMTP (ALL_PROXY); NO_PROXY. */
  proxy?: ProxySettings | null;
  /** The delivery's id: the idempotency key receivers see (header, e-mail Message-ID). */
  deliveryId: string;
  now: Date;
}

export async function send(target: SendTarget, message: AlertMessage, options: SendOptions): Promise<void> {
  switch (target.kind) {
    case 'EMAIL':
      return sendEmail(target, message, options);
    case 'WEBHOOK': {
      const body = JSON.stringify(message.payload);
      if (!target.settings.url || !target.secret)
        throw new SendError('the webhook has no URL or signing secret', false);
      return post(target.settings.url, body, withCa(options, target), {
        [SIGNATURE_HEADER]: signature(target.secret, body, options.now),
        [DELIVERY_HEADER]: options.deliveryId,
        'Idempotency-Key': options.deliveryId,
      });
    }
    case 'SLACK':
      if (!target.secret) throw new SendError('the incoming webhook URL is missing', false);
      return post(target.secret, JSON.stringify({ text: message.slackText }), withCa(options, target), {});
    case 'HEARTBEAT': {
      if (!target.secret) throw new SendError('the heartbeat URL is missing', false);
      const url = message.heartbeat === 'fail' ? `${target.secret.replace(/\/+$/, '')}/fail` : target.secret;
      return request(url, { method: 'GET' }, withCa(options, target));
    }
  }
}

/** The send's options with the channel's CA (HTTP channels), if it has one. */
const withCa = (options: SendOptions, target: SendTarget): HttpSendOptions => ({
  ...options,
  caCertificate: target.settings.caCertificate ?? null,
});

interface HttpSendOptions extends SendOptions {
  /** PEM of a private CA trusted besides the public roots for an https URL. */
  caCertificate: string | null;
}

function post(url: string, body: string, options: HttpSendOptions, headers: Record<string, string>): Promise<void> {
  return request(
    url,
    {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'Labkeeper-Alerts', ...headers },
    },
    options,
  );
}

async function request(url: string, init: RequestInit, options: HttpSendOptions): Promise<void> {
  let status: number;
  try {
    const via = proxyFor(new URL(url), options.proxy);
    const ca = url.toLowerCase().startsWith('https:') ? options.caCertificate : null;
    status =
      ca || via
        ? await statusThrough(url, init, options.timeoutMs, { ca, via })
        : await statusOf(url, init, options.timeoutMs);
  } catch (error) {
    if (error instanceof SendError) throw error; // the proxy's refusal, said already
    const code = String((error as { cause?: { code?: unknown } }).cause?.code ?? (error as { code?: unknown }).code);
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
      throw new SendError("the receiver's TLS certificate does not name the host of the URL", false);
    if (UNTRUSTED.test(code))
      throw new SendError(
        "the receiver's TLS certificate is not trusted (self-signed or from a private authority): " +
          'give its CA certificate in the channel (caCertificate)',
        false,
      );
    const timedOut = (error as Error).name === 'TimeoutError';
    throw new SendError(
      timedOut ? `the receiver did not answer within ${options.timeoutMs} ms` : 'the receiver could not be reached',
      true,
    );
  }
  if (status >= 200 && status < 300) return;
  if (status === 407) throw proxyWantsLogin();
  if (status >= 300 && status < 400)
    throw new SendError(`the receiver answered HTTP ${status} (a redirect; give its final URL)`, false);
  const retryable = status >= 500 || status === 429 || status === 408;
  throw new SendError(`the receiver answered HTTP ${status}`, retryable);
}

/** The proxy wants a login, whether it said so to the request or to its tunnel. */
const proxyWantsLogin = () => new SendError(`the HTTP proxy asks for credentials (407): ${PROXY_LOGIN_HINT}`, false);

/** The response's status through fetch (no redirect followed), its body discarded. */
async function statusOf(url: string, init: RequestInit, timeoutMs: number): Promise<number> {
  const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel().catch(() => undefined);
  return response.status;
}

/**
 * The same through node:http(s), trusting `ca` besides the public roots and going through the
 * proxy `via` (a CONNECT tunnel for https: the TLS session, and the CA's check, stay with the
 * receiver): Node 20's fetch takes neither but through undici's Agent, which Node does not expose
 * (gitlab/http-transport.ts).
 */
function statusThrough(
  url: string,
  init: RequestInit,
  timeoutMs: number,
  { ca, via }: { ca: string | null | undefined; via: URL | null },
): Promise<number> {
  const isHttps = url.toLowerCase().startsWith('https:');
  const agent = via ? (isHttps ? new HttpsProxyAgent(via) : new HttpProxyAgent(via)) : false;
  return new Promise((resolve, reject) => {
    const req = (isHttps ? httpsRequest : httpRequest)(
      url,
      {
        method: init.method ?? 'GET',
        headers: init.headers as Record<string, string> | undefined,
        ...(isHttps ? { ca: ca ? [...rootCertificates, ca] : undefined, minVersion: 'TLSv1.2' as const } : {}),
        agent,
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    if (via && isHttps)
      // A refused CONNECT is the proxy's answer, not the receiver's.
      whenTunnelRefused(req, (status) =>
        status === 407
          ? proxyWantsLogin()
          : new SendError(
              `the HTTP proxy refused the tunnel to ${new URL(url).host} (${status})${status === 403 ? ': have that host allowed, or name it in NO_PROXY' : ''}`,
              status >= 500,
            ),
      );
    // The whole exchange within timeoutMs, as fetch's AbortSignal.timeout.
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })),
      timeoutMs,
    );
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
}

/**
 * TLS: implicit TLS from the first byte (port 465). STARTTLS: the upgrade is required, so a server
 * that does not offer it (or a man in the middle stripping it) gets neither the password nor the
 * message. Both verify the server's certificate against the public roots, plus the channel's CA.
 */
function transportOptions(security: EmailSecurity, caCertificate: string | null | undefined) {
  const verified = {
    tls: {
      minVersion: 'TLSv1.2' as const,
      rejectUnauthorized: true,
      ...(caCertificate ? { ca: [...rootCertificates, caCertificate] } : {}),
    },
  };
  switch (security) {
    case 'TLS':
      return { secure: true, ...verified };
    case 'STARTTLS':
      return { secure: false, requireTLS: true, ...verified };
    case 'NONE':
      return { secure: false, ignoreTLS: true };
  }
}

async function sendEmail(target: SendTarget, message: AlertMessage, options: SendOptions): Promise<void> {
  const email = target.settings.email;
  if (!email) throw new SendError('the channel has no SMTP settings', false);
  // SMTP goes through ALL_PROXY, as curl sends it (HTTPS_PROXY and HTTP_PROXY name web URLs' proxies):
  // a CONNECT tunnel to the server, so TLS and the login stay between Labkeeper and the server.
  const host = email.host.includes(':') && !email.host.startsWith('[') ? `[${email.host}]` : email.host;
  const via = proxyFor(
    new URL(`${email.security === 'TLS' ? 'smtps' : 'smtp'}://${host}:${email.port}`),
    options.proxy,
  );
  const transport = nodemailer.createTransport({
    host: email.host,
    port: email.port,
    ...(via ? { proxy: via.href } : {}),
    ...transportOptions(email.security, email.caCertificate),
    ...(email.username ? { auth: { user: email.username, pass: target.secret ?? '' } } : {}),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  try {
    await transport.sendMail({
      from: email.from,
      to: email.to,
      subject: message.subject,
      text: message.text,
      messageId: `<${options.deliveryId}@labkeeper>`,
      headers: { [DELIVERY_HEADER]: options.deliveryId },
    });
  } catch (error) {
    throw smtpError(error as Error & { code?: string; originalCode?: string; responseCode?: number }, email);
  } finally {
    transport.close();
  }
}

/** Node's codes for a certificate that does not verify (nodemailer keeps them as `originalCode`). */
const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/** nodemailer's error, in an operator's words (its own text may carry addresses and server banners). */
function smtpError(
  error: Error & { code?: string; originalCode?: string; responseCode?: number },
  server: { host: string; port: number },
): SendError {
  if (error.code === 'EPROXY') {
    // nodemailer's CONNECT client: "Invalid response from proxy: 403", or the tunnel never came up.
    const status = Number(/: (\d{3})$/.exec(error.message)?.[1] ?? 0);
    if (status === 407) return proxyWantsLogin();
    return new SendError(
      status
        ? `the HTTP proxy (ALL_PROXY) refused the tunnel to ${server.host}:${server.port} (${status})${status === 403 ? ': have that host and port allowed, or name the host in NO_PROXY' : ''}`
        : 'the HTTP proxy (ALL_PROXY) did not open a tunnel to the SMTP server',
      status === 0 || status >= 500,
    );
  }
  const tlsCode = error.originalCode ?? '';
  if (tlsCode === 'ERR_TLS_CERT_ALTNAME_INVALID' || /altnames/i.test(error.message))
    return new SendError("the SMTP server's TLS certificate does not name the host the channel connects to", false);
  if (UNTRUSTED.test(tlsCode) || /certificate/i.test(error.message))
    return new SendError(
      "the SMTP server's TLS certificate is not trusted (self-signed or from a private authority): " +
        'give its CA certificate in the channel (email.caCertificate)',
      false,
    );
  switch (error.code) {
    case 'EAUTH':
      return new SendError('the SMTP server refused the username or password', false);
    case 'ETLS':
      return new SendError('the TLS handshake with the SMTP server failed (check the security setting)', false);
    case 'EENVELOPE':
      return new SendError('the SMTP server refused the sender or a recipient', false);
    case 'ETIMEDOUT':
      return new SendError('the SMTP server did not answer in time', true);
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'EDNS':
      return new SendError('the SMTP server could not be reached', true);
  }
  if (error.responseCode)
    return new SendError(
      `the SMTP server answered ${error.responseCode}`,
      error.responseCode >= 400 && error.responseCode < 500,
    );
  return new SendError('the SMTP server could not take the message', true);
}
