/**
 * The write side of the metadata port: creates a project's labels, milestones, issues (+ notes),
 * merge requests (+ notes), releases and snippets through GitLab's REST API v4, for a restore.
 * It is the mirror image of metadata.reader.ts and shares its machinery: every request goes
 * through our gitbeaker requester (gitbeaker.requester.ts) — Retry-After honoured, per-attempt
 * deadlines, custom CA, errors translated by gitlab.errors.ts. POSTs are not idempotent, so the
 * requester retries them only when GitLab cannot have acted (429, connection never made); the
 * restore's mappings make a re-run safe for the rest.
 *
 * Fields follow GitLab's docs (doc/api/labels.md, milestones.md, issues.md, notes.md,
 * merge_requests.md, releases/index.md, project_snippets.md, epics.md, epic_links.md). `created_at` on issues and notes is
 * honoured only for administrators and project owners; GitLab ignores it for everyone else.
 */
import { Projects } from '@gitbeaker/rest';
import { DomainError, isDomainError } from '../shared/errors.js';
import { GitLabFactory } from './gitlab-factory.js';
import { badPayload, toGitLabError } from './gitlab.errors.js';
import type { GitLabAccess } from './gitlab.port.js';
import { nextQuery } from './metadata.reader.js';
import type { MetadataRecord } from './metadata.port.js';

const PER_PAGE = 100;

export interface LabelInput {
  name: string;
  /** `#rrggbb` or a CSS colour name; required by GitLab. */
  color: string;
  description?: string | null;
  priority?: number | null;
}

export interface MilestoneInput {
  title: string;
  description?: string | null;
  dueDate?: string | null;
  startDate?: string | null;
}

export interface IssueInput {
  title: string;
  description?: string | null;
  /** Label names (GitLab creates missing ones). */
  labels?: string[];
  /** The target project's milestone id. */
  milestoneId?: number | null;
  confidential?: boolean;
  dueDate?: string | null;
  /** Honoured for administrators and project owners only. */
  createdAt?: string | null;
  /** Target user ids; GitLab drops (without an error) users who cannot read the project. */
  assigneeIds?: number[];
  /** Write as this user (GitLab's `Sudo` header: an administrator's token with the sudo scope). */
  sudo?: string | null;
}

export interface NoteInput {
  body: string;
  internal?: boolean;
  createdAt?: string | null;
  sudo?: string | null;
}

export interface MergeRequestInput {
  title: string;
  description?: string | null;
  sourceBranch: string;
  targetBranch: string;
  labels?: string[];
  milestoneId?: number | null;
  squash?: boolean;
  assigneeIds?: number[];
  reviewerIds?: number[];
  sudo?: string | null;
}

export interface ReleaseInput {
  tagName: string;
  name?: string | null;
  description?: string | null;
  /** Milestone titles, which must exist in the target project. */
  milestones?: string[];
  releasedAt?: string | null;
  links?: Array<{ name: string; url: string; directAssetPath?: string | null; linkType?: string | null }>;
}

export interface SnippetInput {
  title: string;
  fileName: string;
  content: string;
  description?: string | null;
  visibility?: string | null;
  /** Every file of the snippet (GitLab 13.5+ `files`); fileName/content when absent. */
  files?: { filePath: string; content: string }[];
  sudo?: string | null;
}

export interface EpicInput {
  title: string;
  description?: string | null;
  /** Label names (the group's or its ancestors'). */
  labels?: string[];
  confidential?: boolean;
  /** Fixed dates (`start_date_is_fixed`/`due_date_is_fixed` are sent with them). */
  startDateFixed?: string | null;
  dueDateFixed?: string | null;
  /** Honoured for administrators and group owners only. */
  createdAt?: string | null;
  sudo?: string | null;
}

/** What updateEpic changes (at least one). */
export type EpicChange =
  { stateEvent: 'close' | 'reopen'; description?: string } | { stateEvent?: 'close' | 'reopen'; description: string };

/** What updateIssue and updateMergeRequest change. */
export interface IssuableChange {
  description?: string;
  stateEvent?: 'close' | 'reopen';
}

/** What updateMilestone and updateGroupMilestone change: PUT …/milestones/:milestone_id state_event. */
export interface MilestoneChange {
  stateEvent: 'close' | 'activate';
}

export interface Created {
  id: number;
  iid?: number;
  /** Issues and merge requests: the assignees and reviewers GitLab kept. */
  assigneeIds?: number[];
  reviewerIds?: number[];
}

/** Why a merge request could not be created as one (the restore then records it as an issue). */
export interface MissingBranch {
  missingBranch: string;
}

export interface GitLabMetadataWriter {
  createLabel(projectId: number, input: LabelInput): Promise<Created>;
  createMilestone(projectId: number, input: MilestoneInput): Promise<Created & { iid: number }>;
  /** PUT /projects/:id/milestones/:milestone_id (state_event close | activate). */
  updateMilestone(projectId: number, milestoneId: number, change: MilestoneChange): Promise<void>;
  createIssue(projectId: number, input: IssueInput): Promise<Created & { iid: number }>;
  updateIssue(projectId: number, iid: number, change: IssuableChange): Promise<void>;
  createIssueNote(projectId: number, issueIid: number, input: NoteInput): Promise<Created>;
  /**
   * A merge request, or `{ missingBranch }` when GitLab refuses because the source or target
   * branch does not exist in the target repository (422) — nothing was created then.
   */
  createMergeRequest(projectId: number, input: MergeRequestInput): Promise<(Created & { iid: number }) | MissingBranch>;
  updateMergeRequest(projectId: number, iid: number, change: IssuableChange): Promise<void>;
  createMergeRequestNote(projectId: number, mrIid: number, input: NoteInput): Promise<Created>;
  /** Rejects with VALIDATION_FAILED (details.missingTag) when the tag does not exist in the target. */
  createRelease(projectId: number, input: ReleaseInput): Promise<{ tagName: string }>;
  createSnippet(projectId: number, input: SnippetInput): Promise<Created>;
  /** The project's own labels (not its groups'). */
  listLabels(projectId: number): Promise<MetadataRecord[]>;
  listMilestones(projectId: number): Promise<MetadataRecord[]>;
  /** Every issue of the project, every state. */
  listIssues(projectId: number): Promise<MetadataRecord[]>;
  /** The project's snippets (GitLab lists them newest first). */
  listSnippets(projectId: number): Promise<MetadataRecord[]>;
  /** Every merge request of the project, every state. */
  listMergeRequests(projectId: number): Promise<MetadataRecord[]>;
  /** The notes of one issue or merge request, oldest first (system notes included). */
  listNotes(projectId: number, noteable: { kind: 'issue' | 'merge_request'; iid: number }): Promise<MetadataRecord[]>;
  /** POST /groups/:id/labels. */
  createGroupLabel(groupId: number, input: LabelInput): Promise<Created>;
  /** POST /groups/:id/milestones. */
  createGroupMilestone(groupId: number, input: MilestoneInput): Promise<Created & { iid: number }>;
  /** PUT /groups/:id/milestones/:milestone_id (state_event close | activate). */
  updateGroupMilestone(groupId: number, milestoneId: number, change: MilestoneChange): Promise<void>;
  /** The group's own labels (not its ancestors' or descendants'). */
  listGroupLabels(groupId: number): Promise<MetadataRecord[]>;
  /** The group's own milestones, every state. */
  listGroupMilestones(groupId: number): Promise<MetadataRecord[]>;
  /**
   * The group's own epics, every state (GET /groups/:id/epics, deprecated since GitLab 17.0, still
   * served by API v4). GITLAB_FORBIDDEN (403) when the group's tier has no epics (Free).
   */
  listGroupEpics(groupId: number): Promise<MetadataRecord[]>;
  /** POST /groups/:id/epics, without a parent (see linkChildEpic). */
  createEpic(groupId: number, input: EpicInput): Promise<Created & { iid: number }>;
  /** PUT /groups/:id/epics/:epic_iid (state_event close | reopen, description). */
  updateEpic(groupId: number, epicIid: number, change: EpicChange): Promise<void>;
  /**
   * POST /groups/:id/epics/:parent_iid/epics/:child_id (epic links API): makes an epic a child of
   * another. Multi-level epics are Ultimate: GITLAB_FORBIDDEN (403) below it; 409 when the child
   * is already there.
   */
  linkChildEpic(groupId: number, parentIid: number, childId: number): Promise<void>;
  /**
   * POST /groups/:id/epics/:epic_iid/issues/:issue_id (epic issues API; `issueId` is the issue's
   * global id): puts an issue in an epic. 409 when it is there already; 403 without epics.
   */
  assignIssueToEpic(groupId: number, epicIid: number, issueId: number): Promise<void>;
  /** POST /groups (a subgroup of parentId; needs Maintainer there, or Owner as configured). */
  createGroup(input: GroupInput): Promise<Created>;
  /**
   * Project settings and access (settings-restore.ts). `fields` are GitLab's own parameter names
   * (docs: projects.md, members.md, protected_branches.md, protected_tags.md, projects.md#hooks,
   * deploy_keys.md, project_level_variables.md); a refusal rejects with GitLab's message.
   */
  updateProject(projectId: number, fields: Record<string, unknown>): Promise<void>;
  /** POST /projects/:id/archive — last: an archived project refuses pushes and most writes. */
  archiveProject(projectId: number): Promise<void>;
  /** GET /user — who the connection is, and whether it is an administrator (GitLab shows is_admin to admins only). */
  currentUser(): Promise<{ id: number; username: string; isAdmin: boolean }>;
  /** GET /projects/:id/milestones?include_ancestors=true — the project's milestones and its groups'. */
  listAvailableMilestones(projectId: number): Promise<MetadataRecord[]>;
  /** GET /users?username= — the target user with that username, or null. */
  findUser(username: string): Promise<{ id: number; username: string } | null>;
  /** A direct member of a project or a group (POST …/members). */
  addMember(
    owner: { kind: 'project' | 'group'; id: number },
    fields: { user_id: number; access_level: number; expires_at?: string | null },
  ): Promise<void>;
  listMembers(owner: { kind: 'project' | 'group'; id: number }): Promise<MetadataRecord[]>;
  /** POST /projects/:id/{protected_branches,protected_tags,hooks,deploy_keys,variables}. */
  createProjectItem(projectId: number, collection: ProjectCollection, fields: Record<string, unknown>): Promise<void>;
  listProjectItems(projectId: number, collection: ProjectCollection): Promise<MetadataRecord[]>;
  /** DELETE /projects/:id/protected_branches/:name — to protect it again with other access levels. */
  unprotectBranch(projectId: number, name: string): Promise<void>;
  /** PUT /projects/:id/hooks/:hook_id (url is required) — to give a restored hook its secret token. */
  updateProjectHook(projectId: number, hookId: number, change: { url: string; token: string }): Promise<void>;
}

export type ProjectCollection = 'protected_branches' | 'protected_tags' | 'hooks' | 'deploy_keys' | 'variables';

export interface GroupInput {
  name: string;
  path: string;
  parentId: number;
  visibility: string;
  description?: string | null;
}

export interface GitLabMetadataWriterFactory {
  create(access: GitLabAccess): GitLabMetadataWriter;
}

/** Takes the same options as GitbeakerClientFactory; `close()` destroys custom CAs' agents. */
export class GitbeakerMetadataWriterFactory
  extends GitLabFactory<GitLabMetadataWriter>
  implements GitLabMetadataWriterFactory
{
  protected build(host: string, access: GitLabAccess): GitLabMetadataWriter {
    const auth = access.tokenType === 'oauth' ? { oauthToken: access.token } : { token: access.token };
    const requesterFn = this.http.requesterFn(access);
    const resource = new Projects({ host, ...auth, requesterFn, queryTimeout: null, camelize: false });
    return new GitbeakerMetadataWriter(resource.requester, this.http.maxPages);
  }
}

interface Answer {
  body: unknown;
  headers: Record<string, string>;
}

type Send = (
  endpoint: string,
  options: { searchParams?: Record<string, unknown>; body?: Record<string, unknown>; sudo?: string },
) => Promise<Answer>;

interface Requester {
  get: Send;
  post: Send;
  put: Send;
  delete: Send;
}

/** Drops undefined and null fields: GitLab treats an explicit null differently from absence on some fields. */
function fields(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null));
}

class GitbeakerMetadataWriter implements GitLabMetadataWriter {
  constructor(
    private readonly requester: Requester,
    private readonly maxPages: number,
  ) {}

  async createLabel(projectId: number, input: LabelInput): Promise<Created> {
    const body = await this.post(
      `projects/${projectId}/labels`,
      fields({
        name: input.name,
        color: input.color,
        description: input.description,
        priority: input.priority,
      }),
    );
    return { id: numberField(body, 'id') };
  }

  createMilestone(projectId: number, input: MilestoneInput): Promise<Created & { iid: number }> {
    return this.createMilestoneIn(`projects/${projectId}`, input);
  }

  updateMilestone(projectId: number, milestoneId: number, change: MilestoneChange): Promise<void> {
    return this.updateMilestoneIn(`projects/${projectId}`, milestoneId, change);
  }

  async createIssue(projectId: number, input: IssueInput): Promise<Created & { iid: number }> {
    const body = await this.post(
      `projects/${projectId}/issues`,
      fields({
        title: input.title,
        description: input.description,
        labels: input.labels?.length ? input.labels.join(',') : undefined,
        milestone_id: input.milestoneId,
        confidential: input.confidential,
        due_date: input.dueDate,
        created_at: input.createdAt,
        assignee_ids: input.assigneeIds?.length ? input.assigneeIds : undefined,
      }),
      input.sudo,
    );
    return { id: numberField(body, 'id'), iid: numberField(body, 'iid'), ...people(body) };
  }

  updateIssue(projectId: number, iid: number, change: IssuableChange): Promise<void> {
    return this.updateIssuable(`projects/${projectId}/issues/${iid}`, change);
  }

  createIssueNote(projectId: number, issueIid: number, input: NoteInput): Promise<Created> {
    return this.createNoteOn(`projects/${projectId}/issues/${issueIid}`, input);
  }

  async createMergeRequest(
    projectId: number,
    input: MergeRequestInput,
  ): Promise<(Created & { iid: number }) | MissingBranch> {
    try {
      const body = await this.post(
        `projects/${projectId}/merge_requests`,
        fields({
          title: input.title,
          description: input.description,
          source_branch: input.sourceBranch,
          target_branch: input.targetBranch,
          labels: input.labels?.length ? input.labels.join(',') : undefined,
          milestone_id: input.milestoneId,
          squash: input.squash,
          assignee_ids: input.assigneeIds?.length ? input.assigneeIds : undefined,
          reviewer_ids: input.reviewerIds?.length ? input.reviewerIds : undefined,
        }),
        input.sudo,
      );
      return { id: numberField(body, 'id'), iid: numberField(body, 'iid'), ...people(body) };
    } catch (error) {
      // MergeRequests::BuildService: 422 ["Source branch \"x\" does not exist"] (or Target).
      const said = isDomainError(error) && error.details?.status === 422 ? (error.details.gitlabMessage ?? '') : '';
      const match = /(Source|Target) branch \\?"(.*?)\\?" does not exist/i.exec(said);
      if (match) return { missingBranch: match[2] };
      throw error;
    }
  }

  updateMergeRequest(projectId: number, iid: number, change: IssuableChange): Promise<void> {
    return this.updateIssuable(`projects/${projectId}/merge_requests/${iid}`, change);
  }

  createMergeRequestNote(projectId: number, mrIid: number, input: NoteInput): Promise<Created> {
    return this.createNoteOn(`projects/${projectId}/merge_requests/${mrIid}`, input);
  }

  async createRelease(projectId: number, input: ReleaseInput): Promise<{ tagName: string }> {
    // No `ref`: a restore must not invent a tag on some other commit. Without the tag GitLab
    // answers 422 "Ref is not specified".
    try {
      await this.post(
        `projects/${projectId}/releases`,
        fields({
          tag_name: input.tagName,
          name: input.name,
          description: input.description,
          released_at: input.releasedAt,
          milestones: input.milestones?.length ? input.milestones : undefined,
          assets: input.links?.length
            ? {
                links: input.links.map((l) =>
                  fields({ name: l.name, url: l.url, direct_asset_path: l.directAssetPath, link_type: l.linkType }),
                ),
              }
            : undefined,
        }),
      );
      return { tagName: input.tagName };
    } catch (error) {
      if (
        isDomainError(error) &&
        error.details?.status === 422 &&
        /Ref is not specified/i.test(error.details.gitlabMessage ?? '')
      ) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `tag ${input.tagName} does not exist in the target repository; restore the repository first`,
          {
            details: { missingTag: input.tagName },
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async createSnippet(projectId: number, input: SnippetInput): Promise<Created> {
    const body = await this.post(
      `projects/${projectId}/snippets`,
      fields({
        title: input.title,
        description: input.description,
        visibility: input.visibility ?? 'private',
        files: (input.files?.length ? input.files : [{ filePath: input.fileName, content: input.content }]).map(
          (f) => ({ file_path: f.filePath, content: f.content }),
        ),
      }),
      input.sudo,
    );
    return { id: numberField(body, 'id') };
  }

  listLabels(projectId: number): Promise<MetadataRecord[]> {
    return this.list(`projects/${projectId}/labels`, { include_ancestor_groups: false, with_counts: false });
  }

  listAvailableMilestones(projectId: number): Promise<MetadataRecord[]> {
    return this.list(`projects/${projectId}/milestones`, { include_ancestors: true });
  }

  async currentUser(): Promise<{ id: number; username: string; isAdmin: boolean }> {
    const answer = await this.call(() => this.requester.get('user', {}));
    const body = answer.body as Record<string, unknown>;
    if (typeof body?.username !== 'string') throw badPayload('the answer has no username');
    return { id: numberField(body, 'id'), username: body.username, isAdmin: body.is_admin === true };
  }

  listMilestones(projectId: number): Promise<MetadataRecord[]> {
    return this.list(`projects/${projectId}/milestones`, { include_ancestors: false });
  }

  listIssues(projectId: number): Promise<MetadataRecord[]> {
    return this.list(`projects/${projectId}/issues`, {
      scope: 'all',
      state: 'all',
      order_by: 'created_at',
      sort: 'asc',
    });
  }

  listSnippets(projectId: number): Promise<MetadataRecord[]> {
    return this.list(`projects/${projectId}/snippets`, {});
  }

  listMergeRequests(projectId: number): Promise<MetadataRecord[]> {
    return this.list(`projects/${projectId}/merge_requests`, {
      scope: 'all',
      state: 'all',
      order_by: 'created_at',
      sort: 'asc',
    });
  }

  listNotes(projectId: number, noteable: { kind: 'issue' | 'merge_request'; iid: number }): Promise<MetadataRecord[]> {
    const kind = noteable.kind === 'issue' ? 'issues' : 'merge_requests';
    return this.list(`projects/${projectId}/${kind}/${noteable.iid}/notes`, { order_by: 'created_at', sort: 'asc' });
  }

  async createGroupLabel(groupId: number, input: LabelInput): Promise<Created> {
    const body = await this.post(
      `groups/${groupId}/labels`,
      fields({ name: input.name, color: input.color, description: input.description }),
    );
    return { id: numberField(body, 'id') };
  }

  createGroupMilestone(groupId: number, input: MilestoneInput): Promise<Created & { iid: number }> {
    return this.createMilestoneIn(`groups/${groupId}`, input);
  }

  updateGroupMilestone(groupId: number, milestoneId: number, change: MilestoneChange): Promise<void> {
    return this.updateMilestoneIn(`groups/${groupId}`, milestoneId, change);
  }

  listGroupLabels(groupId: number): Promise<MetadataRecord[]> {
    return this.list(`groups/${groupId}/labels`, {
      include_ancestor_groups: false,
      include_descendant_groups: false,
      only_group_labels: true,
      with_counts: false,
    });
  }

  listGroupMilestones(groupId: number): Promise<MetadataRecord[]> {
    return this.list(`groups/${groupId}/milestones`, { include_ancestors: false });
  }

  listGroupEpics(groupId: number): Promise<MetadataRecord[]> {
    return this.list(`groups/${groupId}/epics`, {
      state: 'all',
      include_ancestor_groups: false,
      include_descendant_groups: false,
    });
  }

  async createEpic(groupId: number, input: EpicInput): Promise<Created & { iid: number }> {
    const body = await this.post(
      `groups/${groupId}/epics`,
      fields({
        title: input.title,
        description: input.description,
        labels: input.labels?.length ? input.labels.join(',') : undefined,
        confidential: input.confidential,
        start_date_is_fixed: input.startDateFixed ? true : undefined,
        start_date_fixed: input.startDateFixed,
        due_date_is_fixed: input.dueDateFixed ? true : undefined,
        due_date_fixed: input.dueDateFixed,
        created_at: input.createdAt,
      }),
      input.sudo,
    );
    return { id: numberField(body, 'id'), iid: numberField(body, 'iid') };
  }

  async updateEpic(groupId: number, epicIid: number, change: EpicChange): Promise<void> {
    await this.put(`groups/${groupId}/epics/${epicIid}`, {
      ...(change.stateEvent !== undefined ? { state_event: change.stateEvent } : {}),
      ...(change.description !== undefined ? { description: change.description } : {}),
    });
  }

  async linkChildEpic(groupId: number, parentIid: number, childId: number): Promise<void> {
    await this.post(`groups/${groupId}/epics/${parentIid}/epics/${childId}`, {});
  }

  async assignIssueToEpic(groupId: number, epicIid: number, issueId: number): Promise<void> {
    await this.post(`groups/${groupId}/epics/${epicIid}/issues/${issueId}`, {});
  }

  async createGroup(input: GroupInput): Promise<Created> {
    const body = await this.post(
      'groups',
      fields({
        name: input.name,
        path: input.path,
        parent_id: input.parentId,
        visibility: input.visibility,
        description: input.description,
      }),
    );
    return { id: numberField(body, 'id') };
  }

  async updateProject(projectId: number, change: Record<string, unknown>): Promise<void> {
    await this.put(`projects/${projectId}`, fields(change));
  }

  async archiveProject(projectId: number): Promise<void> {
    await this.post(`projects/${projectId}/archive`, {});
  }

  async findUser(username: string): Promise<{ id: number; username: string } | null> {
    const answer = await this.call(() => this.requester.get('users', { searchParams: { username } }));
    const found = Array.isArray(answer.body)
      ? (answer.body as MetadataRecord[]).find(
          (u) => typeof u.username === 'string' && u.username.toLowerCase() === username.toLowerCase(),
        )
      : undefined;
    return found && typeof found.id === 'number' ? { id: found.id, username: String(found.username) } : null;
  }

  async addMember(
    owner: { kind: 'project' | 'group'; id: number },
    change: { user_id: number; access_level: number; expires_at?: string | null },
  ): Promise<void> {
    await this.post(`${owner.kind === 'project' ? 'projects' : 'groups'}/${owner.id}/members`, fields(change));
  }

  listMembers(owner: { kind: 'project' | 'group'; id: number }): Promise<MetadataRecord[]> {
    return this.list(`${owner.kind === 'project' ? 'projects' : 'groups'}/${owner.id}/members`, {});
  }

  async createProjectItem(
    projectId: number,
    collection: ProjectCollection,
    change: Record<string, unknown>,
  ): Promise<void> {
    await this.post(`projects/${projectId}/${collection}`, fields(change));
  }

  listProjectItems(projectId: number, collection: ProjectCollection): Promise<MetadataRecord[]> {
    return this.list(`projects/${projectId}/${collection}`, {});
  }

  async updateProjectHook(projectId: number, hookId: number, change: { url: string; token: string }): Promise<void> {
    await this.put(`projects/${projectId}/hooks/${hookId}`, fields(change));
  }

  async unprotectBranch(projectId: number, name: string): Promise<void> {
    await this.call(() =>
      this.requester.delete(`projects/${projectId}/protected_branches/${encodeURIComponent(name)}`, {}),
    );
  }

  /**
   * Issues and merge requests ("issuables") take updates and notes alike (`issuable`:
   * `projects/:id/issues/:iid` or `projects/:id/merge_requests/:iid`).
   */
  private async updateIssuable(issuable: string, change: IssuableChange): Promise<void> {
    await this.put(issuable, fields({ description: change.description, state_event: change.stateEvent }));
  }

  private async createNoteOn(issuable: string, input: NoteInput): Promise<Created> {
    const body = await this.post(
      `${issuable}/notes`,
      fields({
        body: input.body,
        internal: input.internal || undefined,
        created_at: input.createdAt,
      }),
      input.sudo,
    );
    return { id: numberField(body, 'id') };
  }

  /** Projects and groups take milestones alike (`owner`: `projects/:id` or `groups/:id`). */
  private async createMilestoneIn(owner: string, input: MilestoneInput): Promise<Created & { iid: number }> {
    const body = await this.post(
      `${owner}/milestones`,
      fields({
        title: input.title,
        description: input.description,
        due_date: input.dueDate,
        start_date: input.startDate,
      }),
    );
    return { id: numberField(body, 'id'), iid: numberField(body, 'iid') };
  }

  private async updateMilestoneIn(owner: string, milestoneId: number, change: MilestoneChange): Promise<void> {
    await this.put(`${owner}/milestones/${milestoneId}`, { state_event: change.stateEvent });
  }

  private async list(path: string, query: Record<string, unknown>): Promise<MetadataRecord[]> {
    const all: MetadataRecord[] = [];
    let searchParams: Record<string, unknown> = { ...query, per_page: PER_PAGE };
    for (let pages = 1; ; pages += 1) {
      if (pages > this.maxPages)
        throw badPayload(`more than ${this.maxPages} pages of ${path}; its pagination links may loop`);
      const answer = await this.call(() => this.requester.get(path, { searchParams }));
      if (!Array.isArray(answer.body)) throw badPayload(`the list of ${path} is not an array`);
      for (const item of answer.body) {
        if (item === null || typeof item !== 'object' || Array.isArray(item))
          throw badPayload(`an item of ${path} is not an object`);
        all.push(item as MetadataRecord);
      }
      const next = nextQuery(answer.headers, searchParams);
      if (!next || answer.body.length === 0) return all;
      searchParams = next;
    }
  }

  private async post(path: string, body: Record<string, unknown>, sudo?: string | null): Promise<unknown> {
    return (await this.call(() => this.requester.post(path, { body, ...(sudo ? { sudo } : {}) }))).body;
  }

  private async put(path: string, body: Record<string, unknown>): Promise<unknown> {
    return (await this.call(() => this.requester.put(path, { body }))).body;
  }

  private async call(send: () => Promise<Answer>): Promise<Answer> {
    try {
      return await send();
    } catch (error) {
      throw toGitLabError(error);
    }
  }
}

/** The ids of an issue's or merge request's assignees and reviewers, as GitLab answered. */
function people(body: unknown): { assigneeIds: number[]; reviewerIds: number[] } {
  const ids = (name: string) => {
    const list = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
    return Array.isArray(list)
      ? list
          .map((u) => (u !== null && typeof u === 'object' ? (u as Record<string, unknown>).id : null))
          .filter((id): id is number => typeof id === 'number')
      : [];
  };
  return { assigneeIds: ids('assignees'), reviewerIds: ids('reviewers') };
}

function numberField(body: unknown, name: string): number {
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  if (typeof value !== 'number') throw badPayload(`the answer has no numeric ${name}`);
  return value;
}
