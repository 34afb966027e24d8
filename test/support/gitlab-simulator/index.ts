/**
 * A GitLab simulator for tests, browser tests and benchmarks: REST API v4, OAuth 2 (with PKCE and
 * rotating refresh tokens) and git over smart HTTP, following GitLab's documented behaviour.
 *
 * Lifecycle: `startGitLabSimulator()` listens on 127.0.0.1 with a random port; `close()` stops the
 * server, kills running git processes and removes the data directory when the simulator created
 * it. Seeding methods are synchronous and bypass HTTP and permissions.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Access } from './access.js';
import { oauthIsExpired } from './auth.js';
import type { SimContext } from './context.js';
import { Faults, type HeldResponse, type RateLimitOptions } from './faults.js';
import { MetadataStore } from './metadata-store.js';
import type { BranchProtectionLevel, NamespaceRecord, ProjectRecord, Tier, UserRecord, Visibility } from './model.js';
import { createOAuthApplication, type OAuthTokenView } from './oauth-store.js';
import { LfsStore, lfsPointer, type LfsObjectInfo } from './lfs-store.js';
import { createApp, type RecordedRequest } from './server.js';
import { HookDispatcher } from './hooks.js';
import { resolveRef } from './repos.js';
import { SimulatorState } from './state.js';

export type { RecordedRequest } from './server.js';
export type { OAuthTokenView } from './oauth-store.js';
export type { LfsObjectInfo } from './lfs-store.js';
export type { GroupHookRecord, HookDelivery, SystemHookRecord } from './hooks.js';
export type {
  EpicRecord,
  IssueRecord,
  MergeRequestRecord,
  NamespaceRecord,
  ProjectRecord,
  ReleaseRecord,
  SnippetRecord,
  Tier,
  UserRecord,
  Visibility,
} from './model.js';
export { AccessLevel } from './model.js';

export interface GitLabSimulatorOptions {
  /** Where bare repositories live. Default: a new temporary directory, removed by close(). */
  dataDir?: string;
  /** The simulator's clock (token expiry, timestamps, rate-limit windows). Default: system time. */
  now?: () => Date;
  /** OAuth access token lifetime; GitLab's is 7200 (config/initializers/doorkeeper.rb). */
  accessTokenTtlSeconds?: number;
  /** TCP port on 127.0.0.1; default 0 (a random free port). */
  port?: number;
  /** API throttle per user/IP; null disables it. Default 2000 requests per 60 s. */
  rateLimit?: RateLimitOptions | null;
  /** Serve HTTPS with this key and certificate (a self-managed instance behind a private CA). */
  tls?: { key: string; cert: string };
}

/** The input of a MetadataStore method (its second parameter unless told otherwise). */
type StoreInput<M extends keyof MetadataStore, I extends number = 1> = MetadataStore[M] extends (
  ...args: infer A
) => unknown
  ? NonNullable<A[I]>
  : never;

export class GitLabSimulator {
  /** Every HTTP request served, oldest first (never includes tokens). */
  readonly requests: RecordedRequest[] = [];
  private offsetMs = 0;
  private readonly children = new Set<ChildProcess>();
  private readonly recorded = new Set<() => void>();
  private server: Server | HttpsServer | null = null;
  private port = 0;
  readonly state: SimulatorState;
  readonly faults: Faults;
  /** Git LFS objects (lfs-store.ts); seed through addLfsObject/pushLfsPointer. */
  readonly lfs: LfsStore;
  /** Group hooks (REST) and system hooks (seeded); pushes and project events are delivered to them. */
  readonly hooks: HookDispatcher;
  private readonly ctx: SimContext;

  constructor(private readonly options: GitLabSimulatorOptions & { dataDir: string; ownsDataDir: boolean }) {
    const baseNow = options.now ?? (() => new Date());
    const clock = { now: () => new Date(baseNow().getTime() + this.offsetMs) };
    this.state = new SimulatorState(clock, join(options.dataDir, 'repositories'));
    this.state.accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 7200;
    this.faults = new Faults(
      options.rateLimit === undefined ? { limit: 2000, periodSeconds: 60 } : options.rateLimit,
      clock.now,
    );
    this.lfs = new LfsStore(this.state, join(options.dataDir, 'lfs-objects'));
    this.hooks = new HookDispatcher(this.state, () => this.url);
    this.ctx = {
      state: this.state,
      access: new Access(this.state),
      store: new MetadataStore(this.state),
      lfs: this.lfs,
      baseUrl: () => this.url,
    };
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    const app = createApp({
      ctx: this.ctx,
      faults: this.faults,
      requests: this.requests,
      onRecorded: () => this.recorded.forEach((f) => f()),
      children: this.children,
      lfs: this.lfs,
      hooks: this.hooks,
    });
    await new Promise<void>((resolve, reject) => {
      const { tls } = this.options;
      const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, app) : createHttpServer(app);
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
      this.server = server;
    });
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.options.ownsDataDir) rmSync(this.options.dataDir, { recursive: true, force: true });
  }

  // ---- time -------------------------------------------------------------------------------

  now(): Date {
    return this.state.now();
  }

  /** Moves the simulator's clock forward (on top of the injected `now`). */
  advanceTime(ms: number): void {
    this.offsetMs += ms;
  }

  // ---- seeding ----------------------------------------------------------------------------

  createUser(input: {
    username: string;
    email?: string;
    name?: string;
    password?: string;
    isAdmin?: boolean;
  }): UserRecord {
    return this.state.createUser(input);
  }

  createPersonalAccessToken(
    userId: number,
    input: { name?: string; scopes: string[]; expiresAt?: string | null; revoked?: boolean },
  ): { id: number; token: string } {
    return this.state.createPersonalAccessToken(userId, input);
  }

  revokePersonalAccessToken(id: number): void {
    this.state.revokePersonalAccessToken(id);
  }

  createGroup(input: {
    path: string;
    name?: string;
    parentId?: number | null;
    visibility?: Visibility;
    ownerId?: number;
    description?: string;
    /** The group's own default_branch_protection (0–4); unset: the instance's. */
    defaultBranchProtection?: BranchProtectionLevel;
  }): NamespaceRecord {
    return this.state.createGroup(input);
  }

  addMember(
    kind: 'group' | 'project',
    id: number,
    userId: number,
    accessLevel: number,
    meta: { expiresAt?: string | null } = {},
  ): void {
    this.state.addMember(kind, id, userId, accessLevel, meta);
  }

  /** `withCommit` (default true) creates one commit with README.md on the default branch. */
  createProject(input: {
    namespaceId: number;
    path: string;
    name?: string;
    visibility?: Visibility;
    defaultBranch?: string;
    wikiEnabled?: boolean;
    lfsEnabled?: boolean;
    archived?: boolean;
    withCommit?: boolean;
    description?: string;
    topics?: string[];
  }): ProjectRecord {
    return this.state.createProject(input);
  }

  /** Deletes the project; system hooks get `project_destroy` (GitLab sends it once the project is gone). */
  deleteProject(id: number): void {
    const project = { ...this.state.requireProject(id) };
    this.state.deleteProject(id);
    this.hooks.projectEvent(project, 'project_destroy');
    this.lfs.unlinkProject(id);
  }

  /** A real commit on `branch` (default: the default branch); returns its sha. Group hooks get a Push Hook. */
  pushCommit(projectId: number, input: { branch?: string; files: Record<string, string>; message?: string }): string {
    const project = this.state.requireProject(projectId);
    const ref = `refs/heads/${input.branch ?? project.defaultBranch ?? 'main'}`;
    const before = resolveRef(this.repoPath(projectId), ref) ?? '';
    const after = this.state.pushCommit(projectId, input);
    this.hooks.push(project, { ref, before, after, commits: [after] });
    return after;
  }

  /**
   * A force push: `branch` (default: the default branch) is reset to its tip's parent and gets a new
   * commit, so its old tip is no longer in its history. Group hooks get the Push Hook.
   */
  rewriteBranch(projectId: number, input: { branch?: string; files: Record<string, string> }): string {
    const project = this.state.requireProject(projectId);
    const ref = `refs/heads/${input.branch ?? project.defaultBranch ?? 'main'}`;
    const before = resolveRef(this.repoPath(projectId), ref)!;
    const parent = resolveRef(this.repoPath(projectId), `${ref}~1`);
    if (!parent) throw new Error(`${ref} has a single commit: nothing to rewrite`);
    execFileSync('git', ['update-ref', ref, parent, before], { cwd: this.repoPath(projectId) });
    const after = this.state.pushCommit(projectId, { ...input, message: 'Rewritten history' });
    this.hooks.push(project, { ref, before, after, commits: [after] });
    return after;
  }

  createBranch(projectId: number, input: { branch: string; ref?: string }): string {
    return this.state.createBranch(projectId, input);
  }

  /** Lightweight tag, annotated when `message` is given; returns the tagged commit sha. */
  createTag(projectId: number, input: { tag: string; ref?: string; message?: string }): string {
    return this.state.createTag(projectId, input);
  }

  pushWikiPage(projectId: number, input: { title: string; content: string }): string {
    return this.state.pushWikiPage(projectId, input);
  }

  // ---- Git LFS (lfs-store.ts, lfs-http.ts) ----------------------------------------------------

  /** Stores an LFS object and links it to the project (as an upload through the LFS API would). */
  addLfsObject(projectId: number, content: Buffer | string): LfsObjectInfo {
    return this.lfs.add(projectId, content);
  }

  /** Stores the object and commits its pointer file at `path` (as `git lfs push` + `git push` would); returns the commit too. */
  pushLfsPointer(
    projectId: number,
    input: { path: string; content: Buffer | string; branch?: string; message?: string },
  ): LfsObjectInfo & { commit: string } {
    const object = this.lfs.add(projectId, input.content);
    const commit = this.state.pushCommit(projectId, {
      branch: input.branch,
      files: { [input.path]: lfsPointer(object) },
      message: input.message ?? `Add ${input.path}`,
    });
    return { ...object, commit };
  }

  /** The project's LFS objects (oid and stored size; -1 when the file is gone), sorted by oid. */
  lfsObjects(projectId: number): LfsObjectInfo[] {
    return this.lfs.objects(projectId);
  }

  /** Overwrites a stored object's bytes (default: flips its first byte) without changing its oid. */
  corruptLfsObject(oid: string, bytes?: Buffer | string): void {
    this.lfs.corrupt(oid, bytes);
  }

  /** Deletes a stored object's file but keeps it linked: the batch API offers it, the download answers 404. */
  removeLfsObjectFile(oid: string): void {
    this.lfs.removeFile(oid);
  }

  /** `{ proxyDownload: false }`: batch answers point at pre-signed object-storage URLs (no header), as GitLab with direct download does. */
  setLfsObjectStorage(options: { proxyDownload: boolean }): void {
    this.lfs.proxyDownload = options.proxyDownload;
  }

  // ---- metadata seeding (the same rules as the REST writes; the author defaults to the project's creator) ----

  createIssue(projectId: number, input: StoreInput<'createIssue'>) {
    return this.store(projectId).createIssue(projectId, input);
  }

  /** A note on an issue or merge request (`noteableType`, `noteableIid`); system notes too. */
  createNote(projectId: number, input: StoreInput<'createNote'>) {
    return this.store(projectId).createNote(projectId, input);
  }

  /** Both branches must exist in the repository (createBranch/pushCommit first); records the first version. */
  createMergeRequest(projectId: number, input: StoreInput<'createMergeRequest'>) {
    return this.store(projectId).createMergeRequest(projectId, input);
  }

  createLabel(projectId: number, input: { name: string } & StoreInput<'findOrCreateLabel', 2>) {
    return this.store(projectId).findOrCreateLabel(projectId, input.name, input);
  }

  createMilestone(projectId: number, input: StoreInput<'createMilestone'>) {
    return this.store(projectId).createMilestone(projectId, input);
  }

  /** Tags an existing `tagName`, or creates the tag from `ref`. */
  createRelease(projectId: number, input: StoreInput<'createRelease'>) {
    return this.store(projectId).createRelease(projectId, input);
  }

  createSnippet(projectId: number, input: StoreInput<'createSnippet'>) {
    return this.store(projectId).createSnippet(projectId, input);
  }

  createHook(projectId: number, input: StoreInput<'createHook'>) {
    return this.store(projectId).createHook(projectId, input);
  }

  createDeployKey(projectId: number, input: StoreInput<'createDeployKey'>) {
    return this.store(projectId).createDeployKey(projectId, input);
  }

  createVariable(projectId: number, input: StoreInput<'createVariable'>) {
    return this.store(projectId).createVariable(projectId, input);
  }

  protectBranch(projectId: number, input: StoreInput<'protectBranch'>) {
    return this.store(projectId).protectBranch(projectId, input);
  }

  /** Someone deleted a project label in GitLab (issues and merge requests keep no reference to it). */
  deleteLabel(projectId: number, name: string): void {
    const i = this.state.labels.findIndex((l) => l.projectId === projectId && l.name === name);
    if (i < 0) throw new Error(`no label ${name} in project ${projectId}`);
    this.state.labels.splice(i, 1);
  }

  /** Someone removed a protected-branch rule in GitLab. */
  unprotectBranch(projectId: number, name: string): void {
    const i = this.state.protectedBranches.findIndex((b) => b.projectId === projectId && b.name === name);
    if (i < 0) throw new Error(`no protected branch ${name} in project ${projectId}`);
    this.state.protectedBranches.splice(i, 1);
  }

  protectTag(projectId: number, input: StoreInput<'protectTag'>) {
    return this.store(projectId).protectTag(projectId, input);
  }

  /** Someone deleted a group (with its subgroups and projects) in GitLab. */
  deleteGroup(id: number): void {
    this.state.deleteGroup(id);
  }

  /** Someone deleted a group label in GitLab. */
  deleteGroupLabel(groupId: number, name: string): void {
    const i = this.state.groupLabels.findIndex((l) => l.groupId === groupId && l.name === name);
    if (i < 0) throw new Error(`no label ${name} in group ${groupId}`);
    this.state.groupLabels.splice(i, 1);
  }

  createGroupLabel(groupId: number, input: StoreInput<'createGroupLabel'>) {
    return this.groupStore(groupId).createGroupLabel(groupId, input);
  }

  createGroupMilestone(groupId: number, input: StoreInput<'createGroupMilestone'>) {
    return this.groupStore(groupId).createGroupMilestone(groupId, input);
  }

  /** Seeding bypasses the tier: epics exist in the data even while the API refuses them on Free. */
  createEpic(groupId: number, input: StoreInput<'createEpic'>) {
    return this.groupStore(groupId).createEpic(groupId, input);
  }

  /** The instance's default_branch_protection (Admin > Settings; GitLab's default 2, full protection). */
  setDefaultBranchProtection(level: BranchProtectionLevel): void {
    this.state.defaultBranchProtection = level;
  }

  /**
   * The subscription tier: `setTier(tier)` the instance's (a self-managed licence; every group
   * without its own), `setTier(groupPath, tier)` one top-level group's (GitLab.com, where a
   * subscription covers the group and its subgroups). Free (the default) answers 403 to the epics
   * API and Premium to the epic links API (multi-level epics), as GitLab EE does.
   */
  setTier(tier: Tier): void;
  setTier(groupPath: string, tier: Tier): void;
  setTier(first: string, second?: Tier): void {
    if (second === undefined) {
      this.state.tier = first as Tier;
      return;
    }
    const group = this.state.findNamespaceByFullPath(first);
    if (!group || group.kind !== 'group' || group.parentId !== null)
      throw new Error(`${first} is not a top-level group: a subscription belongs to one`);
    this.state.groupTiers.set(group.id, second);
  }

  private store(projectId: number): MetadataStore {
    this.state.requireProject(projectId);
    return this.ctx.store;
  }

  private groupStore(groupId: number): MetadataStore {
    if (this.state.namespaces.get(groupId)?.kind !== 'group') throw new Error(`group ${groupId} does not exist`);
    return this.ctx.store;
  }

  createOAuthApplication(input: {
    name: string;
    redirectUri: string | string[];
    scopes: string[];
    confidential?: boolean;
  }): { id: number; clientId: string; clientSecret: string } {
    return createOAuthApplication(this.state, input);
  }

  userNamespaceId(userId: number): number {
    return this.state.userNamespaceId(userId);
  }

  repoPath(projectId: number): string {
    return this.state.repoPath(projectId);
  }

  wikiPath(projectId: number): string {
    return this.state.wikiPath(projectId);
  }

  // ---- faults -----------------------------------------------------------------------------

  /** The next `count` matching requests (default: API requests) get 429 with Retry-After. */
  rateLimitNext(count: number, options: { retryAfterSeconds?: number; pathPattern?: RegExp } = {}): void {
    this.faults.rateLimitNext(count, options);
  }

  /**
   * Every matching git request (upload-pack, say) for the next `durationMs` answers 429 with
   * Retry-After pointing at the end of the current throttle period (default 60 s), as GitLab's
   * Git HTTP rate limit does while the limit is spent; recorded requests carry `retryAfter`.
   */
  throttleGitFor(durationMs: number, options: { pathPattern: RegExp; periodSeconds?: number }): void {
    this.faults.throttleGitFor(durationMs, options);
  }

  /** Cuts the next `count` matching responses off after `afterBytes` (a connection reset mid-transfer). */
  resetNext(count: number, options: { pathPattern: RegExp; afterBytes?: number }): void {
    this.faults.resetNext(count, options);
  }

  /** Flips the byte at `packOffset` of the next `count` matching packs in transit (see Faults.corruptNext). */
  corruptNext(count: number, options: { pathPattern: RegExp; packOffset: number }): void {
    this.faults.corruptNext(count, options);
  }

  /** 404 answers as `not_found!` does (a record that vanished between two requests). */
  failNext(count: number, options: { status: 404 | 500 | 502 | 503; pathPattern?: RegExp }): void {
    this.faults.failNext(count, options);
  }

  /** Every `every`-th matching request from now on fails with `status` (10 → 10 % of them); 0 stops it. */
  failEvery(every: number, options: { status: 500 | 502 | 503; pathPattern: RegExp }): void {
    this.faults.failEvery(every, options);
  }

  /**
   * GitLab stops accepting every OAuth access token issued so far, before the expiry it announced
   * (its clock ahead of the client's, or the lifetime shortened): API calls answer 401
   * invalid_token "Token is expired", git over HTTP 401 "HTTP Basic: Access denied". Refresh
   * tokens stay valid, as Doorkeeper's do after an access token expires.
   */
  expireOAuthAccessTokens(): void {
    const now = this.now().getTime();
    for (const token of this.state.oauthTokens.values()) {
      const lived = Math.floor((now - token.createdAt.getTime()) / 1000);
      if (token.createdAt.getTime() + token.expiresInSeconds * 1000 > now) token.expiresInSeconds = Math.max(0, lived);
    }
  }

  /**
   * Holds back the response to the next matching request (after `skip` pass) once it has been
   * handled: its effect is in GitLab's state but the client has not been told. `reached` resolves
   * then; `release()` sends it. For killing a client between a create and what it does next.
   */
  holdNext(options: { pathPattern: RegExp; method?: string; skip?: number }): HeldResponse {
    return this.faults.holdNext(options);
  }

  // ---- observation ------------------------------------------------------------------------

  /** OAuth tokens (optionally of one user), oldest first, with their live state. */
  oauthTokens(userId?: number): OAuthTokenView[] {
    const now = this.now();
    return [...this.state.oauthTokens.values()]
      .filter((t) => userId === undefined || t.userId === userId)
      .map((t) => ({
        id: t.id,
        userId: t.userId,
        applicationId: t.applicationId,
        accessToken: t.token,
        refreshToken: t.refreshToken,
        scopes: [...t.scopes],
        createdAt: t.createdAt,
        expiresAt: new Date(t.createdAt.getTime() + t.expiresInSeconds * 1000),
        revoked: t.revokedAt !== null,
        expired: oauthIsExpired(t, now),
        active: t.revokedAt === null && !oauthIsExpired(t, now),
      }));
  }

  /** Whether an OAuth access token would authenticate an API request right now. */
  isOAuthAccessTokenActive(accessToken: string): boolean {
    return this.oauthTokens().some((t) => t.accessToken === accessToken && t.active);
  }

  requestsTo(pathPattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => pathPattern.test(r.path));
  }

  /**
   * Resolves with the requests to matching paths once there are at least `count` of them. A request
   * is recorded when its response has finished, which can come just after the client read the body.
   */
  untilRequestsTo(pathPattern: RegExp, count: number): Promise<RecordedRequest[]> {
    return new Promise((resolve) => {
      const check = () => {
        const found = this.requestsTo(pathPattern);
        if (found.length < count) return;
        this.recorded.delete(check);
        resolve(found);
      };
      this.recorded.add(check);
      check();
    });
  }
}

export async function startGitLabSimulator(options: GitLabSimulatorOptions = {}): Promise<GitLabSimulator> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'gitlab-simulator-'));
  const simulator = new GitLabSimulator({ ...options, dataDir, ownsDataDir });
  await simulator.listen();
  return simulator;
}
