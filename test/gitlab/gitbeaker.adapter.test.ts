import { afterEach, describe, expect, it } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import {
  GitbeakerClientFactory,
  type GitbeakerClientFactoryOptions,
} from '../../server/src/gitlab/gitbeaker.adapter.js';
import type { GitLabAccess } from '../../server/src/gitlab/gitlab.port.js';
import type { RetryEvent } from '../../server/src/gitlab/retry-policy.js';
import { DomainError } from '../../server/src/shared/errors.js';
import {
  aGroupPayload,
  aNamespacePayload,
  aPersonalAccessTokenPayload,
  aProjectPayload,
  aUserPayload,
} from './gitlab-payloads.js';
import { byRoute, inOrder, startScriptedServer, type Script, type ScriptedServer } from './scripted-server.js';

const TOKEN = 'glpat-SECRETSECRETSECRET';

const leftovers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (leftovers.length) await leftovers.pop()!();
});

async function serve(script: Script): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  leftovers.push(() => server.close());
  return server;
}

function clientFor(
  server: ScriptedServer,
  options: GitbeakerClientFactoryOptions = {},
  access: Partial<GitLabAccess> = {},
) {
  const factory = new GitbeakerClientFactory({ baseDelayMs: 1, maxDelayMs: 5, ...options });
  leftovers.push(() => factory.close());
  return factory.create({ instanceUrl: server.url, token: TOKEN, tokenType: 'personal', ...access });
}

async function failureOf(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a rejection');
}

/** Serves `items` as GitLab does: offset pages with x-* headers and a Link to the next page. */
function paginated(items: unknown[]): Script {
  return (request) => {
    const perPage = Math.min(Number(request.url.searchParams.get('per_page') ?? 20), 100);
    const page = Number(request.url.searchParams.get('page') ?? 1);
    const totalPages = Math.max(1, Math.ceil(items.length / perPage));
    const headers: Record<string, string> = {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
    };
    if (page < totalPages) {
      const next = new URL(request.url.pathname + request.url.search, `http://${request.headers.host}`);
      next.searchParams.set('page', String(page + 1));
      headers['x-next-page'] = String(page + 1);
      headers.link = `<${next.toString()}>; rel="next"`;
    }
    return { headers, json: items.slice((page - 1) * perPage, page * perPage) };
  };
}

describe('GitbeakerClientFactory', () => {
  describe('mapping GitLab payloads', () => {
    it('maps the current user from snake_case to the port type', async () => {
      const server = await serve(byRoute({ 'GET /api/v4/user': { json: aUserPayload() } }));

      const user = await clientFor(server).currentUser();

      expect(user).toEqual({
        id: 7,
        username: 'ada',
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        webUrl: 'https://gitlab.example.com/ada',
        avatarUrl: 'https://gitlab.example.com/uploads/-/system/user/avatar/7/avatar.png',
      });
    });

    it('maps the personal access token from /personal_access_tokens/self', async () => {
      const server = await serve(
        byRoute({ 'GET /api/v4/personal_access_tokens/self': { json: aPersonalAccessTokenPayload() } }),
      );

      const token = await clientFor(server).personalAccessTokenSelf();

      expect(token).toEqual({
        id: 42,
        name: 'labkeeper',
        scopes: ['read_api', 'read_repository'],
        active: true,
        revoked: false,
        expiresAt: '2026-06-30',
        userId: 7,
      });
    });

    it('maps a group and asks GitLab to leave its projects out', async () => {
      const server = await serve(byRoute({ 'GET /api/v4/groups/100': { json: aGroupPayload({ description: '' }) } }));

      const group = await clientFor(server).getGroup(100);

      expect(group).toEqual({
        id: 100,
        name: 'Acme',
        path: 'acme',
        fullPath: 'acme',
        parentId: null,
        visibility: 'private',
        description: null,
        webUrl: 'https://gitlab.example.com/groups/acme',
      });
      expect(server.requests[0].url.searchParams.get('with_projects')).toBe('false');
    });

    it('maps a project with its namespace and statistics', async () => {
      const server = await serve(byRoute({ 'GET /api/v4/groups/100/projects': { json: [aProjectPayload(5)] } }));

      const [project] = await clientFor(server).listGroupProjects(100);

      expect(project).toEqual({
        id: 5,
        name: 'Service 5',
        path: 'service-5',
        pathWithNamespace: 'acme/service-5',
        namespaceId: 100,
        namespaceFullPath: 'acme',
        httpUrlToRepo: 'https://gitlab.example.com/acme/service-5.git',
        sshUrlToRepo: 'git@gitlab.example.com:acme/service-5.git',
        webUrl: 'https://gitlab.example.com/acme/service-5',
        defaultBranch: 'main',
        visibility: 'private',
        archived: false,
        emptyRepo: false,
        lastActivityAt: '2025-05-06T07:08:09.000Z',
        wikiEnabled: true,
        lfsEnabled: true,
        statistics: { repositorySize: 1_500_000, wikiSize: 10_000, lfsObjectsSize: 400_000, storageSize: 2_000_000 },
      });
    });

    it('reads wiki_access_level when GitLab no longer sends wiki_enabled', async () => {
      const payload = aProjectPayload(5, {
        wiki_enabled: undefined,
        wiki_access_level: 'disabled',
        statistics: undefined,
      });
      const server = await serve(byRoute({ 'GET /api/v4/groups/100/projects': { json: [payload] } }));

      const [project] = await clientFor(server).listGroupProjects(100);

      expect(project.wikiEnabled).toBe(false);
      expect(project.statistics).toBeNull();
    });

    it('rejects a payload that lacks a documented field with GITLAB_BAD_RESPONSE naming it', async () => {
      const server = await serve(
        byRoute({ 'GET /api/v4/groups/100/projects': { json: [aProjectPayload(5, { http_url_to_repo: null })] } }),
      );

      const error = await failureOf(clientFor(server).listGroupProjects(100));

      expect(error.code).toBe('GITLAB_BAD_RESPONSE');
      expect(error.message).toContain('project[0].http_url_to_repo');
    });

    it('decodes a gzip-compressed answer', async () => {
      const server = await serve(
        byRoute({
          'GET /api/v4/user': {
            headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
            raw: gzipSync(JSON.stringify(aUserPayload())),
          },
        }),
      );

      const user = await clientFor(server).currentUser();

      expect(user.username).toBe('ada');
      expect(server.requests[0].headers['accept-encoding']).toContain('gzip');
    });

    it('rejects an answer that is not JSON with GITLAB_BAD_RESPONSE', async () => {
      const server = await serve(
        byRoute({ 'GET /api/v4/user': { headers: { 'content-type': 'application/json' }, text: '<html>' } }),
      );

      const error = await failureOf(clientFor(server).currentUser());

      expect(error.code).toBe('GITLAB_BAD_RESPONSE');
    });

    it('refuses to follow a redirect and says which address to use instead', async () => {
      const server = await serve(
        inOrder({ status: 301, headers: { location: 'https://gitlab.example.com/api/v4/user' } }),
      );

      const error = await failureOf(clientFor(server).currentUser());

      expect(error.code).toBe('GITLAB_BAD_RESPONSE');
      expect(error.message).toContain('https://gitlab.example.com/api/v4/user');
      expect(server.requests).toHaveLength(1);
    });

    it('looks a namespace up by its URL-encoded full path', async () => {
      const server = await serve(
        byRoute({
          'GET /api/v4/namespaces/acme%2Fplatform': {
            json: aNamespacePayload({
              id: 101,
              kind: 'group',
              name: 'Platform',
              path: 'platform',
              full_path: 'acme/platform',
              parent_id: 100,
            }),
          },
        }),
      );

      const namespace = await clientFor(server).getNamespace('acme/platform');

      expect(namespace).toMatchObject({ id: 101, kind: 'group', fullPath: 'acme/platform', parentId: 100 });
    });
  });

  describe('authenticating', () => {
    it('sends a personal access token as PRIVATE-TOKEN', async () => {
      const server = await serve(byRoute({ 'GET /api/v4/user': { json: aUserPayload() } }));

      await clientFor(server).currentUser();

      expect(server.requests[0].headers['private-token']).toBe(TOKEN);
      expect(server.requests[0].headers.authorization).toBeUndefined();
    });

    it('sends an OAuth token as a Bearer authorization', async () => {
      const server = await serve(byRoute({ 'GET /api/v4/user': { json: aUserPayload() } }));

      await clientFor(server, {}, { token: 'oauth-access', tokenType: 'oauth' }).currentUser();

      expect(server.requests[0].headers.authorization).toBe('Bearer oauth-access');
      expect(server.requests[0].headers['private-token']).toBeUndefined();
    });

    it('keeps a relative URL root of the instance', async () => {
      const server = await serve(byRoute({ 'GET /gitlab/api/v4/user': { json: aUserPayload() } }));

      const user = await clientFor(server, {}, { instanceUrl: `${server.url}/gitlab/` }).currentUser();

      expect(user.username).toBe('ada');
    });
  });

  describe('listing every page', () => {
    it('lists all 250 projects of a group over three pages of 100 and reports progress per page', async () => {
      const projects = Array.from({ length: 250 }, (_, i) => aProjectPayload(i + 1));
      const server = await serve(byRoute({ 'GET /api/v4/groups/100/projects': paginated(projects) }));
      const progress: Array<[number, number | null]> = [];

      const listed = await clientFor(server).listGroupProjects(100, (fetched, total) =>
        progress.push([fetched, total]),
      );

      expect(listed.map((p) => p.id)).toEqual(projects.map((p) => p.id));
      expect(progress).toEqual([
        [100, 250],
        [200, 250],
        [250, 250],
      ]);
      expect(server.requests.map((r) => r.url.searchParams.get('per_page'))).toEqual(['100', '100', '100']);
      const first = server.requests[0].url.searchParams;
      expect(first.get('include_subgroups')).toBe('true');
      expect(first.get('with_shared')).toBe('false');
      expect(first.get('statistics')).toBe('true');
      expect(first.get('order_by')).toBe('id');
      expect(first.has('archived')).toBe(false);
    });

    it('reports a null total when GitLab omits x-total', async () => {
      const server = await serve(
        byRoute({ 'GET /api/v4/groups/100/descendant_groups': { json: [aGroupPayload({ id: 101, parent_id: 100 })] } }),
      );
      const progress: Array<[number, number | null]> = [];

      const groups = await clientFor(server).listDescendantGroups(100, (fetched, total) =>
        progress.push([fetched, total]),
      );

      expect(groups).toHaveLength(1);
      expect(progress).toEqual([[1, null]]);
    });

    it('lists the user namespace first, then the top-level groups the user is a member of', async () => {
      const groups = Array.from({ length: 130 }, (_, i) =>
        aGroupPayload({ id: 200 + i, path: `g${i}`, full_path: `g${i}`, name: `G${i}` }),
      );
      const server = await serve(
        byRoute({
          'GET /api/v4/user': { json: aUserPayload() },
          'GET /api/v4/namespaces/ada': { json: aNamespacePayload() },
          'GET /api/v4/groups': paginated(groups),
        }),
      );

      const namespaces = await clientFor(server).listTopLevelNamespaces();

      expect(namespaces[0]).toEqual({
        id: 9,
        kind: 'user',
        name: 'Ada Lovelace',
        path: 'ada',
        fullPath: 'ada',
        parentId: null,
        webUrl: 'https://gitlab.example.com/ada',
      });
      expect(namespaces.slice(1).map((n) => n.id)).toEqual(groups.map((g) => g.id));
      const query = server.requests.find((r) => r.url.pathname === '/api/v4/groups')!.url.searchParams;
      expect(query.get('top_level_only')).toBe('true');
      expect(query.get('min_access_level')).toBe('10');
    });

    it('lists again without statistics when GitLab forbids them', async () => {
      const server = await serve(
        byRoute({
          'GET /api/v4/users/7/projects': (request) =>
            request.url.searchParams.get('statistics') === 'true'
              ? { status: 403, json: { message: '403 Forbidden' } }
              : { json: [aProjectPayload(1, { statistics: undefined })] },
        }),
      );

      const projects = await clientFor(server).listUserProjects(7);

      expect(projects.map((p) => p.statistics)).toEqual([null]);
      expect(server.requests).toHaveLength(2);
    });
  });

  describe('retrying', () => {
    it('waits the seconds of Retry-After before retrying a 429', async () => {
      const server = await serve(
        inOrder(
          { status: 429, headers: { 'retry-after': '1' }, json: { message: 'Retry later' } },
          { json: aUserPayload() },
        ),
      );
      const requestedDelays: number[] = [];
      const sleep = (ms: number) => {
        requestedDelays.push(ms);
        return new Promise<void>((resolve) => setTimeout(resolve, ms));
      };

      const user = await clientFor(server, { sleep }).currentUser();

      expect(user.username).toBe('ada');
      expect(requestedDelays).toEqual([1000]);
      expect(server.requests).toHaveLength(2);
      expect(server.requests[1].at - server.requests[0].at).toBeGreaterThanOrEqual(995);
    });

    it('waits until the HTTP date of Retry-After', async () => {
      const now = Date.parse('2026-01-01T00:00:00Z');
      const server = await serve(
        inOrder({ status: 429, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' } }, { json: aUserPayload() }),
      );
      const events: RetryEvent[] = [];

      await clientFor(server, { now: () => now, sleep: async () => {}, onRetry: (e) => events.push(e) }).currentUser();

      expect(events).toEqual([expect.objectContaining({ reason: 'rate_limited', status: 429, delayMs: 30_000 })]);
    });

    it('gives up at once with GITLAB_RATE_LIMITED when Retry-After exceeds the wait budget', async () => {
      const server = await serve(
        inOrder({ status: 429, headers: { 'retry-after': '3600' }, json: { message: 'Retry later' } }),
      );

      const error = await failureOf(clientFor(server, { maxTotalWaitMs: 60_000 }).currentUser());

      expect(error.code).toBe('GITLAB_RATE_LIMITED');
      expect(error.retryable).toBe(true);
      expect(server.requests).toHaveLength(1);
    });

    it('retries a 502 with backoff and then succeeds', async () => {
      const server = await serve(
        inOrder({ status: 502, text: 'Bad Gateway' }, { status: 502, text: 'Bad Gateway' }, { json: aUserPayload() }),
      );
      const events: RetryEvent[] = [];

      const user = await clientFor(server, { onRetry: (e) => events.push(e) }).currentUser();

      expect(user.username).toBe('ada');
      expect(events.map((e) => [e.attempt, e.reason, e.status])).toEqual([
        [1, 'unavailable', 502],
        [2, 'unavailable', 502],
      ]);
    });

    it('rejects with a retryable GITLAB_UNAVAILABLE after maxAttempts of 503', async () => {
      const server = await serve(inOrder({ status: 503, json: { message: 'maintenance' } }));

      const error = await failureOf(clientFor(server, { maxAttempts: 3 }).currentUser());

      expect(error.code).toBe('GITLAB_UNAVAILABLE');
      expect(error.retryable).toBe(true);
      expect(error.details).toMatchObject({ status: 503, attempts: 3 });
      expect(server.requests).toHaveLength(3);
    });

    it('retries a page of a listing without starting the listing over', async () => {
      const projects = Array.from({ length: 150 }, (_, i) => aProjectPayload(i + 1));
      const pages = paginated(projects);
      let failedOnce = false;
      const server = await serve(
        byRoute({
          'GET /api/v4/groups/100/projects': (request) => {
            if (request.url.searchParams.get('page') === '2' && !failedOnce) {
              failedOnce = true;
              return { status: 500, json: { message: '500 Internal Server Error' } };
            }
            return pages(request);
          },
        }),
      );

      const listed = await clientFor(server).listGroupProjects(100);

      expect(listed).toHaveLength(150);
      expect(server.requests.map((r) => r.url.searchParams.get('page') ?? '1')).toEqual(['1', '2', '2']);
    });

    it('retries a connection reset', async () => {
      const server = await serve(inOrder({ action: 'reset' }, { json: aUserPayload() }));

      const user = await clientFor(server).currentUser();

      expect(user.username).toBe('ada');
      expect(server.requests).toHaveLength(2);
    });

    it('gives each attempt its own deadline and reports a timeout as retryable GITLAB_UNAVAILABLE', async () => {
      const server = await serve(inOrder({ action: 'hang' }));

      const error = await failureOf(clientFor(server, { requestTimeoutMs: 100, maxAttempts: 2 }).currentUser());

      expect(error.code).toBe('GITLAB_UNAVAILABLE');
      expect(error.retryable).toBe(true);
      expect(error.details).toMatchObject({ timeout: true, attempts: 2 });
      expect(server.requests).toHaveLength(2);
    });

    it('does not retry a 404', async () => {
      const server = await serve(inOrder({ status: 404, json: { message: '404 Group Not Found' } }));

      const error = await failureOf(clientFor(server).getGroup(999));

      expect(error.code).toBe('GITLAB_NOT_FOUND');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('404 Group Not Found');
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('translating refusals', () => {
    it.each([
      ['Token is expired. You can either do re-authorization or token refresh.', 'expired'],
      ['Token has expired.', 'expired'],
      ['Token was revoked. You have to re-authorize from the user.', 'revoked'],
      ['Bad Access Token.', 'invalid'],
    ])('reads the 401 description "%s" as reason %s', async (description, reason) => {
      const server = await serve(
        inOrder({ status: 401, json: { error: 'invalid_token', error_description: description } }),
      );

      const error = await failureOf(clientFor(server).currentUser());

      expect(error.code).toBe('GITLAB_UNAUTHORIZED');
      expect(error.retryable).toBe(false);
      expect(error.details).toMatchObject({ status: 401, reason });
    });

    it('reads a plain 401 Unauthorized as an invalid token', async () => {
      const server = await serve(inOrder({ status: 401, json: { message: '401 Unauthorized' } }));

      const error = await failureOf(clientFor(server).currentUser());

      expect(error.details).toMatchObject({ reason: 'invalid' });
    });

    it('turns insufficient_scope into GITLAB_FORBIDDEN with the scopes GitLab requires', async () => {
      const server = await serve(
        inOrder({
          status: 403,
          json: {
            error: 'insufficient_scope',
            error_description: 'The request requires higher privileges than provided by the access token.',
            scope: 'api read_api',
          },
        }),
      );

      const error = await failureOf(clientFor(server).listGroupProjects(100));

      expect(error.code).toBe('GITLAB_FORBIDDEN');
      expect(error.details).toMatchObject({ requiredScopes: ['api', 'read_api'] });
      expect(server.requests).toHaveLength(1);
    });

    it('never puts the token into a message or details', async () => {
      const server = await serve(inOrder({ status: 401, json: { message: '401 Unauthorized' } }));

      const error = await failureOf(clientFor(server).currentUser());

      expect(error.message).not.toContain(TOKEN);
      expect(JSON.stringify(error.details)).not.toContain(TOKEN);
      expect(error.message).toContain('/api/v4/user');
    });
  });
});
