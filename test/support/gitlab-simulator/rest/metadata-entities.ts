/**
 * JSON shapes of the metadata entities (lib/api/entities/*.rb; examples in doc/api/merge_requests.md,
 * releases/index.md, project_snippets.md, project_webhooks.md, deploy_keys.md,
 * project_level_variables.md, protected_branches.md, protected_tags.md, members.md,
 * group_labels.md, group_milestones.md, epics.md).
 */
import { createHash } from 'node:crypto';
import type { SimContext } from '../context.js';
import type {
  ProjectRecord,
  DeployKeyRecord,
  EpicRecord,
  GroupLabelRecord,
  GroupMilestoneRecord,
  HookRecord,
  MergeRequestDiffRecord,
  MergeRequestRecord,
  ProtectedBranchRecord,
  ProtectedTagRecord,
  ReleaseRecord,
  SnippetRecord,
  VariableRecord,
} from '../model.js';
import { userBasic } from './entities.js';
import { milestoneEntity } from './labels.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** An issue's or merge request's milestone: the project's own or one of its groups' (one id sequence for both). */
export function issuableMilestoneEntity(ctx: SimContext, id: number | null) {
  if (id === null) return null;
  const own = ctx.state.milestones.find((m) => m.id === id);
  if (own) return milestoneEntity(ctx, own);
  const group = ctx.state.groupMilestones.find((m) => m.id === id);
  return group ? groupMilestoneEntity(ctx, group) : null;
}

/**
 * IssuableBaseService#filter_milestone: a milestone_id that is neither the project's nor one of its
 * ancestor groups' is dropped without an error.
 */
export function availableMilestoneId(ctx: SimContext, project: ProjectRecord, id: number | undefined): number | null {
  if (id === undefined || id === 0) return null;
  if (ctx.state.milestones.some((m) => m.id === id && m.projectId === project.id)) return id;
  const groups = new Set(ctx.state.ancestors(project.namespaceId).map((n) => n.id));
  return ctx.state.groupMilestones.some((m) => m.id === id && groups.has(m.groupId)) ? id : null;
}

/**
 * IssuableBaseService#filter_assignees_using_checks (and the reviewers' twin): users who cannot
 * read the project are dropped from assignee_ids / reviewer_ids without an error.
 */
export function assignableIds(ctx: SimContext, project: ProjectRecord, ids: number[] | undefined): number[] {
  return (ids ?? []).filter((id) => {
    const user = ctx.state.users.get(id);
    return !!user && ctx.access.canReadProject(user, project);
  });
}

export function mergeRequestEntity(ctx: SimContext, mr: MergeRequestRecord) {
  const { state } = ctx;
  const project = state.projects.get(mr.projectId)!;
  const fullPath = state.projectFullPath(project);
  const user = (id: number) => userBasic(ctx, state.users.get(id)!);
  const assignees = mr.assigneeIds.filter((id) => state.users.has(id)).map(user);
  const latest = state.mergeRequestDiffs.filter((d) => d.mergeRequestId === mr.id).at(-1);
  return {
    id: mr.id,
    iid: mr.iid,
    project_id: mr.projectId,
    title: mr.title,
    description: mr.description,
    state: mr.state,
    created_at: iso(mr.createdAt),
    updated_at: iso(mr.updatedAt),
    merged_by: mr.mergedAt ? user(mr.authorId) : null,
    merge_user: mr.mergedAt ? user(mr.authorId) : null,
    merged_at: iso(mr.mergedAt),
    closed_by: mr.closedAt ? user(mr.authorId) : null,
    closed_at: iso(mr.closedAt),
    target_branch: mr.targetBranch,
    source_branch: mr.sourceBranch,
    user_notes_count: state.notes.filter(
      (n) => n.projectId === mr.projectId && n.noteableType === 'MergeRequest' && n.noteableIid === mr.iid && !n.system,
    ).length,
    upvotes: 0,
    downvotes: 0,
    author: user(mr.authorId),
    assignees,
    assignee: assignees[0] ?? null,
    reviewers: mr.reviewerIds.filter((id) => state.users.has(id)).map(user),
    source_project_id: mr.projectId,
    target_project_id: mr.projectId,
    labels: [...mr.labels].sort(),
    draft: mr.draft,
    work_in_progress: mr.draft,
    milestone: issuableMilestoneEntity(ctx, mr.milestoneId),
    merge_when_pipeline_succeeds: false,
    merge_status: 'can_be_merged',
    detailed_merge_status: mr.state === 'opened' ? 'mergeable' : 'not_open',
    sha: latest?.headCommitSha ?? null,
    merge_commit_sha: null,
    squash_commit_sha: null,
    discussion_locked: null,
    should_remove_source_branch: null,
    force_remove_source_branch: mr.removeSourceBranch,
    prepared_at: iso(mr.createdAt),
    reference: `!${mr.iid}`,
    references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${fullPath}!${mr.iid}` },
    web_url: `${ctx.baseUrl()}/${fullPath}/-/merge_requests/${mr.iid}`,
    time_stats: { time_estimate: 0, total_time_spent: 0, human_time_estimate: null, human_total_time_spent: null },
    squash: mr.squash,
    squash_on_merge: mr.squash,
    task_completion_status: { count: 0, completed_count: 0 },
    has_conflicts: false,
    blocking_discussions_resolved: true,
  };
}

/** Entities::MergeRequestDiff: a version's metadata, not its diffs. */
export function mergeRequestDiffEntity(diff: MergeRequestDiffRecord) {
  return {
    id: diff.id,
    head_commit_sha: diff.headCommitSha,
    base_commit_sha: diff.baseCommitSha,
    start_commit_sha: diff.startCommitSha,
    created_at: iso(diff.createdAt),
    merge_request_id: diff.mergeRequestId,
    state: 'collected',
    real_size: '1',
    patch_id_sha: diff.headCommitSha,
  };
}

export function releaseEntity(ctx: SimContext, release: ReleaseRecord) {
  const { state } = ctx;
  const project = state.projects.get(release.projectId)!;
  const fullPath = state.projectFullPath(project);
  const web = `${ctx.baseUrl()}/${fullPath}`;
  const archive = (format: string) => ({
    format,
    url: `${web}/-/archive/${release.tagName}/${project.path}-${release.tagName}.${format}`,
  });
  return {
    name: release.name,
    tag_name: release.tagName,
    description: release.description,
    created_at: iso(release.createdAt),
    released_at: iso(release.releasedAt),
    upcoming_release: release.releasedAt.getTime() > state.now().getTime(),
    author: userBasic(ctx, state.users.get(release.authorId)!),
    commit: { id: release.sha, short_id: release.sha.slice(0, 8) },
    milestones: release.milestoneIds
      .map((id) => state.milestones.find((m) => m.id === id))
      .filter((m) => m !== undefined)
      .map((m) => milestoneEntity(ctx, m)),
    commit_path: `/${fullPath}/-/commit/${release.sha}`,
    tag_path: `/${fullPath}/-/tags/${release.tagName}`,
    assets: {
      count: 4 + release.links.length,
      sources: ['zip', 'tar.gz', 'tar.bz2', 'tar'].map(archive),
      links: release.links.map((l) => ({
        id: l.id,
        name: l.name,
        url: l.url,
        link_type: l.linkType,
        direct_asset_url: l.directAssetPath
          ? `${web}/-/releases/${release.tagName}/downloads${l.directAssetPath.startsWith('/') ? '' : '/'}${l.directAssetPath}`
          : l.url,
      })),
    },
    evidences: [],
    _links: { self: `${web}/-/releases/${release.tagName}`, edit_url: `${web}/-/releases/${release.tagName}/edit` },
  };
}

/** The default branch of a snippet's repository. */
export const SNIPPET_BRANCH = 'main';

export function snippetEntity(ctx: SimContext, snippet: SnippetRecord) {
  const project = ctx.state.projects.get(snippet.projectId)!;
  const web = `${ctx.baseUrl()}/${ctx.state.projectFullPath(project)}/-/snippets/${snippet.id}`;
  return {
    id: snippet.id,
    title: snippet.title,
    description: snippet.description,
    visibility: snippet.visibility,
    author: userBasic(ctx, ctx.state.users.get(snippet.authorId)!),
    created_at: iso(snippet.createdAt),
    updated_at: iso(snippet.updatedAt),
    project_id: snippet.projectId,
    web_url: web,
    raw_url: `${web}/raw`,
    // Entities::Snippet: file_name is the first file's; files lists every file of the snippet's
    // repository with gitlab_raw_snippet_blob_url (…/-/snippets/:id/raw/<default branch>/<path>).
    file_name: snippet.files[0].path,
    files: snippet.files.map((f) => ({ path: f.path, raw_url: `${web}/raw/${SNIPPET_BRANCH}/${f.path}` })),
    imported: false,
    imported_from: 'none',
  };
}

/** Entities::ProjectHook: the token is write-only, url_variables and custom_headers show keys only. */
export function hookEntity(hook: HookRecord) {
  return {
    id: hook.id,
    url: hook.url,
    name: hook.name,
    description: hook.description,
    created_at: iso(hook.createdAt),
    ...hook.events,
    repository_update_events: false,
    enable_ssl_verification: hook.enableSslVerification,
    alert_status: 'executable',
    disabled_until: null,
    url_variables: [],
    push_events_branch_filter: hook.pushEventsBranchFilter,
    branch_filter_strategy: 'wildcard',
    custom_webhook_template: null,
    custom_headers: [],
    project_id: hook.projectId,
  };
}

export function deployKeyEntity(key: DeployKeyRecord) {
  const blob = Buffer.from(key.key.split(' ')[1] ?? '', 'base64');
  const md5 = createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
  const sha256 = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  return {
    id: key.id,
    title: key.title,
    created_at: iso(key.createdAt),
    expires_at: key.expiresAt,
    key: key.key,
    usage_type: 'auth_and_signing',
    fingerprint: md5,
    fingerprint_sha256: `SHA256:${sha256}`,
    can_push: key.canPush,
  };
}

/** Hidden variables (GitLab 17.4+) never show their value again. */
export function variableEntity(variable: VariableRecord) {
  return {
    variable_type: variable.variableType,
    key: variable.key,
    value: variable.hidden ? null : variable.value,
    hidden: variable.hidden,
    protected: variable.protected,
    masked: variable.masked,
    raw: variable.raw,
    environment_scope: variable.environmentScope,
    description: variable.description,
  };
}

const ACCESS_DESCRIPTIONS: Record<number, string> = {
  0: 'No one',
  30: 'Developers + Maintainers',
  40: 'Maintainers',
  60: 'Admins',
};

function accessLevel(id: number, level: number) {
  return {
    id,
    access_level: level,
    access_level_description: ACCESS_DESCRIPTIONS[level] ?? 'Maintainers',
    deploy_key_id: null,
    user_id: null,
    group_id: null,
  };
}

export function protectedBranchEntity(branch: ProtectedBranchRecord) {
  return {
    id: branch.id,
    name: branch.name,
    push_access_levels: [accessLevel(branch.pushAccessId, branch.pushAccessLevel)],
    merge_access_levels: [accessLevel(branch.mergeAccessId, branch.mergeAccessLevel)],
    allow_force_push: branch.allowForcePush,
    unprotect_access_levels: [],
    code_owner_approval_required: false,
    inherited: false,
  };
}

/** Entities::ProtectedTag exposes no id. */
export function protectedTagEntity(tag: ProtectedTagRecord) {
  return { name: tag.name, create_access_levels: [accessLevel(tag.createAccessId, tag.createAccessLevel)] };
}

export function memberEntity(
  ctx: SimContext,
  kind: 'group' | 'project',
  sourceId: number,
  userId: number,
  level: number,
) {
  const user = ctx.state.users.get(userId)!;
  const meta = ctx.state.membershipMeta.get(`${kind}:${sourceId}:${userId}`);
  const creator = meta?.createdById ? ctx.state.users.get(meta.createdById) : undefined;
  return {
    ...userBasic(ctx, user),
    access_level: level,
    created_at: iso(meta?.createdAt ?? user.createdAt),
    ...(creator ? { created_by: userBasic(ctx, creator) } : {}),
    expires_at: meta?.expiresAt ?? null,
    group_saml_identity: null,
    membership_state: 'active',
  };
}

export function groupLabelEntity(ctx: SimContext, label: GroupLabelRecord) {
  return {
    id: label.id,
    name: label.name,
    description: label.description,
    description_html: label.description ?? '',
    text_color: '#FFFFFF',
    color: label.color,
    open_issues_count: 0,
    closed_issues_count: 0,
    open_merge_requests_count: 0,
    subscribed: false,
  };
}

export function groupMilestoneEntity(ctx: SimContext, milestone: GroupMilestoneRecord) {
  const expired =
    milestone.dueDate !== null && new Date(`${milestone.dueDate}T23:59:59Z`).getTime() < ctx.state.now().getTime();
  return {
    id: milestone.id,
    iid: milestone.iid,
    group_id: milestone.groupId,
    title: milestone.title,
    description: milestone.description,
    state: milestone.state,
    created_at: iso(milestone.createdAt),
    updated_at: iso(milestone.updatedAt),
    due_date: milestone.dueDate,
    start_date: milestone.startDate,
    expired,
    web_url: `${ctx.baseUrl()}/groups/${ctx.state.fullPath(milestone.groupId)}/-/milestones/${milestone.iid}`,
  };
}

export function epicEntity(ctx: SimContext, epic: EpicRecord) {
  const fullPath = ctx.state.fullPath(epic.groupId);
  const parent = epic.parentId !== null ? ctx.state.epics.find((e) => e.id === epic.parentId) : undefined;
  return {
    id: epic.id,
    iid: epic.iid,
    group_id: epic.groupId,
    parent_id: epic.parentId,
    parent_iid: parent?.iid ?? null,
    title: epic.title,
    description: epic.description,
    state: epic.state,
    confidential: epic.confidential,
    web_url: `${ctx.baseUrl()}/groups/${fullPath}/-/epics/${epic.iid}`,
    reference: `&${epic.iid}`,
    references: { short: `&${epic.iid}`, relative: `&${epic.iid}`, full: `${fullPath}&${epic.iid}` },
    author: userBasic(ctx, ctx.state.users.get(epic.authorId)!),
    start_date: epic.startDateFixed,
    start_date_is_fixed: epic.startDateFixed !== null,
    start_date_fixed: epic.startDateFixed,
    start_date_from_milestones: null,
    start_date_from_inherited_source: null,
    end_date: epic.dueDateFixed,
    due_date: epic.dueDateFixed,
    due_date_is_fixed: epic.dueDateFixed !== null,
    due_date_fixed: epic.dueDateFixed,
    due_date_from_milestones: null,
    due_date_from_inherited_source: null,
    created_at: iso(epic.createdAt),
    updated_at: iso(epic.updatedAt),
    closed_at: iso(epic.closedAt),
    labels: [...epic.labels].sort(),
    upvotes: 0,
    downvotes: 0,
  };
}
