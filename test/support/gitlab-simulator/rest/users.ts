/**
 * Current user, personal access token self-information, users and namespaces
 * (doc/api/users.md, doc/api/personal_access_tokens.md, doc/api/namespaces.md).
 */
import type { Router } from 'express';
import { requireUser } from '../auth.js';
import type { SimContext } from '../context.js';
import { ApiError, paginateOffset } from '../pagination.js';
import { boolParam, endpoint, matchesSearch, notFound, orderBy, param } from './common.js';
import { currentUser, namespaceEntity, personalAccessToken, userBasic } from './entities.js';

export function registerUserRoutes(ctx: SimContext, router: Router): void {
  const { state } = ctx;

  // API::Users registers read_user for GET before API::API's api/read_api, hence the scope order.
  router.get(
    '/user',
    endpoint((_req, _res, caller) => currentUser(ctx, requireUser(caller)), { extraScopes: ['read_user'] }),
  );

  // lib/api/personal_access_tokens/self_information.rb: any scope may read itself; OAuth tokens get a 400.
  router.get(
    '/personal_access_tokens/self',
    endpoint(
      (_req, _res, caller) => {
        requireUser(caller);
        if (caller.kind !== 'pat' || !caller.pat) {
          throw new ApiError(400, {
            message: '400 Bad request - This endpoint requires token type to be a personal access token',
          });
        }
        // Expired and revoked tokens never get here: they fail authentication with 401.
        return personalAccessToken(caller.pat, true);
      },
      { skipScopeCheck: true },
    ),
  );

  router.get(
    '/users/:id',
    endpoint(
      (req, _res, _caller) => {
        const id = String(req.params.id);
        const user = /^\d+$/.test(id) ? state.users.get(Number(id)) : undefined;
        if (!user) throw notFound('User');
        return { ...userBasic(ctx, user), created_at: user.createdAt.toISOString(), bio: '', public_email: null };
      },
      { extraScopes: ['read_user'] },
    ),
  );

  router.get(
    '/users',
    endpoint(
      (req, res) => {
        const username = param(req, 'username');
        const users = [...state.users.values()].filter(
          (u) =>
            (username === undefined || u.username.toLowerCase() === username.toLowerCase()) &&
            matchesSearch(param(req, 'search'), u.username, u.name),
        );
        return paginateOffset(
          req,
          res,
          ctx.baseUrl(),
          orderBy(users, (u) => u.id, 'desc'),
        ).map((u) => userBasic(ctx, u));
      },
      { extraScopes: ['read_user'] },
    ),
  );

  /**
   * GET /namespaces: the caller's personal namespace and the groups it is a member of
   * (User#namespaces); owned_only keeps Owner groups; top_level_only drops subgroups.
   */
  router.get(
    '/namespaces',
    endpoint((req, res, caller) => {
      const user = requireUser(caller);
      const ownedOnly = boolParam(req, 'owned_only') ?? false;
      const topLevelOnly = boolParam(req, 'top_level_only') ?? false;
      const search = param(req, 'search');
      const list = [...state.namespaces.values()]
        .filter((ns) => {
          if (user.isAdmin) return true;
          if (ns.kind === 'user') return ns.ownerId === user.id;
          const level = state.members.get(`group:${ns.id}:${user.id}`) ?? 0;
          return ownedOnly ? level >= 50 : level > 0;
        })
        .filter((ns) => (!topLevelOnly || ns.parentId === null) && matchesSearch(search, ns.name, ns.path));
      return paginateOffset(
        req,
        res,
        ctx.baseUrl(),
        orderBy(list, (ns) => ns.id, 'asc'),
      ).map((ns) => namespaceEntity(ctx, ns));
    }),
  );

  router.get(
    '/namespaces/:id',
    endpoint((req, _res, caller) => {
      requireUser(caller);
      const id = String(req.params.id);
      const ns = /^\d+$/.test(id) ? state.namespaces.get(Number(id)) : state.findNamespaceByFullPath(id);
      if (!ns || !ctx.access.canReadNamespace(caller.user, ns)) throw notFound('Namespace');
      return namespaceEntity(ctx, ns);
    }),
  );
}
