/**
 * Group webhooks API (doc/api/group_webhooks.md; ee/lib/api/group_hooks.rb): list, show, add,
 * delete. Every route needs a signed-in user allowed to `admin_group` (Owner, or an
 * administrator); others get 403, and a group they cannot see 404. Group webhooks are a Premium
 * feature: on Free the routes answer 403, as the other licensed group APIs of this simulator do.
 * The token is write-only (never in a response). `url` is required and must be http(s).
 */
import type { Router } from 'express';
import { requireUser } from '../auth.js';
import type { SimContext } from '../context.js';
import { GROUP_HOOK_EVENTS, type HookDispatcher } from '../hooks.js';
import { badRequest, boolParam, endpoint, findGroup, forbidden, missingParams, notFound, param } from './common.js';
import { paginateOffset } from '../pagination.js';
import { tierIncludes } from '../model.js';
import type { Caller } from '../auth.js';
import type { Request } from 'express';

export function registerGroupHookRoutes(ctx: SimContext, hooks: HookDispatcher, router: Router): void {
  const adminGroup = (req: Request, caller: Caller) => {
    const user = requireUser(caller);
    const group = findGroup(ctx, caller, String(req.params.id));
    if (!user.isAdmin && ctx.access.groupAccess(user, group.id) < 50) throw forbidden();
    if (!tierIncludes(ctx.state.tierOf(group.id), 'premium')) throw forbidden();
    return group;
  };
  const hookOf = (groupId: number, id: string) => {
    const hook = hooks.groupHooks.get(Number(id));
    if (!hook || hook.groupId !== groupId) throw notFound();
    return hook;
  };

  router.get(
    '/groups/:id/hooks',
    endpoint((req, res, caller) => {
      const group = adminGroup(req, caller);
      return paginateOffset(req, res, ctx.baseUrl(), hooks.hooksOfGroup(group.id)).map((h) => hooks.present(h));
    }),
  );

  router.get(
    '/groups/:id/hooks/:hook_id',
    endpoint((req, _res, caller) => hooks.present(hookOf(adminGroup(req, caller).id, String(req.params.hook_id)))),
  );

  router.post(
    '/groups/:id/hooks',
    endpoint(
      (req, _res, caller) => {
        const group = adminGroup(req, caller);
        const url = param(req, 'url');
        if (!url) throw missingParams('url');
        if (!/^https?:\/\/[^\s]+$/.test(url))
          throw badRequest({ url: ['is blocked: Only allowed schemes are http, https'] });
        const events = Object.fromEntries(
          GROUP_HOOK_EVENTS.flatMap((e) => {
            const value = boolParam(req, e);
            return value === undefined ? [] : [[e, value]];
          }),
        );
        const hook = hooks.addGroupHook(group.id, {
          url,
          token: param(req, 'token') ?? null,
          enableSslVerification: boolParam(req, 'enable_ssl_verification'),
          ...events,
        });
        return hooks.present(hook);
      },
      { status: 201 },
    ),
  );

  router.delete(
    '/groups/:id/hooks/:hook_id',
    endpoint(
      (req, res, caller) => {
        const hook = hookOf(adminGroup(req, caller).id, String(req.params.hook_id));
        hooks.groupHooks.delete(hook.id);
        res.status(204).end();
      },
      { status: 204 },
    ),
  );
}
