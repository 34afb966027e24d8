import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestCertificates, type TestCertificates } from '../gitlab/test-ca.js';
import { startHttpReceiver, type HttpReceiver } from '../support/alert-receivers.js';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * HTTP channels (webhook, Slack, heartbeat) whose receiver's HTTPS certificate comes from a
 * private certificate authority, against a real HTTPS server with a certificate signed by a
 * throwaway CA: trusted through the channel's caCertificate, refused without it with what to do
 * in words. A caCertificate that is not a certificate, on an e-mail channel (it has its own) or
 * with a plain http URL is refused with the field named, and nothing is stored.
 */
const SIGNING_SECRET = 'a signing secret of 16+ chars';
let t: TestApp;
let receiver: HttpReceiver;
let ca: TestCertificates;

beforeAll(async () => {
  ca = createTestCertificates();
  receiver = await startHttpReceiver({ tls: { key: ca.serverKey, cert: ca.serverCert } });
  t = await startTestApp({ worker: false });
});
afterAll(async () => {
  await t?.stop();
  await receiver?.close();
});

const create = (input: Record<string, unknown>) =>
  t.gql(
    `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id kind url caCertificate } }`,
    { i: input },
  );

const test = async (id: string) =>
  (await t.gql(`mutation($id: ID!) { testNotificationChannel(id: $id) { isDelivered message } }`, { id })).data
    .testNotificationChannel as { isDelivered: boolean; message: string };

describe('HTTP channels to a receiver with a certificate from a private authority', () => {
  it('deliver a signed webhook and a heartbeat ping once the channel trusts the CA', async () => {
    const hook = await create({
      name: 'internal hook',
      kind: 'WEBHOOK',
      url: `${receiver.url}/hook`,
      signingSecret: SIGNING_SECRET,
      caCertificate: ca.caPem,
    });
    expect(hook.errors).toBeUndefined();
    expect(hook.data.createNotificationChannel).toMatchObject({ kind: 'WEBHOOK', caCertificate: ca.caPem.trim() });
    expect(await test(hook.data.createNotificationChannel.id)).toEqual({ isDelivered: true, message: 'delivered' });
    const hit = await receiver.hits.next((h) => h.path === '/hook', 'webhook over https');
    expect(hit.method).toBe('POST');
    expect(JSON.parse(hit.body)).toMatchObject({ kind: 'TEST' });

    const beat = await create({
      name: 'internal heartbeat',
      kind: 'HEARTBEAT',
      secretUrl: `${receiver.url}/beat`,
      caCertificate: ca.caPem,
    });
    expect(beat.errors).toBeUndefined();
    expect(await test(beat.data.createNotificationChannel.id)).toEqual({ isDelivered: true, message: 'delivered' });
    expect((await receiver.hits.next((h) => h.path === '/beat', 'heartbeat over https')).method).toBe('GET');
  });

  it('keep the CA through an update that leaves it out (a form that does not show it), and drop it on null', async () => {
    const hook = await create({
      name: 'edited hook',
      kind: 'WEBHOOK',
      url: `${receiver.url}/edited`,
      signingSecret: SIGNING_SECRET,
      caCertificate: ca.caPem,
    });
    const id = hook.data.createNotificationChannel.id;
    const update = (input: Record<string, unknown>) =>
      t.gql(
        `mutation($id: ID!, $i: NotificationChannelInput!) { updateNotificationChannel(id: $id, input: $i) { caCertificate } }`,
        { id, i: { name: 'edited hook', kind: 'WEBHOOK', url: `${receiver.url}/edited`, ...input } },
      );
    expect((await update({ isEnabled: true })).data.updateNotificationChannel.caCertificate).toBe(ca.caPem.trim());
    expect(await test(id)).toEqual({ isDelivered: true, message: 'delivered' });
    expect((await update({ caCertificate: null })).data.updateNotificationChannel.caCertificate).toBeNull();
    expect((await test(id)).isDelivered).toBe(false);
  });

  it('refuse the certificate without the CA, saying what to do, and send nothing', async () => {
    const before = receiver.hits.items.length;
    const hook = await create({
      name: 'untrusted hook',
      kind: 'WEBHOOK',
      url: `${receiver.url}/untrusted`,
      signingSecret: SIGNING_SECRET,
    });
    expect(hook.data.createNotificationChannel.caCertificate).toBeNull();
    const result = await test(hook.data.createNotificationChannel.id);
    expect(result.isDelivered).toBe(false);
    expect(result.message).toBe(
      "the receiver's TLS certificate is not trusted (self-signed or from a private authority): give its CA certificate in the channel (caCertificate)",
    );
    expect(receiver.hits.items.length).toBe(before);
  });

  it('refuse a caCertificate that is not one, on an e-mail channel, or with an http URL, naming the field', async () => {
    const channelsBefore = await t.app.dataSource.query(`SELECT count(*)::int AS n FROM notification_channels`);
    const hook = { name: 'bad', kind: 'WEBHOOK', url: `${receiver.url}/bad`, signingSecret: SIGNING_SECRET };
    for (const input of [
      { ...hook, caCertificate: 'not a certificate' },
      { ...hook, url: 'http://127.0.0.1:9/plain', caCertificate: ca.caPem },
      {
        name: 'bad mail',
        kind: 'EMAIL',
        email: { host: '127.0.0.1', from: 'a@example.com', to: ['ops@example.com'] },
        caCertificate: ca.caPem,
      },
    ]) {
      const r = await create(input);
      expect({ input: input.name, code: r.errors?.[0]?.extensions?.code }).toEqual({
        input: input.name,
        code: 'BAD_USER_INPUT',
      });
      expect(Object.keys(r.errors?.[0]?.extensions?.fields ?? {})).toEqual(['input.caCertificate']);
    }
    expect(await t.app.dataSource.query(`SELECT count(*)::int AS n FROM notification_channels`)).toEqual(
      channelsBefore,
    );
  });
});
