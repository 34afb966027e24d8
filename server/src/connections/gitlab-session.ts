/**
 * Valid GitLab access for a Connection, whoever asks (API or worker process):
 * - OAuth access tokens are refreshed REFRESH_MARGIN_MS before they expire, and once more when
 *   GitLab answers 401 anyway: every access handed out carries `renew`, which each GitLab
 *   transport (REST, protocol v2 fetch, the git command, LFS, restore pushes) calls on a 401
 *   before it retries. GitLab rotates refresh tokens (the old pair dies), so a refresh
 *   runs under a row lock (SELECT … FOR UPDATE) and re-reads the row: two processes never spend
 *   the same refresh token.
 * - A refresh GitLab rejects, or a personal access token GitLab rejects, marks the connection
 *   EXPIRED (published) and fails with CONNECTION_NOT_CONNECTED.
 * - `{ write: true }` asks for write access (restores). A personal access token is its own
 *   write access (its scopes decide). An OAuth connection uses its separate write authorization
 *   (`authorizeRestore`, scopes `api write_repository`), refreshed the same way; without one, or
 *   when GitLab refuses to refresh it, the call fails with WRITE_AUTHORIZATION_REQUIRED and the
 *   connection stays CONNECTED: backups go on with the read-only pair.
 */
import type { DataSource } from 'typeorm';
import type { CredentialService } from '../credentials/credential.service.js';
import type { SecretBox } from '../credentials/secret-box.js';
import type {
  GitLabAccess,
  GitLabClient,
  GitLabClientFactory,
  GitLabOAuthClient,
  OAuthApp,
  OAuthTokens,
} from '../gitlab/gitlab.port.js';
import type { Clock } from '../shared/clock.js';
import { isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { ConnectionEntity } from './connection.entity.js';
import {
  connectionNotConnected,
  connectionNotFound,
  oauthNotConfigured,
  writeAuthorizationRequired,
} from './connection.errors.js';
import type { ConnectionStatusChanged } from './connection.events.js';

export const REFRESH_MARGIN_MS = 5 * 60_000;

export interface InstanceOAuthApp {
  instanceUrl: string;
  clientId: string;
  clientSecret: string;
}

export type TokenKind = 'access' | 'refresh' | 'write-access' | 'write-refresh';
export const tokenContext = (connectionId: string, kind: TokenKind) => `connection:${connectionId}:${kind}`;

/** Which OAuth token pair: the connection's read-only one, or the write authorization. */
interface Pair {
  write: boolean;
  access: 'access' | 'write-access';
  refresh: 'refresh' | 'write-refresh';
}
const READ: Pair = { write: false, access: 'access', refresh: 'refresh' };
const WRITE: Pair = { write: true, access: 'write-access', refresh: 'write-refresh' };

export class GitLabSessions {
  constructor(
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly credentials: CredentialService,
    private readonly gitlab: GitLabClientFactory,
    private readonly oauth: GitLabOAuthClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly publish: (event: ConnectionStatusChanged) => void,
    private readonly instanceApp: InstanceOAuthApp | null,
    private readonly redirectUri: string,
  ) {}

  /** Runs `work` with a GitLab client for the connection, refreshing an OAuth token once on 401. */
  async withGitLab<T>(
    connectionId: string,
    work: (client: GitLabClient) => Promise<T>,
    options: { write?: boolean } = {},
  ): Promise<T> {
    const access = await this.access(connectionId, { write: options.write });
    try {
      return await work(this.gitlab.create(access));
    } catch (error) {
      if (!isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
      const connection = await this.load(connectionId);
      if (connection.method === 'PERSONAL_ACCESS_TOKEN') {
        const reason = error.details?.reason ?? 'invalid';
        await this.markExpired(connection, `GitLab rejected the personal access token (${reason})`);
        throw connectionNotConnected(connectionId, 'EXPIRED');
      }
      const refreshed = await this.access(connectionId, { force: access.token, write: options.write });
      return work(this.gitlab.create(refreshed));
    }
  }

  /**
   * Current access for a CONNECTED connection. With `force` (the token that just got a 401), the
   * OAuth token is refreshed unless another process already replaced it.
   */
  async access(connectionId: string, options: { force?: string; write?: boolean } = {}): Promise<GitLabAccess> {
    const connection = await this.load(connectionId);
    if (connection.status !== 'CONNECTED') throw connectionNotConnected(connectionId, connection.status);
    if (connection.method === 'PERSONAL_ACCESS_TOKEN') {
      const token = await this.credentials.reveal(connection.credentialId!);
      return {
        instanceUrl: connection.instanceUrl,
        token,
        tokenType: 'personal',
        caCertificate: connection.caCertificate,
      };
    }
    const pair = options.write ? WRITE : READ;
    const sealed = pair.write ? connection.writeAccessTokenCiphertext : connection.accessTokenCiphertext;
    if (!sealed)
      throw pair.write
        ? writeAuthorizationRequired(connectionId, null)
        : connectionNotConnected(connectionId, connection.status);
    const token = this.box.open(sealed, tokenContext(connectionId, pair.access));
    const access =
      !options.force && !this.needsRefresh(connection, pair)
        ? this.oauthAccess(connection, token)
        : await this.refresh(connectionId, options.force, pair);
    return this.renewable(connectionId, access, pair);
  }

  /**
   * Gives an OAuth access its `renew`: GitLab rejected `rejected` before its known expiry
   * (revoked, rotated, clocks apart), so refresh under the row lock — unless another process
   * already did — and carry on with the new token. A refused refresh expires the connection (or
   * drops the write authorization) as any refresh does.
   */
  private renewable(connectionId: string, access: GitLabAccess, pair: Pair): GitLabAccess {
    access.renew = async (rejected: string) => {
      this.logger.info(
        { connectionId, write: pair.write },
        'GitLab rejected the OAuth token before its expiry; refreshing it',
      );
      const fresh = await this.access(connectionId, { force: rejected, write: pair.write });
      access.token = fresh.token;
    };
    return access;
  }

  /** The OAuth application a connection authorizes with (instance-wide or the user's own). */
  async appFor(connection: ConnectionEntity): Promise<OAuthApp> {
    if (connection.method === 'OAUTH') {
      if (!this.instanceApp) throw oauthNotConfigured();
      return { ...this.instanceApp, redirectUri: this.redirectUri, caCertificate: connection.caCertificate };
    }
    const clientSecret = await this.credentials.reveal(connection.credentialId!);
    return {
      instanceUrl: connection.instanceUrl,
      clientId: connection.oauthClientId!,
      clientSecret,
      redirectUri: this.redirectUri,
      caCertificate: connection.caCertificate,
    };
  }

  /** Stores a fresh OAuth token pair on the entity (sealed), without saving; `write` for the write authorization. */
  applyTokens(connection: ConnectionEntity, tokens: OAuthTokens, options: { write?: boolean } = {}): void {
    const pair = options.write ? WRITE : READ;
    const access = this.box.seal(tokens.accessToken, tokenContext(connection.id, pair.access));
    const refresh = tokens.refreshToken
      ? this.box.seal(tokens.refreshToken, tokenContext(connection.id, pair.refresh))
      : null;
    const expiresAt = tokens.expiresIn ? new Date(tokens.createdAt.getTime() + tokens.expiresIn * 1000) : null;
    if (pair.write) {
      Object.assign(connection, {
        writeAccessTokenCiphertext: access,
        writeRefreshTokenCiphertext: refresh,
        writeTokenExpiresAt: expiresAt,
      });
      if (tokens.scopes.length > 0) connection.writeScopes = tokens.scopes;
      return;
    }
    Object.assign(connection, {
      accessTokenCiphertext: access,
      refreshTokenCiphertext: refresh,
      tokenExpiresAt: expiresAt,
    });
    if (tokens.scopes.length > 0) connection.scopes = tokens.scopes;
  }

  /** Forgets the write authorization (on the entity, without saving). */
  dropWriteTokens(connection: ConnectionEntity): void {
    Object.assign(connection, {
      writeAccessTokenCiphertext: null,
      writeRefreshTokenCiphertext: null,
      writeTokenExpiresAt: null,
      writeScopes: [],
    });
  }

  async markExpired(connection: ConnectionEntity, reason: string): Promise<void> {
    await this.dataSource
      .getRepository(ConnectionEntity)
      .update({ id: connection.id }, { status: 'EXPIRED', statusReason: reason });
    this.logger.warn({ connectionId: connection.id, reason }, 'connection expired');
    this.publish({ connectionId: connection.id, status: 'EXPIRED', reason, at: this.clock.now().toISOString() });
  }

  private needsRefresh(connection: ConnectionEntity, pair: Pair = READ): boolean {
    const expiresAt = pair.write ? connection.writeTokenExpiresAt : connection.tokenExpiresAt;
    return expiresAt !== null && expiresAt.getTime() - this.clock.now().getTime() <= REFRESH_MARGIN_MS;
  }

  private oauthAccess(connection: ConnectionEntity, token: string): GitLabAccess {
    return { instanceUrl: connection.instanceUrl, token, tokenType: 'oauth', caCertificate: connection.caCertificate };
  }

  private async refresh(connectionId: string, failedToken: string | undefined, pair: Pair): Promise<GitLabAccess> {
    let expiredReason: string | null = null;
    const access = await this.dataSource.transaction(async (tx) => {
      const repo = tx.getRepository(ConnectionEntity);
      const locked = await repo.findOne({ where: { id: connectionId }, lock: { mode: 'pessimistic_write' } });
      if (!locked) throw connectionNotFound(connectionId);
      if (locked.status !== 'CONNECTED') throw connectionNotConnected(connectionId, locked.status);
      const sealedAccess = pair.write ? locked.writeAccessTokenCiphertext : locked.accessTokenCiphertext;
      const sealedRefresh = pair.write ? locked.writeRefreshTokenCiphertext : locked.refreshTokenCiphertext;
      if (!sealedAccess)
        throw pair.write
          ? writeAuthorizationRequired(connectionId, null)
          : connectionNotConnected(connectionId, locked.status);
      const current = this.box.open(sealedAccess, tokenContext(connectionId, pair.access));
      // Another process refreshed while we waited for the lock: use its token.
      if (failedToken ? current !== failedToken : !this.needsRefresh(locked, pair))
        return this.oauthAccess(locked, current);
      if (!sealedRefresh) {
        expiredReason = 'the OAuth token expired and GitLab gave no refresh token';
        return null;
      }
      const refreshToken = this.box.open(sealedRefresh, tokenContext(connectionId, pair.refresh));
      try {
        const tokens = await this.oauth.refresh(await this.appFor(locked), refreshToken);
        this.applyTokens(locked, tokens, { write: pair.write });
        if (!pair.write) locked.tokenRefreshedAt = this.clock.now();
        await repo.save(locked);
        this.logger.info(
          {
            connectionId,
            write: pair.write,
            expiresAt: (pair.write ? locked.writeTokenExpiresAt : locked.tokenExpiresAt)?.toISOString(),
          },
          'OAuth token refreshed',
        );
        return this.oauthAccess(locked, tokens.accessToken);
      } catch (error) {
        if (!isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
        expiredReason = `GitLab refused to refresh the OAuth token (${error.details?.oauthError ?? 'invalid_grant'}); authorize again`;
        return null;
      }
    });
    if (access) return access;
    const connection = await this.load(connectionId);
    if (pair.write) {
      // Backups keep their read-only pair: only the write authorization is gone.
      this.dropWriteTokens(connection);
      await this.dataSource.getRepository(ConnectionEntity).save(connection);
      this.logger.warn({ connectionId, reason: expiredReason }, 'write authorization dropped');
      throw writeAuthorizationRequired(connectionId, expiredReason);
    }
    await this.markExpired(connection, expiredReason!);
    throw connectionNotConnected(connectionId, 'EXPIRED');
  }

  private async load(connectionId: string): Promise<ConnectionEntity> {
    const found = await this.dataSource.getRepository(ConnectionEntity).findOneBy({ id: connectionId });
    if (!found) throw connectionNotFound(connectionId);
    return found;
  }
}
