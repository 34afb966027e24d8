/**
 * Projects API (doc/api/projects.md): list with filters, keyset pagination on id (the only
 * resource of this kind where GitLab offers it — doc/api/rest/index.md "Supported resources"),
 * single project by id or encoded path, a user's projects, create and delete.
 */
import type { Request, Response, Router } from 'express';
import { requireUser, type Caller } from '../auth.js';
import type { SimContext } from '../context.js';
import type { ProjectRecord, UserRecord, Visibility } from '../model.js';
import {
  ApiError,
  assertOffsetWithinLimit,
  isKeysetRequest,
  keysetUnavailable,
  paginateKeysetById,
  paginateOffset,
} from '../pagination.js';
import {
  badRequest,
  boolParam,
  endpoint,
  findProject,
  forbidden,
  intParam,
  matchesSearch,
  notFound,
  orderBy,
  param,
  sortParam,
} from './common.js';
import { projectBasic, projectEntity } from './entities.js';

const ORDERABLE: Record<string, (p: ProjectRecord) => string | number> = {
  id: (p) => p.id,
  name: (p) => p.name.toLowerCase(),
  path: (p) => p.path.toLowerCase(),
  created_at: (p) => p.createdAt.getTime(),
  updated_at: (p) => p.updatedAt.getTime(),
  last_activity_at: (p) => p.lastActivityAt.getTime(),
  star_count: () => 0,
  similarity: (p) => p.createdAt.getTime(),
};

/** ProjectsFinder + apply_filters: the list filters shared by every project listing. */
export function filterProjects(
  ctx: SimContext,
  req: Request,
  caller: Caller,
  projects: ProjectRecord[],
): ProjectRecord[] {
  const user = caller.user;
  const archived = boolParam(req, 'archived');
  const visibility = param(req, 'visibility');
  const search = param(req, 'search');
  const minAccess = intParam(req, 'min_access_level');
  const idAfter = intParam(req, 'id_after');
  const idBefore = intParam(req, 'id_before');
  return projects.filter((p) => {
    if (!ctx.access.canReadProject(user, p)) return false;
    if (archived !== undefined && p.archived !== archived) return false;
    if (visibility && p.visibility !== visibility) return false;
    if (!matchesSearch(search, p.name, p.path, p.description)) return false;
    if (boolParam(req, 'membership') && ctx.access.projectAccess(user, p) < 10) return false;
    if (boolParam(req, 'owned') && !isOwnedBy(ctx, user, p)) return false;
    if (minAccess !== undefined && ctx.access.projectAccess(user, p) < minAccess) return false;
    if (idAfter !== undefined && p.id <= idAfter) return false;
    if (idBefore !== undefined && p.id >= idBefore) return false;
    if (boolParam(req, 'wiki_checksum_failed') || boolParam(req, 'repository_checksum_failed')) return false;
    return true;
  });
}

function isOwnedBy(ctx: SimContext, user: UserRecord | null, p: ProjectRecord): boolean {
  if (!user) return false;
  const ns = ctx.state.namespaces.get(p.namespaceId);
  if (ns?.kind === 'user') return ns.ownerId === user.id;
  return ctx.access.groupAccess(user, p.namespaceId) >= 50;
}

/** Orders, paginates (offset, or keyset when `keysetAllowed`) and renders a project list. */
export function presentProjects(
  ctx: SimContext,
  req: Request,
  res: Response,
  caller: Caller,
  projects: ProjectRecord[],
  keysetAllowed: boolean,
) {
  const orderKey = param(req, 'order_by') ?? 'created_at';
  const order = ORDERABLE[orderKey];
  if (!order) throw new ApiError(400, { error: 'order_by does not have a valid value' });
  const sort = sortParam(req, 'desc');
  const sorted = orderBy(projects, order, sort);
  let page: ProjectRecord[];
  if (keysetAllowed && isKeysetRequest(req)) {
    // Gitlab::Pagination::Keyset.available?: Project ordered by id only.
    if (orderKey !== 'id') throw keysetUnavailable();
    page = paginateKeysetById(req, res, ctx.baseUrl(), sorted, sort);
  } else {
    if (keysetAllowed) assertOffsetWithinLimit(req, 'Project');
    page = paginateOffset(req, res, ctx.baseUrl(), sorted);
  }
  // simple=true renders Entities::BasicProjectDetails, which exposes no statistics even when asked.
  if (boolParam(req, 'simple')) return page.map((p) => projectBasic(ctx, p));
  return page.map((p) => projectEntity(ctx, p, caller.user, { statistics: boolParam(req, 'statistics') ?? false }));
}

export function registerProjectRoutes(ctx: SimContext, router: Router): void {
  const { state } = ctx;

  router.get(
    '/projects',
    endpoint((req, res, caller) =>
      presentProjects(ctx, req, res, caller, filterProjects(ctx, req, caller, [...state.projects.values()]), true),
    ),
  );

  router.get(
    '/projects/:id',
    endpoint((req, _res, caller) => {
      const project = findProject(ctx, caller, String(req.params.id));
      const body: Record<string, unknown> = projectEntity(ctx, project, caller.user, {
        statistics: boolParam(req, 'statistics') ?? false,
      });
      // license=true adds the detected licence (Entities::ProjectWithAccess `license`); none is detected here.
      if (boolParam(req, 'license')) Object.assign(body, { license_url: null, license: null });
      return body;
    }),
  );

  router.get(
    '/users/:id/projects',
    endpoint((req, res, caller) => {
      const id = String(req.params.id);
      const user = /^\d+$/.test(id) ? state.users.get(Number(id)) : state.findUserByLogin(id);
      if (!user || user.email === id) throw notFound('User');
      const own = [...state.projects.values()].filter((p) => p.namespaceId === user.namespaceId);
      return presentProjects(ctx, req, res, caller, filterProjects(ctx, req, caller, own), true);
    }),
  );

  router.post(
    '/projects',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const name = param(req, 'name');
        const path = param(req, 'path');
        // Grape at_least_one_of :name, :path
        if (!name && !path)
          throw new ApiError(400, { error: 'name, path are missing, at least one parameter must be provided' });
        const namespaceId = intParam(req, 'namespace_id') ?? user.namespaceId;
        const ns = state.namespaces.get(namespaceId);
        if (!ns || !ctx.access.canReadNamespace(user, ns)) throw notFound('Namespace');
        const canCreate =
          ns.kind === 'user' ? ns.ownerId === user.id || user.isAdmin : ctx.access.groupAccess(user, ns.id) >= 30;
        if (!canCreate) throw forbidden();
        const projectPath = path ?? name!.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
        if (state.findProjectByFullPath(`${state.fullPath(ns.id)}/${projectPath}`)) {
          throw badRequest({
            project_namespace: ['has already been taken'],
            name: ['has already been taken'],
            path: ['has already been taken'],
          });
        }
        const project = state.createProject({
          namespaceId,
          path: projectPath,
          name: name ?? projectPath,
          visibility: (param(req, 'visibility') as Visibility | undefined) ?? 'private',
          description: param(req, 'description'),
          withCommit: boolParam(req, 'initialize_with_readme') ?? false,
          defaultBranch: param(req, 'default_branch'),
          wikiEnabled: boolParam(req, 'wiki_enabled') ?? true,
          lfsEnabled: boolParam(req, 'lfs_enabled') ?? true,
          creatorId: user.id,
        });
        return projectEntity(ctx, project, user);
      },
      { status: 201 },
    ),
  );

  router.delete(
    '/projects/:id',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = findProject(ctx, caller, String(req.params.id));
        if (ctx.access.projectAccess(user, project) < 50) throw forbidden();
        state.deleteProject(project.id);
        // Projects::DestroyService runs in the background: the API answers 202 Accepted.
        return { message: '202 Accepted' };
      },
      { status: 202 },
    ),
  );
}
