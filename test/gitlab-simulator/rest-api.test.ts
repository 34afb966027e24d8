import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessLevel, startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

describe('GitLab simulator REST API', () => {
  let sim: GitLabSimulator;
  let token: string;
  let aliceId: number;
  let outsiderToken: string;
  let groupId: number;
  let subgroupId: number;

  const get = (path: string, headers: Record<string, string> = { 'PRIVATE-TOKEN': token }) =>
    fetch(`${sim.url}/api/v4${path}`, { headers });

  beforeAll(async () => {
    sim = await startGitLabSimulator({ now: () => new Date('2026-03-01T10:00:00Z') });
    const alice = sim.createUser({ username: 'alice', name: 'Alice' });
    aliceId = alice.id;
    token = sim.createPersonalAccessToken(alice.id, { scopes: ['api'] }).token;
    const outsider = sim.createUser({ username: 'mallory' });
    outsiderToken = sim.createPersonalAccessToken(outsider.id, { scopes: ['read_api'] }).token;
    groupId = sim.createGroup({ path: 'acme', name: 'ACME', ownerId: alice.id }).id;
    subgroupId = sim.createGroup({ path: 'platform', parentId: groupId }).id;
    for (let i = 1; i <= 25; i++) {
      sim.createProject({ namespaceId: subgroupId, path: `svc-${String(i).padStart(2, '0')}`, withCommit: i <= 2 });
    }
    sim.createProject({ namespaceId: groupId, path: 'handbook', visibility: 'public', withCommit: false });
  });

  afterAll(async () => {
    await sim.close();
  });

  describe('offset pagination', () => {
    it('returns 20 items by default with x-total, x-total-pages and next/first/last links', async () => {
      const res = await get(`/groups/${subgroupId}/projects`);
      const body = (await res.json()) as unknown[];

      expect(body).toHaveLength(20);
      expect(res.headers.get('x-page')).toBe('1');
      expect(res.headers.get('x-per-page')).toBe('20');
      expect(res.headers.get('x-next-page')).toBe('2');
      expect(res.headers.get('x-prev-page')).toBe('');
      expect(res.headers.get('x-total')).toBe('25');
      expect(res.headers.get('x-total-pages')).toBe('2');
      const link = res.headers.get('link')!;
      expect(link).toContain('page=2&per_page=20>; rel="next"');
      expect(link).toContain('page=1&per_page=20>; rel="first"');
      expect(link).toContain('page=2&per_page=20>; rel="last"');
      expect(link).not.toContain('rel="prev"');
    });

    it('serves the last page with a prev link and an empty x-next-page', async () => {
      const res = await get(`/groups/${subgroupId}/projects?page=2`);

      expect(await res.json()).toHaveLength(5);
      expect(res.headers.get('x-next-page')).toBe('');
      expect(res.headers.get('x-prev-page')).toBe('1');
      expect(res.headers.get('link')).toContain('rel="prev"');
    });

    it('omits x-total, x-total-pages and rel="last" above 10,000 records', async () => {
      const project = sim.createProject({ namespaceId: groupId, path: 'many-labels', withCommit: false });
      for (let i = 0; i < 10_001; i++) {
        sim.state.labels.push({
          id: 100_000 + i,
          projectId: project.id,
          name: `label-${i}`,
          color: '#fff',
          description: null,
          priority: null,
        });
      }

      const res = await get(`/projects/${project.id}/labels?page=2`);

      expect(res.headers.get('x-total')).toBeNull();
      expect(res.headers.get('x-total-pages')).toBeNull();
      expect(res.headers.get('x-next-page')).toBe('3');
      expect(res.headers.get('link')).not.toContain('rel="last"');
      sim.deleteProject(project.id);
    });

    it('caps per_page at 100', async () => {
      const res = await get('/projects?per_page=500');

      expect(res.headers.get('x-per-page')).toBe('100');
      expect(await res.json()).toHaveLength(26);
    });
  });

  describe('keyset pagination', () => {
    it('links to the next page with id_after and sends no totals', async () => {
      const res = await get('/projects?pagination=keyset&order_by=id&sort=asc&per_page=10');
      const body = (await res.json()) as Array<{ id: number }>;

      expect(body.map((p) => p.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(res.headers.get('x-total')).toBeNull();
      expect(res.headers.get('link')).toMatch(
        /^<http:\/\/127\.0\.0\.1:\d+\/api\/v4\/projects\?.*id_after=10>; rel="next"$/,
      );
    });

    it('walks every project by following rel="next" until a page is empty', async () => {
      let url: string | null = `${sim.url}/api/v4/projects?pagination=keyset&order_by=id&sort=desc&per_page=7`;
      const seen: number[] = [];
      while (url) {
        const res: Response = await fetch(url, { headers: { 'PRIVATE-TOKEN': token } });
        seen.push(...((await res.json()) as Array<{ id: number }>).map((p) => p.id));
        url = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
      }

      expect(seen).toHaveLength(26);
      expect(seen[0]).toBe(26);
      expect(new Set(seen).size).toBe(26);
    });

    it('answers 405 for keyset pagination on an order GitLab does not support', async () => {
      const res = await get('/projects?pagination=keyset&order_by=name');

      expect(res.status).toBe(405);
      expect(await res.json()).toEqual({ error: 'Keyset pagination is not yet available for this type of request' });
    });
  });

  describe('paths as ids', () => {
    it('finds a group by its URL-encoded full path', async () => {
      const res = await get('/groups/acme%2Fplatform');

      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: subgroupId, full_path: 'acme/platform', parent_id: groupId });
    });

    it('finds a project by its URL-encoded path and describes its repository', async () => {
      const res = await get('/projects/acme%2Fplatform%2Fsvc-01?statistics=true');
      const project = (await res.json()) as Record<string, any>;

      expect(project).toMatchObject({
        path_with_namespace: 'acme/platform/svc-01',
        http_url_to_repo: `${sim.url}/acme/platform/svc-01.git`,
        default_branch: 'main',
        empty_repo: false,
        namespace: { id: subgroupId, kind: 'group', full_path: 'acme/platform', parent_id: groupId },
      });
      expect(project.statistics.repository_size).toBeGreaterThan(0);
      expect(project.statistics.commit_count).toBe(1);
    });

    it('reports an empty repository with the instance default branch', async () => {
      const project = (await (await get('/projects/acme%2Fhandbook')).json()) as Record<string, unknown>;

      expect(project).toMatchObject({ empty_repo: true, default_branch: 'main' });
    });

    it('resolves a namespace by full path', async () => {
      const res = await get('/namespaces/acme%2Fplatform');

      expect(await res.json()).toMatchObject({ id: subgroupId, kind: 'group', full_path: 'acme/platform' });
    });
  });

  describe('visibility', () => {
    it('shows a member the groups they inherit and hides them from outsiders', async () => {
      const mine = (await (await get('/groups')).json()) as Array<{ full_path: string }>;
      const theirs = (await (await get('/groups', { 'PRIVATE-TOKEN': outsiderToken })).json()) as unknown[];

      expect(mine.map((g) => g.full_path).sort()).toEqual(['acme', 'acme/platform']);
      expect(theirs).toEqual([]);
    });

    it('lets an outsider see only public projects', async () => {
      const projects = (await (await get('/projects', { 'PRIVATE-TOKEN': outsiderToken })).json()) as Array<{
        path: string;
      }>;

      expect(projects.map((p) => p.path)).toEqual(['handbook']);
    });

    it('grants a project member access through the group they are added to', async () => {
      const bob = sim.createUser({ username: 'bob' });
      const bobToken = sim.createPersonalAccessToken(bob.id, { scopes: ['read_api'] }).token;
      sim.addMember('group', subgroupId, bob.id, AccessLevel.REPORTER);

      const res = await get('/groups/acme%2Fplatform/projects?per_page=1&statistics=true', {
        'PRIVATE-TOKEN': bobToken,
      });
      const [project] = (await res.json()) as Array<Record<string, unknown>>;

      expect(res.headers.get('x-total')).toBe('25');
      expect(project.statistics).toBeDefined();
    });
  });

  describe('errors', () => {
    it('answers 401 with GitLab body when the token is unknown', async () => {
      const res = await get('/user', { 'PRIVATE-TOKEN': 'glpat-nope' });

      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ message: '401 Unauthorized' });
    });

    it('answers 401 invalid_token with WWW-Authenticate for an expired token', async () => {
      const expired = sim.createPersonalAccessToken(aliceId, { scopes: ['api'], expiresAt: '2026-02-01' }).token;

      const res = await get('/user', { 'PRIVATE-TOKEN': expired });

      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: 'invalid_token',
        error_description: 'Token is expired. You can either do re-authorization or token refresh.',
      });
      expect(res.headers.get('www-authenticate')).toContain('Bearer realm="The API", error="invalid_token"');
    });

    it('answers 401 invalid_token for a revoked token', async () => {
      const { id, token: revoked } = sim.createPersonalAccessToken(aliceId, { scopes: ['api'] });
      sim.revokePersonalAccessToken(id);

      const res = await get('/personal_access_tokens/self', { 'PRIVATE-TOKEN': revoked });

      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({
        error: 'invalid_token',
        error_description: 'Token was revoked. You have to re-authorize from the user.',
      });
    });

    it('answers 403 insufficient_scope when the token lacks read_api', async () => {
      const repoOnly = sim.createPersonalAccessToken(aliceId, { scopes: ['read_repository'] }).token;

      const res = await get('/projects', { 'PRIVATE-TOKEN': repoOnly });

      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({
        error: 'insufficient_scope',
        error_description: 'The request requires higher privileges than provided by the access token.',
        scope: 'api read_api',
      });
    });

    it('lets a read_user token read /user but not groups', async () => {
      const readUser = sim.createPersonalAccessToken(aliceId, { scopes: ['read_user'] }).token;

      expect((await get('/user', { 'PRIVATE-TOKEN': readUser })).status).toBe(200);
      expect((await get('/groups', { 'PRIVATE-TOKEN': readUser })).status).toBe(403);
    });

    it('answers 404 with the resource name for groups, projects and namespaces it cannot see', async () => {
      const hidden = { 'PRIVATE-TOKEN': outsiderToken };

      expect(await (await get('/groups/acme', hidden)).json()).toEqual({ message: '404 Group Not Found' });
      expect(await (await get('/projects/acme%2Fplatform%2Fsvc-01', hidden)).json()).toEqual({
        message: '404 Project Not Found',
      });
      expect(await (await get('/namespaces/acme', hidden)).json()).toEqual({ message: '404 Namespace Not Found' });
    });

    it('answers an unknown route with {"error":"404 Not Found"}', async () => {
      const res = await get('/projects/acme/platform');

      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: '404 Not Found' });
    });
  });

  describe('personal access token self', () => {
    it('describes the token that authenticates the request', async () => {
      const { id, token: pat } = sim.createPersonalAccessToken(aliceId, {
        name: 'backup',
        scopes: ['read_api', 'read_repository'],
        expiresAt: '2027-01-01',
      });

      const body = await (await get('/personal_access_tokens/self', { 'PRIVATE-TOKEN': pat })).json();

      expect(body).toMatchObject({
        id,
        name: 'backup',
        revoked: false,
        active: true,
        scopes: ['read_api', 'read_repository'],
        user_id: aliceId,
        expires_at: '2027-01-01',
      });
    });
  });

  describe('rate limiting', () => {
    it('reports RateLimit headers on ordinary responses', async () => {
      const res = await get('/user');

      expect(res.headers.get('ratelimit-limit')).toBe('2000');
      expect(Number(res.headers.get('ratelimit-remaining'))).toBeLessThan(2000);
    });

    it('answers 429 "Retry later" with Retry-After when a throttle is injected', async () => {
      sim.rateLimitNext(1, { retryAfterSeconds: 30 });

      const throttled = await get('/user');
      const after = await get('/user');

      expect(throttled.status).toBe(429);
      expect(await throttled.text()).toBe('Retry later\n');
      expect(throttled.headers.get('retry-after')).toBe('30');
      expect(throttled.headers.get('ratelimit-remaining')).toBe('0');
      expect(throttled.headers.get('ratelimit-resettime')).toMatch(/GMT$/);
      expect(after.status).toBe(200);
    });

    it('enforces a configured limit per user', async () => {
      const limited = await startGitLabSimulator({
        rateLimit: { limit: 2, periodSeconds: 60 },
        now: () => new Date('2026-03-01T10:00:10Z'),
      });
      try {
        const user = limited.createUser({ username: 'carol' });
        const pat = limited.createPersonalAccessToken(user.id, { scopes: ['api'] }).token;
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++)
          statuses.push((await fetch(`${limited.url}/api/v4/user`, { headers: { 'PRIVATE-TOKEN': pat } })).status);
        limited.advanceTime(60_000);
        statuses.push((await fetch(`${limited.url}/api/v4/user`, { headers: { 'PRIVATE-TOKEN': pat } })).status);

        expect(statuses).toEqual([200, 200, 429, 200]);
      } finally {
        await limited.close();
      }
    });
  });

  describe('fault injection', () => {
    it('fails the next matching request with the given status and then recovers', async () => {
      sim.failNext(1, { status: 502, pathPattern: /\/projects$/ });

      const failed = await get('/projects');
      const recovered = await get('/projects');

      expect(failed.status).toBe(502);
      expect(recovered.status).toBe(200);
    });

    it('records requests without tokens', () => {
      const last = sim.requests[sim.requests.length - 1];

      expect(last).toEqual({
        method: 'GET',
        path: '/api/v4/projects',
        query: {},
        status: 200,
        auth: 'pat',
        at: expect.any(Number),
        userAgent: expect.any(String), // the client's User-Agent, so a test can tell git's pushes from Labkeeper's
      });
      expect(JSON.stringify(sim.requests)).not.toContain(token);
    });
  });
});
