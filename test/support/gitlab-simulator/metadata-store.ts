/**
 * Creating the metadata records of projects and groups: issues, merge requests (with their first
 * diff version), notes, releases, snippets, hooks, deploy keys, CI/CD variables, protected
 * branches and tags, group labels and milestones, epics. Shared by the seeding methods of
 * GitLabSimulator and the REST endpoints a restore calls, so both obey the same rules; a rule
 * GitLab enforces (a branch must exist, a name must be free) throws the ApiError GitLab answers.
 */
import type {
  DeployKeyRecord,
  EpicRecord,
  GroupLabelRecord,
  GroupMilestoneRecord,
  HookRecord,
  IssueRecord,
  LabelRecord,
  MergeRequestRecord,
  MilestoneRecord,
  NoteRecord,
  ProtectedBranchRecord,
  ProtectedTagRecord,
  ReleaseLinkRecord,
  ReleaseRecord,
  SnippetRecord,
  VariableRecord,
  Visibility,
} from './model.js';
import { ApiError } from './pagination.js';
import * as repos from './repos.js';
import type { SimulatorState } from './state.js';

const nextIid = (items: Array<{ iid: number }>) => Math.max(0, ...items.map((i) => i.iid)) + 1;

/** Hook events GitLab stores as booleans (Entities::ProjectHook); push_events defaults to true. */
export const HOOK_EVENTS = [
  'push_events',
  'issues_events',
  'confidential_issues_events',
  'merge_requests_events',
  'tag_push_events',
  'note_events',
  'confidential_note_events',
  'job_events',
  'pipeline_events',
  'wiki_page_events',
  'deployment_events',
  'releases_events',
  'feature_flag_events',
  'emoji_events',
  'resource_access_token_events',
] as const;

export class MetadataStore {
  constructor(private readonly state: SimulatorState) {}

  private author(projectId: number, authorId?: number): number {
    return authorId ?? this.state.requireProject(projectId).creatorId;
  }

  createIssue(
    projectId: number,
    input: {
      title: string;
      description?: string | null;
      authorId?: number;
      state?: 'opened' | 'closed';
      labels?: string[];
      confidential?: boolean;
      createdAt?: Date;
      iid?: number;
      milestoneId?: number | null;
      assigneeIds?: number[];
      dueDate?: string | null;
      epicId?: number | null;
    },
  ): IssueRecord {
    const { state } = this;
    const siblings = state.issues.filter((i) => i.projectId === projectId);
    if (input.iid !== undefined && siblings.some((i) => i.iid === input.iid))
      throw new ApiError(409, { message: 'Issue IID has already been taken' });
    const createdAt = input.createdAt ?? state.now();
    const closed = input.state === 'closed';
    const authorId = this.author(projectId, input.authorId);
    for (const name of input.labels ?? []) this.findOrCreateIssuableLabel(projectId, name);
    const issue: IssueRecord = {
      id: state.nextId('issue'),
      iid: input.iid ?? nextIid(siblings),
      projectId,
      title: input.title,
      description: input.description ?? null,
      state: closed ? 'closed' : 'opened',
      authorId,
      assigneeIds: input.assigneeIds ?? [],
      labels: input.labels ?? [],
      milestoneId: input.milestoneId ?? null,
      confidential: input.confidential ?? false,
      createdAt,
      updatedAt: createdAt,
      closedAt: closed ? createdAt : null,
      closedById: closed ? authorId : null,
      dueDate: input.dueDate ?? null,
      epicId: input.epicId ?? null,
    };
    state.issues.push(issue);
    return issue;
  }

  createNote(
    projectId: number,
    input: {
      noteableType: 'Issue' | 'MergeRequest';
      noteableIid: number;
      body: string;
      authorId?: number;
      system?: boolean;
      internal?: boolean;
      createdAt?: Date;
    },
  ): NoteRecord {
    const { state } = this;
    const noteables: Array<{ projectId: number; iid: number }> =
      input.noteableType === 'Issue' ? state.issues : state.mergeRequests;
    if (!noteables.some((n) => n.projectId === projectId && n.iid === input.noteableIid))
      throw new ApiError(404, { message: '404 Not found' });
    const createdAt = input.createdAt ?? state.now();
    const note: NoteRecord = {
      id: state.nextId('note'),
      projectId,
      noteableType: input.noteableType,
      noteableIid: input.noteableIid,
      authorId: this.author(projectId, input.authorId),
      body: input.body,
      system: input.system ?? false,
      internal: input.internal ?? false,
      createdAt,
      updatedAt: createdAt,
    };
    state.notes.push(note);
    return note;
  }

  /** MergeRequests::BuildService: both branches must exist; the first diff version is recorded at once. */
  createMergeRequest(
    projectId: number,
    input: {
      title: string;
      sourceBranch: string;
      targetBranch: string;
      description?: string | null;
      authorId?: number;
      state?: 'opened' | 'closed' | 'merged';
      labels?: string[];
      createdAt?: Date;
      draft?: boolean;
      milestoneId?: number | null;
      assigneeIds?: number[];
      reviewerIds?: number[];
      squash?: boolean;
      removeSourceBranch?: boolean;
    },
  ): MergeRequestRecord {
    const { state } = this;
    const repo = state.repoPath(projectId);
    if (input.sourceBranch === input.targetBranch)
      throw new ApiError(422, { message: ["You can't use same project/branch for source and target"] });
    const head = repos.resolveRef(repo, `refs/heads/${input.sourceBranch}`);
    const base = repos.resolveRef(repo, `refs/heads/${input.targetBranch}`);
    // Grape's unprocessable_entity!(errors[:base]) for MergeRequests::BuildService's branch checks.
    if (!head) throw new ApiError(422, { message: [`Source branch "${input.sourceBranch}" does not exist`] });
    if (!base) throw new ApiError(422, { message: [`Target branch "${input.targetBranch}" does not exist`] });
    const siblings = state.mergeRequests.filter((m) => m.projectId === projectId);
    const wanted = input.state ?? 'opened';
    if (wanted === 'opened') {
      const open = siblings.find(
        (m) => m.state === 'opened' && m.sourceBranch === input.sourceBranch && m.targetBranch === input.targetBranch,
      );
      if (open)
        throw new ApiError(409, {
          message: [`Another open merge request already exists for this source branch: !${open.iid}`],
        });
    }
    const createdAt = input.createdAt ?? state.now();
    for (const name of input.labels ?? []) this.findOrCreateIssuableLabel(projectId, name);
    const mr: MergeRequestRecord = {
      id: state.nextId('merge_request'),
      iid: nextIid(siblings),
      projectId,
      title: input.title,
      description: input.description ?? null,
      state: wanted,
      sourceBranch: input.sourceBranch,
      targetBranch: input.targetBranch,
      authorId: this.author(projectId, input.authorId),
      assigneeIds: input.assigneeIds ?? [],
      reviewerIds: input.reviewerIds ?? [],
      labels: input.labels ?? [],
      milestoneId: input.milestoneId ?? null,
      draft: input.draft ?? /^(draft:|\[draft\]|\(draft\))/i.test(input.title),
      squash: input.squash ?? false,
      removeSourceBranch: input.removeSourceBranch ?? false,
      createdAt,
      updatedAt: createdAt,
      mergedAt: wanted === 'merged' ? createdAt : null,
      closedAt: wanted === 'closed' ? createdAt : null,
    };
    state.mergeRequests.push(mr);
    this.addMergeRequestVersion(mr);
    return mr;
  }

  /** A new diff version from the branches' current tips (GitLab adds one on every push to the source branch). */
  addMergeRequestVersion(mr: MergeRequestRecord): void {
    const repo = this.state.repoPath(mr.projectId);
    const base = repos.resolveRef(repo, `refs/heads/${mr.targetBranch}`);
    this.state.mergeRequestDiffs.push({
      id: this.state.nextId('merge_request_diff'),
      mergeRequestId: mr.id,
      headCommitSha: repos.resolveRef(repo, `refs/heads/${mr.sourceBranch}`),
      baseCommitSha: base,
      startCommitSha: base,
      createdAt: this.state.now(),
    });
  }

  /**
   * The label an issue or merge request gets for a name (Labels::FindOrCreateService with
   * LabelsFinder's include_ancestor_groups: true): the project's own, else one of its ancestor
   * groups' labels of that title, else a new project label.
   */
  findOrCreateIssuableLabel(projectId: number, name: string): { name: string } {
    const own = this.state.labels.find((l) => l.projectId === projectId && l.name === name);
    if (own) return own;
    const groups = new Set(this.state.ancestors(this.state.requireProject(projectId).namespaceId).map((n) => n.id));
    return (
      this.state.groupLabels.find((l) => groups.has(l.groupId) && l.name === name) ??
      this.findOrCreateLabel(projectId, name)
    );
  }

  findOrCreateLabel(
    projectId: number,
    name: string,
    input: { color?: string; description?: string | null; priority?: number | null } = {},
  ): LabelRecord {
    const existing = this.state.labels.find((l) => l.projectId === projectId && l.name === name);
    if (existing) return existing;
    const label: LabelRecord = {
      id: this.state.nextId('label'),
      projectId,
      name,
      color: input.color ?? '#6699cc',
      description: input.description ?? null,
      priority: input.priority ?? null,
    };
    this.state.labels.push(label);
    return label;
  }

  createMilestone(
    projectId: number,
    input: {
      title: string;
      description?: string | null;
      state?: 'active' | 'closed';
      dueDate?: string | null;
      startDate?: string | null;
    },
  ): MilestoneRecord {
    const { state } = this;
    if (state.milestones.some((m) => m.projectId === projectId && m.title === input.title)) {
      throw new ApiError(400, { message: 'Failed to create milestone! Milestone title is already taken' });
    }
    const now = state.now();
    const milestone: MilestoneRecord = {
      id: state.nextId('milestone'),
      iid: nextIid(state.milestones.filter((m) => m.projectId === projectId)),
      projectId,
      title: input.title,
      description: input.description ?? null,
      state: input.state ?? 'active',
      dueDate: input.dueDate ?? null,
      startDate: input.startDate ?? null,
      createdAt: now,
      updatedAt: now,
    };
    state.milestones.push(milestone);
    return milestone;
  }

  /** Releases::CreateService: an existing tag, or `ref` to create it from. */
  createRelease(
    projectId: number,
    input: {
      tagName: string;
      name?: string;
      description?: string;
      ref?: string;
      authorId?: number;
      releasedAt?: Date;
      createdAt?: Date;
      milestones?: string[];
      links?: Array<{
        name: string;
        url: string;
        directAssetPath?: string | null;
        linkType?: ReleaseLinkRecord['linkType'];
      }>;
    },
  ): ReleaseRecord {
    const { state } = this;
    if (state.releases.some((r) => r.projectId === projectId && r.tagName === input.tagName))
      throw new ApiError(409, { message: 'Release already exists' });
    const repo = state.repoPath(projectId);
    let sha = repos.resolveRef(repo, `refs/tags/${input.tagName}`);
    if (!sha) {
      if (!input.ref) throw new ApiError(422, { message: 'Ref is not specified' });
      if (!repos.resolveRef(repo, input.ref) && !repos.resolveRef(repo, `refs/heads/${input.ref}`))
        throw new ApiError(422, { message: 'Ref is not valid' });
      sha = state.createTag(projectId, {
        tag: input.tagName,
        ref: repos.resolveRef(repo, `refs/heads/${input.ref}`) ? `refs/heads/${input.ref}` : input.ref,
      });
    }
    const milestoneIds = (input.milestones ?? []).map((title) => {
      const milestone = state.milestones.find((m) => m.projectId === projectId && m.title === title);
      if (!milestone) throw new ApiError(400, { message: `Milestone(s) not found: ${title}` });
      return milestone.id;
    });
    const createdAt = input.createdAt ?? state.now();
    const release: ReleaseRecord = {
      id: state.nextId('release'),
      projectId,
      tagName: input.tagName,
      name: input.name ?? input.tagName,
      description: input.description ?? '',
      authorId: this.author(projectId, input.authorId),
      sha,
      createdAt,
      releasedAt: input.releasedAt ?? createdAt,
      milestoneIds,
      links: (input.links ?? []).map((l) => ({
        id: state.nextId('release_link'),
        name: l.name,
        url: l.url,
        directAssetPath: l.directAssetPath ?? null,
        linkType: l.linkType ?? 'other',
      })),
    };
    state.releases.push(release);
    return release;
  }

  createSnippet(
    projectId: number,
    input: {
      title: string;
      /** One file (the older API), or `files`. */
      fileName?: string;
      content?: string;
      files?: { path: string; content: string }[];
      description?: string | null;
      visibility?: Visibility;
      authorId?: number;
    },
  ): SnippetRecord {
    const now = this.state.now();
    const snippet: SnippetRecord = {
      id: this.state.nextId('snippet'),
      projectId,
      title: input.title,
      description: input.description ?? null,
      files: input.files?.length
        ? input.files.map((f) => ({ ...f }))
        : [{ path: input.fileName ?? 'snippet.txt', content: input.content ?? '' }],
      visibility: input.visibility ?? 'private',
      authorId: this.author(projectId, input.authorId),
      createdAt: now,
      updatedAt: now,
    };
    this.state.snippets.push(snippet);
    return snippet;
  }

  createHook(
    projectId: number,
    input: {
      url: string;
      token?: string | null;
      name?: string;
      description?: string;
      events?: Partial<Record<(typeof HOOK_EVENTS)[number], boolean>>;
      pushEventsBranchFilter?: string | null;
      enableSslVerification?: boolean;
    },
  ): HookRecord {
    if (!/^https?:\/\//.test(input.url)) throw new ApiError(422, { error: 'Invalid url given' });
    const events = Object.fromEntries(HOOK_EVENTS.map((e) => [e, input.events?.[e] ?? e === 'push_events']));
    const hook: HookRecord = {
      id: this.state.nextId('hook'),
      projectId,
      url: input.url,
      name: input.name ?? '',
      description: input.description ?? '',
      token: input.token ?? null,
      events,
      pushEventsBranchFilter: input.pushEventsBranchFilter ?? null,
      enableSslVerification: input.enableSslVerification ?? true,
      createdAt: this.state.now(),
    };
    this.state.hooks.push(hook);
    return hook;
  }

  createDeployKey(
    projectId: number,
    input: { title: string; key: string; canPush?: boolean; expiresAt?: string | null },
  ): DeployKeyRecord {
    if (!/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+|sk-\S+) [A-Za-z0-9+/=]+/.test(input.key)) {
      throw new ApiError(400, { message: { key: ['is invalid'], fingerprint_sha256: ['cannot be generated'] } });
    }
    if (this.state.deployKeys.some((k) => k.projectId === projectId && k.key === input.key)) {
      throw new ApiError(400, { message: { 'deploy_key.fingerprint_sha256': ['has already been taken'] } });
    }
    const key: DeployKeyRecord = {
      id: this.state.nextId('deploy_key'),
      projectId,
      title: input.title,
      key: input.key,
      canPush: input.canPush ?? false,
      expiresAt: input.expiresAt ?? null,
      createdAt: this.state.now(),
    };
    this.state.deployKeys.push(key);
    return key;
  }

  createVariable(
    projectId: number,
    input: {
      key: string;
      value: string;
      variableType?: 'env_var' | 'file';
      protected?: boolean;
      masked?: boolean;
      hidden?: boolean;
      raw?: boolean;
      environmentScope?: string;
      description?: string | null;
    },
  ): VariableRecord {
    if (!/^[A-Za-z0-9_]+$/.test(input.key))
      throw new ApiError(400, { message: { key: ["can contain only letters, digits and '_'."] } });
    const scope = input.environmentScope ?? '*';
    if (
      this.state.variables.some((v) => v.projectId === projectId && v.key === input.key && v.environmentScope === scope)
    ) {
      throw new ApiError(400, { message: { key: [`(${input.key}) has already been taken`] } });
    }
    const variable: VariableRecord = {
      projectId,
      key: input.key,
      value: input.value,
      variableType: input.variableType ?? 'env_var',
      protected: input.protected ?? false,
      masked: input.masked ?? input.hidden ?? false,
      hidden: input.hidden ?? false,
      raw: input.raw ?? false,
      environmentScope: scope,
      description: input.description ?? null,
    };
    this.state.variables.push(variable);
    return variable;
  }

  protectBranch(
    projectId: number,
    input: { name: string; pushAccessLevel?: number; mergeAccessLevel?: number; allowForcePush?: boolean },
  ): ProtectedBranchRecord {
    if (this.state.protectedBranches.some((b) => b.projectId === projectId && b.name === input.name)) {
      throw new ApiError(409, { message: `Protected branch '${input.name}' already exists` });
    }
    const branch: ProtectedBranchRecord = {
      id: this.state.nextId('protected_branch'),
      projectId,
      name: input.name,
      pushAccessLevel: input.pushAccessLevel ?? 40,
      mergeAccessLevel: input.mergeAccessLevel ?? 40,
      allowForcePush: input.allowForcePush ?? false,
      pushAccessId: this.state.nextId('access_level'),
      mergeAccessId: this.state.nextId('access_level'),
    };
    this.state.protectedBranches.push(branch);
    return branch;
  }

  protectTag(projectId: number, input: { name: string; createAccessLevel?: number }): ProtectedTagRecord {
    if (this.state.protectedTags.some((t) => t.projectId === projectId && t.name === input.name)) {
      throw new ApiError(409, { message: `Protected tag '${input.name}' already exists` });
    }
    const tag: ProtectedTagRecord = {
      id: this.state.nextId('protected_tag'),
      projectId,
      name: input.name,
      createAccessLevel: input.createAccessLevel ?? 40,
      createAccessId: this.state.nextId('access_level'),
    };
    this.state.protectedTags.push(tag);
    return tag;
  }

  createGroupLabel(
    groupId: number,
    input: { name: string; color: string; description?: string | null },
  ): GroupLabelRecord {
    if (this.state.groupLabels.some((l) => l.groupId === groupId && l.name === input.name))
      throw new ApiError(409, { message: 'Label already exists' });
    const label: GroupLabelRecord = {
      id: this.state.nextId('label'),
      groupId,
      name: input.name,
      color: input.color,
      description: input.description ?? null,
    };
    this.state.groupLabels.push(label);
    return label;
  }

  createGroupMilestone(
    groupId: number,
    input: {
      title: string;
      description?: string | null;
      state?: 'active' | 'closed';
      dueDate?: string | null;
      startDate?: string | null;
    },
  ): GroupMilestoneRecord {
    const { state } = this;
    if (state.groupMilestones.some((m) => m.groupId === groupId && m.title === input.title)) {
      throw new ApiError(400, { message: 'Failed to create milestone! Milestone title is already taken' });
    }
    const now = state.now();
    const milestone: GroupMilestoneRecord = {
      id: state.nextId('milestone'),
      iid: nextIid(state.groupMilestones.filter((m) => m.groupId === groupId)),
      groupId,
      title: input.title,
      description: input.description ?? null,
      state: input.state ?? 'active',
      dueDate: input.dueDate ?? null,
      startDate: input.startDate ?? null,
      createdAt: now,
      updatedAt: now,
    };
    state.groupMilestones.push(milestone);
    return milestone;
  }

  createEpic(
    groupId: number,
    input: {
      title: string;
      authorId: number;
      description?: string | null;
      state?: 'opened' | 'closed';
      labels?: string[];
      parentId?: number | null;
      confidential?: boolean;
      startDateFixed?: string | null;
      dueDateFixed?: string | null;
      createdAt?: Date;
    },
  ): EpicRecord {
    const createdAt = input.createdAt ?? this.state.now();
    const epic: EpicRecord = {
      id: this.state.nextId('epic'),
      iid: nextIid(this.state.epics.filter((e) => e.groupId === groupId)),
      groupId,
      title: input.title,
      description: input.description ?? null,
      state: input.state ?? 'opened',
      authorId: input.authorId,
      labels: input.labels ?? [],
      parentId: input.parentId ?? null,
      confidential: input.confidential ?? false,
      startDateFixed: input.startDateFixed ?? null,
      dueDateFixed: input.dueDateFixed ?? null,
      createdAt,
      updatedAt: createdAt,
      closedAt: input.state === 'closed' ? createdAt : null,
    };
    this.state.epics.push(epic);
    return epic;
  }
}
