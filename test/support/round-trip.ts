/**
 * Round-trip comparison: read an organization's state from a GitLab (the simulator) through its
 * REST API and git — every type of the coverage matrix (server/src/restore/coverage.ts), per
 * group and per project, by path relative to the organization — and compare two such states type
 * by type: counts and contents, with ids mapped (records are keyed by what identifies them to a
 * person — title, name, username, key — and `#12` / `!3` references are read as the referenced
 * record's title, so a restore that renumbers is still equal).
 *
 * What a restore cannot reproduce because GitLab's API does not allow it is normalized on both
 * sides, each rule from the coverage matrix:
 * - the provenance line a restore puts at the top of a description or note
 *   (`*Originally by @alice on … (restored by Labkeeper from #1)*`) is removed;
 * - a merged merge request reads as closed (the API cannot create a merged one);
 * - system notes are left out (GitLab writes them itself);
 * - `ignoreUsers` (the restoring user, whom GitLab makes Owner of what it creates) is left out of
 *   members;
 * - a webhook's secret token is not compared (GitLab never returns it).
 *
 * Used by the NEW_PROJECT round trip (test/restore/round-trip.api.test.ts) and reusable for any
 * before/after comparison (`readOrganization` twice on one simulator).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GitLabSimulator } from './gitlab-simulator/index.js';

const execFileAsync = promisify(execFile);

/** One type's records, keyed by what identifies them across instances, each normalized. */
export type TypeState = Record<string, unknown>;

export const PROJECT_TYPES = [
  'repository',
  'wiki',
  'lfs',
  'issues',
  'merge_requests',
  'labels',
  'milestones',
  'releases',
  'snippets',
  'members',
  'protected_branches',
  'protected_tags',
  'webhooks',
  'deploy_keys',
  'ci_variables',
  'project_settings',
] as const;
export type ProjectType = (typeof PROJECT_TYPES)[number];

export const GROUP_TYPES = ['group_labels', 'group_milestones', 'group_members', 'subgroups', 'epics'] as const;
export type GroupType = (typeof GROUP_TYPES)[number];

export interface OrganizationState {
  /** By path relative to the organization ('' is the organization's own group). */
  groups: Record<string, Record<GroupType, TypeState>>;
  projects: Record<string, Record<ProjectType, TypeState>>;
}

export interface ReadOptions {
  /** A token that can read everything below `rootPath` (an administrator's, or the owner's). */
  token: string;
  /** The organization's (or restore target namespace's) full path. */
  rootPath: string;
  /** Usernames left out of members (the restoring user GitLab adds as Owner of what it creates). */
  ignoreUsers?: string[];
}

type Json = Record<string, unknown>;

/** `*Originally by @x on … (restored by Labkeeper from #1)*` or `*Created on … (restored by Labkeeper)*`, and the blank line after it. */
const PROVENANCE = /^\*[^*\n]*\(restored by Labkeeper[^)\n]*\)\*(\n\n|\n|$)/;

export function withoutProvenance(text: unknown): string {
  return typeof text === 'string' ? text.replace(PROVENANCE, '').trim() : '';
}

class Reader {
  constructor(
    private readonly sim: GitLabSimulator,
    private readonly options: ReadOptions,
  ) {}

  async api<T = Json[]>(path: string): Promise<T> {
    const response = await fetch(`${this.sim.url}/api/v4${path}`, { headers: { 'private-token': this.options.token } });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Every page of a list (100 per page). */
  async list(path: string): Promise<Json[]> {
    const out: Json[] = [];
    for (let page = 1; ; page++) {
      const rows = await this.api<Json[]>(`${path}${path.includes('?') ? '&' : '?'}per_page=100&page=${page}`);
      out.push(...rows);
      if (rows.length < 100) return out;
    }
  }

  /** 403/404 (a tier without the feature, a type GitLab does not have here): no records. */
  async listOrNone(path: string): Promise<Json[] | null> {
    const response = await fetch(`${this.sim.url}/api/v4${path}`, { headers: { 'private-token': this.options.token } });
    if (response.status === 403 || response.status === 404) return null;
    return this.list(path);
  }

  async refs(url: string): Promise<TypeState> {
    const authed = new URL(url);
    authed.username = 'reader';
    authed.password = this.options.token;
    // async: the simulator answers git from this same process
    const listed = await execFileAsync('git', ['ls-remote', authed.toString()], { encoding: 'utf8' }).catch(
      (error: { stderr?: string }) => {
        // GitLab creates a wiki's repository lazily: one never written has no refs.
        if (/does not exist yet/.test(error.stderr ?? '')) return { stdout: '' };
        throw error;
      },
    );
    const refs: TypeState = {};
    for (const line of listed.stdout.split('\n').filter(Boolean)) {
      const [sha, ref] = line.split('\t');
      if (ref === 'HEAD' || ref.endsWith('^{}') || ref.startsWith('refs/merge-requests/')) continue;
      refs[ref] = sha;
    }
    return refs;
  }

  private members(rows: Json[]): TypeState {
    const ignored = new Set(this.options.ignoreUsers ?? []);
    return Object.fromEntries(
      rows
        .filter((m) => !ignored.has(m.username as string))
        .map((m) => [m.username as string, { access_level: m.access_level, expires_at: m.expires_at ?? null }]),
    );
  }

  async group(id: number): Promise<Record<GroupType, TypeState>> {
    const labels = await this.list(
      `/groups/${id}/labels?include_ancestor_groups=false&include_descendant_groups=false`,
    );
    const milestones = await this.list(`/groups/${id}/milestones`);
    const subgroups = await this.list(`/groups/${id}/subgroups?all_available=true`);
    const epics = (await this.listOrNone(`/groups/${id}/epics?include_descendant_groups=false`)) ?? [];
    return {
      group_labels: Object.fromEntries(
        labels.map((l) => [l.name as string, { color: l.color, description: l.description ?? null }]),
      ),
      group_milestones: Object.fromEntries(milestones.map((m) => [m.title as string, milestoneOf(m)])),
      group_members: this.members(await this.list(`/groups/${id}/members`)),
      subgroups: Object.fromEntries(
        subgroups.map((g) => [
          g.path as string,
          { name: g.name, description: g.description ?? '', visibility: g.visibility },
        ]),
      ),
      // the hierarchy as parent titles (ids and iids differ between the two sides)
      epics: Object.fromEntries(
        epics.map((e) => [
          e.title as string,
          {
            description: withoutProvenance(e.description),
            state: e.state,
            labels: [...(e.labels as string[])].sort(),
            confidential: e.confidential === true,
            due_date_fixed: e.due_date_fixed ?? null,
            parent:
              e.parent_id === null || e.parent_id === undefined
                ? null
                : ((epics.find((p) => p.id === e.parent_id)?.title as string | undefined) ?? 'another group'),
          },
        ]),
      ),
    };
  }

  async project(project: Json): Promise<Record<ProjectType, TypeState>> {
    const id = project.id as number;
    const base = `/projects/${id}`;
    const issues = await this.list(`${base}/issues?state=all`);
    const mergeRequests = await this.list(`${base}/merge_requests?state=all`);
    // references (#12, !3) read as the referenced record's title: equal whatever the numbering
    const issueTitles = new Map(issues.map((i) => [String(i.iid), i.title as string]));
    const mrTitles = new Map(mergeRequests.map((m) => [String(m.iid), m.title as string]));
    const text = (value: unknown) =>
      withoutProvenance(value)
        .replace(/(^|[^\w&])#(\d+)\b/g, (all, before: string, iid: string) =>
          issueTitles.has(iid) ? `${before}#"${issueTitles.get(iid)}"` : all,
        )
        .replace(/(^|[^\w])!(\d+)\b/g, (all, before: string, iid: string) =>
          mrTitles.has(iid) ? `${before}!"${mrTitles.get(iid)}"` : all,
        );
    const notes = async (kind: 'issues' | 'merge_requests', iid: unknown) =>
      (await this.list(`${base}/${kind}/${iid as number}/notes?sort=asc&order_by=created_at`))
        .filter((n) => n.system !== true)
        .map((n) => ({ author: (n.author as Json).username, body: text(n.body), internal: n.internal ?? false }));
    const usernames = (people: unknown) => ((people as Json[] | null) ?? []).map((p) => p.username as string).sort();
    const milestoneTitle = (m: unknown) => ((m as Json | null)?.title as string | undefined) ?? null;

    const state = {} as Record<ProjectType, TypeState>;
    state.repository = await this.refs(project.http_url_to_repo as string);
    state.wiki = await this.refs((project.http_url_to_repo as string).replace(/\.git$/, '.wiki.git'));
    state.lfs = Object.fromEntries(this.sim.lfsObjects(id).map((o) => [o.oid, o.size]));
    state.issues = {};
    for (const issue of issues)
      state.issues[issue.title as string] = {
        description: text(issue.description),
        state: issue.state,
        confidential: issue.confidential ?? false,
        author: (issue.author as Json).username,
        labels: [...(issue.labels as string[])].sort(),
        milestone: milestoneTitle(issue.milestone),
        assignees: usernames(issue.assignees),
        notes: await notes('issues', issue.iid),
      };
    state.merge_requests = {};
    for (const mr of mergeRequests)
      state.merge_requests[mr.title as string] = {
        description: text(mr.description),
        state: mr.state === 'merged' ? 'closed' : mr.state,
        source_branch: mr.source_branch,
        target_branch: mr.target_branch,
        draft: mr.draft ?? false,
        author: (mr.author as Json).username,
        labels: [...(mr.labels as string[])].sort(),
        milestone: milestoneTitle(mr.milestone),
        assignees: usernames(mr.assignees),
        reviewers: usernames(mr.reviewers),
        notes: await notes('merge_requests', mr.iid),
      };
    state.labels = Object.fromEntries(
      (await this.list(`${base}/labels?include_ancestor_groups=false`)).map((l) => [
        l.name as string,
        { color: l.color, description: l.description ?? null, priority: l.priority ?? null },
      ]),
    );
    state.milestones = Object.fromEntries(
      (await this.list(`${base}/milestones`)).map((m) => [m.title as string, milestoneOf(m)]),
    );
    state.releases = Object.fromEntries(
      (await this.list(`${base}/releases`)).map((r) => [
        r.tag_name as string,
        {
          name: r.name,
          description: withoutProvenance(r.description),
          commit: (r.commit as Json | undefined)?.id ?? null,
          milestones: ((r.milestones as Json[] | undefined) ?? []).map((m) => m.title).sort(),
          links: (((r.assets as Json | undefined)?.links as Json[] | undefined) ?? [])
            .map((l) => ({ name: l.name, url: l.url, link_type: l.link_type ?? 'other' }))
            .sort((a, b) => String(a.name).localeCompare(String(b.name))),
        },
      ]),
    );
    state.snippets = {};
    for (const snippet of await this.list(`${base}/snippets`)) {
      const files: Record<string, string> = {};
      const paths = ((snippet.files as Json[] | undefined) ?? [{ path: snippet.file_name }]).map(
        (f) => f.path as string,
      );
      for (const path of paths) files[path] = await this.snippetFile(base, snippet.id as number, path, paths.length);
      state.snippets[snippet.title as string] = {
        description: withoutProvenance(snippet.description),
        visibility: snippet.visibility,
        files,
      };
    }
    state.members = this.members(await this.list(`${base}/members`));
    state.protected_branches = Object.fromEntries(
      (await this.list(`${base}/protected_branches`)).map((b) => [
        b.name as string,
        {
          push: levels(b.push_access_levels),
          merge: levels(b.merge_access_levels),
          allow_force_push: b.allow_force_push ?? false,
        },
      ]),
    );
    state.protected_tags = Object.fromEntries(
      (await this.list(`${base}/protected_tags`)).map((t) => [
        t.name as string,
        { create: levels(t.create_access_levels) },
      ]),
    );
    state.webhooks = Object.fromEntries(
      (await this.list(`${base}/hooks`)).map((h) => {
        const { id: _id, created_at: _created, project_id: _project, alert_status: _alert, ...rest } = h;
        return [h.url as string, rest];
      }),
    );
    state.deploy_keys = Object.fromEntries(
      (await this.list(`${base}/deploy_keys`)).map((k) => [
        k.key as string,
        { title: k.title, can_push: k.can_push, expires_at: k.expires_at ?? null },
      ]),
    );
    state.ci_variables = Object.fromEntries(
      (await this.list(`${base}/variables`)).map((v) => [
        `${v.key as string} (${v.environment_scope as string})`,
        {
          value: v.value,
          variable_type: v.variable_type,
          protected: v.protected,
          masked: v.masked,
          hidden: v.hidden ?? false,
          raw: v.raw ?? false,
          description: v.description ?? null,
        },
      ]),
    );
    const settings = await this.api<Json>(base);
    state.project_settings = {
      settings: {
        description: settings.description ?? '',
        topics: [...((settings.topics as string[] | undefined) ?? [])].sort(),
        visibility: settings.visibility,
        default_branch: settings.default_branch,
        archived: settings.archived,
        issues_access_level: settings.issues_access_level,
        merge_requests_access_level: settings.merge_requests_access_level,
        wiki_access_level: settings.wiki_access_level,
        lfs_enabled: settings.lfs_enabled,
        request_access_enabled: settings.request_access_enabled,
        only_allow_merge_if_pipeline_succeeds: settings.only_allow_merge_if_pipeline_succeeds,
      },
    };
    return state;
  }

  /** A snippet file's content: GitLab's per-file raw endpoint, or the snippet's `/raw` for a one-file snippet. */
  private async snippetFile(base: string, id: number, path: string, fileCount: number): Promise<string> {
    const headers = { 'private-token': this.options.token };
    const perFile = await fetch(
      `${this.sim.url}/api/v4${base}/snippets/${id}/files/main/${encodeURIComponent(path)}/raw`,
      { headers },
    );
    if (perFile.ok) return perFile.text();
    if (fileCount > 1) throw new Error(`snippet ${id} file ${path}: ${perFile.status}`);
    const whole = await fetch(`${this.sim.url}/api/v4${base}/snippets/${id}/raw`, { headers });
    if (!whole.ok) throw new Error(`snippet ${id}: ${whole.status}`);
    return whole.text();
  }
}

function milestoneOf(m: Json) {
  return {
    description: m.description ?? null,
    state: m.state,
    due_date: m.due_date ?? null,
    start_date: m.start_date ?? null,
  };
}

function levels(list: unknown): number[] {
  return ((list as Json[] | undefined) ?? []).map((l) => l.access_level as number).sort();
}

/** Every group and project at or below `rootPath`, read as GitLab's API shows them. */
export async function readOrganization(sim: GitLabSimulator, options: ReadOptions): Promise<OrganizationState> {
  const reader = new Reader(sim, options);
  const root = await reader.api<Json>(`/groups/${encodeURIComponent(options.rootPath)}`);
  const relative = (fullPath: string) =>
    fullPath === options.rootPath ? '' : fullPath.slice(options.rootPath.length + 1);
  const groups = [root, ...(await reader.list(`/groups/${root.id as number}/descendant_groups?all_available=true`))];
  const state: OrganizationState = { groups: {}, projects: {} };
  for (const group of groups)
    state.groups[relative(group.full_path as string)] = await reader.group(group.id as number);
  const projects = await reader.list(`/groups/${root.id as number}/projects?include_subgroups=true`);
  for (const project of projects)
    state.projects[relative(project.path_with_namespace as string)] = await reader.project(project);
  return state;
}

export interface TypeComparison {
  type: ProjectType | GroupType;
  /** The group's or project's path relative to the organization. */
  path: string;
  source: number;
  target: number;
  /** Records missing on one side or different (with both versions); empty when equal. */
  differences: string[];
}

const show = (value: unknown) => JSON.stringify(value);

function compareType(type: ProjectType | GroupType, path: string, source: TypeState, target: TypeState) {
  const differences: string[] = [];
  for (const key of new Set([...Object.keys(source), ...Object.keys(target)])) {
    if (!(key in target)) differences.push(`${key}: missing on the target (source ${show(source[key])})`);
    else if (!(key in source)) differences.push(`${key}: only on the target (${show(target[key])})`);
    else if (show(source[key]) !== show(target[key]))
      differences.push(`${key}: source ${show(source[key])} ≠ target ${show(target[key])}`);
  }
  return { type, path, source: Object.keys(source).length, target: Object.keys(target).length, differences };
}

/**
 * Source and target compared type by type, for every group and project of the source (a group or
 * project missing on the target compares against nothing). `targetPathOf` maps a source relative
 * path to the target's (default: the same).
 */
export function compareOrganizations(
  source: OrganizationState,
  target: OrganizationState,
  options: { targetPathOf?: (path: string) => string; types?: ReadonlyArray<ProjectType | GroupType> } = {},
): TypeComparison[] {
  const map = options.targetPathOf ?? ((p: string) => p);
  const wanted = (type: ProjectType | GroupType) => !options.types || options.types.includes(type);
  const out: TypeComparison[] = [];
  for (const [path, types] of Object.entries(source.groups))
    for (const type of GROUP_TYPES)
      if (wanted(type)) out.push(compareType(type, path, types[type], target.groups[map(path)]?.[type] ?? {}));
  for (const [path, types] of Object.entries(source.projects))
    for (const type of PROJECT_TYPES)
      if (wanted(type)) out.push(compareType(type, path, types[type], target.projects[map(path)]?.[type] ?? {}));
  return out;
}

/** Per type: records on each side (all groups or projects summed) and every difference, prefixed by its path. */
export function summarizeByType(
  comparisons: TypeComparison[],
): Record<string, { source: number; target: number; differences: string[] }> {
  const out: Record<string, { source: number; target: number; differences: string[] }> = {};
  for (const c of comparisons) {
    const entry = (out[c.type] ??= { source: 0, target: 0, differences: [] });
    entry.source += c.source;
    entry.target += c.target;
    entry.differences.push(...c.differences.map((d) => `${c.path || '(organization)'}: ${d}`));
  }
  return out;
}
