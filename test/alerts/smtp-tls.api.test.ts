import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSelfSignedCertificate } from '../gitlab/test-ca.js';
import { startSmtpReceiver, type SmtpReceiver } from '../support/alert-receivers.js';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * E-mail channels over encrypted SMTP, against smtp-server with a self-signed certificate: STARTTLS
 * (port 587 style) and implicit TLS (port 465 style), each with authentication. The certificate is
 * trusted through the channel's caCertificate; without it the channel refuses to send (the password
 * never leaves) and says why in words. A STARTTLS channel never falls back to plain text.
 */
const SMTP = { user: 'labkeeper-tls', pass: `smtp-tls-pass-${randomUUID()}` };
let t: TestApp;
let startTls: SmtpReceiver;
let implicit: SmtpReceiver;
let plain: SmtpReceiver;
let cert: { key: string; cert: string };

beforeAll(async () => {
  cert = createSelfSignedCertificate();
  startTls = await startSmtpReceiver(SMTP, { tls: cert });
  implicit = await startSmtpReceiver(SMTP, { tls: cert, secure: true });
  plain = await startSmtpReceiver(SMTP);
  t = await startTestApp({ worker: false });
});
afterAll(async () => {
  await t?.stop();
  for (const server of [startTls, implicit, plain]) await server?.close();
});

async function channel(name: string, email: Record<string, unknown>): Promise<string> {
  const r = await t.gql(
    `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id email { security caCertificate } } }`,
    {
      i: {
        name,
        kind: 'EMAIL',
        email: {
          host: '127.0.0.1',
          username: SMTP.user,
          password: SMTP.pass,
          from: 'labkeeper@example.com',
          to: ['ops@example.com'],
          ...email,
        },
      },
    },
  );
  expect(r.errors).toBeUndefined();
  return r.data.createNotificationChannel.id;
}

const test = async (id: string) =>
  (await t.gql(`mutation($id: ID!) { testNotificationChannel(id: $id) { isDelivered message } }`, { id })).data
    .testNotificationChannel as { isDelivered: boolean; message: string };

const NOT_TRUSTED = /TLS certificate is not trusted .*email\.caCertificate/;

describe('e-mail over TLS', () => {
  for (const [security, receiver] of [
    ['STARTTLS', () => startTls],
    ['TLS', () => implicit],
  ] as const) {
    it(`${security}: delivers with authentication once the channel trusts the self-signed certificate`, async () => {
      const trusted = await channel(`trusted ${security}`, {
        port: receiver().port,
        security,
        caCertificate: cert.cert,
      });
      expect(await test(trusted)).toEqual({ isDelivered: true, message: 'delivered' });
      const mail = await receiver().messages.next((m) => /Test of notification channel trusted/.test(m.raw), 'mail');
      expect(mail).toMatchObject({ user: SMTP.user, isSecure: true, to: ['ops@example.com'] });
      const listed = await t.gql(`{ notificationChannels { id email { caCertificate } } }`);
      expect(listed.data.notificationChannels.find((c: { id: string }) => c.id === trusted).email.caCertificate).toBe(
        cert.cert.trim(),
      );
    });

    it(`${security}: refuses the self-signed certificate without the CA, saying what to do`, async () => {
      const before = receiver().messages.items.length;
      const untrusted = await channel(`untrusted ${security}`, { port: receiver().port, security });
      const result = await test(untrusted);
      expect(result.isDelivered).toBe(false);
      expect(result.message).toMatch(NOT_TRUSTED);
      expect(receiver().messages.items.length).toBe(before);
    });
  }

  it('STARTTLS never falls back to plain text when the server does not offer it', async () => {
    const id = await channel('no starttls offered', { port: plain.port, security: 'STARTTLS' });
    const result = await test(id);
    expect(result.isDelivered).toBe(false);
    expect(result.message).toMatch(/TLS/);
    expect(plain.messages.items).toEqual([]);
  });

  it('refuses a CA that is not a certificate, or one given for plain SMTP, naming the field', async () => {
    for (const [email, problem] of [
      [{ security: 'TLS', caCertificate: cert.key }, /private key/],
      [{ security: 'TLS', caCertificate: 'hello' }, /PEM certificate/],
      [{ security: 'NONE', caCertificate: cert.cert }, /STARTTLS or TLS/],
    ] as const) {
      const r = await t.gql(`mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, {
        i: {
          name: 'bad ca',
          kind: 'EMAIL',
          email: { host: '127.0.0.1', from: 'a@example.com', to: ['b@example.com'], ...email },
        },
      });
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.extensions?.fields?.['input.email.caCertificate']).toMatch(problem);
      expect(JSON.stringify(r)).not.toContain('PRIVATE KEY');
    }
  });
});
