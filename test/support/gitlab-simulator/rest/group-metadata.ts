/**
 * Members of projects and groups (doc/api/members.md: `/members` lists direct members only,
 * `/members/all` adds inherited ones), group labels (group_labels.md), group milestones
 * (group_milestones.md) and epics (epics.md).
 *
 * Epics are Premium: `authorize_epics_feature!` (ee/lib/api/helpers/epics_helpers.rb) runs after
 * the group lookup and answers 403 {"message":"403 Forbidden"} when the group's plan lacks them —
 * a missing group is still 404. The listing includes subgroups' epics unless
 * include_descendant_groups=false.
 */
import type { Request, Response, Router } from 'express';
import { requireUser, unauthorized, type Caller } from '../auth.js';
import type { SimContext } from '../context.js';
import { AccessLevel, type EpicRecord, type NamespaceRecord } from '../model.js';
import { ApiError, paginateOffset } from '../pagination.js';
import {
  boolParam,
  endpoint,
  findGroup,
  findProject,
  forbidden,
  intParam,
  matchesSearch,
  missingParams,
  orderBy,
  param,
  sortParam,
} from './common.js';
import { epicEntity, groupLabelEntity, groupMilestoneEntity, memberEntity } from './metadata-entities.js';

export function registerGroupMetadataRoutes(ctx: SimContext, router: Router): void {
  const { state, access, store } = ctx;
  const page = <T>(req: Request, res: Response, items: T[]) => paginateOffset(req, res, ctx.baseUrl(), items);
  const groupAt = (req: Request, caller: Caller, level: number): NamespaceRecord => {
    const group = findGroup(ctx, caller, String(req.params.id));
    if (access.groupAccess(caller.user, group.id) < level) throw forbidden();
    return group;
  };

  // ---- members ----------------------------------------------------------------------------
  const directMembers = (kind: 'group' | 'project', id: number) =>
    [...state.members.entries()]
      .map(([key, level]) => ({ key: key.split(':'), level }))
      .filter(({ key }) => key[0] === kind && Number(key[1]) === id)
      .map(({ key, level }) => ({ id: Number(key[2]), level }))
      .filter((m) => state.users.has(m.id));

  const addMember = (req: Request, caller: Caller, kind: 'group' | 'project', id: number) => {
    const user = requireUser(caller);
    const userId = intParam(req, 'user_id');
    const level = intParam(req, 'access_level');
    if (userId === undefined || level === undefined)
      throw missingParams(
        ...(userId === undefined ? ['user_id'] : []),
        ...(level === undefined ? ['access_level'] : []),
      );
    if (!state.users.has(userId)) throw new ApiError(404, { message: '404 User Not Found' });
    if (state.members.has(`${kind}:${id}:${userId}`)) throw new ApiError(409, { message: 'Member already exists' });
    state.addMember(kind, id, userId, level, { createdById: user.id, expiresAt: param(req, 'expires_at') ?? null });
    return memberEntity(ctx, kind, id, userId, level);
  };

  router.get(
    '/projects/:id/members',
    endpoint((req, res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const members = directMembers('project', project.id).filter((m) =>
        matchesSearch(param(req, 'query'), state.users.get(m.id)!.username, state.users.get(m.id)!.name),
      );
      return page(
        req,
        res,
        orderBy(members, (m) => m.id, 'asc'),
      ).map((m) => memberEntity(ctx, 'project', project.id, m.id, m.level));
    }),
  );

  router.post(
    '/projects/:id/members',
    endpoint(
      (req, _res, caller) => {
        const project = findProject(ctx, caller, String(req.params.id));
        if (access.projectAccess(caller.user, project) < AccessLevel.MAINTAINER) throw forbidden();
        return addMember(req, caller, 'project', project.id);
      },
      { status: 201 },
    ),
  );

  router.get(
    '/groups/:id/members',
    endpoint((req, res, caller) => {
      const group = findGroup(ctx, caller, String(req.params.id));
      const members = directMembers('group', group.id);
      return page(
        req,
        res,
        orderBy(members, (m) => m.id, 'asc'),
      ).map((m) => memberEntity(ctx, 'group', group.id, m.id, m.level));
    }),
  );

  router.post(
    '/groups/:id/members',
    endpoint(
      (req, _res, caller) => {
        const group = groupAt(req, caller, AccessLevel.OWNER);
        return addMember(req, caller, 'group', group.id);
      },
      { status: 201 },
    ),
  );

  // ---- group labels and milestones --------------------------------------------------------
  /** The group, plus its ancestors and descendants when the flags ask for them. */
  const scopeOf = (
    req: Request,
    group: NamespaceRecord,
    defaults: { ancestors: boolean; descendants: boolean },
    names = ['include_ancestor_groups', 'include_descendant_groups'],
  ) => {
    const ids = new Set([group.id]);
    if (boolParam(req, names[0]) ?? defaults.ancestors) for (const g of state.ancestors(group.id)) ids.add(g.id);
    if (boolParam(req, names[1]) ?? defaults.descendants)
      for (const g of state.descendantGroups(group.id)) ids.add(g.id);
    return ids;
  };

  router.get(
    '/groups/:id/labels',
    endpoint((req, res, caller) => {
      const group = findGroup(ctx, caller, String(req.params.id));
      const ids = scopeOf(req, group, { ancestors: true, descendants: false });
      const labels = state.groupLabels.filter((l) => ids.has(l.groupId) && matchesSearch(param(req, 'search'), l.name));
      return page(
        req,
        res,
        orderBy(labels, (l) => l.name.toLowerCase(), 'asc'),
      ).map((l) => groupLabelEntity(ctx, l));
    }),
  );

  router.post(
    '/groups/:id/labels',
    endpoint(
      (req, _res, caller) => {
        const group = groupAt(req, caller, AccessLevel.REPORTER);
        const name = param(req, 'name');
        const color = param(req, 'color');
        if (!name || !color) throw missingParams(...(!name ? ['name'] : []), ...(!color ? ['color'] : []));
        return groupLabelEntity(
          ctx,
          store.createGroupLabel(group.id, { name, color, description: param(req, 'description') ?? null }),
        );
      },
      { status: 201 },
    ),
  );

  router.get(
    '/groups/:id/milestones',
    endpoint((req, res, caller) => {
      const group = findGroup(ctx, caller, String(req.params.id));
      const ids = scopeOf(
        req,
        group,
        { ancestors: boolParam(req, 'include_parent_milestones') ?? false, descendants: false },
        ['include_ancestors', 'include_descendants'],
      );
      const wanted = param(req, 'state');
      const milestones = state.groupMilestones.filter((m) => ids.has(m.groupId) && (!wanted || m.state === wanted));
      return page(
        req,
        res,
        orderBy(milestones, (m) => m.id, 'desc'),
      ).map((m) => groupMilestoneEntity(ctx, m));
    }),
  );

  router.post(
    '/groups/:id/milestones',
    endpoint(
      (req, _res, caller) => {
        const group = groupAt(req, caller, AccessLevel.REPORTER);
        const title = param(req, 'title');
        if (!title) throw missingParams('title');
        return groupMilestoneEntity(
          ctx,
          store.createGroupMilestone(group.id, {
            title,
            description: param(req, 'description') ?? null,
            dueDate: param(req, 'due_date') ?? null,
            startDate: param(req, 'start_date') ?? null,
          }),
        );
      },
      { status: 201 },
    ),
  );

  // doc/api/group_milestones.md "Edit milestone": state_event close | activate (Reporter).
  router.put(
    '/groups/:id/milestones/:milestoneId',
    endpoint((req, _res, caller) => {
      const group = groupAt(req, caller, AccessLevel.REPORTER);
      const milestone = state.groupMilestones.find(
        (m) => m.groupId === group.id && m.id === Number(req.params.milestoneId),
      );
      if (!milestone) throw new ApiError(404, { message: '404 Milestone Not Found' });
      const event = param(req, 'state_event');
      if (event === 'close') milestone.state = 'closed';
      else if (event === 'activate') milestone.state = 'active';
      milestone.updatedAt = state.now();
      return groupMilestoneEntity(ctx, milestone);
    }),
  );

  // ---- epics ------------------------------------------------------------------------------
  const epicsGroup = (req: Request, caller: Caller): NamespaceRecord => {
    if (!caller.user) throw unauthorized();
    const group = findGroup(ctx, caller, String(req.params.id));
    if (state.tier !== 'premium') throw forbidden();
    return group;
  };

  router.get(
    '/groups/:id/epics',
    endpoint((req, res, caller) => {
      const group = epicsGroup(req, caller);
      const ids = scopeOf(req, group, { ancestors: false, descendants: true });
      const wanted = param(req, 'state') ?? 'all';
      const epics = state.epics.filter(
        (e) =>
          ids.has(e.groupId) &&
          (wanted === 'all' || e.state === wanted) &&
          (!e.confidential || access.groupAccess(caller.user, e.groupId) >= AccessLevel.REPORTER),
      );
      const keys: Record<string, (e: EpicRecord) => string | number> = {
        created_at: (e) => e.createdAt.getTime(),
        updated_at: (e) => e.updatedAt.getTime(),
        title: (e) => e.title,
      };
      const key = keys[param(req, 'order_by') ?? 'created_at'];
      if (!key) throw new ApiError(400, { error: 'order_by does not have a valid value' });
      return page(req, res, orderBy(epics, key, sortParam(req, 'desc'))).map((e) => epicEntity(ctx, e));
    }),
  );

  router.post(
    '/groups/:id/epics',
    endpoint(
      (req, _res, caller) => {
        const group = epicsGroup(req, caller);
        if (access.groupAccess(caller.user, group.id) < AccessLevel.PLANNER) throw forbidden();
        const title = param(req, 'title');
        if (!title) throw missingParams('title');
        return epicEntity(
          ctx,
          store.createEpic(group.id, {
            title,
            authorId: caller.user!.id,
            description: param(req, 'description') ?? null,
            confidential: boolParam(req, 'confidential'),
            labels: param(req, 'labels')
              ?.split(',')
              .map((l) => l.trim())
              .filter(Boolean),
            parentId: intParam(req, 'parent_id') ?? null,
            startDateFixed: param(req, 'start_date_fixed') ?? null,
            dueDateFixed: param(req, 'due_date_fixed') ?? null,
          }),
        );
      },
      { status: 201 },
    ),
  );
}
