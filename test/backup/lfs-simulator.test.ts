import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessLevel, startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { issueOAuthToken } from '../support/gitlab-simulator/oauth-store.js';

/** The simulator's Git LFS endpoints answer as GitLab's LfsApiController and LfsStorageController do. */
let sim: GitLabSimulator;
let pat: string;
let apiOnlyPat: string;
let reporterPat: string;
let outsiderPat: string;
let oauth: string;
let appId: number;

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function batch(path: string, body: unknown, authorization?: string) {
  const res = await fetch(`${sim.url}/${path}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: {
      Accept: 'application/vnd.git-lfs+json',
      'Content-Type': 'application/vnd.git-lfs+json',
      ...(authorization ? { Authorization: authorization } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return { status: res.status, json, text, headers: res.headers };
}

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = sim.createUser({ username: 'alice', password: 'alice-password' });
  pat = sim.createPersonalAccessToken(alice.id, { scopes: ['read_repository'] }).token;
  apiOnlyPat = sim.createPersonalAccessToken(alice.id, { scopes: ['read_api'] }).token;
  oauth = issueOAuthToken(sim.state, { applicationId: null, userId: alice.id, scopes: ['api'] }).token;
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  appId = sim.createProject({ namespaceId: group.id, path: 'app' }).id;
  sim.createProject({ namespaceId: group.id, path: 'nolfs', lfsEnabled: false });
  sim.createProject({ namespaceId: group.id, path: 'open', visibility: 'public' });
  const rita = sim.createUser({ username: 'rita' });
  sim.addMember('group', group.id, rita.id, AccessLevel.REPORTER);
  reporterPat = sim.createPersonalAccessToken(rita.id, { scopes: ['api'] }).token;
  const olga = sim.createUser({ username: 'olga' });
  outsiderPat = sim.createPersonalAccessToken(olga.id, { scopes: ['api'] }).token;
});

afterAll(async () => {
  await sim.close();
});

describe('seeding', () => {
  it('pushLfsPointer stores the object and commits a spec pointer', async () => {
    const pushed = sim.pushLfsPointer(appId, { path: 'assets/logo.png', content: 'PNG bytes' });
    expect(pushed.oid).toBe(sha('PNG bytes'));
    expect(pushed.size).toBe(9);
    expect(sim.lfsObjects(appId)).toContainEqual({ oid: pushed.oid, size: 9 });
    const { execFileSync } = await import('node:child_process');
    const blob = execFileSync('git', ['cat-file', 'blob', `${pushed.commit}:assets/logo.png`], {
      cwd: sim.repoPath(appId),
      encoding: 'utf8',
    });
    expect(blob).toBe(`version https://git-lfs.github.com/spec/v1\noid sha256:${pushed.oid}\nsize 9\n`);
  });
});

describe('batch API', () => {
  it('offers a download action with an LFS token, and a per-object 404 for unknown objects', async () => {
    const { oid } = sim.addLfsObject(appId, 'hello lfs');
    const unknown = sha('nobody has this');
    const r = await batch(
      'acme/app',
      {
        operation: 'download',
        transfers: ['basic'],
        objects: [
          { oid, size: 9 },
          { oid: unknown, size: 3 },
        ],
      },
      basic('anything', pat),
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/vnd\.git-lfs\+json/);
    const [found, missing] = r.json.objects;
    expect(found.oid).toBe(oid);
    expect(found.actions.download.href).toBe(`${sim.url}/acme/app.git/gitlab-lfs/objects/${oid}`);
    expect(found.authenticated).toBeUndefined(); // only on public projects
    const authorization = found.actions.download.header.Authorization as string;
    const [user, token] = Buffer.from(authorization.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    expect(user).toBe('alice');
    expect(token).not.toBe(pat); // an LFS token, not our credentials
    expect(missing).toEqual({
      oid: unknown,
      size: 3,
      error: { code: 404, message: "Object does not exist on the server or you don't have permissions to access it" },
    });

    const download = await fetch(found.actions.download.href, { headers: { Authorization: authorization } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    expect(await download.text()).toBe('hello lfs');
    expect((await sim.untilRequestsTo(/gitlab-lfs\/objects/, 1)).at(-1)?.auth).toBe('lfs_token');
  });

  it('accepts OAuth tokens only as oauth2, PATs under any name, and refuses tokens without a repository scope', async () => {
    const { oid } = sim.addLfsObject(appId, 'auth check');
    const body = { operation: 'download', objects: [{ oid, size: 10 }] };
    expect((await batch('acme/app', body, basic('oauth2', oauth))).status).toBe(200);
    expect((await batch('acme/app', body, basic('alice', oauth))).status).toBe(401);
    expect((await batch('acme/app', body, basic('whoever', pat))).status).toBe(200);
    const refused = await batch('acme/app', body, basic('alice', apiOnlyPat));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Basic realm="GitLab"');
    const anonymous = await batch('acme/app', body);
    expect(anonymous.status).toBe(401);
  });

  it('answers 404 to outsiders of private projects and for an empty object list', async () => {
    const { oid } = sim.addLfsObject(appId, 'private');
    const outsider = await batch(
      'acme/app',
      { operation: 'download', objects: [{ oid, size: 7 }] },
      basic('olga', outsiderPat),
    );
    expect(outsider.status).toBe(404);
    expect(outsider.json).toEqual({ message: 'Not found.', documentation_url: `${sim.url}/help` });
    expect((await batch('acme/app', { operation: 'download', objects: [] }, basic('alice', pat))).status).toBe(404);
    expect(
      (await batch('acme/nothing', { operation: 'download', objects: [{ oid, size: 7 }] }, basic('alice', pat))).status,
    ).toBe(404);
  });

  it('answers 403 to readers when LFS is disabled on the project, 404 to outsiders', async () => {
    const body = { operation: 'download', objects: [{ oid: sha('x'), size: 1 }] };
    const reader = await batch('acme/nolfs', body, basic('alice', pat));
    expect(reader.status).toBe(403);
    expect(reader.json.message).toBe('Access forbidden. Check your access level.');
    expect((await batch('acme/nolfs', body, basic('olga', outsiderPat))).status).toBe(404);
  });

  it('lets anyone download from public projects, marking objects authenticated', async () => {
    const openId = sim.state.findProjectByFullPath('acme/open')!.id;
    const { oid } = sim.addLfsObject(openId, 'public bytes');
    const r = await batch('acme/open', { operation: 'download', objects: [{ oid, size: 12 }] });
    expect(r.status).toBe(200);
    expect(r.json.objects[0].authenticated).toBe(true);
    expect(r.json.objects[0].actions.download.header).toEqual({});
    expect(await (await fetch(r.json.objects[0].actions.download.href)).text()).toBe('public bytes');
    expect((await batch('acme/open', { operation: 'upload', objects: [{ oid, size: 12 }] })).status).toBe(401);
  });

  it('refuses an unknown operation like a missing permission', async () => {
    expect(
      (await batch('acme/app', { operation: 'delete', objects: [{ oid: sha('x'), size: 1 }] }, basic('alice', pat)))
        .status,
    ).toBe(403);
  });

  it('is throttled with Retry-After when told to', async () => {
    sim.rateLimitNext(1, { retryAfterSeconds: 7, pathPattern: /\/info\/lfs\/objects\/batch$/ });
    const r = await batch(
      'acme/app',
      { operation: 'download', objects: [{ oid: sha('x'), size: 1 }] },
      basic('alice', pat),
    );
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('7');
  });
});

describe('uploads', () => {
  it('hands out upload actions for new objects, verifies the PUT, then links the object', async () => {
    const content = 'uploaded through the API';
    const oid = sha(content);
    const writer = basic('oauth2', oauth);
    const first = await batch('acme/app', { operation: 'upload', objects: [{ oid, size: content.length }] }, writer);
    expect(first.status).toBe(200);
    const upload = first.json.objects[0].actions.upload;
    expect(upload.href).toBe(`${sim.url}/acme/app.git/gitlab-lfs/objects/${oid}/${content.length}`);
    const bad = await fetch(upload.href, {
      method: 'PUT',
      headers: { Authorization: upload.header.Authorization },
      body: 'something else entirely',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('SHA256 or size mismatch');
    const good = await fetch(upload.href, {
      method: 'PUT',
      headers: { Authorization: upload.header.Authorization, 'Content-Type': 'application/octet-stream' },
      body: content,
    });
    expect(good.status).toBe(200);
    expect(sim.lfsObjects(appId)).toContainEqual({ oid, size: content.length });
    const again = await batch('acme/app', { operation: 'upload', objects: [{ oid, size: content.length }] }, writer);
    expect(again.json.objects[0]).toEqual({ oid, size: content.length });
  });

  it('needs Developer and a token that may push', async () => {
    const body = { operation: 'upload', objects: [{ oid: sha('nope'), size: 4 }] };
    expect((await batch('acme/app', body, basic('rita', reporterPat))).status).toBe(403);
    expect((await batch('acme/app', body, basic('alice', pat))).status).toBe(403); // read_repository only
  });
});

describe('storage endpoint', () => {
  it('serves objects to readers, 404s a lost file the batch API still offers, and challenges anonymous callers', async () => {
    const { oid } = sim.addLfsObject(appId, 'soon lost');
    const href = `${sim.url}/acme/app.git/gitlab-lfs/objects/${oid}`;
    expect((await fetch(href)).status).toBe(401);
    expect((await fetch(href, { headers: { Authorization: basic('alice', pat) } })).status).toBe(200);
    sim.removeLfsObjectFile(oid);
    const offered = await batch(
      'acme/app',
      { operation: 'download', objects: [{ oid, size: 9 }] },
      basic('alice', pat),
    );
    expect(offered.json.objects[0].actions).toBeDefined();
    const gone = await fetch(href, { headers: { Authorization: basic('alice', pat) } });
    expect(gone.status).toBe(404);
    expect((await gone.json()).message).toBe('Not found.');
  });

  it('serves corrupted bytes as they are', async () => {
    const { oid } = sim.addLfsObject(appId, 'pristine');
    sim.corruptLfsObject(oid);
    const body = Buffer.from(
      await (
        await fetch(`${sim.url}/acme/app.git/gitlab-lfs/objects/${oid}`, {
          headers: { Authorization: basic('alice', pat) },
        })
      ).arrayBuffer(),
    );
    expect(body.length).toBe(8);
    expect(createHash('sha256').update(body).digest('hex')).not.toBe(oid);
  });

  it('LFS tokens expire after two hours', async () => {
    const { oid } = sim.addLfsObject(appId, 'ttl');
    const r = await batch('acme/app', { operation: 'download', objects: [{ oid, size: 3 }] }, basic('alice', pat));
    const { href, header } = r.json.objects[0].actions.download;
    expect((await fetch(href, { headers: header })).status).toBe(200);
    sim.advanceTime(2 * 60 * 60 * 1000 + 1000);
    expect((await fetch(href, { headers: header })).status).toBe(401);
  });

  it('with object storage and no proxy download, hands out pre-signed URLs that refuse a second auth mechanism', async () => {
    const { oid } = sim.addLfsObject(appId, 'in the bucket');
    sim.setLfsObjectStorage({ proxyDownload: false });
    try {
      const r = await batch('acme/app', { operation: 'download', objects: [{ oid, size: 13 }] }, basic('alice', pat));
      const action = r.json.objects[0].actions.download;
      expect(action.header).toBeUndefined();
      expect(action.href).toMatch(/X-Amz-Signature=/);
      expect((await fetch(action.href, { headers: { Authorization: basic('alice', pat) } })).status).toBe(400);
      expect(await (await fetch(action.href)).text()).toBe('in the bucket');
      sim.advanceTime(3600 * 1000 + 1000);
      expect((await fetch(action.href)).status).toBe(403);
    } finally {
      sim.setLfsObjectStorage({ proxyDownload: true });
    }
  });
});
