import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
let t: TestApp;
beforeAll(async () => {
  const clientDir = await mkdtemp(join(tmpdir(), 'labkeeper-client-'));
  await writeFile(join(clientDir, 'index.html'), '<!doctype html><title>Labkeeper</title>');
  t = await startTestApp({ worker: false, env: { LABKEEPER_CLIENT_DIR: clientDir, LABKEEPER_METRICS: 'off' } });
});
afterAll(() => t?.stop());

const get = (path: string, accept: string) => fetch(`${t.url}${path}`, { headers: { accept } });

describe('paths that nothing answers', () => {
  it.each([
    ['/does-not-exist', 'application/json'],
    ['/does-not-exist', '*/*'],
    ['/api/x', '*/*'],
    ['/api/x', BROWSER_ACCEPT],
    ['/graphq', 'application/json'],
    ['/metrics', 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1'],
    ['/favicon.ico', BROWSER_ACCEPT],
  ])('GET %s with Accept %s answers a JSON 404', async (path, accept) => {
    const response = await get(path, accept);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await response.json()).errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it.each(['/', '/organizations/7b6f0f0e-8a4b-4a43-9d55-0e1a1f6f8c11/runs', '/no-such-screen'])(
    'a browser navigating to %s gets the web client (it routes, and says when a page does not exist)',
    async (path) => {
      const response = await get(path, BROWSER_ACCEPT);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<title>Labkeeper</title>');
    },
  );

  it('answers a POST to an unknown path with a JSON 404 too', async () => {
    const response = await fetch(`${t.url}/api/x`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect((await response.json()).errors[0].extensions.code).toBe('NOT_FOUND');
  });
});
