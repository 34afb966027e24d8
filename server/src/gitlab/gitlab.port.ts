/**
 * The GitLab port: everything Labkeeper asks of a GitLab instance, in Labkeeper's own types.
 * Domain code depends on these interfaces only; `gitbeaker.adapter.ts` implements them over
 * @gitbeaker/rest and `oauth.client.ts` over GitLab's OAuth 2 endpoints.
 *
 * Errors: every method rejects with a DomainError whose code is one of GITLAB_UNAUTHORIZED (401:
 * token missing, expired or revoked — `details.reason` says which when GitLab tells),
 * GITLAB_FORBIDDEN (403, e.g. insufficient_scope — `details.requiredScopes`), GITLAB_NOT_FOUND (404),
 * GITLAB_RATE_LIMITED (429 after retries are exhausted), GITLAB_UNAVAILABLE (5xx, timeouts,
 * connection failures after retries) or GITLAB_BAD_RESPONSE. `retryable` is true only for the
 * rate limit and unavailability. Messages never contain tokens or URLs with credentials.
 */

export type GitLabVisibility = 'private' | 'internal' | 'public';

export interface GitLabUser {
  id: number;
  username: string;
  name: string;
  email: string | null;
  webUrl: string;
  avatarUrl: string | null;
}

/** GET /personal_access_tokens/self */
export interface GitLabPersonalAccessToken {
  id: number;
  name: string;
  scopes: string[];
  active: boolean;
  revoked: boolean;
  /** ISO date (YYYY-MM-DD) or null when the token never expires. */
  expiresAt: string | null;
  userId: number;
}

export interface GitLabNamespace {
  id: number;
  kind: 'group' | 'user';
  name: string;
  path: string;
  fullPath: string;
  parentId: number | null;
  webUrl: string;
}

export interface GitLabGroup {
  id: number;
  name: string;
  path: string;
  fullPath: string;
  parentId: number | null;
  visibility: GitLabVisibility;
  description: string | null;
  webUrl: string;
}

export interface GitLabProjectStatistics {
  repositorySize: number;
  wikiSize: number;
  lfsObjectsSize: number;
  storageSize: number;
}

export interface GitLabProject {
  id: number;
  name: string;
  path: string;
  pathWithNamespace: string;
  namespaceId: number;
  namespaceFullPath: string;
  httpUrlToRepo: string;
  sshUrlToRepo: string;
  webUrl: string;
  defaultBranch: string | null;
  visibility: GitLabVisibility;
  archived: boolean;
  emptyRepo: boolean;
  /** ISO timestamp; GitLab updates it at most about once an hour for pushes. */
  lastActivityAt: string;
  wikiEnabled: boolean;
  lfsEnabled: boolean;
  /** Present when the token may see statistics (Reporter+); null otherwise. */
  statistics: GitLabProjectStatistics | null;
}

/** Reports listing progress: items fetched so far and the total when GitLab sends x-total. */
export type PageProgress = (fetched: number, total: number | null) => void;

export interface GitLabClient {
  /** GET /user — the token's owner. */
  currentUser(): Promise<GitLabUser>;
  /** GET /personal_access_tokens/self — only meaningful for personal access tokens. */
  personalAccessTokenSelf(): Promise<GitLabPersonalAccessToken>;
  /** Top-level groups the user is a member of, plus the user's own namespace. Every page. */
  listTopLevelNamespaces(): Promise<GitLabNamespace[]>;
  /** A group or user namespace by full path (URL-encoded on the wire). */
  getNamespace(fullPath: string): Promise<GitLabNamespace>;
  /** Every project of a group including all subgroups (every page, keyset where GitLab offers it). */
  listGroupProjects(groupId: number, onProgress?: PageProgress): Promise<GitLabProject[]>;
  /** Every project owned by a user namespace. */
  listUserProjects(userId: number, onProgress?: PageProgress): Promise<GitLabProject[]>;
  /** Every descendant group (subgroups at any depth) of a group, every page. */
  listDescendantGroups(groupId: number, onProgress?: PageProgress): Promise<GitLabGroup[]>;
  getGroup(groupId: number): Promise<GitLabGroup>;
  /** GET /projects/:id — by id or full path. */
  getProject(idOrPath: number | string): Promise<GitLabProject>;
  /** GET /projects/:id/protected_branches — names or wildcard patterns, every page. */
  listProtectedBranches(projectId: number): Promise<string[]>;
  /** POST /projects — needs the `api` scope and Developer (group) access to the namespace. */
  createProject(input: NewGitLabProject): Promise<GitLabProject>;
  /**
   * DELETE /projects/:id — needs Owner (or admin). GitLab answers 202 and deletes in the
   * background; on tiers with delayed deletion the project is only marked for deletion.
   */
  deleteProject(projectId: number): Promise<void>;
  /**
   * DELETE /groups/:id — needs Owner (or admin): the group with its subgroups and projects. GitLab
   * answers 202 and deletes in the background; with delayed deletion it is only marked for deletion.
   */
  deleteGroup(groupId: number): Promise<void>;
  /** GET /groups/:id/hooks (doc/api/group_webhooks.md) — needs Owner (`admin_group`); Premium. */
  listGroupHooks(groupId: number): Promise<GitLabGroupHook[]>;
  /** POST /groups/:id/hooks with the events turned on and the secret token (write-only upstream). */
  addGroupHook(groupId: number, input: NewGitLabGroupHook): Promise<GitLabGroupHook>;
  /** DELETE /groups/:id/hooks/:hook_id; GITLAB_NOT_FOUND when it is already gone. */
  deleteGroupHook(groupId: number, hookId: number): Promise<void>;
}

/** The event switches of a group webhook, by GitLab's attribute names. */
export const GROUP_HOOK_EVENT_NAMES = [
  'push_events',
  'tag_push_events',
  'merge_requests_events',
  'issues_events',
  'confidential_issues_events',
  'note_events',
  'confidential_note_events',
  'wiki_page_events',
  'releases_events',
] as const;
export type GroupHookEventName = (typeof GROUP_HOOK_EVENT_NAMES)[number];

export interface GitLabGroupHook {
  id: number;
  url: string;
  /** The switches GitLab reports (missing ones read as false). */
  events: Record<GroupHookEventName, boolean>;
}

export interface NewGitLabGroupHook {
  url: string;
  token: string;
  events: GroupHookEventName[];
}

export interface NewGitLabProject {
  name: string;
  path: string;
  namespaceId: number;
  visibility: GitLabVisibility;
  description?: string | null;
}

export interface GitLabAccess {
  instanceUrl: string;
  /** An OAuth access token (sent as Bearer) or a personal access token (sent as PRIVATE-TOKEN). */
  token: string;
  tokenType: 'oauth' | 'personal';
  /** PEM of a custom CA for self-managed instances with a private certificate authority. */
  caCertificate?: string | null;
  /**
   * Replaces `token` after GitLab rejected it (401) although it should still be valid (revoked,
   * rotated elsewhere, clocks apart): the OAuth refresh, under the connection's row lock. Every
   * transport calls it at most once per exchange, then retries. Absent when nothing can renew the
   * token (a personal access token); rejects when the refresh is refused (connection EXPIRED).
   */
  renew?(rejected: string): Promise<void>;
}

export interface GitLabClientFactory {
  create(access: GitLabAccess): GitLabClient;
}

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string | null;
  /** Seconds from issue (GitLab: 7200). */
  expiresIn: number | null;
  scopes: string[];
  createdAt: Date;
}

export interface OAuthApp {
  instanceUrl: string;
  clientId: string;
  clientSecret: string | null;
  redirectUri: string;
  caCertificate?: string | null;
}

/**
 * GitLab's OAuth 2 endpoints: /oauth/authorize, /oauth/token, /oauth/revoke.
 * Errors: OAUTH_* are not used here; a rejected grant (invalid_grant, invalid_client) rejects with
 * GITLAB_UNAUTHORIZED carrying `details.oauthError`; transport failures with GITLAB_UNAVAILABLE.
 */
export interface GitLabOAuthClient {
  /** The URL of GitLab's consent page (response_type=code, PKCE S256). Pure. */
  authorizeUrl(app: OAuthApp, params: { state: string; codeChallenge: string; scopes: string[] }): string;
  exchangeCode(app: OAuthApp, params: { code: string; codeVerifier: string }): Promise<OAuthTokens>;
  /** Refresh grant. GitLab rotates: the returned refresh token replaces the old one, which dies. */
  refresh(app: OAuthApp, refreshToken: string): Promise<OAuthTokens>;
  /** Revokes a token; resolves also when GitLab says it was already invalid. */
  revoke(app: OAuthApp, token: string): Promise<void>;
}
