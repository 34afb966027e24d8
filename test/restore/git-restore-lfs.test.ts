import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { uploadLfsObjects } from '../../server/src/restore/lfs-upload.js';

/** LFS uploads against a scripted batch endpoint: what is sent, verified, retried and reported. */
const content = (text: string) => ({ text, oid: createHash('sha256').update(text).digest('hex'), size: Buffer.byteLength(text) });
const a = content('first object');
const b = content('second object');
const c = content('third object');

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

function fakeServer(answer: (call: Call, calls: Call[]) => Response) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    let body = '';
    if (init?.body instanceof Readable) for await (const chunk of init.body) body += (chunk as Buffer).toString('utf8');
    else if (typeof init?.body === 'string') body = init.body;
    const call: Call = { method: init?.method ?? 'GET', url: String(input), headers: { ...(init?.headers as Record<string, string>) }, body };
    calls.push(call);
    return answer(call, calls);
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const json = (status: number, value: unknown) => new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/vnd.git-lfs+json' } });
const open = async (oid: string) => Readable.from([Buffer.from([a, b, c].find((o) => o.oid === oid)!.text)]);

describe('Uploading LFS objects', () => {
  it('sends only what the server lacks, with the action’s headers instead of our credentials, and calls the verify action', async () => {
    const server = fakeServer((call) => {
      if (call.url.endsWith('/info/lfs/objects/batch')) {
        return json(200, {
          objects: [
            { oid: a.oid, size: a.size, actions: { upload: { href: `https://lfs.example.com/up/${a.oid}`, header: { Authorization: 'Basic lfs-token', 'Transfer-Encoding': 'chunked' } }, verify: { href: 'https://gitlab.example.com/verify', header: { Authorization: 'Basic lfs-token' } } } },
            { oid: b.oid, size: b.size },
            { oid: c.oid, size: c.size, error: { code: 422, message: 'size is too large' } },
          ],
        });
      }
      return new Response(null, { status: 200 });
    });
    const result = await uploadLfsObjects({ repoHttpUrl: 'https://gitlab.example.com/acme/api.git', auth: { username: 'alice', password: 'glpat-secret' }, objects: [a, b, c], open, fetchImpl: server.fetchImpl });
    expect(result).toEqual({ uploaded: [a.oid], present: [b.oid], failed: [{ oid: c.oid, reason: expect.stringMatching(/422: size is too large/) }], bytes: a.size });
    const [batch, put, verify] = server.calls;
    expect(batch).toMatchObject({ method: 'POST', url: 'https://gitlab.example.com/acme/api.git/info/lfs/objects/batch' });
    expect(JSON.parse(batch!.body)).toMatchObject({ operation: 'upload', transfers: ['basic'] });
    expect(batch!.headers.Authorization).toBe(`Basic ${Buffer.from('alice:glpat-secret').toString('base64')}`);
    expect(put).toMatchObject({ method: 'PUT', url: `https://lfs.example.com/up/${a.oid}`, body: a.text });
    expect(put!.headers.Authorization).toBe('Basic lfs-token');
    expect(put!.headers).not.toHaveProperty('Transfer-Encoding');
    expect(verify).toMatchObject({ method: 'POST', url: 'https://gitlab.example.com/verify' });
    expect(JSON.parse(verify!.body)).toEqual({ oid: a.oid, size: a.size });
    expect(server.calls).toHaveLength(3);
  });

  it('retries an upload the server failed with a 503, reopening the content', async () => {
    let puts = 0;
    const server = fakeServer((call) => {
      if (call.url.endsWith('/batch')) return json(200, { objects: [{ oid: a.oid, size: a.size, actions: { upload: { href: `https://gitlab.example.com/up/${a.oid}` } } }] });
      return new Response(null, { status: ++puts === 1 ? 503 : 200, headers: { 'Retry-After': '0' } });
    });
    const result = await uploadLfsObjects({ repoHttpUrl: 'https://gitlab.example.com/acme/api', auth: null, objects: [a], open, fetchImpl: server.fetchImpl, baseDelayMs: 1 });
    expect(result.uploaded).toEqual([a.oid]);
    expect(server.calls.filter((c) => c.method === 'PUT').map((c) => c.body)).toEqual([a.text, a.text]);
  });

  it('throws when the batch endpoint refuses the whole repository', async () => {
    const server = fakeServer(() => json(403, { message: 'Access forbidden. Check your access level.' }));
    await expect(uploadLfsObjects({ repoHttpUrl: 'https://gitlab.example.com/acme/api.git', auth: null, objects: [a], open, fetchImpl: server.fetchImpl })).rejects.toMatchObject({
      code: 'GITLAB_FORBIDDEN',
      message: expect.stringMatching(/answered 403: Access forbidden/),
    });
  });

  it('reports an upload the server keeps refusing as failed, and goes on with the others', async () => {
    const server = fakeServer((call) => {
      if (call.url.endsWith('/batch')) return json(200, { objects: [a, b].map((o) => ({ oid: o.oid, size: o.size, actions: { upload: { href: `https://gitlab.example.com/up/${o.oid}` } } })) });
      return new Response('SHA256 or size mismatch', { status: call.url.endsWith(a.oid) ? 400 : 200 });
    });
    const result = await uploadLfsObjects({ repoHttpUrl: 'https://gitlab.example.com/acme/api.git', auth: null, objects: [a, b], open, fetchImpl: server.fetchImpl });
    expect(result.uploaded).toEqual([b.oid]);
    expect(result.failed).toEqual([{ oid: a.oid, reason: expect.stringMatching(/answered 400: SHA256 or size mismatch/) }]);
  });
});
