import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createSelfSignedCertificate } from '../gitlab/test-ca.js';
import { startSmtpReceiver, type SmtpReceiver } from '../support/alert-receivers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy.js';

/**
 * E-mail channels behind an outbound proxy, as curl sends SMTP: through ALL_PROXY (HTTPS_PROXY and
 * HTTP_PROXY name web URLs' proxies), in a CONNECT tunnel, so STARTTLS and the login stay between
 * Labkeeper and the SMTP server; NO_PROXY's hosts directly. A proxy that refuses the tunnel, or
 * wants a login, is named as the proxy's answer, not the server's.
 */
const SMTP = { user: 'labkeeper-proxy', pass: `smtp-proxy-pass-${randomUUID()}` };
let receiver: SmtpReceiver;
let cert: { key: string; cert: string };
const apps: TestApp[] = [];
const proxies: HttpProxy[] = [];

beforeAll(async () => {
  cert = createSelfSignedCertificate();
  receiver = await startSmtpReceiver(SMTP, { tls: cert });
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
  for (const proxy of proxies.splice(0)) await proxy.close();
});
afterAll(async () => {
  await receiver?.close();
});

async function aProxy(options: Parameters<typeof startHttpProxy>[0] = {}) {
  const proxy = await startHttpProxy(options);
  proxies.push(proxy);
  return proxy;
}

/** An app with these proxy variables, an e-mail channel to the STARTTLS receiver, and its test message's outcome. */
async function sendTestMail(env: Record<string, string>) {
  const t = await startTestApp({ worker: false, env });
  apps.push(t);
  const name = `proxied-${randomUUID().slice(0, 8)}`;
  const created = await t.gql(
    `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`,
    {
      i: {
        name,
        kind: 'EMAIL',
        email: {
          host: '127.0.0.1',
          port: receiver.port,
          security: 'STARTTLS',
          caCertificate: cert.cert,
          username: SMTP.user,
          password: SMTP.pass,
          from: 'labkeeper@example.com',
          to: ['ops@example.com'],
        },
      },
    },
  );
  expect(created.errors).toBeUndefined();
  const result = (
    await t.gql(`mutation($id: ID!) { testNotificationChannel(id: $id) { isDelivered message } }`, {
      id: created.data.createNotificationChannel.id,
    })
  ).data.testNotificationChannel as { isDelivered: boolean; message: string };
  const mine = (m: { raw: string }) => m.raw.includes(name);
  return {
    result,
    /** The message as the SMTP server received it (resolves once it has). */
    received: () => receiver.messages.next(mine, `the test message of ${name}`),
    /** Whether the SMTP server has it now. */
    isReceived: () => receiver.messages.items.some(mine),
  };
}

describe('e-mail channels behind an outbound proxy', () => {
  it('sends through ALL_PROXY in a CONNECT tunnel, TLS and the login end to end with the SMTP server', async () => {
    const proxy = await aProxy();
    const { result, received } = await sendTestMail({ ALL_PROXY: proxy.url });
    expect(result).toEqual({ isDelivered: true, message: 'delivered' });
    expect(await received()).toMatchObject({ user: SMTP.user, isSecure: true, to: ['ops@example.com'] });
    expect(proxy.seen).toEqual([`CONNECT 127.0.0.1:${receiver.port}`]);
  });

  it('reaches the SMTP server directly when only HTTPS_PROXY is set, or when NO_PROXY names it', async () => {
    const proxy = await aProxy();
    const envs: Record<string, string>[] = [
      { HTTPS_PROXY: proxy.url },
      { ALL_PROXY: proxy.url, NO_PROXY: '127.0.0.1' },
    ];
    for (const env of envs) {
      const { result, received } = await sendTestMail(env);
      expect(result).toEqual({ isDelivered: true, message: 'delivered' });
      await received();
    }
    expect(proxy.seen).toEqual([]);
  });

  it("says the proxy refused the tunnel, and that it wants a login, as the proxy's answers", async () => {
    const strict = await aProxy({ refuseTunnels: 403 });
    const refused = await sendTestMail({ ALL_PROXY: strict.url });
    expect(refused.result).toEqual({
      isDelivered: false,
      message: `the HTTP proxy (ALL_PROXY) refused the tunnel to 127.0.0.1:${receiver.port} (403): have that host and port allowed, or name the host in NO_PROXY`,
    });
    expect(refused.isReceived()).toBe(false);

    const guarded = await aProxy({ credentials: { user: 'mailer', password: 'proxy-pass-5678' } });
    const anonymous = await sendTestMail({ ALL_PROXY: guarded.url });
    expect(anonymous.result.isDelivered).toBe(false);
    expect(anonymous.result.message).toMatch(/^the HTTP proxy asks for credentials \(407\): give them in its URL/);
    const withLogin = new URL(guarded.url);
    withLogin.username = 'mailer';
    withLogin.password = 'proxy-pass-5678';
    const signedIn = await sendTestMail({ ALL_PROXY: withLogin.href });
    expect(signedIn.result).toEqual({ isDelivered: true, message: 'delivered' });
    await signedIn.received();
  });
});
