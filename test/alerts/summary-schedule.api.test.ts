import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../server/src/shared/clock.js';
import { startHttpReceiver, type HttpReceiver } from '../support/alert-receivers.js';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * The summary's hour and time zone (summaryHour, summaryTimeZone): validated with the field named,
 * kept when other rules change, and obeyed: a daily summary at 08:00 in Europe/Warsaw is sent once
 * the day ends there, not at midnight UTC. Under a fake clock, through a real webhook receiver.
 */
let t: TestApp;
let http: HttpReceiver;
// Tuesday 10 February 2026, 12:00 UTC (13:00 in Warsaw, UTC+1 in winter).
const clock = new FakeClock('2026-02-10T12:00:00Z');

const RULES = `rules { summary summaryHour summaryTimeZone }`;
const create = (rules: Record<string, unknown>, name = 'daily report') =>
  t.gql(`mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { id ${RULES} } }`, {
    i: { name, kind: 'WEBHOOK', url: `${http.url}/report`, signingSecret: 'a-signing-secret-of-some-length', rules },
  });
const summaries = () => http.hits.items.filter((h) => h.path === '/report' && JSON.parse(h.body).kind === 'SUMMARY');

beforeAll(async () => {
  http = await startHttpReceiver();
  t = await startTestApp({ clock });
});
afterAll(async () => {
  await t?.stop();
  await http?.close();
});

describe('The summary hour and time zone of a channel', () => {
  it('default to midnight UTC', async () => {
    const r = await create({ summary: 'DAILY' }, 'defaults');
    expect(r.errors).toBeUndefined();
    expect(r.data.createNotificationChannel.rules).toEqual({
      summary: 'DAILY',
      summaryHour: 0,
      summaryTimeZone: 'UTC',
    });
    await t.gql(`mutation($id: ID!) { deleteNotificationChannel(id: $id) }`, {
      id: r.data.createNotificationChannel.id,
    });
  });

  it('refuses an hour outside 0–23 and an unknown time zone, naming each field', async () => {
    const r = await create({ summary: 'DAILY', summaryHour: 24, summaryTimeZone: 'Mars/Olympus_Mons' });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: {
        'input.rules.summaryHour': 'must be a whole hour from 0 to 23',
        'input.rules.summaryTimeZone': expect.stringMatching(/^must be a time zone such as Europe\/Warsaw/),
      },
    });
    const list = await t.gql(`{ notificationChannels { id } }`);
    expect(list.data.notificationChannels).toEqual([]);
  });

  describe('at 08:00 in Europe/Warsaw', () => {
    let id: string;
    beforeAll(async () => {
      const r = await create({ summary: 'DAILY', summaryHour: 8, summaryTimeZone: 'europe/warsaw' });
      expect(r.errors).toBeUndefined();
      id = r.data.createNotificationChannel.id;
    });

    it('keeps the zone in its canonical spelling, and keeps both when another rule changes', async () => {
      const r = await t.gql(
        `mutation($id: ID!, $i: NotificationChannelInput!) { updateNotificationChannel(id: $id, input: $i) { ${RULES} } }`,
        { id, i: { name: 'daily report', kind: 'WEBHOOK', url: `${http.url}/report`, rules: { runSucceeded: true } } },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.updateNotificationChannel.rules).toEqual({
        summary: 'DAILY',
        summaryHour: 8,
        summaryTimeZone: 'Europe/Warsaw',
      });
    });

    it('sends nothing at midnight UTC, and the day that ended at 08:00 in Warsaw once it has', async () => {
      clock.set('2026-02-11T00:05:00Z');
      expect(await t.app.services.alerts.summarize()).toBe(0);
      clock.set('2026-02-11T06:59:00Z'); // 07:59 in Warsaw
      expect(await t.app.services.alerts.summarize()).toBe(0);
      clock.set('2026-02-11T07:05:00Z'); // 08:05 in Warsaw
      await Promise.all([t.app.services.alerts.summarize(), t.app.services.alerts.summarize()]);
      const hit = await http.hits.next((h) => h.path === '/report' && JSON.parse(h.body).kind === 'SUMMARY', 'summary');
      const body = JSON.parse(hit.body);
      expect(body.title).toBe('Daily summary, 2026-02-10 08:00 to 2026-02-11 08:00: 0 runs not fully successful');
      expect(body.message).toMatch(
        /^Labkeeper daily summary for 2026-02-10 08:00 to 2026-02-11 08:00 \(Europe\/Warsaw\)\./,
      );
      expect(body.details).toMatchObject({
        cadence: 'DAILY',
        timeZone: 'Europe/Warsaw',
        periodStart: '2026-02-10T07:00:00.000Z',
        periodEnd: '2026-02-11T07:00:00.000Z',
      });
      expect(await t.app.services.alerts.summarize()).toBe(0);
      expect(summaries()).toHaveLength(1);
    });
  });
});
