/**
 * The simulator's state: users, namespaces (user namespaces and groups share one id sequence, as
 * in GitLab), projects with real bare repositories, memberships, tokens and OAuth records.
 * Seeding methods are synchronous and bypass HTTP and permissions.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type {
  BranchProtectionLevel,
  DeployKeyRecord,
  EpicRecord,
  GroupLabelRecord,
  GroupMilestoneRecord,
  HookRecord,
  IssueRecord,
  LabelRecord,
  MembershipMeta,
  MergeRequestDiffRecord,
  MergeRequestRecord,
  MilestoneRecord,
  NamespaceRecord,
  NoteRecord,
  OAuthApplicationRecord,
  OAuthGrantRecord,
  OAuthTokenRecord,
  PersonalAccessTokenRecord,
  ProjectRecord,
  ProtectedBranchRecord,
  ProtectedTagRecord,
  ReleaseRecord,
  SnippetRecord,
  Tier,
  UserRecord,
  VariableRecord,
  Visibility,
} from './model.js';
import * as repos from './repos.js';

export interface Clock {
  now(): Date;
}

export class SimulatorState {
  readonly users = new Map<number, UserRecord>();
  readonly namespaces = new Map<number, NamespaceRecord>();
  readonly projects = new Map<number, ProjectRecord>();
  readonly pats = new Map<number, PersonalAccessTokenRecord>();
  readonly oauthApps = new Map<number, OAuthApplicationRecord>();
  readonly oauthGrants = new Map<string, OAuthGrantRecord>();
  readonly oauthTokens = new Map<number, OAuthTokenRecord>();
  /** `${'group'|'project'}:${sourceId}:${userId}` → access level. */
  readonly members = new Map<string, number>();
  readonly sessions = new Map<string, number>();
  readonly labels: LabelRecord[] = [];
  readonly milestones: MilestoneRecord[] = [];
  readonly issues: IssueRecord[] = [];
  readonly notes: NoteRecord[] = [];
  readonly mergeRequests: MergeRequestRecord[] = [];
  readonly mergeRequestDiffs: MergeRequestDiffRecord[] = [];
  readonly releases: ReleaseRecord[] = [];
  readonly snippets: SnippetRecord[] = [];
  readonly hooks: HookRecord[] = [];
  readonly deployKeys: DeployKeyRecord[] = [];
  /** Every successful push, with its push options (`git push -o`), oldest first. */
  readonly pushes: { projectId: number; wiki: boolean; options: string[] }[] = [];
  readonly variables: VariableRecord[] = [];
  readonly protectedBranches: ProtectedBranchRecord[] = [];
  readonly protectedTags: ProtectedTagRecord[] = [];
  readonly groupLabels: GroupLabelRecord[] = [];
  readonly groupMilestones: GroupMilestoneRecord[] = [];
  readonly epics: EpicRecord[] = [];
  /** Same keys as `members`: when a membership was created, by whom, until when. */
  readonly membershipMeta = new Map<string, MembershipMeta>();
  /**
   * The instance's tier (a self-managed licence; Free by default), and the tiers of top-level groups
   * that have their own subscription (GitLab.com: a subscription belongs to a top-level group and
   * covers its subgroups). Read them with tierOf.
   */
  tier: Tier = 'free';
  readonly groupTiers = new Map<number, Tier>();
  /** The instance's default_branch_protection (application settings; GitLab's default: 2, full). */
  defaultBranchProtection: BranchProtectionLevel = 2;
  /** OAuth access token lifetime (GitLab: access_token_expires_in 7200). */
  accessTokenTtlSeconds = 7200;
  private sequences = new Map<string, number>();
  private repoVersions = new Map<number, number>();

  constructor(
    readonly clock: Clock,
    readonly repositoriesRoot: string,
  ) {}

  nextId(sequence: string): number {
    const next = (this.sequences.get(sequence) ?? 0) + 1;
    this.sequences.set(sequence, next);
    return next;
  }

  now(): Date {
    return this.clock.now();
  }

  // ---- users and tokens -------------------------------------------------------------------

  createUser(input: {
    username: string;
    email?: string;
    name?: string;
    password?: string;
    isAdmin?: boolean;
  }): UserRecord {
    if (this.findUserByLogin(input.username)) throw new Error(`username ${input.username} is taken`);
    if (this.findNamespaceByFullPath(input.username)) throw new Error(`path ${input.username} is taken`);
    const now = this.now();
    const namespaceId = this.nextId('namespace');
    const user: UserRecord = {
      id: this.nextId('user'),
      username: input.username,
      name: input.name ?? input.username,
      email: input.email ?? `${input.username}@example.com`,
      password: input.password ?? 'password123',
      isAdmin: input.isAdmin ?? false,
      namespaceId,
      createdAt: now,
    };
    this.users.set(user.id, user);
    this.namespaces.set(namespaceId, {
      id: namespaceId,
      kind: 'user',
      name: user.name,
      path: user.username,
      parentId: null,
      ownerId: user.id,
      description: '',
      visibility: 'public',
      createdAt: now,
    });
    return user;
  }

  findUserByLogin(login: string): UserRecord | undefined {
    const lower = login.toLowerCase();
    return [...this.users.values()].find((u) => u.username.toLowerCase() === lower || u.email.toLowerCase() === lower);
  }

  requireUser(id: number): UserRecord {
    const user = this.users.get(id);
    if (!user) throw new Error(`user ${id} does not exist`);
    return user;
  }

  userNamespaceId(userId: number): number {
    return this.requireUser(userId).namespaceId;
  }

  createPersonalAccessToken(
    userId: number,
    input: { name?: string; scopes: string[]; expiresAt?: string | null; revoked?: boolean; description?: string },
  ): { id: number; token: string } {
    this.requireUser(userId);
    const id = this.nextId('pat');
    // GitLab's default prefix is glpat- (doc/user/profile/personal_access_tokens.md, "token prefix").
    const token = `glpat-${randomBytes(15).toString('base64url')}`;
    this.pats.set(id, {
      id,
      userId,
      name: input.name ?? `token-${id}`,
      description: input.description ?? null,
      scopes: [...input.scopes],
      token,
      createdAt: this.now(),
      expiresAt: input.expiresAt === undefined ? null : input.expiresAt,
      revoked: input.revoked ?? false,
      lastUsedAt: null,
    });
    return { id, token };
  }

  revokePersonalAccessToken(id: number): void {
    const pat = this.pats.get(id);
    if (!pat) throw new Error(`personal access token ${id} does not exist`);
    pat.revoked = true;
  }

  // ---- groups, projects, members ----------------------------------------------------------

  createGroup(input: {
    path: string;
    name?: string;
    parentId?: number | null;
    visibility?: Visibility;
    ownerId?: number;
    description?: string;
    defaultBranchProtection?: BranchProtectionLevel;
  }): NamespaceRecord {
    const parentId = input.parentId ?? null;
    if (parentId !== null && this.namespaces.get(parentId)?.kind !== 'group')
      throw new Error(`group ${parentId} does not exist`);
    const fullPath = parentId === null ? input.path : `${this.fullPath(parentId)}/${input.path}`;
    if (this.findNamespaceByFullPath(fullPath) || this.findProjectByFullPath(fullPath))
      throw new Error(`path ${fullPath} is taken`);
    const group: NamespaceRecord = {
      id: this.nextId('namespace'),
      kind: 'group',
      name: input.name ?? input.path,
      path: input.path,
      parentId,
      ownerId: null,
      description: input.description ?? '',
      visibility: input.visibility ?? 'private',
      createdAt: this.now(),
      ...(input.defaultBranchProtection !== undefined
        ? { defaultBranchProtection: input.defaultBranchProtection }
        : {}),
    };
    this.namespaces.set(group.id, group);
    if (input.ownerId !== undefined) this.addMember('group', group.id, input.ownerId, 50);
    return group;
  }

  addMember(
    kind: 'group' | 'project',
    id: number,
    userId: number,
    accessLevel: number,
    meta: { createdById?: number; expiresAt?: string | null } = {},
  ): void {
    this.requireUser(userId);
    if (kind === 'group' && this.namespaces.get(id)?.kind !== 'group') throw new Error(`group ${id} does not exist`);
    if (kind === 'project' && !this.projects.has(id)) throw new Error(`project ${id} does not exist`);
    this.members.set(`${kind}:${id}:${userId}`, accessLevel);
    this.membershipMeta.set(`${kind}:${id}:${userId}`, {
      createdAt: this.now(),
      createdById: meta.createdById ?? null,
      expiresAt: meta.expiresAt ?? null,
    });
  }

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
    creatorId?: number;
    topics?: string[];
  }): ProjectRecord {
    const namespace = this.namespaces.get(input.namespaceId);
    if (!namespace) throw new Error(`namespace ${input.namespaceId} does not exist`);
    const fullPath = `${this.fullPath(namespace.id)}/${input.path}`;
    if (this.findProjectByFullPath(fullPath) || this.findNamespaceByFullPath(fullPath))
      throw new Error(`path ${fullPath} is taken`);
    const now = this.now();
    const withCommit = input.withCommit ?? true;
    const project: ProjectRecord = {
      id: this.nextId('project'),
      name: input.name ?? input.path,
      path: input.path,
      namespaceId: namespace.id,
      description: input.description ?? null,
      visibility: input.visibility ?? 'private',
      defaultBranch: withCommit ? (input.defaultBranch ?? 'main') : (input.defaultBranch ?? null),
      archived: input.archived ?? false,
      wikiEnabled: input.wikiEnabled ?? true,
      lfsEnabled: input.lfsEnabled ?? true,
      issuesEnabled: true,
      creatorId: input.creatorId ?? namespace.ownerId ?? this.firstOwnerOf(namespace.id) ?? 1,
      createdAt: now,
      updatedAt: now,
      lastActivityAt: now,
      topics: input.topics ?? [],
    };
    this.projects.set(project.id, project);
    // An empty project's HEAD still names the instance default branch (main), as on GitLab.
    repos.initBareRepository(this.repoPath(project.id), input.defaultBranch ?? 'main');
    // No wiki repository yet: GitLab creates it lazily, on the first page or the first push (git-http.ts).
    if (withCommit) {
      this.pushCommit(project.id, {
        branch: project.defaultBranch!,
        files: { 'README.md': `# ${project.name}\n` },
        message: 'Initial commit',
      });
    }
    return project;
  }

  deleteProject(id: number): void {
    const project = this.requireProject(id);
    repos.removeRepository(this.repoPath(project.id));
    repos.removeRepository(this.wikiPath(project.id));
    this.projects.delete(id);
    for (const key of [...this.members.keys()]) if (key.startsWith(`project:${id}:`)) this.members.delete(key);
    const perProject = [
      this.labels,
      this.milestones,
      this.issues,
      this.notes,
      this.mergeRequests,
      this.releases,
      this.snippets,
      this.hooks,
      this.deployKeys,
      this.variables,
      this.protectedBranches,
      this.protectedTags,
    ] as Array<Array<{ projectId: number }>>;
    const mergeRequestIds = new Set(this.mergeRequests.filter((m) => m.projectId === id).map((m) => m.id));
    for (let i = this.mergeRequestDiffs.length - 1; i >= 0; i--)
      if (mergeRequestIds.has(this.mergeRequestDiffs[i].mergeRequestId)) this.mergeRequestDiffs.splice(i, 1);
    for (const list of perProject) {
      for (let i = list.length - 1; i >= 0; i--) if (list[i].projectId === id) list.splice(i, 1);
    }
  }

  /**
   * Deletes a group with everything in it: its subgroups and their projects first (GitLab's
   * Groups::DestroyService destroys the projects and the descendants with the group).
   */
  deleteGroup(id: number): void {
    if (this.namespaces.get(id)?.kind !== 'group') throw new Error(`group ${id} does not exist`);
    for (const child of [...this.namespaces.values()].filter((n) => n.parentId === id)) this.deleteGroup(child.id);
    for (const project of [...this.projects.values()].filter((p) => p.namespaceId === id))
      this.deleteProject(project.id);
    for (const key of [...this.members.keys()]) if (key.startsWith(`group:${id}:`)) this.members.delete(key);
    for (const list of [this.groupLabels, this.groupMilestones, this.epics] as Array<Array<{ groupId: number }>>)
      for (let i = list.length - 1; i >= 0; i--) if (list[i].groupId === id) list.splice(i, 1);
    this.namespaces.delete(id);
  }

  requireProject(id: number): ProjectRecord {
    const project = this.projects.get(id);
    if (!project) throw new Error(`project ${id} does not exist`);
    return project;
  }

  pushCommit(
    projectId: number,
    input: { branch?: string; files: Record<string, string>; message?: string; authorId?: number },
  ): string {
    const project = this.requireProject(projectId);
    const branch = input.branch ?? project.defaultBranch ?? 'main';
    const author = this.users.get(input.authorId ?? project.creatorId) ?? {
      name: 'Simulator',
      email: 'simulator@example.com',
    };
    const sha = repos.commitFiles(this.repoPath(projectId), {
      branch,
      files: input.files,
      message: input.message ?? 'Update files',
      author: { name: author.name, email: author.email },
      date: this.now(),
      startPoint: project.defaultBranch ? `refs/heads/${project.defaultBranch}` : undefined,
    });
    this.afterPush(project);
    return sha;
  }

  createBranch(projectId: number, input: { branch: string; ref?: string }): string {
    const project = this.requireProject(projectId);
    const sha = repos.createBranch(
      this.repoPath(projectId),
      input.branch,
      input.ref ?? `refs/heads/${project.defaultBranch ?? 'main'}`,
    );
    this.afterPush(project);
    return sha;
  }

  createTag(projectId: number, input: { tag: string; ref?: string; message?: string }): string {
    const project = this.requireProject(projectId);
    const sha = repos.createTag(
      this.repoPath(projectId),
      input.tag,
      input.ref ?? `refs/heads/${project.defaultBranch ?? 'main'}`,
      input.message,
      { name: 'Simulator', email: 'simulator@example.com' },
      this.now(),
    );
    this.afterPush(project);
    return sha;
  }

  /** Commits to the project's wiki repository (GitLab stores pages as `<slug>.md`). */
  pushWikiPage(projectId: number, input: { title: string; content: string }): string {
    const project = this.requireProject(projectId);
    repos.initBareRepository(this.wikiPath(projectId), 'main');
    const sha = repos.commitFiles(this.wikiPath(projectId), {
      branch: 'main',
      files: { [`${input.title.replace(/\s+/g, '-')}.md`]: input.content },
      message: `Update ${input.title}`,
      author: { name: 'Simulator', email: 'simulator@example.com' },
      date: this.now(),
    });
    project.lastActivityAt = this.now();
    this.bumpRepoVersion(projectId);
    return sha;
  }

  /** What GitLab does after a push: first branch becomes the default, activity is bumped. */
  afterPush(project: ProjectRecord): void {
    const path = this.repoPath(project.id);
    const branches = repos.listBranches(path);
    if (!project.defaultBranch || !branches.includes(project.defaultBranch)) {
      const chosen = branches.includes('main') ? 'main' : branches.includes('master') ? 'master' : branches[0];
      if (chosen) {
        project.defaultBranch = chosen;
        repos.setHead(path, chosen);
      }
    }
    project.lastActivityAt = this.now();
    this.bumpRepoVersion(project.id);
  }

  /** Changes whenever a repository or wiki of the project changes (for cached statistics). */
  repoVersion(projectId: number): number {
    return this.repoVersions.get(projectId) ?? 0;
  }

  bumpRepoVersion(projectId: number): void {
    this.repoVersions.set(projectId, this.repoVersion(projectId) + 1);
  }

  isEmptyRepo(project: ProjectRecord): boolean {
    return !repos.hasAnyRef(this.repoPath(project.id));
  }

  // ---- paths ------------------------------------------------------------------------------

  fullPath(namespaceId: number): string {
    const parts: string[] = [];
    let current = this.namespaces.get(namespaceId);
    while (current) {
      parts.unshift(current.path);
      current = current.parentId === null ? undefined : this.namespaces.get(current.parentId);
    }
    return parts.join('/');
  }

  fullName(namespaceId: number): string {
    const parts: string[] = [];
    let current = this.namespaces.get(namespaceId);
    while (current) {
      parts.unshift(current.name);
      current = current.parentId === null ? undefined : this.namespaces.get(current.parentId);
    }
    return parts.join(' / ');
  }

  /**
   * The default_branch_protection that applies to a project's first push: its group's own
   * setting, else the instance's (Namespace#default_branch_protection_settings).
   */
  branchProtectionFor(project: ProjectRecord): BranchProtectionLevel {
    const namespace = this.namespaces.get(project.namespaceId);
    return (
      (namespace?.kind === 'group' ? namespace.defaultBranchProtection : undefined) ?? this.defaultBranchProtection
    );
  }

  projectFullPath(project: ProjectRecord): string {
    return `${this.fullPath(project.namespaceId)}/${project.path}`;
  }

  /** GitLab resolves paths case-insensitively (Route.find_by_full_path). */
  findNamespaceByFullPath(fullPath: string): NamespaceRecord | undefined {
    const lower = fullPath.toLowerCase();
    return [...this.namespaces.values()].find((n) => this.fullPath(n.id).toLowerCase() === lower);
  }

  findProjectByFullPath(fullPath: string): ProjectRecord | undefined {
    const lower = fullPath.toLowerCase();
    return [...this.projects.values()].find((p) => this.projectFullPath(p).toLowerCase() === lower);
  }

  repoPath(projectId: number): string {
    return join(this.repositoriesRoot, '@projects', `${projectId}.git`);
  }

  wikiPath(projectId: number): string {
    return join(this.repositoriesRoot, '@projects', `${projectId}.wiki.git`);
  }

  /** The tier that applies to a namespace: its top-level group's subscription, else the instance's. */
  tierOf(namespaceId: number): Tier {
    const chain = this.ancestors(namespaceId);
    const root = chain[chain.length - 1];
    return (root ? this.groupTiers.get(root.id) : undefined) ?? this.tier;
  }

  ancestors(namespaceId: number): NamespaceRecord[] {
    const out: NamespaceRecord[] = [];
    let current = this.namespaces.get(namespaceId);
    while (current) {
      out.push(current);
      current = current.parentId === null ? undefined : this.namespaces.get(current.parentId);
    }
    return out;
  }

  descendantGroups(groupId: number): NamespaceRecord[] {
    const out: NamespaceRecord[] = [];
    const visit = (id: number): void => {
      for (const n of this.namespaces.values()) {
        if (n.kind === 'group' && n.parentId === id) {
          out.push(n);
          visit(n.id);
        }
      }
    };
    visit(groupId);
    return out;
  }

  private firstOwnerOf(groupId: number): number | undefined {
    for (const [key, level] of this.members) {
      const [kind, id, userId] = key.split(':');
      if (kind === 'group' && Number(id) === groupId && level === 50) return Number(userId);
    }
    return undefined;
  }
}
