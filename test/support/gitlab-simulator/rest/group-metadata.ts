/**
 * Members of projects and groups (doc/api/members.md: `/members` lists direct members only,
 * `/members/all` adds inherited ones), group labels (group_labels.md), group milestones
 * (group_milestones.md) and epics (epics.md).
 *
 * Epics are Premium: `authorize_epics_feature!` (ee/lib/api/helpers/epics_helpers.rb) runs after
 * the group lookup and answers 403 {"message":"403 Forbidden"} when the group's plan lacks them —
 * a missing group is still 404 (the group's tier: its top-level group's subscription, else the
 * instance's). The listing includes subgroups' epics unless include_descendant_groups=false.
 * Multi-level epics (a parent epic) are Ultimate: the epic links API answers 403 below it, and a
 * `parent_id` on create is refused as GitLab does (see the route).
 */
import type { Request, Response, Router } from 'express';
import { requireUser, unauthorized, type Caller } from '../auth.js';
import type { SimContext } from '../context.js';
import { AccessLevel, tierIncludes, type EpicRecord, type NamespaceRecord } from '../model.js';
import { ApiError, paginateOffset } from '../pagination.js';
import {
  badRequest,
  boolParam,
  endpoint,
  findGroup,
  findProject,
  forbidden,
  intParam,
  matchesSearch,
  missingParams,
  notFound,
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
    if (!tierIncludes(state.tierOf(group.id), 'premium')) throw forbidden();
    return group;
  };
  const epicOf = (group: NamespaceRecord, iid: unknown): EpicRecord | undefined =>
    state.epics.find((e) => e.groupId === group.id && e.iid === Number(iid));
  /** epics_helpers.rb `authorize!(:admin_epic, …)`: Planner and up (Reporter before Planner existed). */
  const requirePlanner = (caller: Caller, group: NamespaceRecord) => {
    if (!caller.user!.isAdmin && access.groupAccess(caller.user, group.id) < AccessLevel.PLANNER) throw forbidden();
  };
  const labelsOf = (req: Request, name = 'labels') =>
    param(req, name)
      ?.split(',')
      .map((l) => l.trim())
      .filter(Boolean);
  /** The EpicLinks::CreateService refusal: a parent the user may not link (or a tier without multi-level epics). */
  const NO_MATCHING_EPIC = 'No matching epic found. Make sure that you are adding a valid epic URL.';
  /**
   * Epics::BaseService#assign_parent_epic_for: the parent is linked through EpicLinks::CreateService,
   * which needs multi-level epics (Ultimate) on the group and read access to the parent; it
   * answers the error message, or null when linked.
   */
  const linkParent = (caller: Caller, child: EpicRecord, parentId: number): string | null => {
    const parent = state.epics.find((e) => e.id === parentId);
    if (
      !parent ||
      !tierIncludes(state.tierOf(child.groupId), 'ultimate') ||
      access.groupAccess(caller.user, parent.groupId) < AccessLevel.GUEST
    )
      return NO_MATCHING_EPIC;
    for (let at: EpicRecord | undefined = parent; at; at = state.epics.find((e) => e.id === at.parentId))
      if (at.id === child.id) return 'This epic cannot be added. It is already an ancestor of the parent epic.';
    // ee/app/models/ee/epic.rb validates the child's group: the parent's group or one of its
    // descendants (an epic in an ancestor group cannot be a child).
    if (!state.ancestors(child.groupId).some((g) => g.id === parent.groupId))
      // the group itself included
      return 'This epic cannot be added. An epic must belong to the same group or subgroup as its parent epic.';
    child.parentId = parent.id;
    return null;
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

  router.get(
    '/groups/:id/epics/:epicIid',
    endpoint((req, _res, caller) => {
      const epic = epicOf(epicsGroup(req, caller), req.params.epicIid);
      if (!epic) throw notFound();
      return epicEntity(ctx, epic);
    }),
  );

  // epics.md "New epic". A parent_id that cannot be linked (below Ultimate, or a parent the user
  // cannot read) still creates the epic, without its parent, and answers 400 with the link's
  // error (render_validation_error! of an epic that carries it in errors[:base]).
  router.post(
    '/groups/:id/epics',
    endpoint(
      (req, _res, caller) => {
        const group = epicsGroup(req, caller);
        requirePlanner(caller, group);
        const title = param(req, 'title');
        if (!title) throw missingParams('title');
        const createdAt = param(req, 'created_at');
        const mayDate = caller.user!.isAdmin || access.groupAccess(caller.user, group.id) >= AccessLevel.OWNER;
        const epic = store.createEpic(group.id, {
          title,
          authorId: caller.user!.id,
          description: param(req, 'description') ?? null,
          confidential: boolParam(req, 'confidential'),
          labels: labelsOf(req),
          startDateFixed: param(req, 'start_date_fixed') ?? param(req, 'start_date') ?? null,
          dueDateFixed: param(req, 'due_date_fixed') ?? param(req, 'end_date') ?? null,
          createdAt: createdAt && mayDate ? new Date(createdAt) : undefined,
        });
        const parentId = intParam(req, 'parent_id');
        const refused = parentId === undefined ? null : linkParent(caller, epic, parentId);
        if (refused) throw badRequest({ base: [refused] });
        return epicEntity(ctx, epic);
      },
      { status: 201 },
    ),
  );

  // epics.md "Update epic": state_event close | reopen, title, description, labels, parent_id.
  router.put(
    '/groups/:id/epics/:epicIid',
    endpoint((req, _res, caller) => {
      const group = epicsGroup(req, caller);
      const epic = epicOf(group, req.params.epicIid);
      if (!epic) throw forbidden(); // authorize!(:admin_epic, nil)
      requirePlanner(caller, group);
      const title = param(req, 'title');
      const description = param(req, 'description');
      const labels = labelsOf(req);
      const event = param(req, 'state_event');
      const parentId = intParam(req, 'parent_id');
      if ([title, description, labels, event, parentId].every((v) => v === undefined))
        throw new ApiError(400, {
          error:
            'add_labels, color, confidential, description, due_date_fixed, due_date_is_fixed, labels, parent_id, remove_labels, start_date_fixed, start_date_is_fixed, state_event, title, start_date, end_date are missing, at least one parameter must be provided',
        });
      if (event !== undefined && event !== 'close' && event !== 'reopen')
        throw new ApiError(400, { error: 'state_event does not have a valid value' });
      if (parentId !== undefined) {
        const refused = linkParent(caller, epic, parentId);
        if (refused) throw badRequest({ base: [refused] });
      }
      if (title !== undefined) epic.title = title;
      if (description !== undefined) epic.description = description;
      if (labels !== undefined) epic.labels = labels;
      if (event === 'close' && epic.state === 'opened') {
        epic.state = 'closed';
        epic.closedAt = state.now();
      } else if (event === 'reopen' && epic.state === 'closed') {
        epic.state = 'opened';
        epic.closedAt = null;
      }
      epic.updatedAt = state.now();
      return epicEntity(ctx, epic);
    }),
  );

  // epic_links.md: child epics (multi-level epics, Ultimate). Listing needs epics only; linking
  // needs create_epic_tree_relation, which Premium lacks: 403.
  router.get(
    '/groups/:id/epics/:epicIid/epics',
    endpoint((req, _res, caller) => {
      const epic = epicOf(epicsGroup(req, caller), req.params.epicIid);
      if (!epic) throw forbidden();
      return state.epics.filter((e) => e.parentId === epic.id).map((e) => epicEntity(ctx, e));
    }),
  );

  router.post(
    '/groups/:id/epics/:epicIid/epics/:childId',
    endpoint(
      (req, _res, caller) => {
        const group = epicsGroup(req, caller);
        const epic = epicOf(group, req.params.epicIid);
        if (!epic || !tierIncludes(state.tierOf(group.id), 'ultimate')) throw forbidden();
        requirePlanner(caller, group);
        const child = state.epics.find((e) => e.id === Number(req.params.childId));
        if (!child) throw new ApiError(404, { message: NO_MATCHING_EPIC });
        if (child.parentId === epic.id)
          throw new ApiError(409, { message: 'This epic cannot be added. It is already assigned to the parent epic.' });
        if (child.id === epic.id)
          throw new ApiError(409, { message: 'This epic cannot be added. An epic cannot be added to itself.' });
        const refused = linkParent(caller, child, epic.id);
        if (refused) throw new ApiError(refused === NO_MATCHING_EPIC ? 404 : 409, { message: refused });
        return epicEntity(ctx, child);
      },
      { status: 201 },
    ),
  );

  // epic_issues.md "Assign an issue to the epic" (Premium): issue_id is the issue's global id.
  // An issue of another epic moves to this one; one already here answers 409.
  router.post(
    '/groups/:id/epics/:epicIid/issues/:issueId',
    endpoint(
      (req, _res, caller) => {
        const group = epicsGroup(req, caller);
        const epic = epicOf(group, req.params.epicIid);
        if (!epic) throw forbidden();
        const issue = state.issues.find((i) => i.id === Number(req.params.issueId));
        if (!issue) throw new ApiError(404, { message: '404 Issue Not Found' });
        const project = state.projects.get(issue.projectId)!;
        if (access.projectAccess(caller.user, project) < AccessLevel.GUEST) throw forbidden();
        if (issue.epicId === epic.id) throw new ApiError(409, { message: 'Issue(s) already assigned' });
        issue.epicId = epic.id;
        return {
          id: issue.id,
          relative_position: 0,
          epic: epicEntity(ctx, epic),
          issue: { id: issue.id, iid: issue.iid, project_id: issue.projectId, title: issue.title },
        };
      },
      { status: 201 },
    ),
  );
}
