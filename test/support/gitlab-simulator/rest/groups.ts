/**
 * Groups API (doc/api/groups.md): list groups, one group (id or URL-encoded full path),
 * subgroups, descendant groups, a group's projects, create.
 */
import type { Request, Response, Router } from 'express';
import { requireUser, type Caller } from '../auth.js';
import type { SimContext } from '../context.js';
import type { NamespaceRecord, Visibility } from '../model.js';
import { ApiError, isKeysetRequest, keysetUnavailable, paginateOffset } from '../pagination.js';
import {
  badRequest,
  boolParam,
  endpoint,
  findGroup,
  forbidden,
  intParam,
  matchesSearch,
  missingParams,
  orderBy,
  param,
  sortParam,
} from './common.js';
import { groupEntity, projectEntity } from './entities.js';
import { filterProjects, presentProjects } from './projects.js';

/**
 * GroupsFinder: a signed-in user sees the groups they belong to (and everything below them);
 * all_available adds every public and internal group; anonymous callers see public groups.
 */
function filterGroups(
  ctx: SimContext,
  req: Request,
  caller: Caller,
  groups: NamespaceRecord[],
  defaultAllAvailable?: boolean,
): NamespaceRecord[] {
  const user = caller.user;
  const allAvailable = boolParam(req, 'all_available') ?? defaultAllAvailable ?? (!user || user.isAdmin);
  const search = param(req, 'search');
  const minAccess = intParam(req, 'min_access_level');
  const skip = new Set((param(req, 'skip_groups') ?? '').split(',').filter(Boolean).map(Number));
  const visibility = param(req, 'visibility');
  return groups.filter((g) => {
    if (!ctx.access.canReadGroup(user, g)) return false;
    const member = user ? ctx.access.groupAccess(user, g.id) > 0 : false;
    if (!allAvailable && !member) return false;
    if (minAccess !== undefined && (!user || ctx.access.groupAccess(user, g.id) < minAccess)) return false;
    if (boolParam(req, 'owned') && (!user || ctx.access.groupAccess(user, g.id) < 50)) return false;
    if (boolParam(req, 'top_level_only') && g.parentId !== null) return false;
    if (visibility && g.visibility !== visibility) return false;
    if (skip.has(g.id)) return false;
    return matchesSearch(search, g.name, g.path);
  });
}

function presentGroups(ctx: SimContext, req: Request, res: Response, caller: Caller, groups: NamespaceRecord[]) {
  // Keyset for groups: order_by=name, sort=asc, unauthenticated users only (doc "Supported resources").
  if (isKeysetRequest(req) && caller.user) throw keysetUnavailable();
  const orderKey = param(req, 'order_by') ?? 'name';
  const keys: Record<string, (g: NamespaceRecord) => string | number> = {
    name: (g) => g.name.toLowerCase(),
    path: (g) => g.path.toLowerCase(),
    id: (g) => g.id,
    similarity: (g) => g.name.toLowerCase(),
  };
  const key = keys[orderKey];
  if (!key) throw new ApiError(400, { error: 'order_by does not have a valid value' });
  const sorted = orderBy(groups, key, sortParam(req, 'asc'));
  return paginateOffset(req, res, ctx.baseUrl(), sorted).map((g) => groupEntity(ctx, g));
}

export function registerGroupRoutes(ctx: SimContext, router: Router): void {
  const { state } = ctx;
  const allGroups = () => [...state.namespaces.values()].filter((n) => n.kind === 'group');

  router.get(
    '/groups',
    endpoint((req, res, caller) => presentGroups(ctx, req, res, caller, filterGroups(ctx, req, caller, allGroups()))),
  );

  router.get(
    '/groups/:id',
    endpoint((req, _res, caller) => {
      const group = findGroup(ctx, caller, String(req.params.id));
      const body: Record<string, unknown> = { ...groupEntity(ctx, group), shared_with_groups: [] };
      // GroupDetail still embeds up to 100 projects unless with_projects=false (deprecated but default).
      if (boolParam(req, 'with_projects') ?? true) {
        const projects = [...state.projects.values()].filter(
          (p) => p.namespaceId === group.id && ctx.access.canReadProject(caller.user, p),
        );
        body.projects = projects.slice(0, 100).map((p) => projectEntity(ctx, p, caller.user));
        body.shared_projects = [];
      }
      return body;
    }),
  );

  router.get(
    '/groups/:id/subgroups',
    endpoint((req, res, caller) => {
      const group = findGroup(ctx, caller, String(req.params.id));
      const children = allGroups().filter((g) => g.parentId === group.id);
      return presentGroups(ctx, req, res, caller, filterGroups(ctx, req, caller, children, true));
    }),
  );

  router.get(
    '/groups/:id/descendant_groups',
    endpoint((req, res, caller) => {
      const group = findGroup(ctx, caller, String(req.params.id));
      return presentGroups(
        ctx,
        req,
        res,
        caller,
        filterGroups(ctx, req, caller, state.descendantGroups(group.id), true),
      );
    }),
  );

  router.get(
    '/groups/:id/projects',
    endpoint((req, res, caller) => {
      const group = findGroup(ctx, caller, String(req.params.id));
      const ids = new Set([group.id]);
      if (boolParam(req, 'include_subgroups')) for (const g of state.descendantGroups(group.id)) ids.add(g.id);
      const projects = [...state.projects.values()].filter((p) => ids.has(p.namespaceId));
      // lib/api/groups.rb paginates group projects with plain offset pagination: pagination=keyset is ignored.
      return presentProjects(ctx, req, res, caller, filterProjects(ctx, req, caller, projects), false);
    }),
  );

  router.post(
    '/groups',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const name = param(req, 'name');
        const path = param(req, 'path');
        if (!name || !path) throw missingParams(...(!name ? ['name'] : []), ...(!path ? ['path'] : []));
        const parentId = intParam(req, 'parent_id') ?? null;
        if (parentId !== null) {
          const parent = state.namespaces.get(parentId);
          if (!parent || parent.kind !== 'group' || !ctx.access.canReadGroup(user, parent))
            throw new ApiError(404, { message: '404 Group Not Found' });
          if (ctx.access.groupAccess(user, parentId) < 40) throw forbidden();
        }
        const fullPath = parentId === null ? path : `${state.fullPath(parentId)}/${path}`;
        if (state.findNamespaceByFullPath(fullPath))
          throw badRequest('Failed to save group {:path=>["has already been taken"]}');
        const group = state.createGroup({
          path,
          name,
          parentId,
          ownerId: user.id,
          description: param(req, 'description'),
          visibility: (param(req, 'visibility') as Visibility | undefined) ?? 'private',
        });
        return groupEntity(ctx, group);
      },
      { status: 201 },
    ),
  );

  // groups.md "Delete a group": Owner only; Groups::DestroyService runs in the background (202
  // Accepted). Instances with delayed deletion mark the group instead; this one deletes at once,
  // with its subgroups and projects, as the destroy service does.
  router.delete(
    '/groups/:id',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const group = findGroup(ctx, caller, String(req.params.id));
        if (!user.isAdmin && ctx.access.groupAccess(user, group.id) < 50) throw forbidden();
        state.deleteGroup(group.id);
        return { message: '202 Accepted' };
      },
      { status: 202 },
    ),
  );
}
