import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { pino } from 'pino';
import { PgEventTarget } from '../../server/src/events/pg-event-target.js';
import { createTestDatabase } from '../support/database.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let target: PgEventTarget;
/** The pg_notify statements any client sent (observed on their way, not replaced). */
const notifyStatements: string[] = [];
// eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the client as `this`
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;

beforeAll(async () => {
  db = await createTestDatabase();
  (pg.Client.prototype as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
    if (typeof args[0] === 'string' && args[0].includes('pg_notify')) notifyStatements.push(args[0]);
    return query.apply(this, args);
  };
  target = new PgEventTarget(db.url, pino({ level: 'silent' }));
  await target.start();
});
afterAll(async () => {
  (pg.Client.prototype as { query: unknown }).query = query;
  await target.close();
  await db.drop();
});

describe('events across processes through PostgreSQL', () => {
  it('sends events dispatched while one is on its way together, and every listener gets them all in order', async () => {
    const received: number[] = [];
    const all = new Promise<void>((resolve) =>
      target.addEventListener('PROGRESS', (event) => {
        received.push((event as CustomEvent<{ n: number }>).detail.n);
        if (received.length === 100) resolve();
      }),
    );
    notifyStatements.length = 0;
    for (let n = 0; n < 100; n++) target.dispatchEvent(new CustomEvent('PROGRESS', { detail: { n } }));
    await all;

    expect(received).toEqual([...Array(100).keys()]);
    // Dispatched within one turn of the event loop: statements of at most 64 events (one each before).
    expect(notifyStatements.length).toBe(2);
  });
});
