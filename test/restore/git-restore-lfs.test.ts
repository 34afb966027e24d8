import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import { GitLabHttp } from '../../server/src/gitlab/gitlab-http.js';
import { uploadLfsObjects } from '../../server/src/restore/lfs-upload.js';
import {
  startScriptedServer,
  type RecordedRequest,
  type ScriptedAnswer,
  type ScriptedServer,
} from '../gitlab/scripted-server.js';

/** LFS uploads against a scripted batch endpoint: what is sent, verified, retried and reported. */
const content = (text: string) => ({
  text,
  oid: createHash('sha256').update(text).digest('hex'),
  size: Buffer.byteLength(text),
});
const a = content('first object');
const b = content('second object');
const c = content('third object');

const http = new GitLabHttp({ baseDelayMs: 1, maxDelayMs: 5 });
const json = (status: number, value: unknown): ScriptedAnswer => ({
  status,
  json: value,
  headers: { 'content-type': 'application/vnd.git-lfs+json' },
});
const open = async (oid: string) => Readable.from([Buffer.from([a, b, c].find((o) => o.oid === oid)!.text)]);

let server: ScriptedServer | null = null;
/** A scripted GitLab whose answers may name its own URL (`base`). */
async function scripted(answer: (request: RecordedRequest, base: string) => ScriptedAnswer) {
  let base = '';
  server = await startScriptedServer((request) => answer(request, base));
  base = server.url;
  return server;
}
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('Uploading LFS objects', () => {
  it('sends only what the server lacks, with the action’s headers instead of our credentials, and calls the verify action', async () => {
    const gitlab = await scripted((request, base) => {
      if (request.url.pathname.endsWith('/info/lfs/objects/batch')) {
        return json(200, {
          objects: [
            {
              oid: a.oid,
              size: a.size,
              actions: {
                upload: {
                  href: `${base}/up/${a.oid}`,
                  header: { Authorization: 'Basic lfs-token', 'Transfer-Encoding': 'chunked' },
                },
                verify: { href: `${base}/verify`, header: { Authorization: 'Basic lfs-token' } },
              },
            },
            { oid: b.oid, size: b.size },
            { oid: c.oid, size: c.size, error: { code: 422, message: 'size is too large' } },
          ],
        });
      }
      return { status: 200 };
    });
    const result = await uploadLfsObjects({
      repoHttpUrl: `${gitlab.url}/acme/api.git`,
      auth: { username: 'alice', password: 'glpat-secret' },
      objects: [a, b, c],
      open,
      http,
    });
    expect(result).toEqual({
      uploaded: [a.oid],
      present: [b.oid],
      failed: [{ oid: c.oid, reason: expect.stringMatching(/422: size is too large/) }],
      bytes: a.size,
    });
    const [batch, put, verify] = gitlab.requests;
    expect(batch).toMatchObject({
      method: 'POST',
      url: expect.objectContaining({ pathname: '/acme/api.git/info/lfs/objects/batch' }),
    });
    expect(JSON.parse(batch.body)).toMatchObject({ operation: 'upload', transfers: ['basic'] });
    expect(batch.headers.authorization).toBe(`Basic ${Buffer.from('alice:glpat-secret').toString('base64')}`);
    expect(put).toMatchObject({
      method: 'PUT',
      url: expect.objectContaining({ pathname: `/up/${a.oid}` }),
      body: a.text,
    });
    expect(put.headers.authorization).toBe('Basic lfs-token');
    expect(put.headers).not.toHaveProperty('transfer-encoding');
    expect(put.headers['content-length']).toBe(String(a.size));
    expect(verify).toMatchObject({ method: 'POST', url: expect.objectContaining({ pathname: '/verify' }) });
    expect(JSON.parse(verify.body)).toEqual({ oid: a.oid, size: a.size });
    expect(gitlab.requests).toHaveLength(3);
  });

  it('retries an upload the server failed with a 503, reopening the content', async () => {
    let puts = 0;
    const gitlab = await scripted((request, base) => {
      if (request.url.pathname.endsWith('/batch'))
        return json(200, {
          objects: [{ oid: a.oid, size: a.size, actions: { upload: { href: `${base}/up/${a.oid}` } } }],
        });
      return { status: ++puts === 1 ? 503 : 200, headers: { 'Retry-After': '0' } };
    });
    const result = await uploadLfsObjects({
      repoHttpUrl: `${gitlab.url}/acme/api`,
      auth: null,
      objects: [a],
      open,
      http,
    });
    expect(result.uploaded).toEqual([a.oid]);
    expect(gitlab.requests.filter((r) => r.method === 'PUT').map((r) => r.body)).toEqual([a.text, a.text]);
  });

  it('throws when the batch endpoint refuses the whole repository', async () => {
    const gitlab = await scripted(() => json(403, { message: 'Access forbidden. Check your access level.' }));
    await expect(
      uploadLfsObjects({ repoHttpUrl: `${gitlab.url}/acme/api.git`, auth: null, objects: [a], open, http }),
    ).rejects.toMatchObject({
      code: 'GITLAB_FORBIDDEN',
      message: expect.stringMatching(/answered 403: Access forbidden/),
    });
  });

  it('reports an upload the server keeps refusing as failed, and goes on with the others', async () => {
    const gitlab = await scripted((request, base) => {
      if (request.url.pathname.endsWith('/batch'))
        return json(200, {
          objects: [a, b].map((o) => ({
            oid: o.oid,
            size: o.size,
            actions: { upload: { href: `${base}/up/${o.oid}` } },
          })),
        });
      return { status: request.url.pathname.endsWith(a.oid) ? 400 : 200, text: 'SHA256 or size mismatch' };
    });
    const result = await uploadLfsObjects({
      repoHttpUrl: `${gitlab.url}/acme/api.git`,
      auth: null,
      objects: [a, b],
      open,
      http,
    });
    expect(result.uploaded).toEqual([b.oid]);
    expect(result.failed).toEqual([
      { oid: a.oid, reason: expect.stringMatching(/answered 400: SHA256 or size mismatch/) },
    ]);
  });
});
