/**
 * The organization option "event-driven backups": a group webhook on the organization's
 * top-level group, registered through the GitLab API with the events that change what we back
 * up (push, tag push, merge request, issue, note, wiki page, release, confidential issue/note)
 * and a per-organization secret token (random, sealed by the Password Manager's box; GitLab
 * never returns it). `check` (the `events.check-hooks` job) re-creates a hook someone deleted
 * upstream and records when the connection lacks the right to manage hooks (Owner and the `api`
 * scope; group webhooks are a Premium feature). Turning the option off, or disconnecting the
 * connection, removes the hook upstream (best effort) and forgets the secret.
 *
 * Scheduled runs stay on as the safety net: a missed event is caught by the next scheduled pass.
 */
import { randomBytes } from 'node:crypto';
import { In, type DataSource, type Repository } from 'typeorm';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { SecretBox } from '../credentials/secret-box.js';
import { GROUP_HOOK_EVENT_NAMES, type GitLabClient } from '../gitlab/gitlab.port.js';
import { OrganizationEntity } from '../organizations/organization.entity.js';
import { organizationNotFound } from '../organizations/organization.errors.js';
import type { Clock } from '../shared/clock.js';
import { isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { secretContext } from './webhook-receiver.service.js';
import {
  EventHookEntity,
  PendingEventBackupEntity,
  WebhookDeliveryEntity,
  type EventHookState,
} from './webhook.entity.js';

export interface EventHookView {
  organizationId: string;
  isEnabled: boolean;
  state: EventHookState;
  problem: string | null;
  gitlabHookId: number | null;
  /** Where GitLab posts: <public URL>/hooks/gitlab/<organizationId>. */
  receiverUrl: string;
  checkedAt: Date | null;
  registeredAt: Date | null;
  lastDeliveryAt: Date | null;
  /** Repositories waiting for their event-triggered backup (quiet period not over). */
  pendingRepositories: number;
}

export class EventHookService {
  private readonly hooks: Repository<EventHookEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly sessions: Pick<GitLabSessions, 'withGitLab'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly publicUrl: string,
  ) {
    this.hooks = dataSource.getRepository(EventHookEntity);
  }

  receiverUrl(organizationId: string): string {
    return `${this.publicUrl}/hooks/gitlab/${organizationId}`;
  }

  async view(organizationId: string): Promise<EventHookView> {
    await this.organization(organizationId);
    const hook = await this.hooks.findOneBy({ organizationId });
    const [last, pendingRepositories] = await Promise.all([
      this.dataSource
        .getRepository(WebhookDeliveryEntity)
        .findOne({ where: { organizationId }, order: { receivedAt: 'DESC' } }),
      this.dataSource.getRepository(PendingEventBackupEntity).countBy({ organizationId }),
    ]);
    return {
      organizationId,
      isEnabled: hook?.isEnabled ?? false,
      state: hook?.state ?? 'DISABLED',
      problem: hook?.problem ?? null,
      gitlabHookId: hook?.gitlabHookId ?? null,
      receiverUrl: this.receiverUrl(organizationId),
      checkedAt: hook?.checkedAt ?? null,
      registeredAt: hook?.registeredAt ?? null,
      lastDeliveryAt: last?.receivedAt ?? null,
      pendingRepositories,
    };
  }

  /** Turns the option on (registers the hook now) or off (removes it). Idempotent. */
  async setEnabled(organizationId: string, enabled: boolean): Promise<EventHookView> {
    const org = await this.organization(organizationId);
    if (enabled) {
      let hook = await this.hooks.findOneBy({ organizationId });
      if (!hook?.secretCiphertext) {
        const secret = randomBytes(32).toString('base64url');
        hook = this.hooks.create({
          organizationId,
          isEnabled: true,
          secretCiphertext: this.box.seal(secret, secretContext(organizationId)),
          gitlabHookId: null,
          state: 'MISSING',
          problem: null,
          checkedAt: null,
          registeredAt: null,
        });
      }
      hook.isEnabled = true;
      await this.hooks.save(hook);
      await this.ensure(org, hook);
      this.logger.info({ organizationId, state: hook.state }, 'event-driven backups turned on');
    } else {
      await this.disable(org);
      this.logger.info({ organizationId }, 'event-driven backups turned off');
    }
    return this.view(organizationId);
  }

  /** The periodic check: every enabled organization's hook exists upstream (re-created if not). */
  async checkAll(): Promise<{ checked: number; recreated: number; failing: number }> {
    const enabled = await this.hooks.findBy({ isEnabled: true });
    const orgs = await this.dataSource
      .getRepository(OrganizationEntity)
      .findBy({ id: In(enabled.map((h) => h.organizationId)) });
    let recreated = 0;
    let failing = 0;
    for (const hook of enabled) {
      const org = orgs.find((o) => o.id === hook.organizationId);
      if (!org) continue;
      const before = hook.registeredAt?.getTime() ?? null;
      await this.ensure(org, hook);
      if (hook.state !== 'ACTIVE') failing++;
      else if ((hook.registeredAt?.getTime() ?? null) !== before) recreated++;
    }
    return { checked: enabled.length, recreated, failing };
  }

  /** Before a connection is disconnected: its organizations' hooks go (while its token still works). */
  async removeForConnection(connectionId: string): Promise<void> {
    const orgs = await this.dataSource.getRepository(OrganizationEntity).findBy({ connectionId });
    for (const org of orgs) {
      const hook = await this.hooks.findOneBy({ organizationId: org.id, isEnabled: true });
      if (hook) await this.disable(org);
    }
  }

  private async organization(organizationId: string): Promise<OrganizationEntity> {
    const org = /^[0-9a-f-]{36}$/i.test(organizationId)
      ? await this.dataSource.getRepository(OrganizationEntity).findOneBy({ id: organizationId })
      : null;
    if (!org) throw organizationNotFound(organizationId);
    return org;
  }

  /** Makes the upstream hook match (our URL, our events, a known id) and records the outcome. */
  private async ensure(org: OrganizationEntity, hook: EventHookEntity): Promise<void> {
    hook.checkedAt = this.clock.now();
    if (org.kind !== 'GROUP') {
      Object.assign(hook, { state: 'UNSUPPORTED', problem: 'GitLab has no group webhooks for a user namespace' });
      await this.hooks.save(hook);
      return;
    }
    const url = this.receiverUrl(org.id);
    try {
      await this.sessions.withGitLab(org.connectionId, (client) => this.reconcile(client, org, hook, url), {
        write: true,
      });
      hook.state = 'ACTIVE';
      hook.problem = null;
    } catch (error) {
      const forbidden =
        isDomainError(error, 'GITLAB_FORBIDDEN') ||
        isDomainError(error, 'GITLAB_UNAUTHORIZED') ||
        isDomainError(error, 'WRITE_AUTHORIZATION_REQUIRED');
      hook.state = forbidden ? 'FORBIDDEN' : 'MISSING';
      hook.problem = forbidden
        ? "the connection may not manage this group's webhooks: it needs the Owner role and the api scope (group webhooks need GitLab Premium)"
        : `the webhook could not be checked (${isDomainError(error) ? error.code : 'unexpected error'}); the next check retries`;
      this.logger.warn({ organizationId: org.id, state: hook.state, err: error }, 'event webhook not in place');
    }
    await this.hooks.save(hook);
  }

  private async reconcile(client: GitLabClient, org: OrganizationEntity, hook: EventHookEntity, url: string) {
    const groupId = org.gitlabNamespaceId;
    const existing = await client.listGroupHooks(groupId);
    const ours = existing.find((h) => h.id === hook.gitlabHookId && h.url === url);
    const complete = ours && GROUP_HOOK_EVENT_NAMES.every((e) => ours.events[e]);
    if (ours && complete) return;
    // A hook at our URL that is not the one we know (or lacks events) has an unknown secret: replace it.
    for (const stale of existing.filter((h) => h.url === url)) await this.deleteQuietly(client, groupId, stale.id);
    const secret = this.box.open(hook.secretCiphertext!, secretContext(org.id));
    const created = await client.addGroupHook(groupId, { url, token: secret, events: [...GROUP_HOOK_EVENT_NAMES] });
    if (hook.gitlabHookId !== null)
      this.logger.warn(
        { organizationId: org.id, hookId: created.id },
        'event webhook was missing upstream; re-created',
      );
    hook.gitlabHookId = created.id;
    hook.registeredAt = this.clock.now();
  }

  private async disable(org: OrganizationEntity): Promise<void> {
    const hook = await this.hooks.findOneBy({ organizationId: org.id });
    if (!hook) return;
    if (hook.gitlabHookId !== null && org.kind === 'GROUP') {
      const hookId = hook.gitlabHookId;
      await this.sessions
        .withGitLab(org.connectionId, (client) => this.deleteQuietly(client, org.gitlabNamespaceId, hookId), {
          write: true,
        })
        .catch((error: unknown) =>
          this.logger.warn(
            { organizationId: org.id, err: error },
            'could not remove the event webhook upstream; remove it in GitLab (Settings → Webhooks)',
          ),
        );
    }
    Object.assign(hook, {
      isEnabled: false,
      secretCiphertext: null,
      gitlabHookId: null,
      state: 'DISABLED',
      problem: null,
      checkedAt: this.clock.now(),
    });
    await this.hooks.save(hook);
    await this.dataSource.getRepository(PendingEventBackupEntity).delete({ organizationId: org.id });
  }

  private async deleteQuietly(client: GitLabClient, groupId: number, hookId: number): Promise<void> {
    try {
      await client.deleteGroupHook(groupId, hookId);
    } catch (error) {
      if (!isDomainError(error, 'GITLAB_NOT_FOUND')) throw error;
    }
  }
}
