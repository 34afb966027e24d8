/** Helpers shared by the REST route modules: handler wrapper, finders, filters and ordering. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requireScopes, type Caller } from '../auth.js';
import type { SimContext } from '../context.js';
import type { NamespaceRecord, ProjectRecord } from '../model.js';
import { ApiError } from '../pagination.js';

export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}

/**
 * Wraps an endpoint: checks token scopes (api, read_api for reads, plus `extraScopes` registered
 * by the endpoint's class), runs the handler and sends what it returns as JSON with `status`.
 */
export function endpoint(
  handler: (req: Request, res: Response, caller: Caller) => unknown,
  options: { extraScopes?: string[]; status?: number; skipScopeCheck?: boolean } = {},
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    try {
      const caller = callerOf(res);
      if (!options.skipScopeCheck) requireScopes(caller, req.method, options.extraScopes);
      const body = handler(req, res, caller);
      if (res.headersSent) return;
      res.status(options.status ?? 200).json(body);
    } catch (error) {
      next(error);
    }
  };
}

/** lib/api/helpers.rb not_found!: {"message":"404 <Resource> Not Found"}. */
export function notFound(resource?: string): ApiError {
  return new ApiError(404, { message: resource ? `404 ${resource} Not Found` : '404 Not Found' });
}

export function forbidden(reason?: string): ApiError {
  return new ApiError(403, { message: reason ? `403 Forbidden - ${reason}` : '403 Forbidden' });
}

/** Grape's params validation (`requires`): {"error":"name is missing"}. */
export function missingParams(...names: string[]): ApiError {
  return new ApiError(400, { error: names.map((n) => `${n} is missing`).join(', ') });
}

export function badRequest(message: unknown): ApiError {
  return new ApiError(400, { message });
}

export function param(req: Request, name: string): string | undefined {
  const fromBody = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>)[name] : undefined;
  const value = fromBody ?? req.query[name];
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Grape's Boolean coercion: true/false/1/0/yes/no...; undefined when absent. */
export function boolParam(req: Request, name: string): boolean | undefined {
  const value = param(req, name);
  if (value === undefined || value === '') return undefined;
  return ['true', '1', 't', 'yes', 'y', 'on'].includes(value.toLowerCase());
}

export function intParam(req: Request, name: string): number | undefined {
  const value = param(req, name);
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new ApiError(400, { error: `${name} is invalid` });
  return n;
}

/** `:id` may be a numeric id or a URL-encoded full path (doc/api/rest/index.md "Namespaced path encoding"). */
export function findProject(ctx: SimContext, caller: Caller, id: string): ProjectRecord {
  const project = /^\d+$/.test(id) ? ctx.state.projects.get(Number(id)) : ctx.state.findProjectByFullPath(id);
  if (!project || !ctx.access.canReadProject(caller.user, project)) throw notFound('Project');
  return project;
}

export function findGroup(ctx: SimContext, caller: Caller, id: string): NamespaceRecord {
  const ns = /^\d+$/.test(id) ? ctx.state.namespaces.get(Number(id)) : ctx.state.findNamespaceByFullPath(id);
  if (!ns || ns.kind !== 'group' || !ctx.access.canReadGroup(caller.user, ns)) throw notFound('Group');
  return ns;
}

export type SortDirection = 'asc' | 'desc';

export function sortParam(req: Request, fallback: SortDirection): SortDirection {
  const value = param(req, 'sort');
  if (value === undefined) return fallback;
  if (value !== 'asc' && value !== 'desc') throw new ApiError(400, { error: 'sort does not have a valid value' });
  return value;
}

/** Orders by `key` then by id in the same direction (GitLab's tie-breaker on the primary key). */
export function orderBy<T extends { id: number }>(
  items: T[],
  key: (item: T) => string | number,
  sort: SortDirection,
): T[] {
  const dir = sort === 'asc' ? 1 : -1;
  return [...items].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka < kb) return -dir;
    if (ka > kb) return dir;
    return (a.id - b.id) * dir;
  });
}

export function matchesSearch(search: string | undefined, ...fields: (string | null)[]): boolean {
  if (!search) return true;
  const needle = search.toLowerCase();
  return fields.some((f) => f !== null && f.toLowerCase().includes(needle));
}
