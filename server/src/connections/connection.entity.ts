import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const CONNECTION_METHODS = ['OAUTH', 'OAUTH_APP', 'PERSONAL_ACCESS_TOKEN'] as const;
export type ConnectionMethod = (typeof CONNECTION_METHODS)[number];

export const CONNECTION_STATUSES = ['AWAITING_AUTHORIZATION', 'CONNECTED', 'ERROR', 'EXPIRED', 'DISCONNECTED'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** What the user chose in advanced mode; applied to every Organization protected through this Connection. */
export interface OrganizationDefaults {
  autoAddNewRepositories: boolean;
  includeGroups: boolean;
  repoSyncSchedule: RepoSyncScheduleValue;
  defaultWorkerId: string | null;
  /** A group path given at connect time: protected as soon as the connection is CONNECTED. */
  namespacePath: string | null;
}

export type RepoSyncScheduleValue =
  { kind: 'HOURS'; hours: number[]; timeZone: string } | { kind: 'INTERVAL'; intervalMinutes: number };

/**
 * How Labkeeper authenticates to one GitLab instance. Tokens live only as ciphertext
 * (`*_ciphertext`, AES-256-GCM under the master key); PATs and OAuth app secrets are Credentials.
 */
@Entity('connections')
export class ConnectionEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text', { name: 'instance_url' }) instanceUrl!: string;
  @Column('text') method!: ConnectionMethod;
  @Index()
  @Column('text')
  status!: ConnectionStatus;
  @Column('text', { name: 'status_reason', nullable: true }) statusReason!: string | null;
  /** The username or e-mail the user typed for PAT connections. */
  @Column('text', { name: 'login', nullable: true }) login!: string | null;
  @Column('integer', { name: 'gitlab_user_id', nullable: true }) gitlabUserId!: number | null;
  @Column('text', { name: 'gitlab_username', nullable: true }) gitlabUsername!: string | null;
  @Column('text', { name: 'gitlab_user_name', nullable: true }) gitlabUserName!: string | null;
  @Column('text', { name: 'gitlab_user_web_url', nullable: true }) gitlabUserWebUrl!: string | null;
  @Column('text', { array: true, default: () => "'{}'" }) scopes!: string[];
  /** PAT: the secret. OAUTH_APP: the application's client secret. */
  @Column('uuid', { name: 'credential_id', nullable: true }) credentialId!: string | null;
  @Column('text', { name: 'oauth_client_id', nullable: true }) oauthClientId!: string | null;
  @Column('bytea', { name: 'access_token_ciphertext', nullable: true }) accessTokenCiphertext!: Buffer | null;
  @Column('bytea', { name: 'refresh_token_ciphertext', nullable: true }) refreshTokenCiphertext!: Buffer | null;
  /** OAuth: when the access token expires. PAT: the token's expiry date (end of that day, UTC). */
  @Column('timestamptz', { name: 'token_expires_at', nullable: true }) tokenExpiresAt!: Date | null;
  @Column('text', { name: 'ca_certificate', nullable: true }) caCertificate!: string | null;
  @Column('jsonb', { name: 'organization_defaults' }) organizationDefaults!: OrganizationDefaults;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'connected_at', nullable: true }) connectedAt!: Date | null;
  @Column('timestamptz', { name: 'disconnected_at', nullable: true }) disconnectedAt!: Date | null;
  @Column('timestamptz', { name: 'token_refreshed_at', nullable: true }) tokenRefreshedAt!: Date | null;
  /**
   * OAuth: the separate write authorization a restore asks for (`api write_repository`), kept
   * apart from the read-only pair backups use, so write access exists only once someone asked
   * for it and can be dropped without touching backups. Null until `authorizeRestore` completes.
   */
  @Column('bytea', { name: 'write_access_token_ciphertext', nullable: true })
  writeAccessTokenCiphertext!: Buffer | null;
  @Column('bytea', { name: 'write_refresh_token_ciphertext', nullable: true })
  writeRefreshTokenCiphertext!: Buffer | null;
  @Column('timestamptz', { name: 'write_token_expires_at', nullable: true }) writeTokenExpiresAt!: Date | null;
  @Column('text', { name: 'write_scopes', array: true, default: () => "'{}'" }) writeScopes!: string[];
  @Column('timestamptz', { name: 'write_authorized_at', nullable: true }) writeAuthorizedAt!: Date | null;
}

/** One OAuth authorize attempt: PKCE verifier (encrypted) and the hash of its state, single use. */
@Entity('oauth_attempts')
export class OAuthAttemptEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index()
  @Column('uuid', { name: 'connection_id' })
  connectionId!: string;
  @Index({ unique: true })
  @Column('text', { name: 'state_hash' })
  stateHash!: string;
  @Column('bytea', { name: 'code_verifier_ciphertext' }) codeVerifierCiphertext!: Buffer;
  @Column('text', { array: true }) scopes!: string[];
  /** CONNECT: the connection's (read-only) authorization; WRITE: the separate one a restore asks for. */
  @Column('text', { default: 'CONNECT' }) purpose!: 'CONNECT' | 'WRITE';
  @Column('text', { name: 'redirect_uri' }) redirectUri!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('timestamptz', { name: 'consumed_at', nullable: true }) consumedAt!: Date | null;
}

/** The scopes a connection can write with: a PAT's own, an OAuth connection's write authorization's. */
export function writeScopesOf(connection: ConnectionEntity): string[] {
  return connection.method === 'PERSONAL_ACCESS_TOKEN' ? connection.scopes : connection.writeScopes;
}
