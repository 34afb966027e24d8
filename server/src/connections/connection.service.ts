/**
 * Connections: the three ways to reach a GitLab instance.
 * - PERSONAL_ACCESS_TOKEN is validated at once (GET /user, GET /personal_access_tokens/self) and
 *   either becomes CONNECTED or fails with an error naming what is wrong; nothing is stored then.
 * - OAUTH (instance-wide app) and OAUTH_APP (the user's own app) start AWAITING_AUTHORIZATION with
 *   an authorize URL (state + PKCE S256); oauth-callback.ts completes them.
 * Every status change is published as ConnectionStatusChanged.
 */
import { In, type DataSource, type Repository } from 'typeorm';
import type { CredentialService } from '../credentials/credential.service.js';
import type { GitLabClientFactory, GitLabNamespace } from '../gitlab/gitlab.port.js';
import { normalizeInstanceUrl } from '../gitlab/instance-url.js';
import { DEFAULT_SCHEDULE, validateSchedule } from '../organizations/sync-schedule.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, isDomainError, refuseEmpty, validationError } from '../shared/errors.js';
import { namespacePathProblem } from '../shared/gitlab-path.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import {
  ConnectionEntity,
  type ConnectionMethod,
  type OrganizationDefaults,
  type RepoSyncScheduleValue,
} from './connection.entity.js';
import { caCertificateProblem } from '../shared/ca-certificate.js';
import { oauthNotConfigured } from './connection.errors.js';
import { ConnectionRecords } from './connection-records.js';
import type { ConnectionStatusChanged } from './connection.events.js';
import type { GitLabSessions } from './gitlab-session.js';
import type { OAuthAttempts } from './oauth-attempts.js';

export const PAT_EXPIRY_WARNING_DAYS = 14;
export const GITLAB_COM = 'https://gitlab.com';
/** Scopes Labkeeper asks for when connecting (backup only). Restore asks for `api write_repository` separately. */
export const BACKUP_SCOPES = ['read_api', 'read_repository', 'read_user'];
/** What a restore asks for, in its own authorization, only when someone wants to restore (issue 4). */
export const RESTORE_SCOPES = ['api', 'write_repository'];

export interface ConnectInput {
  method: ConnectionMethod;
  instanceUrl?: string | null;
  caCertificate?: string | null;
  login?: string | null;
  personalAccessToken?: string | null;
  credentialId?: string | null;
  clientId?: string | null;
  clientSecret?: string | null;
  clientSecretCredentialId?: string | null;
  autoAddNewRepositories?: boolean | null;
  includeGroups?: boolean | null;
  repoSyncSchedule?: RepoSyncScheduleValue | null;
  defaultWorkerId?: string | null;
  namespacePath?: string | null;
}

export interface ConnectResult {
  connection: ConnectionEntity;
  /** OAuth methods: open this in the pop-up. */
  authorizationUrl: string | null;
}

export interface ConnectionHooks {
  /** Called after a connection becomes CONNECTED (protects `namespacePath` when given). */
  afterConnected(connection: ConnectionEntity): Promise<void>;
  /** Throws when a worker id does not exist. */
  checkWorker(workerId: string): Promise<void>;
  /** Called before a disconnect drops the tokens (removes what Labkeeper registered upstream, e.g. webhooks). */
  beforeDisconnect?(connectionId: string): Promise<void>;
}

export class ConnectionService {
  private readonly repo: Repository<ConnectionEntity>;
  private readonly records: ConnectionRecords;

  constructor(
    private readonly dataSource: DataSource,
    private readonly credentials: CredentialService,
    private readonly gitlab: GitLabClientFactory,
    private readonly sessions: GitLabSessions,
    private readonly attempts: OAuthAttempts,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly publish: (event: ConnectionStatusChanged) => void,
    private readonly hooks: ConnectionHooks,
    private readonly instanceApp: { instanceUrl: string } | null,
  ) {
    this.repo = dataSource.getRepository(ConnectionEntity);
    this.records = new ConnectionRecords(dataSource, clock, logger, publish);
  }

  list(): Promise<ConnectionEntity[]> {
    return this.repo.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  get(id: string): Promise<ConnectionEntity> {
    return this.records.get(id);
  }

  /** Several connections in one statement (unknown ids are left out). */
  byIds(ids: readonly string[]): Promise<ConnectionEntity[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.repo.findBy({ id: In([...ids]) });
  }

  /** Connections (not disconnected) that use a credential — the Password Manager's delete guard. */
  usersOfCredential(credentialId: string): Promise<string[]> {
    return this.records.usersOfCredential(credentialId);
  }

  /** Human-readable warnings: a PAT that expires within 14 days, a connection needing attention. */
  warnings(connection: ConnectionEntity): string[] {
    const out: string[] = [];
    if (
      connection.method === 'PERSONAL_ACCESS_TOKEN' &&
      connection.tokenExpiresAt &&
      connection.status === 'CONNECTED'
    ) {
      const days = Math.floor((connection.tokenExpiresAt.getTime() - this.clock.now().getTime()) / 86_400_000);
      if (days < PAT_EXPIRY_WARNING_DAYS) {
        out.push(
          `the personal access token expires on ${connection.tokenExpiresAt.toISOString().slice(0, 10)} (in ${Math.max(days, 0)} days); rotate it in the Password Manager`,
        );
      }
    }
    return out;
  }

  /** The instance OAUTH (Labkeeper's own application) signs in to; null when no such application is configured. */
  oauthInstanceUrl(): string | null {
    return this.instanceApp?.instanceUrl ?? null;
  }

  async connect(input: ConnectInput): Promise<ConnectResult> {
    refuseEmpty({
      credentialId: input.credentialId,
      clientSecretCredentialId: input.clientSecretCredentialId,
      defaultWorkerId: input.defaultWorkerId,
    });
    const instanceUrl = normalizeInstanceUrl(input.instanceUrl?.trim() || GITLAB_COM, 'instanceUrl');
    const caProblem = input.caCertificate?.trim() ? caCertificateProblem(input.caCertificate.trim()) : null;
    if (caProblem) throw validationError({ caCertificate: caProblem });
    const defaults = await this.organizationDefaults(input);
    switch (input.method) {
      case 'PERSONAL_ACCESS_TOKEN':
        return { connection: await this.connectWithToken(instanceUrl, input, defaults), authorizationUrl: null };
      case 'OAUTH':
      case 'OAUTH_APP':
        return this.startOAuth(instanceUrl, input, defaults);
      default:
        throw validationError({ method: 'is not a known connection method' });
    }
  }

  /** A new authorize URL for an OAuth connection (expired attempt, EXPIRED or ERROR connection). */
  async reauthorize(connectionId: string): Promise<ConnectResult> {
    const connection = await this.get(connectionId);
    if (connection.method === 'PERSONAL_ACCESS_TOKEN') {
      throw validationError({ connectionId: 'is a personal access token connection; rotate its token instead' });
    }
    const authorizationUrl = await this.attempts.start(connection, BACKUP_SCOPES);
    await this.setStatus(connection, 'AWAITING_AUTHORIZATION', null);
    return { connection, authorizationUrl };
  }

  /**
   * The separate write authorization an OAuth connection needs before a restore can write
   * through it: an authorize URL for `api write_repository`, to open like the connect pop-up. The
   * connection stays CONNECTED and keeps its read-only tokens; the callback stores the write pair
   * beside them (same GitLab user only). A personal access token writes with its own scopes.
   */
  async authorizeRestore(connectionId: string): Promise<ConnectResult> {
    const connection = await this.get(connectionId);
    if (connection.method === 'PERSONAL_ACCESS_TOKEN') {
      throw validationError({
        connectionId:
          'is a personal access token connection: it writes with its own token, so connect one with the api scope instead',
      });
    }
    if (connection.status !== 'CONNECTED')
      throw validationError({ connectionId: `is ${connection.status}: connect it first, then authorize restores` });
    const authorizationUrl = await this.attempts.start(connection, RESTORE_SCOPES, 'WRITE');
    this.logger.info({ connectionId }, 'write authorization requested');
    return { connection, authorizationUrl };
  }

  /** Top-level namespaces (groups and the user's own) this connection can reach. */
  namespaces(connectionId: string): Promise<GitLabNamespace[]> {
    return this.sessions.withGitLab(connectionId, (client) => client.listTopLevelNamespaces());
  }

  /** Revokes OAuth tokens where GitLab allows (best effort) and keeps the connection as history. */
  async disconnect(connectionId: string): Promise<ConnectionEntity> {
    const connection = await this.get(connectionId);
    if (connection.status === 'DISCONNECTED') return connection;
    await this.hooks.beforeDisconnect?.(connectionId);
    if (connection.method !== 'PERSONAL_ACCESS_TOKEN' && connection.accessTokenCiphertext) {
      await this.attempts
        .revokeTokens(connection)
        .catch((error: unknown) =>
          this.logger.warn(
            { connectionId, err: error },
            'GitLab did not revoke the OAuth tokens; they expire on their own',
          ),
        );
    }
    connection.accessTokenCiphertext = null;
    connection.refreshTokenCiphertext = null;
    this.sessions.dropWriteTokens(connection);
    connection.disconnectedAt = this.clock.now();
    return this.setStatus(connection, 'DISCONNECTED', 'disconnected by a user');
  }

  /**
   * Saves the status and announces it. `beforeAnnounce` runs between the two (after a connect:
   * protecting the organization's namespace, which needs the connection CONNECTED), so whoever
   * hears CONNECTED finds the organization already there (if it fails, the status is announced all
   * the same and the error goes on to the caller).
   */
  setStatus(
    connection: ConnectionEntity,
    status: ConnectionEntity['status'],
    reason: string | null,
    beforeAnnounce?: () => Promise<void>,
  ) {
    return this.records.setStatus(connection, status, reason, beforeAnnounce);
  }

  private async organizationDefaults(input: ConnectInput): Promise<OrganizationDefaults> {
    if (input.defaultWorkerId) await this.hooks.checkWorker(input.defaultWorkerId);
    const namespacePath = input.namespacePath?.trim().replace(/^\/+|\/+$/g, '') || null;
    const pathProblem = namespacePath ? namespacePathProblem(namespacePath) : null;
    if (pathProblem) throw validationError({ namespacePath: pathProblem });
    return {
      autoAddNewRepositories: input.autoAddNewRepositories ?? true,
      includeGroups: input.includeGroups ?? true,
      repoSyncSchedule: validateSchedule(input.repoSyncSchedule ?? DEFAULT_SCHEDULE, 'repoSyncSchedule'),
      defaultWorkerId: input.defaultWorkerId ?? null,
      namespacePath,
    };
  }

  private async connectWithToken(instanceUrl: string, input: ConnectInput, defaults: OrganizationDefaults) {
    const login = input.login?.trim();
    if (!login) throw validationError({ login: 'is required: your GitLab username or e-mail' });
    if (!!input.personalAccessToken === !!input.credentialId) {
      throw validationError({
        personalAccessToken: 'give either a new token or the id of a saved credential (credentialId)',
      });
    }
    if (input.credentialId)
      await this.credentials.requireKind(input.credentialId, 'PERSONAL_ACCESS_TOKEN', 'credentialId');
    const token = input.personalAccessToken ?? (await this.credentials.reveal(input.credentialId!));
    const { user, pat } = await validatePersonalAccessToken(
      this.gitlab,
      { instanceUrl, token, caCertificate: input.caCertificate },
      this.clock.now(),
    );
    const loginMatches = [user.username, user.email].some((v) => v && v.toLowerCase() === login.toLowerCase());
    if (!loginMatches) {
      throw validationError({ login: `the token belongs to GitLab user "${user.username}", not "${login}"` });
    }

    let credentialId = input.credentialId ?? null;
    const created = !credentialId;
    if (!credentialId) {
      const credential = await this.credentials.create({
        name: await this.freeCredentialName(`GitLab ${user.username} @ ${new URL(instanceUrl).host}`),
        kind: 'PERSONAL_ACCESS_TOKEN',
        secret: token,
        username: login,
        expiresAt: pat.expiresAt ? endOfDay(pat.expiresAt) : null,
      });
      credentialId = credential.id;
    }
    const connection = this.repo.create({
      id: newId(),
      instanceUrl,
      method: 'PERSONAL_ACCESS_TOKEN',
      status: 'CONNECTED',
      statusReason: null,
      login,
      gitlabUserId: user.id,
      gitlabUsername: user.username,
      gitlabUserName: user.name,
      gitlabUserWebUrl: user.webUrl,
      scopes: pat.scopes,
      credentialId,
      oauthClientId: null,
      accessTokenCiphertext: null,
      refreshTokenCiphertext: null,
      tokenExpiresAt: pat.expiresAt ? endOfDay(pat.expiresAt) : null,
      caCertificate: input.caCertificate?.trim() || null,
      organizationDefaults: defaults,
      connectedAt: this.clock.now(),
      disconnectedAt: null,
      tokenRefreshedAt: null,
    });
    try {
      await this.repo.insert(connection);
    } catch (error) {
      if (created) await this.credentials.delete(credentialId).catch(() => undefined);
      throw error;
    }
    try {
      await this.hooks.afterConnected(connection); // before the announcement: its listeners find the organization
    } catch (error) {
      // The mutation answers an error, so it leaves nothing behind (issue 12: errors never write).
      await this.discard(connection.id, created ? credentialId : null);
      throw error;
    }
    this.logger.info(
      { connectionId: connection.id, gitlabUser: user.username, instanceUrl },
      'connected with a personal access token',
    );
    this.publish({
      connectionId: connection.id,
      status: 'CONNECTED',
      reason: null,
      at: this.clock.now().toISOString(),
    });
    return this.get(connection.id);
  }

  private async startOAuth(
    instanceUrl: string,
    input: ConnectInput,
    defaults: OrganizationDefaults,
  ): Promise<ConnectResult> {
    let credentialId: string | null = null;
    let clientId: string | null = null;
    if (input.method === 'OAUTH') {
      if (!this.instanceApp) throw oauthNotConfigured();
      if (input.instanceUrl && instanceUrl !== normalizeInstanceUrl(this.instanceApp.instanceUrl)) {
        throw validationError({
          instanceUrl: `the instance-wide OAuth app is registered on ${this.instanceApp.instanceUrl}; use OAUTH_APP with your own application for other instances`,
        });
      }
      instanceUrl = normalizeInstanceUrl(this.instanceApp.instanceUrl);
    } else {
      clientId = input.clientId?.trim() || null;
      if (!clientId) throw validationError({ clientId: "is required: your OAuth application's Application ID" });
      if (!!input.clientSecret === !!input.clientSecretCredentialId) {
        throw validationError({
          clientSecret: 'give either the secret or the id of a saved credential (clientSecretCredentialId)',
        });
      }
      credentialId = input.clientSecretCredentialId ?? null;
      if (credentialId)
        await this.credentials.requireKind(credentialId, 'OAUTH_CLIENT_SECRET', 'clientSecretCredentialId');
      else {
        const credential = await this.credentials.create({
          name: await this.freeCredentialName(
            `GitLab OAuth app ${clientId.slice(0, 8)} @ ${new URL(instanceUrl).host}`,
          ),
          kind: 'OAUTH_CLIENT_SECRET',
          secret: input.clientSecret!,
          username: clientId,
        });
        credentialId = credential.id;
      }
    }
    const connection = this.repo.create({
      id: newId(),
      instanceUrl,
      method: input.method,
      status: 'AWAITING_AUTHORIZATION',
      statusReason: null,
      login: null,
      gitlabUserId: null,
      gitlabUsername: null,
      gitlabUserName: null,
      gitlabUserWebUrl: null,
      scopes: [],
      credentialId,
      oauthClientId: clientId,
      accessTokenCiphertext: null,
      refreshTokenCiphertext: null,
      tokenExpiresAt: null,
      caCertificate: input.caCertificate?.trim() || null,
      organizationDefaults: defaults,
      connectedAt: null,
      disconnectedAt: null,
      tokenRefreshedAt: null,
    });
    await this.repo.insert(connection);
    let authorizationUrl: string;
    try {
      authorizationUrl = await this.attempts.start(connection, BACKUP_SCOPES);
    } catch (error) {
      await this.discard(
        connection.id,
        input.method === 'OAUTH_APP' && !input.clientSecretCredentialId ? credentialId : null,
      );
      throw error;
    }
    this.logger.info({ connectionId: connection.id, method: input.method, instanceUrl }, 'OAuth authorization started');
    this.publish({
      connectionId: connection.id,
      status: 'AWAITING_AUTHORIZATION',
      reason: null,
      at: this.clock.now().toISOString(),
    });
    return { connection, authorizationUrl };
  }

  /** Undoes a connect that failed after storing: the connection and the credential it created. */
  private async discard(connectionId: string, createdCredentialId: string | null): Promise<void> {
    try {
      await this.repo.delete({ id: connectionId });
      if (createdCredentialId) await this.credentials.delete(createdCredentialId);
    } catch (error) {
      this.logger.error({ connectionId, err: error }, 'could not remove a connection whose connect failed');
    }
  }

  private async freeCredentialName(base: string): Promise<string> {
    const existing = new Set((await this.credentials.list()).map((c) => c.name));
    let name = base;
    for (let i = 2; existing.has(name); i++) name = `${base} (${i})`;
    return name;
  }
}

/** GitLab PAT expiry is a date; the token stops working at the end of that day (UTC). */
const endOfDay = (date: string) => new Date(`${date}T23:59:59.999Z`);

/** Names what is wrong with a personal access token, or returns its owner and facts. */
export async function validatePersonalAccessToken(
  gitlab: GitLabClientFactory,
  access: { instanceUrl: string; token: string; caCertificate?: string | null },
  now: Date,
) {
  const client = gitlab.create({ ...access, tokenType: 'personal' });
  const field = 'personalAccessToken';
  try {
    const pat = await client.personalAccessTokenSelf();
    if (pat.revoked)
      throw new DomainError('TOKEN_REVOKED', 'the token was revoked on GitLab', {
        details: { fields: { [field]: 'was revoked on GitLab' } },
      });
    if (pat.expiresAt && endOfDay(pat.expiresAt) < now) {
      throw new DomainError('TOKEN_EXPIRED', `the token expired on ${pat.expiresAt}`, {
        details: { fields: { [field]: `expired on ${pat.expiresAt}` } },
      });
    }
    if (!pat.active)
      throw new DomainError('TOKEN_INVALID', 'the token is not active', {
        details: { fields: { [field]: 'is not active' } },
      });
    const has = (s: string) => pat.scopes.includes(s);
    const missing = [
      has('api') || has('read_api') ? null : 'read_api',
      has('api') || has('read_repository') || has('write_repository') ? null : 'read_repository',
    ].filter((s): s is string => s !== null);
    if (missing.length > 0) {
      throw new DomainError('TOKEN_SCOPE_INSUFFICIENT', `token lacks ${missing.join(' and ')}`, {
        details: {
          fields: { [field]: `lacks ${missing.join(' and ')} (has: ${pat.scopes.join(', ') || 'none'})` },
          missingScopes: missing,
        },
      });
    }
    const user = await client.currentUser();
    return { user, pat };
  } catch (error) {
    if (isDomainError(error, 'GITLAB_UNAUTHORIZED')) {
      const reason = error.details?.reason;
      if (reason === 'expired')
        throw new DomainError('TOKEN_EXPIRED', 'the token has expired', {
          details: { fields: { [field]: 'has expired' } },
        });
      if (reason === 'revoked')
        throw new DomainError('TOKEN_REVOKED', 'the token was revoked on GitLab', {
          details: { fields: { [field]: 'was revoked on GitLab' } },
        });
      throw new DomainError('TOKEN_INVALID', 'GitLab does not accept the token', {
        details: { fields: { [field]: 'is not accepted by GitLab (unknown or mistyped)' } },
      });
    }
    if (isDomainError(error, 'GITLAB_FORBIDDEN')) {
      throw new DomainError('TOKEN_SCOPE_INSUFFICIENT', 'token lacks read_api', {
        details: { fields: { [field]: 'lacks read_api' }, missingScopes: ['read_api'] },
      });
    }
    throw error;
  }
}
