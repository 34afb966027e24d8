import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestCertificates, type TestCertificates } from '../gitlab/test-ca.js';
import { startHttpReceiver } from '../support/alert-receivers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aToken, aUser } from '../support/gitlab-seed.js';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy.js';
import { S3RVER_ACCESS_KEY, startS3Server } from '../support/s3-server.js';

/**
 * GitLab reached only through a company's outbound proxy, named as curl and git read it
 * (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), against a real forward proxy: every request of a backup —
 * the API and git's smart HTTP — goes through it (an http GitLab: each request asked of the proxy
 * by its absolute URL; an https GitLab of a private authority: through CONNECT tunnels, the TLS
 * session still with GitLab and its CA checked), and NO_PROXY's hosts are reached directly. An
 * S3 storage's requests and HTTP alert channels' messages go through it too.
 */
let proxy: HttpProxy;
const apps: TestApp[] = [];
const sims: GitLabSimulator[] = [];

beforeAll(async () => {
  proxy = await startHttpProxy();
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
  for (const sim of sims.splice(0)) await sim.close();
  proxy.seen.length = 0;
});
afterAll(async () => {
  await proxy?.close();
});

async function aGitLab(options: { tls?: TestCertificates } = {}) {
  const sim = await startGitLabSimulator(
    options.tls ? { tls: { key: options.tls.serverKey, cert: options.tls.serverCert } } : {},
  );
  sims.push(sim);
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['api', 'web']) sim.createProject({ namespaceId: group.id, path, withCommit: true });
  return { sim, alice };
}

async function anApp(sim: GitLabSimulator, env: Record<string, string>) {
  const t = await startTestApp({ gitlab: { url: sim.url }, env });
  apps.push(t);
  return t;
}

/** connectGitLab with a PAT, its answer as it comes (connectOrganization expects success). */
const tryToConnect = (t: TestApp, sim: GitLabSimulator, userId: number, extra: Record<string, unknown> = {}) =>
  t.gql(`mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`, {
    i: {
      method: 'PERSONAL_ACCESS_TOKEN',
      instanceUrl: sim.url,
      login: 'alice',
      personalAccessToken: aToken(sim, userId).token,
      namespacePath: 'acme',
      ...extra,
    },
  });

describe('GitLab behind an outbound proxy', () => {
  it('sends every request of a connection and a backup of an http GitLab through HTTP_PROXY, by its absolute URL', async () => {
    const { sim, alice } = await aGitLab();
    const t = await anApp(sim, { HTTP_PROXY: proxy.url });
    const { organizationId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' });
    const run = await runBackup(t, organizationId);
    expect(run.status).toBe('SUCCEEDED');

    const served = sim.requests.map((r) => `${r.method} ${r.path}`);
    const proxied = proxy.seen.map((line) => {
      const [method, url] = line.split(' ');
      const { pathname } = new URL(url);
      return `${method} ${pathname}`;
    });
    expect(served.some((r) => r.endsWith('/git-upload-pack'))).toBe(true);
    expect(served.some((r) => r.startsWith('GET /api/v4/'))).toBe(true);
    // Each request GitLab served was asked of the proxy: none went to GitLab directly.
    expect(proxied.slice().sort()).toEqual(served.map((r) => r.split('?')[0]).sort());
  });

  it('backs up an https GitLab of a private authority through CONNECT tunnels, the CA checked end to end', async () => {
    const certificates = createTestCertificates();
    const { sim, alice } = await aGitLab({ tls: certificates });
    const t = await anApp(sim, { HTTPS_PROXY: proxy.url });
    const { organizationId } = await connectOrganization(t, sim, {
      userId: alice.id,
      namespacePath: 'acme',
      caCertificate: certificates.caPem,
    });
    const run = await runBackup(t, organizationId);
    expect(run.status).toBe('SUCCEEDED');
    expect(sim.requests.some((r) => r.path.endsWith('/git-upload-pack'))).toBe(true);
    const tunnels = proxy.seen.filter((line) => line === `CONNECT ${new URL(sim.url).host}`);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(proxy.seen.filter((line) => !line.startsWith('CONNECT '))).toEqual([]); // the proxy never saw a request in clear
  });

  it('says a proxy that wants a login wants one, and logs in with the credentials in its URL without showing them', async () => {
    const guarded = await startHttpProxy({ credentials: { user: 'backup', password: 'proxy-pass-1234' } });
    try {
      const { sim, alice } = await aGitLab();
      const connect = (t: TestApp) => tryToConnect(t, sim, alice.id);
      const refused = await connect(await anApp(sim, { HTTP_PROXY: guarded.url }));
      expect(refused.errors?.[0]).toMatchObject({
        message: expect.stringContaining('The HTTP proxy to GitLab asks for credentials (407)'),
        extensions: { code: 'UPSTREAM_UNAVAILABLE' },
      });
      const withLogin = guarded.url.replace('http://', 'http://backup:proxy-pass-1234@');
      const t = await anApp(sim, { HTTP_PROXY: withLogin });
      const connected = await connect(t);
      expect(connected.errors).toBeUndefined();
      expect(guarded.seen.some((line) => line.includes('/api/v4/user'))).toBe(true);
      expect(JSON.stringify(refused)).not.toContain('proxy-pass-1234');
      expect(t.logLines.join('\n')).not.toContain('proxy-pass-1234');
    } finally {
      await guarded.close();
    }
  });

  it("says a proxy's refused tunnel is the proxy's, not GitLab refusing the token nor a receiver answering", async () => {
    const strict = await startHttpProxy({ refuseTunnels: 403 });
    try {
      const certificates = createTestCertificates();
      const { sim, alice } = await aGitLab({ tls: certificates });
      const t = await anApp(sim, { HTTPS_PROXY: strict.url });
      const refused = await tryToConnect(t, sim, alice.id, { caCertificate: certificates.caPem });
      expect(refused.errors?.[0]).toMatchObject({
        message: expect.stringContaining(
          `The HTTP proxy refused the tunnel to GitLab (403): it does not allow ${new URL(sim.url).host}`,
        ),
        extensions: { code: 'UPSTREAM_UNAVAILABLE' },
      });
      expect(strict.seen).toEqual([`CONNECT ${new URL(sim.url).host}`]);
      expect(sim.requests).toEqual([]);

      // An alert channel's test message through the same proxy says so too.
      const receiver = await startHttpReceiver({ tls: { key: certificates.serverKey, cert: certificates.serverCert } });
      try {
        const created = await t.gql(
          `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`,
          {
            i: {
              kind: 'WEBHOOK',
              name: 'outside hook',
              url: `${receiver.url}/hook`,
              signingSecret: 'a signing secret of 16+ chars',
              caCertificate: certificates.caPem,
            },
          },
        );
        const id = created.data.createNotificationChannel.id as string;
        const tested = await t.gql(`mutation($id: ID!) { testNotificationChannel(id: $id) { isDelivered message } }`, {
          id,
        });
        expect(tested.data.testNotificationChannel).toEqual({
          isDelivered: false,
          message: `the HTTP proxy refused the tunnel to ${new URL(receiver.url).host} (403): have that host allowed, or name it in NO_PROXY`,
        });
      } finally {
        await receiver.close();
      }
    } finally {
      await strict.close();
    }
  });

  it("sends an S3 storage's requests through the proxy too, by their absolute URLs", async () => {
    const s3 = await startS3Server('offsite');
    try {
      const { sim } = await aGitLab();
      const t = await anApp(sim, { HTTP_PROXY: proxy.url });
      const created = await t.gql(
        `mutation($i: StorageSettingsInput!) { createStorage(input: $i) { storage { id } test { writeMs } } }`,
        {
          i: {
            name: 'offsite',
            endpoint: s3.endpoint,
            region: 'us-east-1',
            bucket: 'offsite',
            accessKeyId: S3RVER_ACCESS_KEY,
            secretAccessKey: 'a-secret-access-key-0123456789',
          },
        },
      );
      expect(created.errors).toBeUndefined();
      const toS3 = proxy.seen.filter((line) => line.split(' ')[1]?.startsWith(`${s3.endpoint}/offsite/`));
      // The storage's probe: its object written, read back, listed and deleted, each through the proxy.
      expect(new Set(toS3.map((line) => line.split(' ')[0]))).toEqual(new Set(['PUT', 'GET', 'HEAD', 'DELETE']));
    } finally {
      await s3.close();
    }
  });

  it("sends HTTP alert channels' messages through the proxy: a webhook by its absolute URL, an https one of a private CA through a tunnel", async () => {
    const certificates = createTestCertificates();
    const plain = await startHttpReceiver();
    const behindCa = await startHttpReceiver({ tls: { key: certificates.serverKey, cert: certificates.serverCert } });
    try {
      const { sim } = await aGitLab();
      const t = await anApp(sim, { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url });
      const tested = async (input: Record<string, unknown>) => {
        const created = await t.gql(
          `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`,
          {
            i: {
              kind: 'WEBHOOK',
              name: `hook ${String(input.url)}`,
              signingSecret: 'a signing secret of 16+ chars',
              ...input,
            },
          },
        );
        expect(created.errors).toBeUndefined();
        const id = created.data.createNotificationChannel.id as string;
        return (await t.gql(`mutation($id: ID!) { testNotificationChannel(id: $id) { isDelivered message } }`, { id }))
          .data.testNotificationChannel;
      };
      expect(await tested({ url: `${plain.url}/hook` })).toMatchObject({ isDelivered: true });
      expect(proxy.seen).toContain(`POST ${plain.url}/hook`);
      expect(await tested({ url: `${behindCa.url}/hook`, caCertificate: certificates.caPem })).toMatchObject({
        isDelivered: true,
      });
      expect(proxy.seen).toContain(`CONNECT ${new URL(behindCa.url).host}`);
      await behindCa.hits.next((h) => h.path === '/hook', 'the webhook through the tunnel');
    } finally {
      await plain.close();
      await behindCa.close();
    }
  });

  it('reaches the hosts NO_PROXY names directly', async () => {
    const { sim, alice } = await aGitLab();
    const t = await anApp(sim, { HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,.internal,127.0.0.1' });
    const { organizationId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' });
    const run = await runBackup(t, organizationId);
    expect(run.status).toBe('SUCCEEDED');
    expect(sim.requests.length).toBeGreaterThan(0);
    expect(proxy.seen).toEqual([]);
  });
});
