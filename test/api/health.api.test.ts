import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: false });
});
afterAll(() => t?.stop());

describe('health endpoints', () => {
  it('/healthz says the process is up, without a token', async () => {
    const r = await fetch(`${t.url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks the database and the job store', async () => {
    const r = await fetch(`${t.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', checks: { database: true, jobStore: true } });
  });

  it('/readyz answers 503 naming the check that fails', async () => {
    await t.app.dataSource.destroy();
    const r = await fetch(`${t.url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ status: 'not ready', checks: { database: false } });
    await t.app.dataSource.initialize();
  });
});
