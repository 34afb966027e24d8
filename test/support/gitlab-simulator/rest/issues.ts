/**
 * Project issues and their notes (doc/api/issues.md, doc/api/notes.md): list, get, create,
 * update (including state_event close/reopen), and notes list/create. `created_at` and
 * `updated_at` are honoured for administrators and project owners, as GitLab documents — what a
 * restore needs to keep history.
 */
import type { Request, Router } from 'express';
import { requireUser, type Caller } from '../auth.js';
import type { SimContext } from '../context.js';
import { tierIncludes, type IssueRecord, type NoteRecord, type ProjectRecord } from '../model.js';
import { ApiError, isKeysetRequest, paginateKeysetByCursor, paginateOffset } from '../pagination.js';
import {
  boolParam,
  endpoint,
  findProject,
  forbidden,
  intParam,
  matchesSearch,
  missingParams,
  orderBy,
  param,
  sortParam,
} from './common.js';
import { userBasic } from './entities.js';
import { findOrCreateLabel, registerLabelRoutes } from './labels.js';
import { assignableIds, availableMilestoneId, issuableMilestoneEntity } from './metadata-entities.js';

function epicFields(ctx: SimContext, namespaceId: number, epicId: number | null) {
  const namespace = ctx.state.namespaces.get(namespaceId);
  if (namespace?.kind !== 'group' || !tierIncludes(ctx.state.tierOf(namespaceId), 'premium')) return {};
  const epic = epicId === null ? undefined : ctx.state.epics.find((e) => e.id === epicId);
  if (!epic) return { epic_iid: null, epic: null };
  const groupPath = ctx.state.fullPath(epic.groupId);
  return {
    epic_iid: epic.iid,
    epic: {
      id: epic.id,
      iid: epic.iid,
      title: epic.title,
      url: `${ctx.baseUrl()}/groups/${groupPath}/-/epics/${epic.iid}`,
      group_id: epic.groupId,
      human_readable_end_date: null,
      human_readable_timestamp: null,
    },
  };
}

function issueEntity(ctx: SimContext, issue: IssueRecord) {
  const { state } = ctx;
  const project = state.projects.get(issue.projectId)!;
  const fullPath = state.projectFullPath(project);
  const author = state.users.get(issue.authorId)!;
  const assignees = issue.assigneeIds
    .map((id) => state.users.get(id))
    .filter((u) => u !== undefined)
    .map((u) => userBasic(ctx, u));
  const closedBy = issue.closedById !== null ? state.users.get(issue.closedById) : undefined;
  const api = `${ctx.baseUrl()}/api/v4/projects/${project.id}`;
  return {
    id: issue.id,
    iid: issue.iid,
    project_id: issue.projectId,
    title: issue.title,
    description: issue.description,
    state: issue.state,
    created_at: issue.createdAt.toISOString(),
    updated_at: issue.updatedAt.toISOString(),
    closed_at: issue.closedAt?.toISOString() ?? null,
    closed_by: closedBy ? userBasic(ctx, closedBy) : null,
    labels: [...issue.labels].sort(),
    milestone: issuableMilestoneEntity(ctx, issue.milestoneId),
    assignees,
    author: userBasic(ctx, author),
    type: 'ISSUE',
    assignee: assignees[0] ?? null,
    user_notes_count: state.notes.filter(
      (n) => n.projectId === issue.projectId && n.noteableType === 'Issue' && n.noteableIid === issue.iid && !n.system,
    ).length,
    merge_requests_count: 0,
    upvotes: 0,
    downvotes: 0,
    due_date: issue.dueDate,
    confidential: issue.confidential,
    // EE::API::Entities::Issue: epic_iid and epic (EpicBaseEntity) where the group's tier has epics
    ...epicFields(ctx, project.namespaceId, issue.epicId),
    discussion_locked: null,
    issue_type: 'issue',
    web_url: `${ctx.baseUrl()}/${fullPath}/-/issues/${issue.iid}`,
    time_stats: { time_estimate: 0, total_time_spent: 0, human_time_estimate: null, human_total_time_spent: null },
    task_completion_status: { count: 0, completed_count: 0 },
    has_tasks: false,
    _links: {
      self: `${api}/issues/${issue.iid}`,
      notes: `${api}/issues/${issue.iid}/notes`,
      award_emoji: `${api}/issues/${issue.iid}/award_emoji`,
      project: api,
      closed_as_duplicate_of: null,
    },
    references: { short: `#${issue.iid}`, relative: `#${issue.iid}`, full: `${fullPath}#${issue.iid}` },
    severity: 'UNKNOWN',
    moved_to_id: null,
    service_desk_reply_to: null,
  };
}

/** Entities::Note, for notes on issues and merge requests. */
export function noteEntity(ctx: SimContext, note: NoteRecord) {
  const noteables: Array<{ projectId: number; iid: number; id: number }> =
    note.noteableType === 'Issue' ? ctx.state.issues : ctx.state.mergeRequests;
  const noteable = noteables.find((i) => i.projectId === note.projectId && i.iid === note.noteableIid)!;
  return {
    id: note.id,
    type: null,
    body: note.body,
    attachment: null,
    author: userBasic(ctx, ctx.state.users.get(note.authorId)!),
    created_at: note.createdAt.toISOString(),
    updated_at: note.updatedAt.toISOString(),
    system: note.system,
    noteable_id: noteable.id,
    noteable_type: note.noteableType,
    project_id: note.projectId,
    resolvable: false,
    confidential: note.internal,
    internal: note.internal,
    noteable_iid: note.noteableIid,
    commands_changes: {},
  };
}

/** created_at/updated_at overrides need admin or owner rights; others are ignored. */
export function timestamp(
  ctx: SimContext,
  req: Request,
  caller: Caller,
  project: ProjectRecord,
  name: string,
): Date | undefined {
  const value = param(req, name);
  if (!value || !caller.user || ctx.access.projectAccess(caller.user, project) < 50) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new ApiError(400, { error: `${name} is invalid` });
  return date;
}

function labelList(req: Request): string[] | undefined {
  const value = param(req, 'labels');
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean);
}

export function registerIssueRoutes(ctx: SimContext, router: Router): void {
  const { state, access } = ctx;
  const findIssue = (project: ProjectRecord, iid: string): IssueRecord => {
    const issue = state.issues.find((i) => i.projectId === project.id && i.iid === Number(iid));
    // ActiveRecord::RecordNotFound is rendered by lib/api/api.rb as {"message":"404 Not found"}.
    if (!issue) throw new ApiError(404, { message: '404 Not found' });
    return issue;
  };

  router.get(
    '/projects/:id/issues',
    endpoint((req, res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const wantedState = param(req, 'state') ?? 'all';
      const labels = labelList(req);
      const iids = (param(req, 'iids[]') ?? param(req, 'iids'))?.split(',').map(Number);
      const issues = state.issues.filter(
        (i) =>
          i.projectId === project.id &&
          (wantedState === 'all' || i.state === wantedState) &&
          (!labels || labels.every((l) => i.labels.includes(l))) &&
          (!iids || iids.includes(i.iid)) &&
          matchesSearch(param(req, 'search'), i.title, i.description) &&
          (!i.confidential || access.projectAccess(caller.user, project) >= 20),
      );
      const orderKey = param(req, 'order_by') ?? 'created_at';
      const keys: Record<string, (i: IssueRecord) => string | number> = {
        created_at: (i) => i.createdAt.getTime(),
        updated_at: (i) => i.updatedAt.getTime(),
        title: (i) => i.title,
        id: (i) => i.id,
        due_date: (i) => i.dueDate ?? '',
        relative_position: (i) => i.id,
      };
      const key = keys[orderKey] ?? keys.created_at;
      const sort = sortParam(req, 'desc');
      const sorted = orderBy(issues, key, sort);
      // GitLab 18.3+: keyset for the orderings in Issue.supported_keyset_orderings; other orderings
      // drop the `pagination` param and page by offset (lib/api/issues.rb).
      const page =
        isKeysetRequest(req) && keys[orderKey]
          ? paginateKeysetByCursor(req, res, ctx.baseUrl(), sorted, key, sort)
          : paginateOffset(req, res, ctx.baseUrl(), sorted);
      return page.map((i) => issueEntity(ctx, i));
    }),
  );

  router.get(
    '/projects/:id/issues/:iid',
    endpoint((req, _res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      return issueEntity(ctx, findIssue(project, String(req.params.iid)));
    }),
  );

  router.post(
    '/projects/:id/issues',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = findProject(ctx, caller, String(req.params.id));
        const title = param(req, 'title');
        if (!title) throw missingParams('title');
        const createdAt = timestamp(ctx, req, caller, project, 'created_at') ?? state.now();
        const labels = (labelList(req) ?? []).map((name) => findOrCreateLabel(ctx, project.id, name).name);
        const requestedIid = access.projectAccess(user, project) >= 50 ? intParam(req, 'iid') : undefined;
        if (
          requestedIid !== undefined &&
          state.issues.some((i) => i.projectId === project.id && i.iid === requestedIid)
        ) {
          throw new ApiError(409, { message: 'Issue IID has already been taken' });
        }
        const issue: IssueRecord = {
          id: state.nextId('issue'),
          iid:
            requestedIid ??
            Math.max(0, ...state.issues.filter((i) => i.projectId === project.id).map((i) => i.iid)) + 1,
          projectId: project.id,
          title,
          description: param(req, 'description') ?? null,
          state: 'opened',
          authorId: user.id,
          assigneeIds: assignableIds(
            ctx,
            project,
            (param(req, 'assignee_ids') ?? param(req, 'assignee_ids[]') ?? param(req, 'assignee_id') ?? '')
              .split(',')
              .filter(Boolean)
              .map(Number),
          ),
          labels,
          milestoneId: availableMilestoneId(ctx, project, intParam(req, 'milestone_id')),
          confidential: boolParam(req, 'confidential') ?? false,
          createdAt,
          updatedAt: createdAt,
          closedAt: null,
          closedById: null,
          dueDate: param(req, 'due_date') ?? null,
          epicId: null,
        };
        state.issues.push(issue);
        return issueEntity(ctx, issue);
      },
      { status: 201 },
    ),
  );

  router.put(
    '/projects/:id/issues/:iid',
    endpoint((req, _res, caller) => {
      const user = requireUser(caller);
      const project = findProject(ctx, caller, String(req.params.id));
      const issue = findIssue(project, String(req.params.iid));
      if (issue.authorId !== user.id && access.projectAccess(user, project) < 20) throw forbidden();
      const title = param(req, 'title');
      if (title !== undefined) issue.title = title;
      const description = param(req, 'description');
      if (description !== undefined) issue.description = description;
      const labels = labelList(req);
      if (labels) issue.labels = labels.map((name) => findOrCreateLabel(ctx, project.id, name).name);
      const milestoneId = intParam(req, 'milestone_id');
      if (milestoneId !== undefined) issue.milestoneId = availableMilestoneId(ctx, project, milestoneId);
      const confidential = boolParam(req, 'confidential');
      if (confidential !== undefined) issue.confidential = confidential;
      const now = timestamp(ctx, req, caller, project, 'updated_at') ?? state.now();
      const event = param(req, 'state_event');
      if (event === 'close' && issue.state === 'opened')
        Object.assign(issue, { state: 'closed', closedAt: now, closedById: user.id });
      if (event === 'reopen' && issue.state === 'closed')
        Object.assign(issue, { state: 'opened', closedAt: null, closedById: null });
      issue.updatedAt = now;
      return issueEntity(ctx, issue);
    }),
  );

  router.get(
    '/projects/:id/issues/:iid/notes',
    endpoint((req, res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const issue = findIssue(project, String(req.params.iid));
      const notes = state.notes.filter(
        (n) => n.projectId === project.id && n.noteableType === 'Issue' && n.noteableIid === issue.iid,
      );
      const key =
        param(req, 'order_by') === 'updated_at'
          ? (n: NoteRecord) => n.updatedAt.getTime()
          : (n: NoteRecord) => n.createdAt.getTime();
      return paginateOffset(req, res, ctx.baseUrl(), orderBy(notes, key, sortParam(req, 'desc'))).map((n) =>
        noteEntity(ctx, n),
      );
    }),
  );

  router.post(
    '/projects/:id/issues/:iid/notes',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = findProject(ctx, caller, String(req.params.id));
        const issue = findIssue(project, String(req.params.iid));
        const body = param(req, 'body');
        if (!body) throw missingParams('body');
        const createdAt = timestamp(ctx, req, caller, project, 'created_at') ?? state.now();
        const note: NoteRecord = {
          id: state.nextId('note'),
          projectId: project.id,
          noteableType: 'Issue',
          noteableIid: issue.iid,
          authorId: user.id,
          body,
          system: false,
          internal: boolParam(req, 'internal') ?? boolParam(req, 'confidential') ?? false,
          createdAt,
          updatedAt: createdAt,
        };
        state.notes.push(note);
        return noteEntity(ctx, note);
      },
      { status: 201 },
    ),
  );

  registerLabelRoutes(ctx, router);
}
