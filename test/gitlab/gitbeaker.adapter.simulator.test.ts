import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  GitbeakerClientFactory,
  type GitbeakerClientFactoryOptions,
} from '../../server/src/gitlab/gitbeaker.adapter.js';
import type { GitLabClient } from '../../server/src/gitlab/gitlab.port.js';
import { DomainError } from '../../server/src/shared/errors.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

/**
 * The adapter against the GitLab simulator (test/support/gitlab-simulator): a user who owns
 * `acme` with two levels of subgroups holding 105 projects, plus a group the user is not in.
 */
describe('GitbeakerClientFactory against the GitLab simulator', () => {
  let gitlab: GitLabSimulator;
  const factories: GitbeakerClientFactory[] = [];
  let ada: { id: number; namespaceId: number };
  let token: string;
  let acme: { id: number };
  let platform: { id: number };
  let infra: { id: number };
  const projectCount = 105;

  function client(personalToken = token, options: GitbeakerClientFactoryOptions = {}): GitLabClient {
    const factory = new GitbeakerClientFactory({ baseDelayMs: 1, maxDelayMs: 5, ...options });
    factories.push(factory);
    return factory.create({ instanceUrl: gitlab.url, token: personalToken, tokenType: 'personal' });
  }

  async function failureOf(promise: Promise<unknown>): Promise<DomainError> {
    const error = await promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }

  beforeAll(async () => {
    gitlab = await startGitLabSimulator({ rateLimit: null });
    const user = gitlab.createUser({ username: 'ada', name: 'Ada Lovelace', email: 'ada@example.com' });
    ada = { id: user.id, namespaceId: gitlab.userNamespaceId(user.id) };
    token = gitlab.createPersonalAccessToken(user.id, {
      name: 'labkeeper',
      scopes: ['read_api'],
      expiresAt: '2099-12-31',
    }).token;
    acme = gitlab.createGroup({ path: 'acme', name: 'Acme', ownerId: user.id, description: 'Everything Acme builds' });
    platform = gitlab.createGroup({ path: 'platform', name: 'Platform', parentId: acme.id });
    infra = gitlab.createGroup({ path: 'infra', name: 'Infra', parentId: platform.id });
    const other = gitlab.createGroup({ path: 'elsewhere' });
    const homes = [acme.id, platform.id, infra.id];
    for (let i = 0; i < projectCount; i += 1) {
      // No commit and no wiki repository: each bare repository costs a git process.
      gitlab.createProject({
        namespaceId: homes[i % 3],
        path: `service-${i}`,
        withCommit: false,
        wikiEnabled: false,
        archived: i === 7,
      });
    }
    gitlab.createProject({ namespaceId: other.id, path: 'not-ours', withCommit: false, wikiEnabled: false });
    gitlab.createProject({ namespaceId: ada.namespaceId, path: 'dotfiles', withCommit: true });
  });

  afterAll(async () => {
    for (const factory of factories) factory.close();
    await gitlab.close();
  });

  describe('reading', () => {
    it('maps the current user', async () => {
      const user = await client().currentUser();

      expect(user).toMatchObject({ id: ada.id, username: 'ada', name: 'Ada Lovelace', email: 'ada@example.com' });
      expect(user.webUrl).toBe(`${gitlab.url}/ada`);
    });

    it('maps the personal access token', async () => {
      const pat = await client().personalAccessTokenSelf();

      expect(pat).toMatchObject({
        name: 'labkeeper',
        scopes: ['read_api'],
        active: true,
        revoked: false,
        expiresAt: '2099-12-31',
        userId: ada.id,
      });
    });

    it('maps a subgroup by id and by full path', async () => {
      const group = await client().getGroup(infra.id);
      const namespace = await client().getNamespace('acme/platform/infra');

      expect(group).toMatchObject({
        id: infra.id,
        fullPath: 'acme/platform/infra',
        parentId: platform.id,
        visibility: 'private',
      });
      expect(namespace).toMatchObject({
        id: infra.id,
        kind: 'group',
        fullPath: 'acme/platform/infra',
        parentId: platform.id,
      });
    });

    it('lists the user namespace and only the top-level groups the user belongs to', async () => {
      const namespaces = await client().listTopLevelNamespaces();

      expect(namespaces.map((n) => [n.kind, n.fullPath])).toEqual([
        ['user', 'ada'],
        ['group', 'acme'],
      ]);
      expect(namespaces[0].id).toBe(ada.namespaceId);
    });

    it('lists every descendant group at any depth', async () => {
      const groups = await client().listDescendantGroups(acme.id);

      expect(groups.map((g) => g.fullPath).sort()).toEqual(['acme/platform', 'acme/platform/infra']);
    });

    it('lists the user’s own projects', async () => {
      const projects = await client().listUserProjects(ada.id);

      expect(projects.map((p) => p.pathWithNamespace)).toEqual(['ada/dotfiles']);
      expect(projects[0]).toMatchObject({ defaultBranch: 'main', emptyRepo: false, namespaceId: ada.namespaceId });
    });
  });

  describe('listing a group with nested subgroups and more than 100 projects', () => {
    it('fetches every project over several pages of 100, archived ones included', async () => {
      const progress: Array<[number, number | null]> = [];
      const before = gitlab.requests.length;

      const projects = await client().listGroupProjects(acme.id, (fetched, total) => progress.push([fetched, total]));

      expect(projects).toHaveLength(projectCount);
      expect(new Set(projects.map((p) => p.id)).size).toBe(projectCount);
      expect(projects.some((p) => p.pathWithNamespace === 'acme/platform/infra/service-2')).toBe(true);
      expect(projects.find((p) => p.path === 'service-7')?.archived).toBe(true);
      expect(projects.every((p) => p.statistics !== null)).toBe(true);
      const pages = gitlab.requests.slice(before).filter((r) => r.path === `/api/v4/groups/${acme.id}/projects`);
      expect(pages.length).toBeGreaterThan(1);
      expect(pages.every((r) => r.query.per_page === '100' && r.query.include_subgroups === 'true')).toBe(true);
      expect(progress).toEqual([
        [100, projectCount],
        [projectCount, projectCount],
      ]);
    });
  });

  describe('retrying', () => {
    it('honours the Retry-After of a 429 before retrying', async () => {
      const requestedDelays: number[] = [];
      const sleep = (ms: number) => {
        requestedDelays.push(ms);
        return new Promise<void>((resolve) => setTimeout(resolve, ms));
      };
      const reader = client(token, { sleep });
      gitlab.rateLimitNext(1, { retryAfterSeconds: 1 });
      const before = gitlab.requests.length;
      const started = Date.now();

      const user = await reader.currentUser();

      expect(user.username).toBe('ada');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(requestedDelays).toEqual([1000]);
      expect(gitlab.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);
    });

    it('retries a 502 from the proxy in front of GitLab', async () => {
      gitlab.failNext(2, { status: 502 });
      const before = gitlab.requests.length;

      const group = await client().getGroup(acme.id);

      expect(group.fullPath).toBe('acme');
      expect(gitlab.requests.slice(before).map((r) => r.status)).toEqual([502, 502, 200]);
    });

    it('gives up with a retryable GITLAB_UNAVAILABLE when GitLab stays down', async () => {
      gitlab.failNext(3, { status: 503 });

      const error = await failureOf(client(token, { maxAttempts: 3 }).getGroup(acme.id));

      expect(error).toMatchObject({
        code: 'GITLAB_UNAVAILABLE',
        retryable: true,
        details: { status: 503, attempts: 3 },
      });
    });
  });

  describe('refusals', () => {
    it('reports an expired token with reason expired', async () => {
      const expired = gitlab.createPersonalAccessToken(ada.id, { scopes: ['read_api'], expiresAt: '2000-01-01' }).token;

      const error = await failureOf(client(expired).currentUser());

      expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', retryable: false, details: { reason: 'expired' } });
      expect(error.message).not.toContain(expired);
    });

    it('reports a revoked token with reason revoked', async () => {
      const revoked = gitlab.createPersonalAccessToken(ada.id, { scopes: ['read_api'], revoked: true }).token;

      const error = await failureOf(client(revoked).currentUser());

      expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { reason: 'revoked' } });
    });

    it('reports an unknown token with reason invalid', async () => {
      const error = await failureOf(client('glpat-not-a-real-token').currentUser());

      expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { reason: 'invalid' } });
    });

    it('reports a token without API scopes as GITLAB_FORBIDDEN with the scopes GitLab asks for', async () => {
      const gitOnly = gitlab.createPersonalAccessToken(ada.id, { scopes: ['read_repository'] }).token;

      const error = await failureOf(client(gitOnly).listGroupProjects(acme.id));

      expect(error.code).toBe('GITLAB_FORBIDDEN');
      expect(error.details?.requiredScopes).toEqual(expect.arrayContaining(['api', 'read_api']));
    });

    it('reports a group that does not exist as GITLAB_NOT_FOUND', async () => {
      const error = await failureOf(client().getGroup(999_999));

      expect(error).toMatchObject({ code: 'GITLAB_NOT_FOUND', retryable: false });
    });

    it('reports a group the user cannot see as GITLAB_NOT_FOUND, as GitLab hides it', async () => {
      const hidden = gitlab.createGroup({ path: 'hidden' });

      const error = await failureOf(client().listGroupProjects(hidden.id));

      expect(error.code).toBe('GITLAB_NOT_FOUND');
    });
  });
});
