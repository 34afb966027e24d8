/**
 * GitLab's snake_case JSON → the port's camelCase types. Fields the port requires are checked, and a
 * payload that lacks one is a GITLAB_BAD_RESPONSE naming the field, rather than an `undefined`
 * that surfaces later as a broken backup.
 */
import { GROUP_HOOK_EVENT_NAMES } from './gitlab.port.js';
import type {
  GitLabGroup,
  GitLabGroupHook,
  GitLabNamespace,
  GitLabPersonalAccessToken,
  GitLabProject,
  GitLabProjectStatistics,
  GitLabUser,
  GitLabVisibility,
} from './gitlab.port.js';

/** Thrown by the readers; the adapter turns it into GITLAB_BAD_RESPONSE with the operation. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

type Json = Record<string, unknown>;

class Reader {
  constructor(
    private readonly value: Json,
    private readonly path: string,
  ) {}

  static of(value: unknown, path: string): Reader {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new PayloadError(`${path} is not an object`);
    }
    return new Reader(value as Json, path);
  }

  num(key: string): number {
    const v = this.value[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.fail(key, 'a number');
    return v;
  }
  optNum(key: string): number | null {
    const v = this.value[key];
    return v === undefined || v === null ? null : this.num(key);
  }
  str(key: string): string {
    const v = this.value[key];
    if (typeof v !== 'string') throw this.fail(key, 'a string');
    return v;
  }
  optStr(key: string): string | null {
    const v = this.value[key];
    return v === undefined || v === null ? null : this.str(key);
  }
  bool(key: string): boolean {
    const v = this.value[key];
    if (typeof v !== 'boolean') throw this.fail(key, 'a boolean');
    return v;
  }
  optBool(key: string): boolean | null {
    const v = this.value[key];
    return v === undefined || v === null ? null : this.bool(key);
  }
  strings(key: string): string[] {
    const v = this.value[key];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw this.fail(key, 'a list of strings');
    return v as string[];
  }
  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const v = this.str(key);
    if (!(allowed as readonly string[]).includes(v)) throw this.fail(key, `one of ${allowed.join(', ')}`);
    return v as T;
  }
  child(key: string): Reader {
    return Reader.of(this.value[key], `${this.path}.${key}`);
  }
  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  private fail(key: string, expected: string): PayloadError {
    return new PayloadError(`${this.path}.${key} is not ${expected}`);
  }
}

const VISIBILITIES = ['private', 'internal', 'public'] as const satisfies readonly GitLabVisibility[];

/** Every element of a list body, or a PayloadError when the body is not a list. */
export function mapList<T>(body: unknown, what: string, map: (item: unknown, path: string) => T): T[] {
  if (!Array.isArray(body)) throw new PayloadError(`${what} list is not an array`);
  return body.map((item, i) => map(item, `${what}[${i}]`));
}

export function toUser(body: unknown, path = 'user'): GitLabUser {
  const r = Reader.of(body, path);
  return {
    id: r.num('id'),
    username: r.str('username'),
    name: r.str('name'),
    // `email` is present for the token's own user; `public_email` may be "" when unset.
    email: r.optStr('email') || r.optStr('public_email') || null,
    webUrl: r.str('web_url'),
    avatarUrl: r.optStr('avatar_url'),
  };
}

export function toPersonalAccessToken(body: unknown, path = 'personal_access_token'): GitLabPersonalAccessToken {
  const r = Reader.of(body, path);
  return {
    id: r.num('id'),
    name: r.str('name'),
    scopes: r.strings('scopes'),
    active: r.bool('active'),
    revoked: r.bool('revoked'),
    expiresAt: r.optStr('expires_at'),
    userId: r.num('user_id'),
  };
}

/** GET /namespaces/:id and GET /namespaces entries. */
export function toNamespace(body: unknown, path = 'namespace'): GitLabNamespace {
  const r = Reader.of(body, path);
  return {
    id: r.num('id'),
    kind: r.oneOf('kind', ['group', 'user'] as const),
    name: r.str('name'),
    path: r.str('path'),
    fullPath: r.str('full_path'),
    parentId: r.optNum('parent_id'),
    webUrl: r.str('web_url'),
  };
}

/** A group entry of GET /groups seen as a namespace. */
export function groupToNamespace(group: GitLabGroup): GitLabNamespace {
  const { id, name, path, fullPath, parentId, webUrl } = group;
  return { id, kind: 'group', name, path, fullPath, parentId, webUrl };
}

export function toGroup(body: unknown, path = 'group'): GitLabGroup {
  const r = Reader.of(body, path);
  return {
    id: r.num('id'),
    name: r.str('name'),
    path: r.str('path'),
    fullPath: r.str('full_path'),
    parentId: r.optNum('parent_id'),
    visibility: r.oneOf('visibility', VISIBILITIES),
    // GitLab sends "" for "no description".
    description: r.optStr('description') || null,
    webUrl: r.str('web_url'),
  };
}

export function toGroupHook(body: unknown, path = 'hook'): GitLabGroupHook {
  const r = Reader.of(body, path);
  return {
    id: r.num('id'),
    url: r.str('url'),
    events: Object.fromEntries(
      GROUP_HOOK_EVENT_NAMES.map((e) => [e, r.optBool(e) ?? false]),
    ) as GitLabGroupHook['events'],
  };
}

export function toProject(body: unknown, path = 'project'): GitLabProject {
  const r = Reader.of(body, path);
  const namespace = r.child('namespace');
  return {
    id: r.num('id'),
    name: r.str('name'),
    path: r.str('path'),
    pathWithNamespace: r.str('path_with_namespace'),
    namespaceId: namespace.num('id'),
    namespaceFullPath: namespace.str('full_path'),
    httpUrlToRepo: r.str('http_url_to_repo'),
    sshUrlToRepo: r.str('ssh_url_to_repo'),
    webUrl: r.str('web_url'),
    defaultBranch: r.optStr('default_branch'),
    visibility: r.oneOf('visibility', VISIBILITIES),
    archived: r.bool('archived'),
    // Absent in `simple` views and for some tokens: an unknown emptiness is treated as "has content".
    emptyRepo: r.optBool('empty_repo') ?? false,
    lastActivityAt: r.str('last_activity_at'),
    // `wiki_enabled` is deprecated in favour of `wiki_access_level` (GitLab 14+); accept either.
    wikiEnabled:
      r.optBool('wiki_enabled') ?? (r.has('wiki_access_level') ? r.str('wiki_access_level') !== 'disabled' : false),
    lfsEnabled: r.optBool('lfs_enabled') ?? false,
    statistics: r.has('statistics') ? toStatistics(r.child('statistics')) : null,
  };
}

function toStatistics(r: Reader): GitLabProjectStatistics {
  return {
    repositorySize: r.num('repository_size'),
    wikiSize: r.optNum('wiki_size') ?? 0,
    lfsObjectsSize: r.optNum('lfs_objects_size') ?? 0,
    storageSize: r.num('storage_size'),
  };
}
