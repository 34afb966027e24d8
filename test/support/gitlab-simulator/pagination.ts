/**
 * GitLab's REST pagination (doc/api/rest/index.md "Pagination").
 *
 * Offset: `page` (default 1) and `per_page` (default 20, anything above 100 is served as 100 —
 * Kaminari's max_per_page), headers x-page, x-per-page, x-next-page and x-prev-page (empty strings
 * when there is none), x-total and x-total-pages (at least 1), and a Link header with rel prev,
 * next, first and last. Above 10,000 records GitLab omits x-total, x-total-pages and rel="last"
 * (doc "Pagination response headers"; gitlab-foss!23931).
 *
 * Keyset (doc "Keyset-based pagination"; lib/gitlab/pagination/keyset/*.rb): only where GitLab
 * offers it. The response carries only `Link: <...&id_after=N>; rel="next"` (id_before for desc),
 * built from the request's own parameters, whenever the page is not empty; the request after the
 * last page returns [] with no Link.
 */
import type { Request, Response } from 'express';

export const MAX_PER_PAGE = 100;
export const COUNT_LIMIT = 10_000;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export function perPageOf(req: Request): number {
  return Math.min(positiveInt(req.query.per_page, 20), MAX_PER_PAGE);
}

function linkTo(baseUrl: string, req: Request, overrides: Record<string, string>): string {
  const url = new URL(req.originalUrl, baseUrl);
  for (const [key, value] of Object.entries(overrides)) url.searchParams.set(key, value);
  return url.toString();
}

/** Offset pagination over an already filtered and ordered list. */
export function paginateOffset<T>(req: Request, res: Response, baseUrl: string, items: T[]): T[] {
  const perPage = perPageOf(req);
  const page = positiveInt(req.query.page, 1);
  const total = items.length;
  const totalPages = Math.max(1, Math.ceil(total / perPage));
  const withoutCount = total > COUNT_LIMIT;
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const hasNext = page * perPage < total;
  // Kaminari's prev_page is nil on the first page and when the page is out of range.
  const hasPrev = page > 1 && page <= totalPages;
  const links: string[] = [];
  const at = (p: number) => linkTo(baseUrl, req, { page: String(p), per_page: String(perPage) });
  if (hasPrev) links.push(`<${at(page - 1)}>; rel="prev"`);
  if (hasNext) links.push(`<${at(page + 1)}>; rel="next"`);
  links.push(`<${at(1)}>; rel="first"`);
  if (!withoutCount) links.push(`<${at(totalPages)}>; rel="last"`);
  res.setHeader('Link', links.join(', '));
  res.setHeader('X-Page', String(page));
  res.setHeader('X-Per-Page', String(perPage));
  res.setHeader('X-Next-Page', hasNext ? String(page + 1) : '');
  res.setHeader('X-Prev-Page', hasPrev ? String(page - 1) : '');
  if (!withoutCount) {
    res.setHeader('X-Total', String(total));
    res.setHeader('X-Total-Pages', String(totalPages));
  }
  return slice;
}

export function isKeysetRequest(req: Request): boolean {
  return req.query.pagination === 'keyset';
}

/** lib/api/helpers/pagination_strategies.rb: Grape's error! wraps the string as {"error": ...}. */
export function keysetUnavailable(): ApiError {
  return new ApiError(405, { error: 'Keyset pagination is not yet available for this type of request' });
}

/**
 * Keyset pagination on `id` for records already filtered (the caller applies id_after/id_before
 * as ordinary filters, as GitLab's ProjectsFinder does) and sorted by id in `sort` order.
 */
export function paginateKeysetById<T extends { id: number }>(
  req: Request,
  res: Response,
  baseUrl: string,
  items: T[],
  sort: 'asc' | 'desc',
): T[] {
  const perPage = perPageOf(req);
  const page = items.slice(0, perPage);
  const last = page[page.length - 1];
  if (last) {
    const url = new URL(req.originalUrl, baseUrl);
    url.searchParams.delete('id_after');
    url.searchParams.delete('id_before');
    url.searchParams.set(sort === 'desc' ? 'id_before' : 'id_after', String(last.id));
    res.setHeader('Link', `<${url.toString()}>; rel="next"`);
  }
  return page;
}

/**
 * Offset pagination on resources that also support keyset stops at an offset of 50,000
 * (doc/administration/instance_limits.md "Max offset allowed by the REST API for offset-based pagination").
 */
export function assertOffsetWithinLimit(req: Request, typeName: string, limit = 50_000): void {
  const page = positiveInt(req.query.page, 1);
  if (page * perPageOf(req) > limit) {
    throw new ApiError(405, {
      error: `Offset pagination has a maximum allowed offset of ${limit} for requests that return objects of type ${typeName}. Remaining records can be retrieved using keyset pagination.`,
    });
  }
}

/**
 * Cursor keyset pagination (lib/gitlab/pagination/keyset/paginator.rb), which project issues offer
 * from GitLab 18.3 for their order_by values: the Link rel="next" carries an opaque `cursor`
 * naming the last record's sort key and id, and is absent on the last page.
 */
export function paginateKeysetByCursor<T extends { id: number }>(
  req: Request,
  res: Response,
  baseUrl: string,
  sorted: T[],
  key: (item: T) => string | number,
  sort: 'asc' | 'desc',
): T[] {
  const perPage = perPageOf(req);
  const raw = typeof req.query.cursor === 'string' ? req.query.cursor : undefined;
  let after = sorted;
  if (raw) {
    let cursor: { k: string | number; id: number };
    try {
      cursor = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { k: string | number; id: number };
    } catch {
      throw new ApiError(400, { error: 'cursor is invalid' });
    }
    const dir = sort === 'asc' ? 1 : -1;
    const compare = (item: T) => {
      const k = key(item);
      if (k !== cursor.k) return (k < cursor.k ? -1 : 1) * dir;
      return (item.id - cursor.id) * dir;
    };
    after = sorted.filter((item) => compare(item) > 0);
  }
  const page = after.slice(0, perPage);
  if (after.length > perPage) {
    const last = page[page.length - 1];
    const url = new URL(req.originalUrl, baseUrl);
    url.searchParams.set('cursor', Buffer.from(JSON.stringify({ k: key(last), id: last.id })).toString('base64url'));
    res.setHeader('Link', `<${url.toString()}>; rel="next"`);
  }
  res.setHeader('X-Per-Page', String(perPage));
  return page;
}
