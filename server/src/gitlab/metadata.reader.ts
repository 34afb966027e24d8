/**
 * GitLabMetadataReader over the adapter's HTTP machinery: every request goes through our gitbeaker
 * requester (gitbeaker.requester.ts) — Retry-After honoured, 5xx backoff, per-attempt deadlines,
 * custom CA, errors translated by gitlab.errors.ts — and then through metadata.errors.ts, which
 * marks the refusals that mean "skip this type".
 *
 * gitbeaker's resource methods are not used for listings: they collect every page into one array,
 * and a backup must stream. We ask the requester for one page at a time and follow the answer's
 * `Link: <…>; rel="next"` as gitbeaker does — same endpoint, the link's query — which serves offset
 * and keyset pagination alike (and never sends the token to a host a Link header names). An answer
 * without a Link falls back to `x-next-page`.
 */
import { Projects } from '@gitbeaker/rest';
import { isDomainError } from '../shared/errors.js';
import type { RequesterFn } from './gitbeaker.requester.js';
import { GitLabFactory } from './gitlab-factory.js';
import { badPayload, toGitLabError } from './gitlab.errors.js';
import type { GitLabAccess } from './gitlab.port.js';
import {
  GROUP_ENDPOINTS,
  GROUP_TREE_ENDPOINTS,
  type GroupTreeType,
  PROJECT_ENDPOINTS,
  type ChildReader,
  type MetadataEndpoint,
  type Query,
} from './metadata.endpoints.js';
import { classifyMetadataError } from './metadata.errors.js';
import type {
  GitLabMetadataReader,
  GitLabMetadataReaderFactory,
  GroupMetadataType,
  MetadataRecord,
  MetadataType,
  RecordProgress,
  RecordWarning,
} from './metadata.port.js';

/** GitLab's cap on per_page. */
const PER_PAGE = 100;

/**
 * Creates one reader per access. Takes the same options as GitbeakerClientFactory (retries,
 * requestTimeoutMs, maxPages — here per listing, children included); `close()` destroys the
 * keep-alive agents of custom CAs.
 */
export class GitbeakerMetadataReaderFactory
  extends GitLabFactory<GitLabMetadataReader>
  implements GitLabMetadataReaderFactory
{
  protected build(host: string, access: GitLabAccess): GitLabMetadataReader {
    return new GitbeakerMetadataReader(host, access, this.http.requesterFn(access), this.http.maxPages);
  }
}

interface Answer {
  body: unknown;
  headers: Record<string, string>;
}

interface Requester {
  get(endpoint: string, options: { searchParams: Record<string, unknown> }): Promise<Answer>;
}

class GitbeakerMetadataReader implements GitLabMetadataReader {
  private readonly requester: Requester;

  constructor(
    host: string,
    access: GitLabAccess,
    requesterFn: RequesterFn,
    private readonly maxPages: number,
  ) {
    const auth = access.tokenType === 'oauth' ? { oauthToken: access.token } : { token: access.token };
    // Any resource will do: it only lends its base URL (/api/v4/) and auth headers to the requester.
    const resource = new Projects({ host, ...auth, requesterFn, queryTimeout: null, camelize: false });
    this.requester = resource.requester;
  }

  projectRecords(
    projectId: number,
    type: MetadataType,
    onProgress?: RecordProgress,
    onWarning?: RecordWarning,
  ): AsyncIterable<MetadataRecord> {
    const endpoint = PROJECT_ENDPOINTS[type];
    if (!endpoint) throw new TypeError(`unknown project metadata type ${String(type)}`);
    return this.records(endpoint, projectId, onProgress, onWarning);
  }

  groupRecords(
    groupId: number,
    type: GroupMetadataType,
    onProgress?: RecordProgress,
    onWarning?: RecordWarning,
  ): AsyncIterable<MetadataRecord> {
    const endpoint = GROUP_ENDPOINTS[type];
    if (!endpoint) throw new TypeError(`unknown group metadata type ${String(type)}`);
    return this.records(endpoint, groupId, onProgress, onWarning);
  }

  groupTreeRecords(groupId: number, type: GroupTreeType): AsyncIterable<MetadataRecord> {
    const endpoint = GROUP_TREE_ENDPOINTS[type];
    if (!endpoint) throw new TypeError(`unknown group tree metadata type ${String(type)}`);
    return this.records(endpoint, groupId);
  }

  private async *records(
    endpoint: MetadataEndpoint,
    ownerId: number,
    onProgress?: RecordProgress,
    onWarning?: RecordWarning,
  ): AsyncGenerator<MetadataRecord> {
    const path = endpoint.path(ownerId);
    if (endpoint.single) {
      const answer = await this.get(endpoint, path, endpoint.query);
      yield asRecord(answer.body, path);
      onProgress?.(1);
      return;
    }
    const seen = new Set<unknown>();
    let count = 0;
    // Set by the page callback, which control-flow analysis cannot see: hence the widened type.
    let total = null as number | null;
    for await (const page of this.pages(endpoint, path, endpoint.query, (t) => (total ??= t))) {
      for (const item of page) {
        const key = endpoint.identity(item);
        if (key !== undefined && key !== null) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        const record = endpoint.embed ? await this.embed(endpoint, ownerId, item, onWarning) : item;
        yield record;
        count += 1;
        onProgress?.(count);
      }
    }
    // GitLab counts the listing (x-total, offset pagination only): a difference is said, never silent.
    if (total !== null && total !== count) {
      onWarning?.(`${endpoint.facts.type}: GitLab reported ${total} (x-total), ${count} read`);
    }
  }

  /**
   * Adds children. A child listing that fails (404, or 5xx/timeouts after the requester's
   * retries) never costs the parent record: it is kept with what was read of that listing, and a
   * warning names the record and the listing.
   */
  private async embed(
    endpoint: MetadataEndpoint,
    ownerId: number,
    item: MetadataRecord,
    onWarning?: RecordWarning,
  ): Promise<MetadataRecord> {
    const name = `${endpoint.facts.type} ${typeof item.iid === 'number' ? `${endpoint.facts.type === 'merge_requests' ? '!' : '#'}${item.iid}` : `id ${String(item.id)}`}`;
    try {
      return await endpoint.embed!(this.childReader(endpoint, name, onWarning), ownerId, item);
    } catch (error) {
      if (error instanceof TypeError) throw badPayload(`${endpoint.facts.type} record: ${error.message}`);
      throw error;
    }
  }

  private childReader(endpoint: MetadataEndpoint, parent: string, onWarning?: RecordWarning): ChildReader {
    const lost = (what: string, error: unknown, kept: string): boolean => {
      if (!(isDomainError(error, 'GITLAB_NOT_FOUND') || (isDomainError(error) && error.retryable))) return false;
      const reason = error instanceof Error ? error.message : String(error);
      onWarning?.(`${parent}: ${what} could not be read (${reason}); the record is kept ${kept}`);
      return true;
    };
    return {
      list: async (path, query) => {
        const all: MetadataRecord[] = [];
        try {
          for await (const page of this.pages(endpoint, path, query)) all.push(...page);
        } catch (error) {
          if (!lost(path.split('/').at(-1)!, error, `with ${all.length} of them`)) throw error;
        }
        return all;
      },
      text: async (path) => {
        let body: unknown;
        try {
          ({ body } = await this.get(endpoint, path, {}));
        } catch (error) {
          if (!lost(textName(path), error, 'without it')) throw error;
          return null;
        }
        // GitLab sends raw snippets as text/plain; anything parsed as JSON is put back as text.
        return typeof body === 'string' ? body : body === null ? '' : JSON.stringify(body);
      },
    };
  }

  /** One page at a time, following rel="next" (or x-next-page) on the same endpoint. */
  private async *pages(
    endpoint: MetadataEndpoint,
    path: string,
    query: Query,
    onTotal?: (total: number) => void,
  ): AsyncGenerator<MetadataRecord[]> {
    let searchParams: Record<string, unknown> = { ...query, per_page: PER_PAGE };
    for (let pages = 1; ; pages += 1) {
      if (pages > this.maxPages)
        throw badPayload(`more than ${this.maxPages} pages of ${path}; its pagination links may loop`);
      const answer = await this.get(endpoint, path, searchParams);
      if (!Array.isArray(answer.body)) throw badPayload(`the ${endpoint.facts.type} list of ${path} is not an array`);
      const total = Number.parseInt(answer.headers['x-total'] ?? '', 10);
      if (pages === 1 && Number.isFinite(total)) onTotal?.(total);
      yield answer.body.map((item, i) => asRecord(item, `${path}[${i}]`));
      const next = nextQuery(answer.headers, searchParams);
      if (!next || answer.body.length === 0) return;
      searchParams = next;
    }
  }

  private async get(endpoint: MetadataEndpoint, path: string, searchParams: Record<string, unknown>): Promise<Answer> {
    try {
      return await this.requester.get(path, { searchParams });
    } catch (error) {
      throw classifyMetadataError(toGitLabError(error), endpoint.facts);
    }
  }
}

/** The query of the next page: the Link's rel="next", else x-next-page; null on the last page. */
/** What a raw text endpoint answers, for a warning: `file <path>` (…/files/:ref/:path/raw), else `content`. */
function textName(path: string): string {
  const file = /\/files\/[^/]+\/([^/]+)\/raw$/.exec(path)?.[1];
  return file ? `file ${decodeURIComponent(file)}` : 'content';
}

export function nextQuery(
  headers: Record<string, string>,
  current: Record<string, unknown>,
): Record<string, unknown> | null {
  const link = headers.link;
  if (link) {
    for (const part of link.split(/,(?=\s*<)/)) {
      const match = /<([^>]*)>\s*;(.*)/.exec(part.trim());
      if (!match || !/\brel="?next"?/.test(match[2])) continue;
      const url = new URL(match[1], 'http://link.invalid');
      return Object.fromEntries(url.searchParams);
    }
    return null;
  }
  const nextPage = headers['x-next-page']?.trim();
  return nextPage ? { ...current, page: nextPage } : null;
}

function asRecord(value: unknown, path: string): MetadataRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badPayload(`${path} is not an object`);
  return value as MetadataRecord;
}
