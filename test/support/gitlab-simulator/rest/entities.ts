/**
 * JSON shapes of GitLab's API entities (lib/api/entities/*.rb; examples in doc/api/projects.md,
 * doc/api/groups.md, doc/api/namespaces.md, doc/api/users.md, doc/api/personal_access_tokens.md).
 * Timestamps are ISO 8601 with milliseconds in UTC, as Grape renders them.
 */
import type { SimContext } from '../context.js';
import type { NamespaceRecord, PersonalAccessTokenRecord, ProjectRecord, UserRecord } from '../model.js';
import * as repos from '../repos.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function userBasic(ctx: SimContext, user: UserRecord) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: `${ctx.baseUrl()}/${user.username}`,
  };
}

/** GET /user (Entities::UserPublic): the caller sees its own email and settings. */
export function currentUser(ctx: SimContext, user: UserRecord) {
  return {
    ...userBasic(ctx, user),
    created_at: iso(user.createdAt),
    bio: '',
    location: '',
    public_email: null,
    skype: '',
    linkedin: '',
    twitter: '',
    discord: '',
    website_url: '',
    organization: '',
    job_title: '',
    pronouns: null,
    bot: false,
    work_information: null,
    followers: 0,
    following: 0,
    local_time: null,
    last_sign_in_at: iso(user.createdAt),
    confirmed_at: iso(user.createdAt),
    last_activity_on: null,
    email: user.email,
    theme_id: 1,
    color_scheme_id: 1,
    projects_limit: 100000,
    current_sign_in_at: null,
    identities: [],
    can_create_group: true,
    can_create_project: true,
    two_factor_enabled: false,
    external: false,
    private_profile: false,
    commit_email: user.email,
    ...(user.isAdmin ? { is_admin: true } : {}),
  };
}

export function personalAccessToken(pat: PersonalAccessTokenRecord, active: boolean) {
  return {
    id: pat.id,
    name: pat.name,
    revoked: pat.revoked,
    created_at: iso(pat.createdAt),
    description: pat.description,
    scopes: pat.scopes,
    user_id: pat.userId,
    last_used_at: iso(pat.lastUsedAt),
    active,
    expires_at: pat.expiresAt,
    last_used_ips: [],
  };
}

export function groupEntity(ctx: SimContext, group: NamespaceRecord) {
  const fullPath = ctx.state.fullPath(group.id);
  return {
    id: group.id,
    web_url: `${ctx.baseUrl()}/groups/${fullPath}`,
    name: group.name,
    path: group.path,
    description: group.description,
    visibility: group.visibility,
    share_with_group_lock: false,
    require_two_factor_authentication: false,
    two_factor_grace_period: 48,
    project_creation_level: 'developer',
    auto_devops_enabled: null,
    subgroup_creation_level: 'maintainer',
    emails_disabled: false,
    emails_enabled: true,
    mentions_disabled: null,
    lfs_enabled: true,
    default_branch: null,
    default_branch_protection: group.defaultBranchProtection ?? ctx.state.defaultBranchProtection,
    avatar_url: null,
    request_access_enabled: true,
    full_name: ctx.state.fullName(group.id),
    full_path: fullPath,
    created_at: iso(group.createdAt),
    parent_id: group.parentId,
    organization_id: 1,
    shared_runners_setting: 'enabled',
    ldap_cn: null,
    ldap_access: null,
    wiki_access_level: 'enabled',
    marked_for_deletion_on: null,
  };
}

export function namespaceEntity(ctx: SimContext, ns: NamespaceRecord) {
  const fullPath = ctx.state.fullPath(ns.id);
  const projectsCount = [...ctx.state.projects.values()].filter((p) => p.namespaceId === ns.id).length;
  return {
    id: ns.id,
    name: ns.name,
    path: ns.path,
    kind: ns.kind,
    full_path: fullPath,
    parent_id: ns.parentId,
    avatar_url: null,
    web_url: ns.kind === 'group' ? `${ctx.baseUrl()}/groups/${fullPath}` : `${ctx.baseUrl()}/${fullPath}`,
    billable_members_count: 1,
    plan: ctx.state.tierOf(ns.id),
    end_date: null,
    trial_ends_on: null,
    trial: false,
    root_repository_size: 0,
    projects_count: projectsCount,
  };
}

/** The namespace embedded in a project (Entities::NamespaceBasic). */
function projectNamespace(ctx: SimContext, ns: NamespaceRecord) {
  const fullPath = ctx.state.fullPath(ns.id);
  return {
    id: ns.id,
    name: ns.name,
    path: ns.path,
    kind: ns.kind,
    full_path: fullPath,
    parent_id: ns.parentId,
    avatar_url: null,
    web_url: ns.kind === 'group' ? `${ctx.baseUrl()}/groups/${fullPath}` : `${ctx.baseUrl()}/${fullPath}`,
  };
}

const statsCache = new WeakMap<ProjectRecord, { stamp: string; stats: ReturnType<typeof computeStatistics> }>();

/** ProjectStatistics#lfs_objects_size: the sizes of the LFS objects linked to the project. */
function lfsObjectsSize(ctx: SimContext, project: ProjectRecord): number {
  return (ctx.lfs?.objects(project.id) ?? []).reduce((sum, o) => sum + Math.max(0, o.size), 0);
}

function computeStatistics(ctx: SimContext, project: ProjectRecord) {
  const repositorySize = repos.directorySize(ctx.state.repoPath(project.id));
  const wikiSize = repos.directorySize(ctx.state.wikiPath(project.id));
  return {
    commit_count: repos.commitCount(ctx.state.repoPath(project.id), project.defaultBranch),
    storage_size: repositorySize + wikiSize,
    repository_size: repositorySize,
    wiki_size: wikiSize,
    lfs_objects_size: lfsObjectsSize(ctx, project),
    job_artifacts_size: 0,
    pipeline_artifacts_size: 0,
    packages_size: 0,
    snippets_size: 0,
    uploads_size: 0,
    container_registry_size: 0,
  };
}

export function projectStatistics(ctx: SimContext, project: ProjectRecord) {
  const stamp = `${project.lastActivityAt.getTime()}:${ctx.state.repoVersion(project.id)}:${lfsObjectsSize(ctx, project)}`;
  const cached = statsCache.get(project);
  if (cached && cached.stamp === stamp) return cached.stats;
  const stats = computeStatistics(ctx, project);
  statsCache.set(project, { stamp, stats });
  return stats;
}

/** Entities::BasicProjectDetails — what `simple=true` returns. */
export function projectBasic(ctx: SimContext, project: ProjectRecord) {
  const ns = ctx.state.namespaces.get(project.namespaceId)!;
  const fullPath = ctx.state.projectFullPath(project);
  const webUrl = `${ctx.baseUrl()}/${fullPath}`;
  const host = new URL(ctx.baseUrl()).hostname;
  const empty = ctx.state.isEmptyRepo(project);
  return {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: `${ctx.state.fullName(ns.id)} / ${project.name}`,
    path: project.path,
    path_with_namespace: fullPath,
    created_at: iso(project.createdAt),
    // Project#default_branch_or_main: an empty repository still reports the instance default (main).
    default_branch: project.defaultBranch ?? 'main',
    tag_list: project.topics,
    topics: project.topics,
    ssh_url_to_repo: `git@${host}:${fullPath}.git`,
    http_url_to_repo: `${webUrl}.git`,
    web_url: webUrl,
    readme_url: empty ? null : `${webUrl}/-/blob/${project.defaultBranch}/README.md`,
    forks_count: 0,
    avatar_url: null,
    star_count: 0,
    last_activity_at: iso(project.lastActivityAt),
    namespace: projectNamespace(ctx, ns),
  };
}

/** Entities::Project (+ permissions for ProjectWithAccess, + statistics when asked and allowed). */
export function projectEntity(
  ctx: SimContext,
  project: ProjectRecord,
  viewer: UserRecord | null,
  options: { statistics?: boolean } = {},
) {
  const basic = projectBasic(ctx, project);
  const ns = ctx.state.namespaces.get(project.namespaceId)!;
  const owner = ns.kind === 'user' && ns.ownerId !== null ? ctx.state.users.get(ns.ownerId) : undefined;
  const api = `${ctx.baseUrl()}/api/v4/projects/${project.id}`;
  const level = viewer ? ctx.access.projectAccess(viewer, project) : 0;
  return {
    ...basic,
    container_registry_image_prefix: `registry.${new URL(ctx.baseUrl()).hostname}/${basic.path_with_namespace}`,
    _links: {
      self: api,
      issues: `${api}/issues`,
      merge_requests: `${api}/merge_requests`,
      repo_branches: `${api}/repository/branches`,
      labels: `${api}/labels`,
      events: `${api}/events`,
      members: `${api}/members`,
      cluster_agents: `${api}/cluster_agents`,
    },
    packages_enabled: true,
    empty_repo: ctx.state.isEmptyRepo(project),
    archived: project.archived,
    ...(owner ? { owner: userBasic(ctx, owner) } : {}),
    resolve_outdated_diff_discussions: false,
    container_registry_enabled: true,
    container_registry_access_level: 'enabled',
    issues_enabled: project.issuesEnabled,
    merge_requests_enabled: true,
    wiki_enabled: project.wikiEnabled,
    jobs_enabled: true,
    snippets_enabled: true,
    issues_access_level: project.issuesEnabled ? 'enabled' : 'disabled',
    repository_access_level: 'enabled',
    merge_requests_access_level: 'enabled',
    wiki_access_level: project.wikiEnabled ? 'enabled' : 'disabled',
    lfs_enabled: project.lfsEnabled,
    creator_id: project.creatorId,
    import_status: 'none',
    open_issues_count: ctx.state.issues.filter((i) => i.projectId === project.id && i.state === 'opened').length,
    description_html: project.description ? `<p>${project.description}</p>` : '',
    updated_at: iso(project.updatedAt),
    shared_runners_enabled: true,
    request_access_enabled: true,
    only_allow_merge_if_pipeline_succeeds: false,
    visibility: project.visibility,
    shared_with_groups: [],
    ...(viewer ? { permissions: ctx.access.projectPermissions(viewer, project) } : {}),
    // Statistics need Reporter+ (ProjectPolicy :read_statistics), otherwise the key is absent.
    ...(options.statistics && level >= 20 ? { statistics: projectStatistics(ctx, project) } : {}),
  };
}
