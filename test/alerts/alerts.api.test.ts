import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DrillChanged } from '../../server/src/restore/drill.events.js';
import { FakeClock } from '../../server/src/shared/clock.js';
import {
  startHttpReceiver,
  startSmtpReceiver,
  type HttpHit,
  type HttpReceiver,
  type SmtpReceiver,
} from '../support/alert-receivers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * Alerts through real receivers: an SMTP server (smtp-server, with authentication) gets the
 * failure e-mail of a run that failed against the simulator; an HTTP receiver gets the signed
 * webhook (the signature verifies), the Slack message, the heartbeat pings, and a receiver that
 * answers 500 twice gets the delivery on the third try. Token expiry, stale repositories (under a
 * fake clock) and a failed drill each give exactly one alert per occurrence, with a second API
 * process evaluating the same rules at the same time.
 */
const clock = new FakeClock(new Date());
const SMTP = { user: 'labkeeper-alerts', pass: `smtp-pass-${randomUUID()}` };
const SIGNING_SECRET = `whsec-${randomUUID()}`;
const BEAT = `/beat/${randomUUID()}`;
const SLACK = `/slack/T000/B000/${randomUUID()}`;
let sim: GitLabSimulator;
let t: TestApp;
let smtp: SmtpReceiver;
let http: HttpReceiver;
let orgId: string;
const channels: Record<string, string> = {};

const CHANNEL_FIELDS = `id name kind organizationId isEnabled url secretCredentialId
  rules { runFailed runPartial runSucceeded drillFailed anomalies tokenExpiringWithinDays staleAfterHours }
  email { host port security username from to }`;

async function create(input: Record<string, unknown>) {
  return t.gql(
    `mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { ${CHANNEL_FIELDS} } }`,
    { i: input },
  );
}

const count = async (table: string) =>
  Number((await t.app.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n);

/** `t=<unix>,v1=<hex>` recomputed from the raw body under the shared secret. */
function verifies(hit: HttpHit, secret: string): boolean {
  const header = String(hit.headers['x-labkeeper-signature'] ?? '');
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=') as [string, string]));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${hit.body}`).digest('hex');
  return Boolean(parts.t && parts.v1) && parts.v1 === expected;
}

const bodyOf = (hit: HttpHit) =>
  JSON.parse(hit.body) as { kind: string; alertId: string; message: string; title: string };

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  for (const path of ['api', 'web']) {
    const id = sim.createProject({ namespaceId: group.id, path }).id;
    sim.pushCommit(id, { files: { 'README.md': `# ${path}\n` } });
  }
  smtp = await startSmtpReceiver(SMTP);
  http = await startHttpReceiver();
  t = await startTestApp({
    gitlab: { url: sim.url },
    clock,
    env: { LABKEEPER_ALERT_RETRY_BASE_MS: '50' },
    // No takeover is tested here: a long lock keeps a loaded machine from canceling a backup job.
    jobs: { lockLifetimeMs: 30_000 },
  });
  // The personal access token expires in 5 days: inside a 14-day window.
  const expires = new Date(clock.now().getTime() + 5 * 86_400_000).toISOString().slice(0, 10);
  ({ organizationId: orgId } = await connectOrganization(t, sim, {
    userId: alice.id,
    namespacePath: 'acme',
    includeGroups: false,
    tokenExpiresAt: expires,
  }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await smtp?.close();
  await http?.close();
});

describe('notification channels', () => {
  it('refuses bad input with BAD_USER_INPUT naming the field, and stores nothing', async () => {
    const credentialsBefore = await count('credentials');
    const hook = { name: 'bad', kind: 'WEBHOOK', url: `${http.url}/hook`, signingSecret: SIGNING_SECRET };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...hook, url: 'not a url' }, 'input.url'],
      [{ ...hook, url: 'ftp://example.com/x' }, 'input.url'],
      [{ ...hook, url: null }, 'input.url'],
      [{ ...hook, signingSecret: 'short' }, 'input.signingSecret'],
      [{ ...hook, organizationId: '' }, 'input.organizationId'],
      [{ ...hook, organizationId: randomUUID() }, 'input.organizationId'],
      [{ ...hook, secretCredentialId: '', signingSecret: null }, 'input.secretCredentialId'],
      [{ ...hook, name: '  ' }, 'input.name'],
      [{ ...hook, rules: { staleAfterHours: 0 } }, 'input.rules.staleAfterHours'],
      [{ name: 'bad', kind: 'SLACK' }, 'input.secretUrl'],
      [{ name: 'bad', kind: 'HEARTBEAT', secretUrl: 'nope' }, 'input.secretUrl'],
      [{ name: 'bad', kind: 'EMAIL' }, 'input.email'],
      [
        {
          name: 'bad',
          kind: 'EMAIL',
          email: { host: '127.0.0.1', from: 'alerts@example.com', to: ['not-an-address'] },
        },
        'input.email.to',
      ],
      [
        { name: 'bad', kind: 'EMAIL', email: { host: '127.0.0.1', from: 'nobody', to: ['ops@example.com'] } },
        'input.email.from',
      ],
      [{ name: 'bad', kind: 'EMAIL', email: { host: 'a b', from: 'a@b.c', to: [] } }, 'input.email.host'],
    ];
    for (const [input, field] of cases) {
      const r = await create(input);
      expect({ input, code: r.errors?.[0]?.extensions?.code }).toEqual({ input, code: 'BAD_USER_INPUT' });
      expect({ input, fields: Object.keys(r.errors?.[0]?.extensions?.fields ?? {}) }).toEqual({
        input,
        fields: expect.arrayContaining([field]),
      });
    }
    const unknownKind = await create({ ...hook, kind: 'SMS' });
    expect(unknownKind.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknownKind.errors?.[0]?.message).toMatch(/^Invalid value at "i\.kind": Value "SMS" does not exist/);
    expect(Object.keys(unknownKind.errors?.[0]?.extensions?.fields ?? {})).toEqual(['i.kind']);
    for (const [query, v] of [
      ['mutation($v: ID!) { deleteNotificationChannel(id: $v) }', ''],
      ['mutation($v: ID!) { testNotificationChannel(id: $v) { isDelivered } }', 'x'],
    ] as const) {
      const r = await t.gql(query, { v });
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(Object.keys(r.errors?.[0]?.extensions?.fields ?? {})).toEqual(['id']);
    }
    const missing = await t.gql('mutation($v: ID!) { deleteNotificationChannel(id: $v) }', { v: randomUUID() });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await count('notification_channels')).toBe(0);
    expect(await count('credentials')).toBe(credentialsBefore);
  });

  it('creates channels with their secrets in the Password Manager, never in answers, rows or logs', async () => {
    const made = {
      mail: await create({
        name: 'mail',
        kind: 'EMAIL',
        rules: { staleAfterHours: null },
        email: {
          host: '127.0.0.1',
          port: smtp.port,
          security: 'NONE',
          username: SMTP.user,
          password: SMTP.pass,
          from: 'labkeeper@example.com',
          to: ['ops@example.com'],
        },
      }),
      hook: await create({
        name: 'hook',
        kind: 'WEBHOOK',
        url: `${http.url}/hook`,
        signingSecret: SIGNING_SECRET,
        organizationId: orgId,
        rules: { runSucceeded: true, staleAfterHours: 1 },
      }),
      flaky: await create({
        name: 'flaky',
        kind: 'WEBHOOK',
        url: `${http.url}/flaky`,
        signingSecret: SIGNING_SECRET,
        rules: {
          runFailed: true,
          runPartial: true,
          drillFailed: false,
          anomalies: false,
          tokenExpiringWithinDays: null,
          staleAfterHours: null,
        },
      }),
      beat: await create({ name: 'beat', kind: 'HEARTBEAT', secretUrl: `${http.url}${BEAT}` }),
      slack: await create({
        name: 'slack',
        kind: 'SLACK',
        secretUrl: `${http.url}${SLACK}`,
        rules: { tokenExpiringWithinDays: null, staleAfterHours: null },
      }),
    };
    for (const [name, r] of Object.entries(made)) {
      expect({ name, errors: r.errors }).toEqual({ name, errors: undefined });
      channels[name] = r.data.createNotificationChannel.id;
    }
    expect(made.hook.data.createNotificationChannel).toMatchObject({
      kind: 'WEBHOOK',
      url: `${http.url}/hook`,
      organizationId: orgId,
      rules: { runFailed: true, runSucceeded: true, tokenExpiringWithinDays: 14, staleAfterHours: 1 },
    });
    expect(made.mail.data.createNotificationChannel.email).toEqual({
      host: '127.0.0.1',
      port: smtp.port,
      security: 'NONE',
      username: SMTP.user,
      from: 'labkeeper@example.com',
      to: ['ops@example.com'],
    });
    const listed = await t.gql(`{ notificationChannels { ${CHANNEL_FIELDS} } }`);
    expect(listed.data.notificationChannels.map((c: { name: string }) => c.name)).toEqual([
      'beat',
      'flaky',
      'hook',
      'mail',
      'slack',
    ]);
    const rows = JSON.stringify(await t.app.dataSource.query(`SELECT * FROM notification_channels`));
    for (const secret of [SMTP.pass, SIGNING_SECRET, BEAT, SLACK]) {
      expect(JSON.stringify(listed)).not.toContain(secret);
      expect(rows).not.toContain(secret);
    }
    const credential = await t.gql(`query { credentials { id kind } }`);
    expect(
      credential.data.credentials.filter((c: { id: string }) =>
        Object.values(made).some((m) => m.data.createNotificationChannel.secretCredentialId === c.id),
      ),
    ).toHaveLength(5); // one PASSWORD credential per channel secret
  });

  it('tests a channel at once: a signed test alert, or the reason in words', async () => {
    const ok = await t.gql(`mutation($id: ID!) { testNotificationChannel(id: $id) { isDelivered message } }`, {
      id: channels.hook,
    });
    expect(ok.data.testNotificationChannel).toEqual({ isDelivered: true, message: 'delivered' });
    const hit = await http.hits.next((h) => h.path === '/hook' && bodyOf(h).kind === 'TEST', 'test webhook');
    expect(verifies(hit, SIGNING_SECRET)).toBe(true);
    expect(verifies(hit, 'another secret of 16+ chars')).toBe(false);

    const closed = await create({
      name: 'closed',
      kind: 'WEBHOOK',
      url: 'http://127.0.0.1:9/nothing-listens',
      signingSecret: SIGNING_SECRET,
    });
    const failed = await t.gql(`mutation($id: ID!) { testNotificationChannel(id: $id) { isDelivered message } }`, {
      id: closed.data.createNotificationChannel.id,
    });
    expect(failed.data.testNotificationChannel).toEqual({
      isDelivered: false,
      message: 'the receiver could not be reached',
    });
    const log = async (c: string) =>
      (
        await t.gql(`query($c: ID) { alertDeliveries(channelId: $c) { alertKind status attempts lastError sentAt } }`, {
          c,
        })
      ).data.alertDeliveries;
    expect(await log(channels.hook)).toContainEqual({
      alertKind: 'TEST',
      status: 'SENT',
      attempts: 1,
      lastError: null,
      sentAt: expect.any(String),
    });
    expect(await log(closed.data.createNotificationChannel.id)).toEqual([
      {
        alertKind: 'TEST',
        status: 'FAILED',
        attempts: 1,
        lastError: 'the receiver could not be reached',
        sentAt: null,
      },
    ]);
    const deleted = await t.gql(`mutation($id: ID!) { deleteNotificationChannel(id: $id) }`, {
      id: closed.data.createNotificationChannel.id,
    });
    expect(deleted.errors).toBeUndefined();
  });

  it('sends a failed run to every channel: e-mail with the reasons, signed webhook, Slack, heartbeat /fail, and a third try after two 500s', async () => {
    http.script('/flaky', [500, 500, 200]);
    sim.failNext(20, { status: 503, pathPattern: /\/acme\/web\.git\/git-upload-pack$/ });
    const run = await runBackup(t, orgId);
    sim.failNext(0, { status: 503, pathPattern: /\/acme\/web\.git\/git-upload-pack$/ });
    expect(run.status).toBe('PARTIAL');

    const mail = await smtp.messages.next((m) => /acme/.test(m.raw) && /PARTIAL/.test(m.raw), 'failure e-mail');
    expect(mail).toMatchObject({ user: SMTP.user, from: 'labkeeper@example.com', to: ['ops@example.com'] });
    const text = mail.raw.replace(/=\r?\n/g, '');
    expect(text).toMatch(/Subject: \[Labkeeper\] Backup of acme PARTIAL/);
    expect(text).toMatch(/organization acme/);
    expect(text).toMatch(/- acme\/web: .*503/);
    expect(text).not.toMatch(/- acme\/api/);
    expect(text).toContain(`/runs/${run.runId}`);

    const hook = await http.hits.next((h) => h.path === '/hook' && bodyOf(h).kind === 'RUN_PARTIAL', 'webhook');
    expect(verifies(hook, SIGNING_SECRET)).toBe(true);
    expect(hook.headers['idempotency-key']).toBe(hook.headers['x-labkeeper-delivery']);
    expect(JSON.parse(hook.body)).toMatchObject({
      kind: 'RUN_PARTIAL',
      organizationId: orgId,
      details: { runId: run.runId, failedRepositories: [{ path: 'acme/web', reason: expect.stringMatching(/503/) }] },
    });

    const slack = await http.hits.next((h) => h.path === SLACK, 'Slack message');
    expect(JSON.parse(slack.body).text).toMatch(/^\*Backup of acme PARTIAL\*\n.*acme\/web/s);

    const beat = await http.hits.next((h) => h.path.startsWith(BEAT), 'heartbeat');
    expect(beat).toMatchObject({ method: 'GET', path: `${BEAT}/fail` });

    const third = await http.hits.next((h) => h.path === '/flaky' && h.status === 200, 'third try');
    const tries = http.hits.items.filter((h) => h.path === '/flaky');
    expect(tries.map((h) => h.status)).toEqual([500, 500, 200]);
    expect(new Set(tries.map((h) => h.headers['x-labkeeper-delivery'])).size).toBe(1);
    expect(verifies(third, SIGNING_SECRET)).toBe(true);
    const log = await t.gql(
      `query($c: ID) { alertDeliveries(channelId: $c) { alertKind status attempts lastError sentAt } }`,
      { c: channels.flaky },
    );
    expect(log.data.alertDeliveries).toEqual([
      { alertKind: 'RUN_PARTIAL', status: 'SENT', attempts: 3, lastError: null, sentAt: expect.any(String) },
    ]);
  });

  it('pings the heartbeat after a successful run', async () => {
    const before = http.hits.items.filter((h) => h.path.startsWith(BEAT)).length;
    const run = await runBackup(t, orgId);
    expect(run.status).toBe('SUCCEEDED');
    const hook = await http.hits.next(
      (h) => h.path === '/hook' && bodyOf(h).kind === 'RUN_SUCCEEDED',
      'success webhook',
    );
    expect(JSON.parse(hook.body).details.runId).toBe(run.runId);
    const beat = await http.hits.next((h) => h.path === BEAT, 'success ping');
    expect(beat.method).toBe('GET');
    expect(http.hits.items.filter((h) => h.path.startsWith(BEAT)).length).toBe(before + 1);
  });

  it('raises token expiry, a stale repository and a failed drill exactly once per occurrence across two API processes', async () => {
    const second = await startTestApp({
      databaseUrl: t.databaseUrl,
      masterKey: t.masterKey,
      clock,
      worker: false,
      env: { LABKEEPER_ADMIN_TOKEN: t.adminToken }, // the same installation: keep the fixed admin token
    });
    try {
      const both = async () => {
        const results = await Promise.all([
          t.app.services.alerts.evaluate(),
          second.app.services.alerts.evaluate(),
          t.app.services.alerts.evaluate(),
          second.app.services.alerts.evaluate(),
        ]);
        return results.reduce((n, r) => n + r.deliveries, 0);
      };
      // Now: the token (expiring in 5 days) is inside the 14-day window of mail and hook. (The
      // every-minute alerts.evaluate job may have raised it already: the rows say what was raised.)
      await both();
      expect(await deliveries('TOKEN_EXPIRING')).toEqual([
        { channel: 'hook', n: 1 },
        { channel: 'mail', n: 1 },
      ]);
      expect(await deliveries('REPOSITORY_STALE')).toEqual([]);

      // Two hours without a successful backup: both repositories are stale for hook (1 hour).
      clock.advance(2 * 3_600_000);
      await both();
      expect(await both()).toBe(0);
      expect(await deliveries('REPOSITORY_STALE')).toEqual([{ channel: 'hook', n: 2 }]);

      // A drill of a snapshot whose bundle had a byte flipped FAILS: mail, hook and slack want failed drills.
      const drillDone = drillFinished();
      const restore = await flipLatestBundles();
      try {
        const drill = await t.gql(`mutation($o: ID!) { runDrill(organizationId: $o) { id } }`, { o: orgId });
        expect(drill.errors).toBeUndefined();
        const finished = await drillDone(drill.data.runDrill.id);
        expect(finished.status).toBe('FAILED');
      } finally {
        restore();
      }
      // The drill's own process raised it on its terminal event; the two evaluations find nothing new.
      await Promise.all([t.app.services.alerts.evaluate(), second.app.services.alerts.evaluate()]);
      expect(await both()).toBe(0);

      const perKind = await t.app.dataSource.query(
        `SELECT a.kind, c.name AS channel, count(*)::int AS n FROM alert_deliveries d
           JOIN alerts a ON a.id = d.alert_id JOIN notification_channels c ON c.id = d.channel_id
          WHERE a.kind IN ('TOKEN_EXPIRING', 'REPOSITORY_STALE', 'DRILL_FAILED') GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      expect(perKind).toEqual([
        { kind: 'DRILL_FAILED', channel: 'hook', n: 1 },
        { kind: 'DRILL_FAILED', channel: 'mail', n: 1 },
        { kind: 'DRILL_FAILED', channel: 'slack', n: 1 },
        { kind: 'REPOSITORY_STALE', channel: 'hook', n: 2 },
        { kind: 'TOKEN_EXPIRING', channel: 'hook', n: 1 },
        { kind: 'TOKEN_EXPIRING', channel: 'mail', n: 1 },
      ]);

      // The receivers got each once.
      for (const kind of ['TOKEN_EXPIRING', 'REPOSITORY_STALE', 'DRILL_FAILED'])
        await http.hits.next((h) => h.path === '/hook' && bodyOf(h).kind === kind, kind);
      const mailToken = await smtp.messages.next((m) => /expires on/.test(m.raw), 'token e-mail');
      expect(mailToken.raw).toMatch(/What to do: create a new personal access token/);
      await smtp.messages.next((m) => /Restore drill of acme FAILED/.test(m.raw), 'drill e-mail');
      const stale = http.hits.items.filter((h) => h.path === '/hook' && bodyOf(h).kind === 'REPOSITORY_STALE');
      expect(stale.map((h) => JSON.parse(h.body).details.repository).sort()).toEqual(['acme/api', 'acme/web']);
      expect(new Set(stale.map((h) => bodyOf(h).alertId)).size).toBe(2);

      // The run already alerted is not raised again by either process.
      const [runId] = (await t.app.dataSource.query(`SELECT id FROM backup_runs WHERE status = 'PARTIAL' LIMIT 1`)).map(
        (r: { id: string }) => r.id,
      );
      expect(
        await Promise.all([t.app.services.alerts.recordRun(runId), second.app.services.alerts.recordRun(runId)]),
      ).toEqual([0, 0]);
    } finally {
      await second.stop();
    }
    for (const secret of [SMTP.pass, SIGNING_SECRET, BEAT, SLACK]) expect(t.logLines.join('\n')).not.toContain(secret);
  });
});

/** Deliveries of alerts of `kind`, per channel. */
const deliveries = (kind: string): Promise<{ channel: string; n: number }[]> =>
  t.app.dataSource.query(
    `SELECT c.name AS channel, count(*)::int AS n FROM alert_deliveries d
       JOIN alerts a ON a.id = d.alert_id JOIN notification_channels c ON c.id = d.channel_id
      WHERE a.kind = $1 GROUP BY 1 ORDER BY 1`,
    [kind],
  );

/** Resolves with a drill's terminal event, whichever process ran it (events travel by NOTIFY). */
function drillFinished() {
  const iterator = t.app.pubSub.subscribe('DRILL_CHANGED')[Symbol.asyncIterator]();
  return async (drillRunId: string) => {
    for (;;) {
      const { value } = await iterator.next();
      const event = value as DrillChanged;
      if (event.drillRunId === drillRunId && event.isTerminal) {
        await iterator.return?.();
        return event;
      }
    }
  };
}

/** Flips a byte inside the pack data of each repository's latest stored bundle; returns how to put them back. */
async function flipLatestBundles(): Promise<() => void> {
  const rows: { storage_prefix: string }[] = await t.app.dataSource.query(
    `SELECT DISTINCT ON (repository_id) storage_prefix FROM snapshots
      WHERE organization_id = $1 AND repository_id IS NOT NULL ORDER BY repository_id, created_at DESC`,
    [orgId],
  );
  const originals: [string, Buffer][] = [];
  for (const { storage_prefix: prefix } of rows) {
    const folder = join(t.app.config.dataDir, 'backups', prefix);
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
    const file = join(folder, manifest.git.bundle);
    const bytes = readFileSync(file);
    originals.push([file, Buffer.from(bytes)]);
    bytes[bytes.length - 30] ^= 0xff; // inside the pack data, past the header `git bundle verify` reads
    writeFileSync(file, bytes);
  }
  expect(originals.length).toBe(2);
  return () => originals.forEach(([file, bytes]) => writeFileSync(file, bytes));
}
