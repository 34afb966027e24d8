import { describe, expect, it } from '@jest/globals';
import type { Agenda, Job } from 'agenda';
import { defineJobs } from '../../server/src/jobs/handlers.js';
import type { Services } from '../../server/src/services.js';
import {
  resumingAfterOutage,
  ShutdownDuringOutage,
  untilDatabaseReachable,
} from '../../server/src/shared/database-outage.js';
import { silentLogger } from '../../server/src/shared/logger.js';
import { createDeferred } from '../support/deferred.js';

/** A lost connection, as pg reports it. */
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** A database that stays away: every ping fails; `pinged` resolves at the first one. */
function awayDatabase() {
  const pinged = createDeferred();
  let pings = 0;
  return {
    pinged: pinged.promise,
    pings: () => pings,
    ping: async () => {
      pings += 1;
      pinged.resolve();
      throw refused();
    },
  };
}

/**
 * A job caught in a database outage waits for the database; when the process stops meanwhile the
 * wait ends at once (a job left waiting would ping closed pools for ever and hold up the stop).
 */
describe('waiting out a database outage', () => {
  it('resumes the job when the database answers again', async () => {
    let runs = 0;
    let reachable = false;
    const pinged = createDeferred();
    const result = resumingAfterOutage(
      async () => {
        runs += 1;
        if (runs === 1) throw refused();
        return 'done';
      },
      {
        ping: async () => {
          pinged.resolve();
          if (!reachable) throw refused();
        },
        logger: silentLogger(),
        job: 'repositories.sync',
      },
    );
    await pinged.promise;
    reachable = true;
    await expect(result).resolves.toBe('done');
    expect(runs).toBe(2);
  });

  it('stops waiting as soon as the process stops, with ShutdownDuringOutage', async () => {
    const database = awayDatabase();
    const shutdown = new AbortController();
    const waiting = resumingAfterOutage(
      async () => {
        throw refused();
      },
      { ping: database.ping, signal: shutdown.signal, logger: silentLogger(), job: 'restore.run' },
    );
    await database.pinged;
    shutdown.abort();
    await expect(waiting).rejects.toBeInstanceOf(ShutdownDuringOutage);
    expect(database.pings()).toBe(1); // it gave up during its backoff, without pinging again
  });

  it('does not start waiting when the process is already stopping', async () => {
    const database = awayDatabase();
    const shutdown = new AbortController();
    shutdown.abort();
    await expect(untilDatabaseReachable(database.ping, { signal: shutdown.signal })).rejects.toBeInstanceOf(
      ShutdownDuringOutage,
    );
    expect(database.pings()).toBe(0);
  });

  it("ends the job handlers' waits when the worker's shutdown signal aborts", async () => {
    const handlers = new Map<string, (job: Job<unknown>) => Promise<void>>();
    const agenda = {
      define: (name: string, handler: (job: Job<unknown>) => Promise<void>) => void handlers.set(name, handler),
      every: async () => undefined,
      on: () => undefined,
      attrs: { defaultConcurrency: 5 },
    } as unknown as Agenda;
    const services = {
      sync: {
        execute: async () => {
          throw refused();
        },
      },
    } as unknown as Services;
    const database = awayDatabase();
    const shutdown = new AbortController();
    await defineJobs(agenda, services, silentLogger(), {
      concurrency: 2,
      lockLifetimeMs: 60_000,
      workerName: 'w1',
      pingDatabase: database.ping,
      shutdown: shutdown.signal,
    });
    const job = { attrs: { data: { syncRunId: 's1' } }, touch: async () => undefined } as unknown as Job<unknown>;
    const running = handlers.get('repositories.sync')!(job);
    await database.pinged;
    shutdown.abort();
    await expect(running).rejects.toBeInstanceOf(ShutdownDuringOutage);
  });
});
