import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import type { BackupProgressed } from '../../server/src/backup/backup.events.js';
import { startTestApp, subscribe, type TestApp } from '../support/app.js';

/**
 * Subscriptions: one PostgreSQL notification is fanned out in process, and a subscriber scoped to
 * a run or an organization listens on that scope's own event type — so an event costs its own
 * subscribers only — and subscribers that leave give their listeners back, however many came and
 * went (structure, not timing: listener counts of the events' transport).
 */
const SOCKETS = 10;
const PER_SOCKET = 30; // 300 subscribers per round
const ROUNDS = 3;
const RUNS = 20;

const BACKUP = `subscription($r: ID, $o: ID) { backupProgress(runId: $r, organizationId: $o) { runId organizationId itemsDone } }`;
const RESTORE = `subscription($r: ID!) { restoreProgress(runId: $r) { runId } }`;
const CONNECTION = `subscription($id: ID) { connectionStatusChanged(id: $id) { connectionId } }`;

let t: TestApp;
const organizationId = randomUUID();
const runIds = Array.from({ length: RUNS }, () => randomUUID());

const total = () => [...t.app.events.listenerCounts().values()].reduce((n, c) => n + c, 0);

/** Resolves once `predicate` holds, checked at every listener added or removed. */
function whenListeners(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (predicate()) return resolve();
    const stop = t.app.events.onListenersChanged(() => {
      if (!predicate()) return;
      stop();
      resolve();
    });
  });
}

function progress(runId: string, itemsDone: number): BackupProgressed {
  return {
    organizationId,
    runId,
    runStatus: 'RUNNING',
    itemsTotal: 10,
    itemsDone,
    itemsFailed: 0,
    item: null,
    isTerminal: false,
    at: new Date().toISOString(),
  };
}

beforeAll(async () => {
  t = await startTestApp({ worker: false });
});
afterAll(async () => {
  await t?.stop();
});

describe('subscription fan-out', () => {
  it(`delivers to scoped listeners only and returns to the baseline after ${ROUNDS} rounds of ${SOCKETS * PER_SOCKET} subscribers`, async () => {
    const baseline = t.app.events.listenerCounts();
    for (let round = 0; round < ROUNDS; round++) {
      const clients: Client[] = [];
      const byRun = new Map<string, ReturnType<typeof subscribe>[]>(runIds.map((id) => [id, []]));
      const byOrganization: ReturnType<typeof subscribe>[] = [];
      for (let s = 0; s < SOCKETS; s++) {
        const client = t.ws();
        clients.push(client);
        for (let i = 0; i < PER_SOCKET; i++) {
          const n = s * PER_SOCKET + i;
          if (n % 10 === 8) subscribe(client, RESTORE, { r: randomUUID() });
          else if (n % 10 === 9) subscribe(client, CONNECTION, { id: randomUUID() });
          else if (n % 10 === 7) byOrganization.push(subscribe(client, BACKUP, { o: organizationId }));
          else {
            const runId = runIds[n % RUNS];
            byRun.get(runId)!.push(subscribe(client, BACKUP, { r: runId }));
          }
        }
      }
      await whenListeners(() => total() === SOCKETS * PER_SOCKET + [...baseline.values()].reduce((a, b) => a + b, 0));

      // Each subscriber listens on its own scope: nobody on the unscoped topics, whose every
      // event would otherwise pass through every subscriber's filter.
      const counts = t.app.events.listenerCounts();
      expect(counts.get('BACKUP_PROGRESS') ?? 0).toBe(baseline.get('BACKUP_PROGRESS') ?? 0);
      expect(counts.get('RESTORE_PROGRESS') ?? 0).toBe(baseline.get('RESTORE_PROGRESS') ?? 0);
      expect(counts.get('CONNECTION_STATUS_CHANGED') ?? 0).toBe(baseline.get('CONNECTION_STATUS_CHANGED') ?? 0);
      for (const [runId, subs] of byRun) expect(counts.get(`BACKUP_PROGRESS:run:${runId}`) ?? 0).toBe(subs.length);
      expect(counts.get(`BACKUP_PROGRESS:org:${organizationId}`)).toBe(byOrganization.length);

      // One publish, one notification: every subscriber of that run and of its organization gets it.
      const [runId] = runIds;
      t.app.pubSub.publish('BACKUP_PROGRESS', progress(runId, round + 1));
      const expected = { backupProgress: { runId, organizationId, itemsDone: round + 1 } };
      for (const sub of [...byRun.get(runId)!, ...byOrganization]) expect(await sub.next()).toEqual(expected);
      for (const [other, subs] of byRun) if (other !== runId) for (const sub of subs) expect(sub.events).toEqual([]);

      for (const client of clients) await client.dispose();
      await whenListeners(() => total() === [...baseline.values()].reduce((a, b) => a + b, 0));
      expect(t.app.events.listenerCounts()).toEqual(baseline);
    }
  });
});
