/**
 * Project labels and milestones (doc/api/labels.md, doc/api/milestones.md): list and create.
 */
import type { Router } from 'express';
import { requireUser } from '../auth.js';
import type { SimContext } from '../context.js';
import type { LabelRecord, MilestoneRecord } from '../model.js';
import { ApiError, paginateOffset } from '../pagination.js';
import { groupMilestoneEntity } from './metadata-entities.js';
import { endpoint, findProject, forbidden, intParam, matchesSearch, missingParams, orderBy, param } from './common.js';

export function labelEntity(ctx: SimContext, label: LabelRecord) {
  const issues = ctx.state.issues.filter((i) => i.projectId === label.projectId && i.labels.includes(label.name));
  return {
    id: label.id,
    name: label.name,
    color: label.color,
    text_color: '#FFFFFF',
    description: label.description,
    description_html: label.description ?? '',
    open_issues_count: issues.filter((i) => i.state === 'opened').length,
    closed_issues_count: issues.filter((i) => i.state === 'closed').length,
    open_merge_requests_count: 0,
    subscribed: false,
    priority: label.priority,
    is_project_label: true,
  };
}

export function milestoneEntity(ctx: SimContext, milestone: MilestoneRecord) {
  const project = ctx.state.projects.get(milestone.projectId);
  const webUrl = project
    ? `${ctx.baseUrl()}/${ctx.state.projectFullPath(project)}/-/milestones/${milestone.iid}`
    : null;
  const expired =
    milestone.dueDate !== null && new Date(`${milestone.dueDate}T23:59:59Z`).getTime() < ctx.state.now().getTime();
  return {
    id: milestone.id,
    iid: milestone.iid,
    project_id: milestone.projectId,
    title: milestone.title,
    description: milestone.description,
    state: milestone.state,
    created_at: milestone.createdAt.toISOString(),
    updated_at: milestone.updatedAt.toISOString(),
    due_date: milestone.dueDate,
    start_date: milestone.startDate,
    expired,
    web_url: webUrl,
  };
}

/** Labels::FindOrCreateService, used when an issue names a label: the project's, an ancestor group's, or a new project label. */
export function findOrCreateLabel(ctx: SimContext, projectId: number, name: string): { name: string } {
  return ctx.store.findOrCreateIssuableLabel(projectId, name);
}

export function registerLabelRoutes(ctx: SimContext, router: Router): void {
  const { state, access } = ctx;

  router.get(
    '/projects/:id/labels',
    endpoint((req, res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const labels = state.labels.filter(
        (l) => l.projectId === project.id && matchesSearch(param(req, 'search'), l.name),
      );
      return paginateOffset(
        req,
        res,
        ctx.baseUrl(),
        orderBy(labels, (l) => l.name.toLowerCase(), 'asc'),
      ).map((l) => labelEntity(ctx, l));
    }),
  );

  router.post(
    '/projects/:id/labels',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = findProject(ctx, caller, String(req.params.id));
        if (access.projectAccess(user, project) < 20) throw forbidden();
        const name = param(req, 'name');
        const color = param(req, 'color');
        if (!name || !color) throw missingParams(...(!name ? ['name'] : []), ...(!color ? ['color'] : []));
        if (state.labels.some((l) => l.projectId === project.id && l.name === name))
          throw new ApiError(409, { message: 'Label already exists' });
        const label: LabelRecord = {
          id: state.nextId('label'),
          projectId: project.id,
          name,
          color,
          description: param(req, 'description') ?? null,
          priority: intParam(req, 'priority') ?? null,
        };
        state.labels.push(label);
        return labelEntity(ctx, label);
      },
      { status: 201 },
    ),
  );

  router.get(
    '/projects/:id/milestones',
    endpoint((req, res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const wanted = param(req, 'state');
      const keep = (m: { state: string; title: string; description: string | null }) =>
        (!wanted || m.state === wanted) &&
        matchesSearch(param(req, 'search'), m.title, m.description) &&
        (!param(req, 'title') || m.title === param(req, 'title'));
      // include_ancestors (doc/api/milestones.md): the milestones of every ancestor group too.
      const groups = ['true', '1'].includes(param(req, 'include_ancestors') ?? '')
        ? new Set(state.ancestors(project.namespaceId).map((n) => n.id))
        : new Set<number>();
      const milestones = [
        ...state.milestones.filter((m) => m.projectId === project.id && keep(m)),
        ...state.groupMilestones.filter((m) => groups.has(m.groupId) && keep(m)),
      ];
      return paginateOffset(
        req,
        res,
        ctx.baseUrl(),
        orderBy(milestones, (m) => m.id, 'desc'),
      ).map((m) => ('projectId' in m ? milestoneEntity(ctx, m) : groupMilestoneEntity(ctx, m)));
    }),
  );

  router.get(
    '/projects/:id/milestones/:milestoneId',
    endpoint((req, _res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const milestone = state.milestones.find(
        (m) => m.projectId === project.id && m.id === Number(req.params.milestoneId),
      );
      if (!milestone) throw new ApiError(404, { message: '404 Milestone Not Found' });
      return milestoneEntity(ctx, milestone);
    }),
  );

  // doc/api/milestones.md "Edit milestone": state_event close | activate (Reporter).
  router.put(
    '/projects/:id/milestones/:milestoneId',
    endpoint((req, _res, caller) => {
      const user = requireUser(caller);
      const project = findProject(ctx, caller, String(req.params.id));
      if (access.projectAccess(user, project) < 20) throw forbidden();
      const milestone = state.milestones.find(
        (m) => m.projectId === project.id && m.id === Number(req.params.milestoneId),
      );
      if (!milestone) throw new ApiError(404, { message: '404 Milestone Not Found' });
      const event = param(req, 'state_event');
      if (event === 'close') milestone.state = 'closed';
      else if (event === 'activate') milestone.state = 'active';
      milestone.updatedAt = state.now();
      return milestoneEntity(ctx, milestone);
    }),
  );

  router.post(
    '/projects/:id/milestones',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = findProject(ctx, caller, String(req.params.id));
        if (access.projectAccess(user, project) < 20) throw forbidden();
        const title = param(req, 'title');
        if (!title) throw missingParams('title');
        if (state.milestones.some((m) => m.projectId === project.id && m.title === title)) {
          throw new ApiError(400, { message: 'Failed to create milestone! Milestone title is already taken' });
        }
        const now = state.now();
        const milestone: MilestoneRecord = {
          id: state.nextId('milestone'),
          iid: state.milestones.filter((m) => m.projectId === project.id).length + 1,
          projectId: project.id,
          title,
          description: param(req, 'description') ?? null,
          state: 'active',
          dueDate: param(req, 'due_date') ?? null,
          startDate: param(req, 'start_date') ?? null,
          createdAt: now,
          updatedAt: now,
        };
        state.milestones.push(milestone);
        return milestoneEntity(ctx, milestone);
      },
      { status: 201 },
    ),
  );
}
