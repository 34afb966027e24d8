/** OAuth records: applications, authorization grants and Doorkeeper token rows. */
import { randomBytes } from 'node:crypto';
import type { OAuthApplicationRecord, OAuthTokenRecord } from './model.js';
import type { SimulatorState } from './state.js';

export interface OAuthTokenView {
  id: number;
  userId: number;
  applicationId: number | null;
  accessToken: string;
  refreshToken: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  revoked: boolean;
  expired: boolean;
  /** Would authenticate an API request now. */
  active: boolean;
}

// Doorkeeper with default_generator_method :hex (config/initializers/doorkeeper.rb): 64 hex chars.
const hexToken = (): string => randomBytes(32).toString('hex');

export function createOAuthApplication(
  state: SimulatorState,
  input: { name: string; redirectUri: string | string[]; scopes: string[]; confidential?: boolean },
): { id: number; clientId: string; clientSecret: string } {
  const app: OAuthApplicationRecord = {
    id: state.nextId('oauth_app'),
    name: input.name,
    uid: hexToken(),
    // GitLab prefixes application secrets with gloas- (Gitlab::DoorkeeperSecretStoring::Token::UniqueApplicationToken).
    secret: `gloas-${hexToken()}`,
    redirectUris: Array.isArray(input.redirectUri) ? input.redirectUri : input.redirectUri.split(/\s+/).filter(Boolean),
    scopes: input.scopes,
    confidential: input.confidential ?? true,
  };
  state.oauthApps.set(app.id, app);
  return { id: app.id, clientId: app.uid, clientSecret: app.secret };
}

export function issueOAuthToken(
  state: SimulatorState,
  input: { applicationId: number | null; userId: number; scopes: string[]; previousRefreshToken?: string | null },
): OAuthTokenRecord {
  const token: OAuthTokenRecord = {
    id: state.nextId('oauth_token'),
    applicationId: input.applicationId,
    userId: input.userId,
    token: hexToken(),
    refreshToken: hexToken(),
    scopes: input.scopes,
    createdAt: state.now(),
    expiresInSeconds: state.accessTokenTtlSeconds,
    revokedAt: null,
    previousRefreshToken: input.previousRefreshToken ?? null,
  };
  state.oauthTokens.set(token.id, token);
  return token;
}

export function newGrantCode(): string {
  return hexToken();
}

export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}
