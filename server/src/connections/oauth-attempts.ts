/**
 * OAuth authorize attempts and their completion (the callback).
 *
 * `state` is `<attemptId>.<secret>`: the id finds the attempt (and so the connection), the secret
 * is checked against its stored sha256, and the attempt is single use and lives 10 minutes. The
 * PKCE verifier is stored sealed. Outcomes:
 * - consent given → code exchanged with the verifier → tokens sealed → GitLab user read → CONNECTED
 * - consent denied, a wrong state secret, a replayed or expired attempt → the connection, while it
 *   still awaits authorization, goes to ERROR with the reason (published). A replay never changes a
 *   connection that is already CONNECTED. A state naming no attempt changes nothing.
 * - A WRITE attempt (`authorizeRestore`: the separate `api write_repository` authorization a
 *   restore needs) never changes the connection's status or its read-only tokens. Its tokens are
 *   kept beside them, and only when the GitLab user who consented is the connection's own user:
 *   write access granted by someone else would make restores act as another person.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { IsNull, type DataSource } from 'typeorm';
import type { SecretBox } from '../credentials/secret-box.js';
import type {
  GitLabClientFactory,
  GitLabOAuthClient,
  GitLabUser,
  OAuthApp,
  OAuthTokens,
} from '../gitlab/gitlab.port.js';
import { createPkcePair, randomState } from '../gitlab/oauth.client.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { ConnectionEntity, OAuthAttemptEntity } from './connection.entity.js';
import type { GitLabSessions } from './gitlab-session.js';
import { tokenContext } from './gitlab-session.js';

export const ATTEMPT_TTL_MS = 10 * 60_000;

export interface CallbackParams {
  state?: string | null;
  code?: string | null;
  error?: string | null;
  errorDescription?: string | null;
}

export interface CallbackOutcome {
  ok: boolean;
  connectionId: string | null;
  message: string;
}

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

export class OAuthAttempts {
  constructor(
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly sessions: GitLabSessions,
    private readonly gitlab: GitLabClientFactory,
    private readonly oauth: GitLabOAuthClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly setStatus: (
      c: ConnectionEntity,
      status: ConnectionEntity['status'],
      reason: string | null,
      beforeAnnounce?: () => Promise<void>,
    ) => Promise<unknown>,
    private readonly afterConnected: (c: ConnectionEntity) => Promise<void>,
  ) {}

  /** Creates an attempt and returns GitLab's authorize URL for it. */
  async start(
    connection: ConnectionEntity,
    scopes: string[],
    purpose: 'CONNECT' | 'WRITE' = 'CONNECT',
  ): Promise<string> {
    const app = await this.sessions.appFor(connection);
    const id = newId();
    const secret = randomState();
    const pkce = createPkcePair();
    await this.dataSource.getRepository(OAuthAttemptEntity).insert({
      id,
      connectionId: connection.id,
      stateHash: sha256(secret),
      codeVerifierCiphertext: this.box.seal(pkce.verifier, `oauth-attempt:${id}`),
      scopes,
      purpose,
      redirectUri: app.redirectUri,
      expiresAt: new Date(this.clock.now().getTime() + ATTEMPT_TTL_MS),
      consumedAt: null,
    });
    return this.oauth.authorizeUrl(app, { state: `${id}.${secret}`, codeChallenge: pkce.challenge, scopes });
  }

  async complete(params: CallbackParams): Promise<CallbackOutcome> {
    const [attemptId, secret] = (params.state ?? '').split('.', 2);
    const attempts = this.dataSource.getRepository(OAuthAttemptEntity);
    const attempt = attemptId && /^[0-9a-f-]{36}$/.test(attemptId) ? await attempts.findOneBy({ id: attemptId }) : null;
    if (!attempt)
      return {
        ok: false,
        connectionId: null,
        message: 'This authorization link is not valid. Start connecting again in Labkeeper.',
      };
    const connection = await this.dataSource
      .getRepository(ConnectionEntity)
      .findOneByOrFail({ id: attempt.connectionId });

    // A state whose secret does not match is not from our pop-up: refuse it without touching the
    // attempt or the connection, so a forged callback cannot burn the user's genuine consent.
    const stateMatches = secret !== undefined && safeEqual(sha256(secret), attempt.stateHash);
    if (!stateMatches) {
      this.logger.warn(
        { connectionId: connection.id, attemptId: attempt.id },
        'OAuth callback with a state that does not match refused (possible forgery)',
      );
      return {
        ok: false,
        connectionId: null,
        message: 'This authorization response does not match the attempt Labkeeper started (possible forgery).',
      };
    }
    // Consume first, atomically: a concurrent or later replay finds it consumed.
    const now = this.clock.now();
    const consumed = await attempts.update({ id: attempt.id, consumedAt: IsNull() }, { consumedAt: now });
    const failure =
      consumed.affected === 0
        ? 'this authorization response was already used (replayed); authorize again'
        : attempt.expiresAt < now
          ? 'the authorization attempt expired (10 minutes); authorize again'
          : params.error
            ? `GitLab consent was denied (${params.error}${params.errorDescription ? `: ${params.errorDescription}` : ''})`
            : !params.code
              ? 'GitLab returned no authorization code'
              : null;
    if (failure) return this.fail(connection, failure);
    if (attempt.purpose === 'WRITE') return this.completeWrite(connection, attempt, params.code!);

    try {
      const app = await this.sessions.appFor(connection);
      const { tokens, user } = await this.exchangeCode(connection, attempt, app, params.code!);
      this.sessions.applyTokens(connection, tokens);
      if (tokens.scopes.length === 0) connection.scopes = attempt.scopes;
      Object.assign(connection, {
        gitlabUserId: user.id,
        gitlabUsername: user.username,
        gitlabUserName: user.name,
        gitlabUserWebUrl: user.webUrl,
        login: user.username,
        disconnectedAt: null,
      });
      await this.setStatus(connection, 'CONNECTED', null, () => this.afterConnected(connection));
      return { ok: true, connectionId: connection.id, message: `Connected to GitLab as ${user.username}.` };
    } catch (error) {
      const reason = error instanceof DomainError ? error.message : 'the code exchange with GitLab failed';
      this.logger.warn({ connectionId: connection.id, err: error }, 'OAuth code exchange failed');
      return this.fail(connection, `GitLab did not complete the authorization: ${reason}`);
    }
  }

  /** The write authorization's callback: tokens kept beside the read-only pair, for the connection's own GitLab user only. */
  private async completeWrite(
    connection: ConnectionEntity,
    attempt: OAuthAttemptEntity,
    code: string,
  ): Promise<CallbackOutcome> {
    const app = await this.sessions.appFor(connection);
    try {
      const { tokens, user } = await this.exchangeCode(connection, attempt, app, code);
      if (user.id !== connection.gitlabUserId) {
        await this.oauth.revoke(app, tokens.accessToken).catch(() => undefined);
        return this.fail(
          connection,
          `write access was granted by GitLab user ${user.username}, but this connection is ${connection.gitlabUsername}'s; sign in to GitLab as ${connection.gitlabUsername} and authorize again`,
        );
      }
      const fresh = await this.dataSource.getRepository(ConnectionEntity).findOneByOrFail({ id: connection.id });
      this.sessions.applyTokens(fresh, tokens, { write: true });
      if (tokens.scopes.length === 0) fresh.writeScopes = attempt.scopes;
      fresh.writeAuthorizedAt = this.clock.now();
      await this.dataSource.getRepository(ConnectionEntity).save(fresh);
      this.logger.info({ connectionId: connection.id, scopes: fresh.writeScopes }, 'write authorization granted');
      // The status does not change (nothing to publish); the pop-up tells its opener, as after a connect.
      return {
        ok: true,
        connectionId: connection.id,
        message: `Restores may now write to GitLab as ${user.username}.`,
      };
    } catch (error) {
      const reason = error instanceof DomainError ? error.message : 'the code exchange with GitLab failed';
      this.logger.warn({ connectionId: connection.id, err: error }, 'OAuth write authorization failed');
      return this.fail(connection, `GitLab did not complete the write authorization: ${reason}`);
    }
  }

  /** The callback's code exchanged with the attempt's PKCE verifier, and the GitLab user the tokens belong to. */
  private async exchangeCode(
    connection: ConnectionEntity,
    attempt: OAuthAttemptEntity,
    app: OAuthApp,
    code: string,
  ): Promise<{ tokens: OAuthTokens; user: GitLabUser }> {
    const verifier = this.box.open(attempt.codeVerifierCiphertext, `oauth-attempt:${attempt.id}`);
    const tokens = await this.oauth.exchangeCode(app, { code, codeVerifier: verifier });
    const user = await this.gitlab
      .create({
        instanceUrl: connection.instanceUrl,
        token: tokens.accessToken,
        tokenType: 'oauth',
        caCertificate: connection.caCertificate,
      })
      .currentUser();
    return { tokens, user };
  }

  async revokeTokens(connection: ConnectionEntity): Promise<void> {
    const app = await this.sessions.appFor(connection);
    const tokens = [
      connection.accessTokenCiphertext &&
        this.box.open(connection.accessTokenCiphertext, tokenContext(connection.id, 'access')),
      connection.refreshTokenCiphertext &&
        this.box.open(connection.refreshTokenCiphertext, tokenContext(connection.id, 'refresh')),
      connection.writeAccessTokenCiphertext &&
        this.box.open(connection.writeAccessTokenCiphertext, tokenContext(connection.id, 'write-access')),
      connection.writeRefreshTokenCiphertext &&
        this.box.open(connection.writeRefreshTokenCiphertext, tokenContext(connection.id, 'write-refresh')),
    ].filter((t): t is string => !!t);
    for (const token of tokens) await this.oauth.revoke(app, token);
  }

  private async fail(connection: ConnectionEntity, reason: string): Promise<CallbackOutcome> {
    if (connection.status === 'AWAITING_AUTHORIZATION') await this.setStatus(connection, 'ERROR', reason);
    else this.logger.warn({ connectionId: connection.id, reason }, 'OAuth callback refused; connection left as it is');
    return { ok: false, connectionId: connection.id, message: reason };
  }
}

function safeEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
