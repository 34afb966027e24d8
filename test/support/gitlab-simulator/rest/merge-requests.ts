/**
 * Merge requests (doc/api/merge_requests.md, doc/api/notes.md): list (offset only — GitLab has no
 * keyset for them), get, create (both branches must exist in the repository), notes list/create,
 * and versions (GET …/versions: diff metadata per version, paginated, newest first).
 */
import type { Request, Router } from 'express';
import { requireUser } from '../auth.js';
import type { SimContext } from '../context.js';
import type { MergeRequestRecord, NoteRecord, ProjectRecord } from '../model.js';
import { ApiError, paginateOffset } from '../pagination.js';
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
import { noteEntity, timestamp } from './issues.js';
import {
  assignableIds,
  availableMilestoneId,
  mergeRequestDiffEntity,
  mergeRequestEntity,
} from './metadata-entities.js';

const list = (req: Request, name: string) =>
  (param(req, name) ?? param(req, `${name}[]`))
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function registerMergeRequestRoutes(ctx: SimContext, router: Router): void {
  const { state, access, store } = ctx;
  const findMergeRequest = (project: ProjectRecord, iid: string): MergeRequestRecord => {
    const mr = state.mergeRequests.find((m) => m.projectId === project.id && m.iid === Number(iid));
    if (!mr) throw new ApiError(404, { message: '404 Not found' });
    return mr;
  };

  router.get(
    '/projects/:id/merge_requests',
    endpoint((req, res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const wanted = param(req, 'state') ?? 'all';
      const labels = list(req, 'labels');
      const iids = list(req, 'iids')?.map(Number);
      const mrs = state.mergeRequests.filter(
        (m) =>
          m.projectId === project.id &&
          (wanted === 'all' || m.state === wanted) &&
          (!labels || labels.every((l) => m.labels.includes(l))) &&
          (!iids || iids.includes(m.iid)) &&
          (!param(req, 'source_branch') || m.sourceBranch === param(req, 'source_branch')) &&
          (!param(req, 'target_branch') || m.targetBranch === param(req, 'target_branch')) &&
          matchesSearch(param(req, 'search'), m.title, m.description),
      );
      const orderKey = param(req, 'order_by') ?? 'created_at';
      const keys: Record<string, (m: MergeRequestRecord) => string | number> = {
        created_at: (m) => m.createdAt.getTime(),
        updated_at: (m) => m.updatedAt.getTime(),
        title: (m) => m.title,
        merged_at: (m) => m.mergedAt?.getTime() ?? 0,
      };
      const key = keys[orderKey];
      if (!key) throw new ApiError(400, { error: 'order_by does not have a valid value' });
      return paginateOffset(req, res, ctx.baseUrl(), orderBy(mrs, key, sortParam(req, 'desc'))).map((m) =>
        mergeRequestEntity(ctx, m),
      );
    }),
  );

  router.get(
    '/projects/:id/merge_requests/:iid',
    endpoint((req, _res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const mr = findMergeRequest(project, String(req.params.iid));
      const latest = state.mergeRequestDiffs.filter((d) => d.mergeRequestId === mr.id).at(-1);
      return {
        ...mergeRequestEntity(ctx, mr),
        subscribed: false,
        changes_count: '1',
        diff_refs: latest
          ? { base_sha: latest.baseCommitSha, head_sha: latest.headCommitSha, start_sha: latest.startCommitSha }
          : null,
        merge_error: null,
        first_contribution: false,
        user: { can_merge: access.projectAccess(caller.user, project) >= 30 },
      };
    }),
  );

  router.post(
    '/projects/:id/merge_requests',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = findProject(ctx, caller, String(req.params.id));
        if (access.projectAccess(user, project) < 30) throw forbidden();
        const title = param(req, 'title');
        const sourceBranch = param(req, 'source_branch');
        const targetBranch = param(req, 'target_branch');
        if (!title || !sourceBranch || !targetBranch) {
          throw missingParams(
            ...(!sourceBranch ? ['source_branch'] : []),
            ...(!targetBranch ? ['target_branch'] : []),
            ...(!title ? ['title'] : []),
          );
        }
        const mr = store.createMergeRequest(project.id, {
          title,
          sourceBranch,
          targetBranch,
          description: param(req, 'description') ?? null,
          authorId: user.id,
          labels: list(req, 'labels'),
          assigneeIds: assignableIds(ctx, project, list(req, 'assignee_ids')?.map(Number)),
          reviewerIds: assignableIds(ctx, project, list(req, 'reviewer_ids')?.map(Number)),
          milestoneId: availableMilestoneId(ctx, project, intParam(req, 'milestone_id')),
          squash: boolParam(req, 'squash'),
          removeSourceBranch: boolParam(req, 'remove_source_branch'),
        });
        // Historical timestamps are not accepted on merge requests (unlike issues and notes).
        return mergeRequestEntity(ctx, mr);
      },
      { status: 201 },
    ),
  );

  router.put(
    '/projects/:id/merge_requests/:iid',
    endpoint((req, _res, caller) => {
      const user = requireUser(caller);
      const project = findProject(ctx, caller, String(req.params.id));
      const mr = findMergeRequest(project, String(req.params.iid));
      if (mr.authorId !== user.id && access.projectAccess(user, project) < 30) throw forbidden();
      const title = param(req, 'title');
      if (title !== undefined) mr.title = title;
      const description = param(req, 'description');
      if (description !== undefined) mr.description = description;
      const event = param(req, 'state_event');
      const now = state.now();
      if (event === 'close' && mr.state === 'opened') Object.assign(mr, { state: 'closed', closedAt: now });
      if (event === 'reopen' && mr.state === 'closed') Object.assign(mr, { state: 'opened', closedAt: null });
      mr.updatedAt = now;
      return mergeRequestEntity(ctx, mr);
    }),
  );

  router.get(
    '/projects/:id/merge_requests/:iid/notes',
    endpoint((req, res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const mr = findMergeRequest(project, String(req.params.iid));
      const notes = state.notes.filter(
        (n) => n.projectId === project.id && n.noteableType === 'MergeRequest' && n.noteableIid === mr.iid,
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
    '/projects/:id/merge_requests/:iid/notes',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = findProject(ctx, caller, String(req.params.id));
        const mr = findMergeRequest(project, String(req.params.iid));
        const body = param(req, 'body');
        if (!body) throw missingParams('body');
        const note = store.createNote(project.id, {
          noteableType: 'MergeRequest',
          noteableIid: mr.iid,
          body,
          authorId: user.id,
          internal: boolParam(req, 'internal') ?? false,
          createdAt: timestamp(ctx, req, caller, project, 'created_at'),
        });
        return noteEntity(ctx, note);
      },
      { status: 201 },
    ),
  );

  router.get(
    '/projects/:id/merge_requests/:iid/versions',
    endpoint((req, res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const mr = findMergeRequest(project, String(req.params.iid));
      const versions = state.mergeRequestDiffs.filter((d) => d.mergeRequestId === mr.id);
      // merge_request.merge_request_diffs.order_id_desc
      return paginateOffset(
        req,
        res,
        ctx.baseUrl(),
        orderBy(versions, (d) => d.id, 'desc'),
      ).map(mergeRequestDiffEntity);
    }),
  );
}
