/**
 * The GitLab port over @gitbeaker/rest.
 *
 * gitbeaker supplies the endpoints, the option names and pagination: it follows each answer's
 * `Link: <…>; rel="next"` until there is none, so offset and keyset pagination both list every
 * page. Every HTTP exchange goes through our own requester (gitbeaker.requester.ts), which adds
 * what gitbeaker's default one lacks for unattended backups: retries that honour Retry-After,
 * bounded backoff for 5xx/timeouts/resets, a deadline per attempt rather than per listing, a custom
 * CA for self-managed instances (http-transport.ts), and errors translated once, in
 * gitlab.errors.ts. Payloads are mapped explicitly from snake_case (gitlab.mappers.ts); gitbeaker's
 * `camelize` is off so a renamed field fails loudly instead of turning into `undefined`.
 *
 * Pagination: GitLab offers keyset pagination only on a few endpoints (GET /projects, /users,
 * /groups for anonymous callers; see GitLab's REST docs, "Supported resources"), none of which this
 * port lists, so listings use offset pagination with per_page=100 (GitLab's cap) ordered by id
 * ascending: a project created while we list lands on the last page rather than shifting every
 * page. Duplicates are dropped by id. Each page reports progress with GitLab's x-total, which
 * GitLab omits above 10,000 items (total is then null).
 */
import {
  GroupHooks,
  Groups,
  Namespaces,
  PersonalAccessTokens,
  Projects,
  ProtectedBranches,
  Users,
} from '@gitbeaker/rest';
import { isDomainError } from '../shared/errors.js';
import { badPayload, toGitLabError } from './gitlab.errors.js';
import {
  PayloadError,
  groupToNamespace,
  mapList,
  toGroup,
  toGroupHook,
  toNamespace,
  toPersonalAccessToken,
  toProject,
  toUser,
} from './gitlab.mappers.js';
import { GROUP_HOOK_EVENT_NAMES } from './gitlab.port.js';
import type {
  GitLabGroupHook,
  NewGitLabGroupHook,
  NewGitLabProject,
  GitLabAccess,
  GitLabClient,
  GitLabClientFactory,
  GitLabGroup,
  GitLabNamespace,
  GitLabPersonalAccessToken,
  GitLabProject,
  GitLabUser,
  PageProgress,
} from './gitlab.port.js';
import type { ObservedAnswer, RequesterFn } from './gitbeaker.requester.js';
import type { GitLabHttp } from './gitlab-http.js';
import { GitLabFactory } from './gitlab-factory.js';

export type { GitbeakerClientFactoryOptions } from './gitlab-factory.js';

/** push_events → pushEvents: gitbeaker decamelizes option names back on the wire. */
const camel = (name: string) => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** GitLab's cap on per_page. */
const PER_PAGE = 100;
/** Guest: the membership floor for "groups the user is a member of". */
const MIN_ACCESS_GUEST = 10;

/** Creates one GitLabClient per access (token + instance); clients are cheap and hold no state of their own. */
export class GitbeakerClientFactory extends GitLabFactory<GitLabClient> implements GitLabClientFactory {
  protected build(host: string, access: GitLabAccess): GitLabClient {
    return new GitbeakerGitLabClient({ host, access, http: this.http, maxPages: this.http.maxPages });
  }
}

interface ClientDeps {
  host: string;
  access: GitLabAccess;
  http: GitLabHttp;
  maxPages: number;
}

type ResourceClass<R> = new (options: {
  host: string;
  requesterFn: RequesterFn;
  queryTimeout: null;
  camelize: false;
  token?: string;
  oauthToken?: string;
}) => R;

class GitbeakerGitLabClient implements GitLabClient {
  constructor(private readonly deps: ClientDeps) {}

  currentUser(): Promise<GitLabUser> {
    return this.fetchOne('GET /user', Users, (users) => users.showCurrentUser(), toUser);
  }

  personalAccessTokenSelf(): Promise<GitLabPersonalAccessToken> {
    return this.fetchOne(
      'GET /personal_access_tokens/self',
      PersonalAccessTokens,
      (tokens) => tokens.show(),
      toPersonalAccessToken,
    );
  }

  async listTopLevelNamespaces(): Promise<GitLabNamespace[]> {
    const user = await this.currentUser();
    const own = await this.getNamespace(user.username);
    const groups = await this.list(
      'GET /groups',
      Groups,
      undefined,
      (resource) =>
        resource.all({
          topLevelOnly: true,
          minAccessLevel: MIN_ACCESS_GUEST,
          // Administrators see every group unless told otherwise.
          allAvailable: false,
          perPage: PER_PAGE,
          orderBy: 'id',
          sort: 'asc',
        }),
      (body) => mapList(body, 'group', toGroup),
    );
    // top_level_only arrived in GitLab 14.x; an older instance ignores it, hence the filter.
    return [own, ...groups.filter((group) => group.parentId === null).map(groupToNamespace)];
  }

  getNamespace(fullPath: string): Promise<GitLabNamespace> {
    return this.fetchOne(
      `GET /namespaces/${encodeURIComponent(fullPath)}`,
      Namespaces,
      (namespaces) => namespaces.show(fullPath),
      toNamespace,
    );
  }

  async listGroupProjects(groupId: number, onProgress?: PageProgress): Promise<GitLabProject[]> {
    // `archived` is left out on purpose: GitLab reads archived=true as "only archived" and
    // archived=false as "none archived"; without it, both are listed.
    const options = {
      includeSubgroups: true,
      withShared: false,
      perPage: PER_PAGE,
      orderBy: 'id',
      sort: 'asc',
    } as const;
    return this.withStatisticsFallback((statistics) =>
      this.list(
        `GET /groups/${groupId}/projects`,
        Groups,
        onProgress,
        (groups) =>
          // gitbeaker's AllGroupProjectsOptions lacks `statistics`, which GitLab documents.
          groups.allProjects(groupId, { ...options, ...({ statistics } as object) }),
        (body) => mapList(body, 'project', toProject),
      ),
    );
  }

  async listUserProjects(userId: number, onProgress?: PageProgress): Promise<GitLabProject[]> {
    return this.withStatisticsFallback((statistics) =>
      this.list(
        `GET /users/${userId}/projects`,
        Users,
        onProgress,
        (users) =>
          users.allProjects(userId, {
            pagination: 'offset',
            perPage: PER_PAGE,
            orderBy: 'id',
            sort: 'asc',
            statistics,
          }),
        (body) => mapList(body, 'project', toProject),
      ),
    );
  }

  listDescendantGroups(groupId: number, onProgress?: PageProgress): Promise<GitLabGroup[]> {
    return this.list(
      `GET /groups/${groupId}/descendant_groups`,
      Groups,
      onProgress,
      (groups) => groups.allDescendantGroups(groupId, { perPage: PER_PAGE, orderBy: 'id', sort: 'asc' }),
      (body) => mapList(body, 'group', toGroup),
    );
  }

  getProject(idOrPath: number | string): Promise<GitLabProject> {
    return this.fetchOne(
      `GET /projects/${encodeURIComponent(String(idOrPath))}`,
      Projects,
      (projects) => projects.show(idOrPath),
      toProject,
    );
  }

  async listProtectedBranches(projectId: number): Promise<string[]> {
    // list() de-duplicates by id: protected branches have one, their name is what matters
    const rows = await this.list(
      `GET /projects/${projectId}/protected_branches`,
      ProtectedBranches,
      undefined,
      (resource) => resource.all(projectId, { perPage: PER_PAGE }),
      (body) =>
        mapList(body, 'protected_branch', (item) => ({
          id: Number((item as { id: unknown }).id),
          name: String((item as { name: unknown }).name),
        })),
    );
    return rows.map((row) => row.name);
  }

  createProject(input: NewGitLabProject): Promise<GitLabProject> {
    return this.fetchOne(
      'POST /projects',
      Projects,
      (projects) =>
        projects.create({
          name: input.name,
          path: input.path,
          namespaceId: input.namespaceId,
          visibility: input.visibility,
          description: input.description ?? undefined,
          wikiEnabled: true,
          wikiAccessLevel: 'enabled',
          lfsEnabled: true,
        } as never),
      toProject,
    );
  }

  getGroup(groupId: number): Promise<GitLabGroup> {
    // with_projects=false: the group alone, not its first 100 projects.
    return this.fetchOne(
      `GET /groups/${groupId}`,
      Groups,
      (groups) => groups.show(groupId, { withProjects: false }),
      toGroup,
    );
  }

  /**
   * Statistics need Reporter access; an instance that answers 403 to `statistics=true` instead of
   * leaving them out gets the listing again without them (statistics are then null).
   */
  async deleteProject(projectId: number): Promise<void> {
    await this.fetchOne(
      `DELETE /projects/${projectId}`,
      Projects,
      (projects) => projects.remove(projectId),
      () => undefined,
    );
  }

  async deleteGroup(groupId: number): Promise<void> {
    await this.fetchOne(
      `DELETE /groups/${groupId}`,
      Groups,
      (groups) => groups.remove(groupId),
      () => undefined,
    );
  }

  listGroupHooks(groupId: number): Promise<GitLabGroupHook[]> {
    return this.list(
      `GET /groups/${groupId}/hooks`,
      GroupHooks,
      undefined,
      (hooks) => hooks.all(groupId, { perPage: PER_PAGE }),
      (body) => mapList(body, 'hook', toGroupHook),
    );
  }

  addGroupHook(groupId: number, input: NewGitLabGroupHook): Promise<GitLabGroupHook> {
    const events = Object.fromEntries(GROUP_HOOK_EVENT_NAMES.map((e) => [camel(e), input.events.includes(e)]));
    return this.fetchOne(
      `POST /groups/${groupId}/hooks`,
      GroupHooks,
      (hooks) => hooks.add(groupId, input.url, { token: input.token, enableSslVerification: true, ...events }),
      toGroupHook,
    );
  }

  async deleteGroupHook(groupId: number, hookId: number): Promise<void> {
    await this.fetchOne(
      `DELETE /groups/${groupId}/hooks/${hookId}`,
      GroupHooks,
      (hooks) => hooks.remove(groupId, hookId),
      () => undefined,
    );
  }

  private async withStatisticsFallback<T>(list: (statistics: boolean) => Promise<T>): Promise<T> {
    try {
      return await list(true);
    } catch (error) {
      const isScopeProblem =
        isDomainError(error) && Array.isArray(error.details?.requiredScopes) && error.details.requiredScopes.length > 0;
      if (!isDomainError(error, 'GITLAB_FORBIDDEN') || isScopeProblem) throw error;
      return list(false);
    }
  }

  private async fetchOne<R, T>(
    operation: string,
    Resource: ResourceClass<R>,
    call: (resource: R) => Promise<unknown>,
    map: (body: unknown) => T,
  ): Promise<T> {
    const body = await this.guard(operation, () => call(this.resource(Resource)));
    return this.guard(operation, async () => map(body));
  }

  private async list<R, T extends { id: number }>(
    operation: string,
    Resource: ResourceClass<R>,
    onProgress: PageProgress | undefined,
    call: (resource: R) => Promise<unknown>,
    map: (body: unknown) => T[],
  ): Promise<T[]> {
    let fetched = 0;
    let pages = 0;
    let progressFailed = false;
    let progressError: unknown;
    const onAnswer = (answer: ObservedAnswer) => {
      if (answer.method !== 'GET' || !Array.isArray(answer.body)) return;
      pages += 1;
      if (pages > this.deps.maxPages) {
        throw new PayloadError(`more than ${this.deps.maxPages} pages; its pagination links may loop`);
      }
      fetched += answer.body.length;
      const total = Number.parseInt(answer.headers['x-total'] ?? '', 10);
      try {
        onProgress?.(fetched, Number.isNaN(total) ? null : total);
      } catch (error) {
        progressFailed = true;
        progressError = error;
        throw error;
      }
    };
    let body: unknown;
    try {
      body = await this.guard(operation, () => call(this.resource(Resource, onAnswer)));
    } catch (error) {
      // A throwing progress callback aborts the listing with its own error, untranslated.
      if (progressFailed) throw progressError;
      throw error;
    }
    const items = await this.guard(operation, async () => map(body));
    const seen = new Set<number>();
    return items.filter((item) => !seen.has(item.id) && seen.add(item.id));
  }

  private async guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof PayloadError) throw badPayload(error.message, { operation });
      throw toGitLabError(error, { operation });
    }
  }

  private resource<R>(Resource: ResourceClass<R>, onAnswer?: (answer: ObservedAnswer) => void): R {
    const { host, access, http } = this.deps;
    const auth = access.tokenType === 'oauth' ? { oauthToken: access.token } : { token: access.token };
    return new Resource({
      host,
      ...auth,
      requesterFn: http.requesterFn(access, onAnswer),
      // Per-attempt deadlines live in the requester; gitbeaker's would span a whole listing.
      queryTimeout: null,
      camelize: false,
    });
  }
}
