/**
 * The one transport for every byte Labkeeper sends to people: SMTP through nodemailer, and HTTP
 * for webhooks, Slack/Mattermost incoming webhooks and heartbeat URLs. Each send either resolves
 * or throws a SendError whose message is written for an operator (no library text, no URL, no
 * secret): it is stored in the delivery log and shown by the API.
 */
import { createHmac } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import nodemailer from 'nodemailer';
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
      return post(target.settings.url, body, options, {
        [SIGNATURE_HEADER]: signature(target.secret, body, options.now),
        [DELIVERY_HEADER]: options.deliveryId,
        'Idempotency-Key': options.deliveryId,
      });
    }
    case 'SLACK':
      if (!target.secret) throw new SendError('the incoming webhook URL is missing', false);
      return post(target.secret, JSON.stringify({ text: message.slackText }), options, {});
    case 'HEARTBEAT': {
      if (!target.secret) throw new SendError('the heartbeat URL is missing', false);
      const url = message.heartbeat === 'fail' ? `${target.secret.replace(/\/+$/, '')}/fail` : target.secret;
      return request(url, { method: 'GET' }, options);
    }
  }
}

function post(url: string, body: string, options: SendOptions, headers: Record<string, string>): Promise<void> {
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

async function request(url: string, init: RequestInit, options: SendOptions): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    throw new SendError(
      timedOut ? `the receiver did not answer within ${options.timeoutMs} ms` : 'the receiver could not be reached',
      true,
    );
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return;
  if (response.status >= 300 && response.status < 400)
    throw new SendError(`the receiver answered HTTP ${response.status} (a redirect; give its final URL)`, false);
  const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
  throw new SendError(`the receiver answered HTTP ${response.status}`, retryable);
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
  const transport = nodemailer.createTransport({
    host: email.host,
    port: email.port,
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
    throw smtpError(error as Error & { code?: string; originalCode?: string; responseCode?: number });
  } finally {
    transport.close();
  }
}

/** Node's codes for a certificate that does not verify (nodemailer keeps them as `originalCode`). */
const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/** nodemailer's error, in an operator's words (its own text may carry addresses and server banners). */
function smtpError(error: Error & { code?: string; originalCode?: string; responseCode?: number }): SendError {
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
