/**
 * Which GitLab REST endpoint serves each metadata type, with the parameters that make it list
 * everything a restore needs and nothing that belongs to another snapshot. Sources: GitLab's
 * REST docs (doc/api/*.md) and lib/api/*.rb.
 *
 * Ordering: every listing is ascending by creation (or id), so that a record created while we
 * list lands on the last page instead of shifting the pages already read; duplicates from
 * deletions in between are dropped by `identity`.
 *
 * Pagination: offset with per_page=100, following `Link: rel="next"`. Project issues also ask
 * for `pagination=keyset` — GitLab 18.3 added keyset for them (doc/api/rest "Supported
 * resources"); older versions list issues with `paginate()`, which ignores the parameter, so the
 * same request pages by offset there. Merge requests and every other type here have no keyset.
 */
import type { GroupMetadataType, MetadataType } from './metadata.types.js';
import type { TypeFacts } from './metadata.errors.js';
import type { MetadataRecord } from './metadata.port.js';

export type Query = Record<string, string | number | boolean>;

/** How an endpoint's children are fetched (through the same requester, retries and errors). */
export interface ChildReader {
  /** Every item of a sub-listing, every page (one record's children are small enough to hold). */
  list(endpoint: string, query: Query): Promise<MetadataRecord[]>;
  /**
   * A raw text answer (a snippet file's content); null when it could not be read (404, or a
   * failure after retries), which has then been reported as a warning naming it.
   */
  text(endpoint: string): Promise<string | null>;
}

export interface MetadataEndpoint {
  facts: TypeFacts;
  /** Relative to /api/v4/. */
  path(ownerId: number): string;
  query: Query;
  /** One object, not a list (project_settings). */
  single?: boolean;
  /** What makes two records the same one (duplicates across offset pages are dropped). */
  identity(record: MetadataRecord): unknown;
  /** Adds children to a record; rejects with GITLAB_NOT_FOUND when the record vanished. */
  embed?(children: ChildReader, ownerId: number, record: MetadataRecord): Promise<MetadataRecord>;
}

const byId = (record: MetadataRecord): unknown => record.id;
const ascending = { order_by: 'created_at', sort: 'asc' } as const;
const notesQuery = { order_by: 'created_at', sort: 'asc' } as const;

/**
 * The ref a snippet file's raw_url names (…/-/snippets/:id/raw/<ref>/<path>: the default branch
 * of the snippet's repository); HEAD when the URL does not say.
 */
function snippetRef(file: MetadataRecord): string {
  const raw = typeof file.raw_url === 'string' ? file.raw_url : '';
  const rest = /\/-\/snippets\/\d+\/raw\/(.+)$/.exec(raw)?.[1];
  const path = file.path as string;
  for (const tail of [`/${path}`, `/${encodeURI(path)}`])
    if (rest && rest.endsWith(tail) && rest.length > tail.length)
      return decodeURIComponent(rest.slice(0, -tail.length));
  return 'HEAD';
}

/** One URL path segment: slashes and dots encoded too (GitLab's docs: `snippet%2Erb`). */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(/\./g, '%2E');
}

function iidOf(record: MetadataRecord): number {
  const iid = record.iid;
  if (typeof iid !== 'number') throw new TypeError('record without a numeric iid');
  return iid;
}

export const PROJECT_ENDPOINTS: Record<MetadataType, MetadataEndpoint> = {
  issues: {
    facts: { type: 'issues', role: 'Guest' },
    path: (id) => `projects/${id}/issues`,
    // scope=all: the default of /issues is created_by_me; state=all: the default is every state
    // here, said explicitly so closed issues are never lost to a changed default.
    query: { scope: 'all', state: 'all', ...ascending, pagination: 'keyset' },
    identity: byId,
    // Notes include system notes ("changed the description", …): they are the issue's history.
    embed: async (children, id, issue) => ({
      ...issue,
      notes: await children.list(`projects/${id}/issues/${iidOf(issue)}/notes`, notesQuery),
    }),
  },
  merge_requests: {
    facts: { type: 'merge_requests', role: 'Guest' },
    path: (id) => `projects/${id}/merge_requests`,
    query: { scope: 'all', state: 'all', ...ascending },
    identity: byId,
    // versions = merge request diff versions (head/base/start sha, state, real_size), not diffs.
    embed: async (children, id, mr) => {
      const base = `projects/${id}/merge_requests/${iidOf(mr)}`;
      const notes = await children.list(`${base}/notes`, notesQuery);
      const versions = await children.list(`${base}/versions`, {});
      return { ...mr, notes, versions };
    },
  },
  labels: {
    facts: { type: 'labels', role: 'Guest' },
    path: (id) => `projects/${id}/labels`,
    // Group labels belong to the group's snapshot (group_labels); counts cost GitLab queries.
    query: { include_ancestor_groups: false, with_counts: false },
    identity: byId,
  },
  milestones: {
    facts: { type: 'milestones', role: 'Guest' },
    path: (id) => `projects/${id}/milestones`,
    // No state filter = active and closed; include_ancestors defaults to false.
    query: { include_ancestors: false },
    identity: byId,
  },
  releases: {
    facts: { type: 'releases', role: 'Reporter' },
    path: (id) => `projects/${id}/releases`,
    // Entities::Release has no id: tag_name is its key. `assets.links` come embedded as returned.
    query: { ...ascending },
    identity: (release) => release.tag_name,
  },
  snippets: {
    facts: { type: 'snippets', role: 'Guest' },
    path: (id) => `projects/${id}/snippets`,
    query: {},
    identity: byId,
    // A snippet is a git repository of files (GitLab 13.0+): `files` lists each with its raw_url,
    // and /files/:ref/:file_path/raw answers one as text. Every file is kept with its content;
    // `content` stays the first file's, as /raw answers it (and as snapshots held it before).
    // A snippet without `files` (an older GitLab) has only /raw.
    embed: async (children, id, snippet) => {
      const base = `projects/${id}/snippets/${String(snippet.id)}`;
      const listed = Array.isArray(snippet.files)
        ? (snippet.files as unknown[]).filter(
            (f): f is MetadataRecord =>
              f !== null && typeof f === 'object' && typeof (f as MetadataRecord).path === 'string',
          )
        : [];
      if (listed.length === 0) return { ...snippet, content: (await children.text(`${base}/raw`)) ?? '' };
      const files: MetadataRecord[] = [];
      for (const file of listed) {
        const path = file.path as string;
        const content = await children.text(
          `${base}/files/${encodeSegment(snippetRef(file))}/${encodeSegment(path)}/raw`,
        );
        files.push(content === null ? file : { ...file, content });
      }
      const first = files[0].content;
      return { ...snippet, files, ...(typeof first === 'string' ? { content: first } : {}) };
    },
  },
  members: {
    facts: { type: 'members', role: 'Guest' },
    // Direct members only, not /members/all: inherited members come from ancestor groups (and
    // shared groups) and are backed up with those groups (group_members); restoring them as
    // direct project members would change who has access, and they would be listed in every
    // project of the group.
    path: (id) => `projects/${id}/members`,
    query: {},
    identity: byId,
  },
  protected_branches: {
    facts: { type: 'protected_branches', role: 'Maintainer' },
    path: (id) => `projects/${id}/protected_branches`,
    query: {},
    identity: byId,
  },
  protected_tags: {
    facts: { type: 'protected_tags', role: 'Maintainer' },
    path: (id) => `projects/${id}/protected_tags`,
    query: {},
    // Entities::ProtectedTag exposes no id.
    identity: (tag) => tag.name,
  },
  webhooks: {
    facts: { type: 'webhooks', role: 'Maintainer' },
    // GitLab never returns a hook's secret token, nor the values of url_variables and
    // custom_headers (only their keys): a restore must ask for them again.
    path: (id) => `projects/${id}/hooks`,
    query: {},
    identity: byId,
  },
  deploy_keys: {
    facts: { type: 'deploy_keys', role: 'Maintainer' },
    path: (id) => `projects/${id}/deploy_keys`,
    query: {},
    identity: byId,
  },
  ci_variables: {
    facts: { type: 'ci_variables', role: 'Maintainer' },
    // Values are secrets, returned as GitLab sends them; the caller encrypts this artifact.
    // Variables created as hidden (GitLab 17.4+) come back with value null: GitLab never reveals them.
    path: (id) => `projects/${id}/variables`,
    query: {},
    identity: (variable) =>
      `${String(variable.key)}\u0000${typeof variable.environment_scope === 'string' ? variable.environment_scope : '*'}`,
  },
  project_settings: {
    facts: { type: 'project_settings', role: 'Guest' },
    path: (id) => `projects/${id}`,
    // license: the detected licence; statistics: sizes (Reporter+, silently absent otherwise).
    query: { license: true, statistics: true },
    single: true,
    identity: byId,
  },
};

export const GROUP_ENDPOINTS: Record<GroupMetadataType, MetadataEndpoint> = {
  group_labels: {
    facts: { type: 'group_labels', role: 'Guest' },
    path: (id) => `groups/${id}/labels`,
    // Only this group's labels: ancestors' and subgroups' belong to their own snapshots.
    query: {
      include_ancestor_groups: false,
      include_descendant_groups: false,
      only_group_labels: true,
      with_counts: false,
    },
    identity: byId,
  },
  group_milestones: {
    facts: { type: 'group_milestones', role: 'Guest' },
    path: (id) => `groups/${id}/milestones`,
    query: { include_ancestors: false, include_descendants: false },
    identity: byId,
  },
  group_members: {
    facts: { type: 'group_members', role: 'Guest' },
    // Direct members, for the same reason as project members.
    path: (id) => `groups/${id}/members`,
    query: {},
    identity: byId,
  },
  subgroups: {
    facts: { type: 'subgroups', role: 'Guest' },
    // One level. Each group of the organization gets its own snapshot (discovery lists them all
    // with descendant_groups), so the tree is the union of every group's direct children;
    // descendant_groups here would store each deep group again in every ancestor's snapshot.
    path: (id) => `groups/${id}/subgroups`,
    query: { all_available: true, order_by: 'id', sort: 'asc' },
    identity: byId,
  },
  epics: {
    facts: { type: 'epics', role: 'Guest', tier: 'premium' },
    // The epics API lists subgroups' epics too unless told not to (include_descendant_groups
    // defaults to true). Deprecated since GitLab 17.0 in favour of work items, still served by API v4.
    path: (id) => `groups/${id}/epics`,
    query: { state: 'all', include_ancestor_groups: false, include_descendant_groups: false, ...ascending },
    identity: byId,
  },
};

/** The group metadata types one listing can give for a whole group tree (members cannot). */
export type GroupTreeType = Exclude<GroupMetadataType, 'group_members'>;

/**
 * One listing per type for a group and all its descendants, the same records (GitLab's same
 * entities) as GROUP_ENDPOINTS gives group by group: what lets a run prove many groups unchanged
 * with a few requests (backup/group-unchanged.ts). `owner` names the group a record belongs to
 * when the record says so (labels do not: doc/api/group_labels.md lists no group field).
 */
export const GROUP_TREE_ENDPOINTS: Record<GroupTreeType, MetadataEndpoint & { owner?: string }> = {
  group_labels: {
    ...GROUP_ENDPOINTS.group_labels,
    query: { ...GROUP_ENDPOINTS.group_labels.query, include_descendant_groups: true },
  },
  group_milestones: {
    ...GROUP_ENDPOINTS.group_milestones,
    // include_descendants: GitLab 16.7+ (doc/api/group_milestones.md); older instances ignore it,
    // list the top group's only, and the subgroups' then differ from their snapshots: read again.
    query: { ...GROUP_ENDPOINTS.group_milestones.query, include_descendants: true },
    owner: 'group_id',
  },
  subgroups: {
    ...GROUP_ENDPOINTS.subgroups,
    path: (id) => `groups/${id}/descendant_groups`,
    owner: 'parent_id',
  },
  epics: {
    ...GROUP_ENDPOINTS.epics,
    query: { ...GROUP_ENDPOINTS.epics.query, include_descendant_groups: true },
    owner: 'group_id',
  },
};
