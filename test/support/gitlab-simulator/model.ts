/** The simulator's in-memory records. Field names follow GitLab's database, not its JSON. */

export type Visibility = 'private' | 'internal' | 'public';

/** GitLab's access levels (doc/api/members.md "Roles"). */
export const AccessLevel = {
  NO_ACCESS: 0,
  MINIMAL_ACCESS: 5,
  GUEST: 10,
  PLANNER: 15,
  REPORTER: 20,
  DEVELOPER: 30,
  MAINTAINER: 40,
  OWNER: 50,
} as const;

export interface UserRecord {
  id: number;
  username: string;
  name: string;
  email: string;
  password: string;
  isAdmin: boolean;
  namespaceId: number;
  createdAt: Date;
}

export interface NamespaceRecord {
  id: number;
  kind: 'user' | 'group';
  name: string;
  path: string;
  parentId: number | null;
  /** For kind 'user': the owner. */
  ownerId: number | null;
  description: string;
  visibility: Visibility;
  createdAt: Date;
  /** A group's own default_branch_protection (0–4, Gitlab::Access::BranchProtection); unset: the instance's. */
  defaultBranchProtection?: BranchProtectionLevel;
}

/**
 * default_branch_protection (doc/api/groups.md "Options for default_branch_protection"): 0 none,
 * 1 partial (Developers push, no force push), 2 full (Maintainers only, the default), 3 protected
 * against pushes (Maintainers push, Developers merge), 4 full after the initial push.
 */
export type BranchProtectionLevel = 0 | 1 | 2 | 3 | 4;

export interface ProjectRecord {
  id: number;
  name: string;
  path: string;
  namespaceId: number;
  description: string | null;
  visibility: Visibility;
  /** The branch HEAD points at; null until the first push when the project was created empty. */
  defaultBranch: string | null;
  archived: boolean;
  wikiEnabled: boolean;
  lfsEnabled: boolean;
  issuesEnabled: boolean;
  creatorId: number;
  createdAt: Date;
  updatedAt: Date;
  lastActivityAt: Date;
  topics: string[];
}

export interface PersonalAccessTokenRecord {
  id: number;
  userId: number;
  name: string;
  description: string | null;
  scopes: string[];
  token: string;
  createdAt: Date;
  /** YYYY-MM-DD; the token stops working at 00:00 UTC that day. */
  expiresAt: string | null;
  revoked: boolean;
  lastUsedAt: Date | null;
}

export interface OAuthApplicationRecord {
  id: number;
  name: string;
  uid: string;
  secret: string;
  redirectUris: string[];
  scopes: string[];
  confidential: boolean;
}

export interface OAuthGrantRecord {
  code: string;
  applicationId: number;
  userId: number;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  createdAt: Date;
  expiresInSeconds: number;
  revoked: boolean;
}

/** One Doorkeeper row: an access token and its refresh token live and die together. */
export interface OAuthTokenRecord {
  id: number;
  applicationId: number | null;
  userId: number;
  token: string;
  refreshToken: string;
  scopes: string[];
  createdAt: Date;
  expiresInSeconds: number;
  revokedAt: Date | null;
  /** Doorkeeper's refresh_token_revoked_on_use: the pair this one replaced, revoked on first use. */
  previousRefreshToken: string | null;
}

export interface LabelRecord {
  id: number;
  projectId: number;
  name: string;
  color: string;
  description: string | null;
  priority: number | null;
}

export interface MilestoneRecord {
  id: number;
  iid: number;
  projectId: number;
  title: string;
  description: string | null;
  state: 'active' | 'closed';
  dueDate: string | null;
  startDate: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface IssueRecord {
  id: number;
  iid: number;
  projectId: number;
  title: string;
  description: string | null;
  state: 'opened' | 'closed';
  authorId: number;
  assigneeIds: number[];
  labels: string[];
  milestoneId: number | null;
  confidential: boolean;
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
  closedById: number | null;
  dueDate: string | null;
  /** The epic the issue belongs to (epic_issues.md; at most one). */
  epicId: number | null;
}

export interface NoteRecord {
  id: number;
  projectId: number;
  /** What the note is on; `noteableIid` is that issue's or merge request's iid. */
  noteableType: 'Issue' | 'MergeRequest';
  noteableIid: number;
  authorId: number;
  body: string;
  system: boolean;
  internal: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface MergeRequestRecord {
  id: number;
  iid: number;
  projectId: number;
  title: string;
  description: string | null;
  state: 'opened' | 'closed' | 'merged';
  sourceBranch: string;
  targetBranch: string;
  authorId: number;
  assigneeIds: number[];
  reviewerIds: number[];
  labels: string[];
  milestoneId: number | null;
  draft: boolean;
  squash: boolean;
  removeSourceBranch: boolean;
  createdAt: Date;
  updatedAt: Date;
  mergedAt: Date | null;
  closedAt: Date | null;
}

/** A merge request diff version (GitLab's merge_request_diffs row). */
export interface MergeRequestDiffRecord {
  id: number;
  mergeRequestId: number;
  headCommitSha: string | null;
  baseCommitSha: string | null;
  startCommitSha: string | null;
  createdAt: Date;
}

export interface ReleaseLinkRecord {
  id: number;
  name: string;
  url: string;
  directAssetPath: string | null;
  linkType: 'other' | 'runbook' | 'image' | 'package';
}

export interface ReleaseRecord {
  id: number;
  projectId: number;
  tagName: string;
  name: string;
  description: string;
  authorId: number;
  sha: string;
  createdAt: Date;
  releasedAt: Date;
  milestoneIds: number[];
  links: ReleaseLinkRecord[];
}

export interface SnippetRecord {
  id: number;
  projectId: number;
  title: string;
  description: string | null;
  /**
   * The files of the snippet's repository, the first one first (GitLab keeps snippets in a git
   * repository since 13.0; its default branch is `main` here).
   */
  files: SnippetFile[];
  visibility: Visibility;
  authorId: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface SnippetFile {
  path: string;
  content: string;
}

export interface HookRecord {
  id: number;
  projectId: number;
  url: string;
  name: string;
  description: string;
  /** Never returned by the API (GitLab keeps it write-only). */
  token: string | null;
  events: Record<string, boolean>;
  pushEventsBranchFilter: string | null;
  enableSslVerification: boolean;
  createdAt: Date;
}

export interface DeployKeyRecord {
  id: number;
  projectId: number;
  title: string;
  key: string;
  canPush: boolean;
  expiresAt: string | null;
  createdAt: Date;
}

export interface VariableRecord {
  projectId: number;
  key: string;
  value: string;
  variableType: 'env_var' | 'file';
  protected: boolean;
  masked: boolean;
  hidden: boolean;
  raw: boolean;
  environmentScope: string;
  description: string | null;
}

export interface ProtectedBranchRecord {
  id: number;
  projectId: number;
  name: string;
  pushAccessLevel: number;
  mergeAccessLevel: number;
  allowForcePush: boolean;
  /** One id per access-level row, as GitLab numbers them. */
  pushAccessId: number;
  mergeAccessId: number;
}

export interface ProtectedTagRecord {
  id: number;
  projectId: number;
  name: string;
  createAccessLevel: number;
  createAccessId: number;
}

export interface GroupLabelRecord {
  id: number;
  groupId: number;
  name: string;
  color: string;
  description: string | null;
}

export interface GroupMilestoneRecord {
  id: number;
  iid: number;
  groupId: number;
  title: string;
  description: string | null;
  state: 'active' | 'closed';
  dueDate: string | null;
  startDate: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface EpicRecord {
  id: number;
  iid: number;
  groupId: number;
  title: string;
  description: string | null;
  state: 'opened' | 'closed';
  authorId: number;
  labels: string[];
  parentId: number | null;
  confidential: boolean;
  startDateFixed: string | null;
  dueDateFixed: string | null;
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
}

/** When a membership began and when it ends (the access level lives in SimulatorState#members). */
export interface MembershipMeta {
  createdAt: Date;
  createdById: number | null;
  expiresAt: string | null;
}

/** GitLab's subscription tiers, as far as the API differs between them (epics: Premium; multi-level epics: Ultimate). */
export type Tier = 'free' | 'premium' | 'ultimate';

/** Whether `tier` includes what `needed` offers (Ultimate ⊃ Premium ⊃ Free). */
export function tierIncludes(tier: Tier, needed: Tier): boolean {
  const rank: Record<Tier, number> = { free: 0, premium: 1, ultimate: 2 };
  return rank[tier] >= rank[needed];
}
