/**
 * Webhooks as GitLab sends them (doc/user/project/integrations/webhooks.md, webhook_events.md,
 * doc/administration/system_hooks.md): group hooks registered through the API
 * (doc/api/group_webhooks.md) and system hooks seeded by an administrator, each delivery an HTTP
 * POST with a JSON body and GitLab's delivery headers:
 *
 *   X-Gitlab-Event         "Push Hook", "Tag Push Hook", "System Hook", ...
 *   X-Gitlab-Token         the hook's secret token, when it has one
 *   X-Gitlab-Event-UUID    one per event (shared by every hook the event triggers)
 *   X-Gitlab-Webhook-UUID  one per hook
 *   Idempotency-Key        one per delivery, the same on every retry of it (GitLab 17.4+)
 *   X-Gitlab-Instance      the instance's URL
 *
 * Deliveries run in the background, like GitLab's WebHookWorker; `settled()` resolves when every
 * delivery started so far has its answer, and `redeliver()` repeats one (GitLab's retry or
 * "Resend request") with the same Idempotency-Key. GitLab waits 10 s for an answer.
 */
import { randomUUID } from 'node:crypto';
import type { SimulatorState } from './state.js';
import type { ProjectRecord } from './model.js';

/** The events a group hook may subscribe to (the boolean attributes of doc/api/group_webhooks.md). */
export const GROUP_HOOK_EVENTS = [
  'push_events',
  'tag_push_events',
  'merge_requests_events',
  'issues_events',
  'confidential_issues_events',
  'note_events',
  'confidential_note_events',
  'wiki_page_events',
  'releases_events',
  'pipeline_events',
  'job_events',
  'deployment_events',
  'subgroup_events',
] as const;
export type GroupHookEvent = (typeof GROUP_HOOK_EVENTS)[number];

export interface GroupHookRecord {
  id: number;
  groupId: number;
  url: string;
  /** Write-only: GitLab never returns it. */
  token: string | null;
  uuid: string;
  events: Record<GroupHookEvent, boolean>;
  enableSslVerification: boolean;
  createdAt: Date;
}

export interface SystemHookRecord {
  id: number;
  url: string;
  token: string | null;
  uuid: string;
}

export interface HookDelivery {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The receiver's status code, or null while in flight / when the connection failed. */
  status: number | null;
}

const TIMEOUT_MS = 10_000;

export class HookDispatcher {
  readonly groupHooks = new Map<number, GroupHookRecord>();
  readonly systemHooks: SystemHookRecord[] = [];
  readonly deliveries: HookDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private nextHookId = 1;

  constructor(
    private readonly state: SimulatorState,
    private readonly baseUrl: () => string,
  ) {}

  addGroupHook(
    groupId: number,
    input: { url: string; token?: string | null; enableSslVerification?: boolean } & Partial<
      Record<GroupHookEvent, boolean>
    >,
  ): GroupHookRecord {
    const events = Object.fromEntries(
      // doc/api/group_webhooks.md: push_events defaults to true, every other event to false.
      GROUP_HOOK_EVENTS.map((e) => [e, input[e] ?? e === 'push_events']),
    ) as Record<GroupHookEvent, boolean>;
    const hook: GroupHookRecord = {
      id: this.nextHookId++,
      groupId,
      url: input.url,
      token: input.token ?? null,
      uuid: randomUUID(),
      events,
      enableSslVerification: input.enableSslVerification ?? true,
      createdAt: this.state.now(),
    };
    this.groupHooks.set(hook.id, hook);
    return hook;
  }

  addSystemHook(input: { url: string; token?: string | null }): SystemHookRecord {
    const hook = { id: this.nextHookId++, url: input.url, token: input.token ?? null, uuid: randomUUID() };
    this.systemHooks.push(hook);
    return hook;
  }

  hooksOfGroup(groupId: number): GroupHookRecord[] {
    return [...this.groupHooks.values()].filter((h) => h.groupId === groupId);
  }

  /** GET /groups/:id/hooks representation (never the token). */
  present(hook: GroupHookRecord) {
    return {
      id: hook.id,
      url: hook.url,
      group_id: hook.groupId,
      created_at: hook.createdAt.toISOString(),
      ...hook.events,
      enable_ssl_verification: hook.enableSslVerification,
      alert_status: 'executable',
      disabled_until: null,
      url_variables: [],
      custom_headers: [],
    };
  }

  /** A push to a branch (`refs/heads/...`): the Push Hook of every group hook above the project. */
  push(project: ProjectRecord, input: { ref: string; before: string; after: string; commits: string[] }): void {
    const zero = '0000000000000000000000000000000000000000';
    const isTag = input.ref.startsWith('refs/tags/');
    const body = {
      object_kind: isTag ? 'tag_push' : 'push',
      event_name: isTag ? 'tag_push' : 'push',
      before: input.before || zero,
      after: input.after || zero,
      ref: input.ref,
      ref_protected: false,
      checkout_sha: input.after || null,
      message: null,
      user_id: project.creatorId,
      user_name: this.state.users.get(project.creatorId)?.name ?? 'Administrator',
      user_username: this.state.users.get(project.creatorId)?.username ?? 'root',
      user_email: '',
      user_avatar: null,
      project_id: project.id,
      project: this.projectAttributes(project),
      commits: input.commits.slice(-20).map((id) => ({
        id,
        message: 'Update files',
        title: 'Update files',
        timestamp: this.state.now().toISOString(),
        url: `${this.projectUrl(project)}/-/commit/${id}`,
        author: { name: 'Simulator', email: 'simulator@example.com' },
        added: [],
        modified: [],
        removed: [],
      })),
      total_commits_count: input.commits.length,
      repository: {
        name: project.name,
        url: `${this.projectUrl(project)}.git`,
        description: project.description,
        homepage: this.projectUrl(project),
        git_http_url: `${this.projectUrl(project)}.git`,
        git_ssh_url: `git@127.0.0.1:${this.state.fullPath(project.namespaceId)}/${project.path}.git`,
        visibility_level: project.visibility === 'public' ? 20 : project.visibility === 'internal' ? 10 : 0,
      },
    };
    this.toGroupHooks(project, isTag ? 'tag_push_events' : 'push_events', isTag ? 'Tag Push Hook' : 'Push Hook', body);
  }

  /**
   * A system hook event about a project (doc/administration/system_hooks.md): project_create,
   * project_destroy, project_rename, project_transfer. Sent to every system hook.
   */
  projectEvent(
    project: ProjectRecord,
    eventName: 'project_create' | 'project_destroy' | 'project_rename' | 'project_transfer',
    extra: { oldPathWithNamespace?: string } = {},
  ): void {
    const owner = this.state.users.get(project.creatorId);
    const body = {
      created_at: project.createdAt.toISOString(),
      updated_at: this.state.now().toISOString(),
      event_name: eventName,
      name: project.name,
      owner_email: owner?.email ?? '',
      owner_name: owner?.name ?? '',
      owners: owner ? [{ name: owner.name, email: owner.email }] : [],
      path: project.path,
      path_with_namespace: `${this.state.fullPath(project.namespaceId)}/${project.path}`,
      project_id: project.id,
      project_namespace_id: project.namespaceId,
      project_visibility: project.visibility,
      ...(extra.oldPathWithNamespace ? { old_path_with_namespace: extra.oldPathWithNamespace } : {}),
    };
    const eventUuid = randomUUID();
    for (const hook of this.systemHooks) this.send(hook.url, hook.token, hook.uuid, eventUuid, 'System Hook', body);
  }

  /** Sends a delivery again with the same Idempotency-Key and event UUID (GitLab's retry), to `url` or its own. */
  redeliver(delivery: HookDelivery, url = delivery.url): void {
    const again: HookDelivery = { url, headers: { ...delivery.headers }, body: delivery.body, status: null };
    this.start(again);
  }

  /** Resolves when every delivery started so far has been answered (or failed). */
  async settled(): Promise<HookDelivery[]> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    return this.deliveries;
  }

  private toGroupHooks(project: ProjectRecord, event: GroupHookEvent, header: string, body: object): void {
    const groups = new Set(
      this.state.namespaces.get(project.namespaceId)?.kind === 'group'
        ? this.state.ancestors(project.namespaceId).map((n) => n.id)
        : [],
    );
    const eventUuid = randomUUID();
    for (const hook of this.groupHooks.values()) {
      if (!groups.has(hook.groupId) || !hook.events[event]) continue;
      this.send(hook.url, hook.token, hook.uuid, eventUuid, header, body);
    }
  }

  private send(url: string, token: string | null, hookUuid: string, eventUuid: string, event: string, body: object) {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'GitLab/17.6.0',
      'x-gitlab-event': event,
      'x-gitlab-event-uuid': eventUuid,
      'x-gitlab-webhook-uuid': hookUuid,
      'x-gitlab-instance': this.baseUrl(),
      'idempotency-key': randomUUID(),
      ...(token ? { 'x-gitlab-token': token } : {}),
    };
    this.start({ url, headers, body: JSON.stringify(body), status: null });
  }

  private start(delivery: HookDelivery): void {
    this.deliveries.push(delivery);
    const done = fetch(delivery.url, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
      .then(async (response) => {
        await response.arrayBuffer();
        delivery.status = response.status;
      })
      .catch(() => undefined)
      .finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  private projectUrl(project: ProjectRecord): string {
    return `${this.baseUrl()}/${this.state.fullPath(project.namespaceId)}/${project.path}`;
  }

  private projectAttributes(project: ProjectRecord) {
    const pathWithNamespace = `${this.state.fullPath(project.namespaceId)}/${project.path}`;
    return {
      id: project.id,
      name: project.name,
      description: project.description,
      web_url: this.projectUrl(project),
      avatar_url: null,
      git_ssh_url: `git@127.0.0.1:${pathWithNamespace}.git`,
      git_http_url: `${this.projectUrl(project)}.git`,
      namespace: this.state.namespaces.get(project.namespaceId)?.name ?? '',
      visibility_level: project.visibility === 'public' ? 20 : project.visibility === 'internal' ? 10 : 0,
      path_with_namespace: pathWithNamespace,
      default_branch: project.defaultBranch,
      ci_config_path: null,
      homepage: this.projectUrl(project),
      url: `${this.projectUrl(project)}.git`,
      ssh_url: `git@127.0.0.1:${pathWithNamespace}.git`,
      http_url: `${this.projectUrl(project)}.git`,
    };
  }
}
