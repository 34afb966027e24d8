import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, IsInt, IsOptional, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import {
  writeScopesOf,
  type ConnectionEntity,
  type ConnectionMethod,
  type ConnectionStatus,
  type RepoSyncScheduleValue,
} from './connection.entity.js';

export enum ConnectionMethodEnum {
  OAUTH = 'OAUTH',
  OAUTH_APP = 'OAUTH_APP',
  PERSONAL_ACCESS_TOKEN = 'PERSONAL_ACCESS_TOKEN',
}
registerEnumType(ConnectionMethodEnum, { name: 'ConnectionMethod' });

export enum ConnectionStatusEnum {
  AWAITING_AUTHORIZATION = 'AWAITING_AUTHORIZATION',
  CONNECTED = 'CONNECTED',
  ERROR = 'ERROR',
  EXPIRED = 'EXPIRED',
  DISCONNECTED = 'DISCONNECTED',
}
registerEnumType(ConnectionStatusEnum, { name: 'ConnectionStatus' });

export enum RepoSyncScheduleKind {
  HOURS = 'HOURS',
  INTERVAL = 'INTERVAL',
}
registerEnumType(RepoSyncScheduleKind, { name: 'RepoSyncScheduleKind' });

@ObjectType({
  simpleResolvers: true,
  description: 'When the repository list is re-discovered: hours of the day in a time zone, or an interval.',
})
export class RepoSyncSchedule {
  @Field(() => RepoSyncScheduleKind) kind!: RepoSyncScheduleKind;
  @Field(() => [Int], { nullable: true, description: 'HOURS: hours of the day (0–23).' }) hours!: number[] | null;
  @Field(() => String, { nullable: true, description: 'HOURS: IANA time zone, e.g. Europe/Warsaw.' }) timeZone!:
    string | null;
  @Field(() => Int, { nullable: true, description: 'INTERVAL: minutes between syncs (15–10080).' }) intervalMinutes!:
    number | null;

  static from(v: RepoSyncScheduleValue): RepoSyncSchedule {
    return Object.assign(new RepoSyncSchedule(), {
      kind: v.kind,
      hours: v.kind === 'HOURS' ? v.hours : null,
      timeZone: v.kind === 'HOURS' ? v.timeZone : null,
      intervalMinutes: v.kind === 'INTERVAL' ? v.intervalMinutes : null,
    });
  }
}

@InputType()
export class RepoSyncScheduleInput {
  @Field(() => RepoSyncScheduleKind) kind!: RepoSyncScheduleKind;
  @Field(() => [Int], { nullable: true })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(24)
  @IsInt({ each: true })
  @Min(0, { each: true })
  @Max(23, { each: true })
  hours?: number[];
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(64) timeZone?: string;
  @Field(() => Int, { nullable: true }) @IsOptional() @IsInt() intervalMinutes?: number;

  /** To the domain value; missing parts fail with the field named. */
  static toValue(input: RepoSyncScheduleInput): RepoSyncScheduleValue {
    return input.kind === RepoSyncScheduleKind.HOURS
      ? { kind: 'HOURS', hours: input.hours ?? [], timeZone: input.timeZone ?? 'UTC' }
      : { kind: 'INTERVAL', intervalMinutes: input.intervalMinutes ?? NaN };
  }
}

@ObjectType({ simpleResolvers: true })
export class GitLabUserSummary {
  @Field(() => Int) id!: number;
  @Field() username!: string;
  @Field(() => String, { nullable: true }) name!: string | null;
  @Field(() => String, { nullable: true }) webUrl!: string | null;
}

@ObjectType({
  simpleResolvers: true,
  description: 'How Labkeeper authenticates to one GitLab instance. Tokens are never returned.',
})
export class Connection {
  @Field(() => ID) id!: string;
  @Field() instanceUrl!: string;
  @Field(() => ConnectionMethodEnum) method!: ConnectionMethod;
  @Field(() => ConnectionStatusEnum) status!: ConnectionStatus;
  @Field(() => String, { nullable: true, description: 'Why the connection is in ERROR or EXPIRED.' }) statusReason!:
    string | null;
  @Field(() => String, { nullable: true, description: 'The username or e-mail given for token connections.' }) login!:
    string | null;
  @Field(() => GitLabUserSummary, { nullable: true }) gitlabUser!: GitLabUserSummary | null;
  @Field(() => [String]) scopes!: string[];
  @Field(() => [String], {
    description:
      "What a restore may write with: a PAT's own scopes; for OAuth, the separate write authorization (authorizeRestore), empty until granted.",
  })
  writeScopes!: string[];
  @Field(() => Date, { nullable: true, description: 'OAuth: when the write authorization was granted.' })
  writeAuthorizedAt!: Date | null;
  @Field(() => Date, {
    nullable: true,
    description: 'OAuth: access token expiry (refreshed automatically). PAT: expiry date.',
  })
  tokenExpiresAt!: Date | null;
  @Field(() => ID, {
    nullable: true,
    description: 'The Password Manager entry holding the PAT or OAuth client secret.',
  })
  credentialId!: string | null;
  @Field(() => String, { nullable: true }) oauthClientId!: string | null;
  @Field() hasCustomCaCertificate!: boolean;
  @Field() autoAddNewRepositories!: boolean;
  @Field() includeGroups!: boolean;
  @Field(() => RepoSyncSchedule) repoSyncSchedule!: RepoSyncSchedule;
  @Field(() => ID, { nullable: true }) defaultWorkerId!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) connectedAt!: Date | null;
  @Field(() => Date, { nullable: true }) disconnectedAt!: Date | null;

  static from(e: ConnectionEntity): Connection {
    return Object.assign(new Connection(), {
      id: e.id,
      instanceUrl: e.instanceUrl,
      method: e.method,
      status: e.status,
      statusReason: e.statusReason,
      login: e.login,
      gitlabUser:
        e.gitlabUserId !== null
          ? { id: e.gitlabUserId, username: e.gitlabUsername!, name: e.gitlabUserName, webUrl: e.gitlabUserWebUrl }
          : null,
      scopes: e.scopes,
      writeScopes: writeScopesOf(e),
      writeAuthorizedAt: e.writeAuthorizedAt,
      tokenExpiresAt: e.tokenExpiresAt,
      credentialId: e.credentialId,
      oauthClientId: e.oauthClientId,
      hasCustomCaCertificate: !!e.caCertificate,
      autoAddNewRepositories: e.organizationDefaults.autoAddNewRepositories,
      includeGroups: e.organizationDefaults.includeGroups,
      repoSyncSchedule: RepoSyncSchedule.from(e.organizationDefaults.repoSyncSchedule),
      defaultWorkerId: e.organizationDefaults.defaultWorkerId,
      createdAt: e.createdAt,
      connectedAt: e.connectedAt,
      disconnectedAt: e.disconnectedAt,
    });
  }
}

@ObjectType({ simpleResolvers: true, description: 'A top-level GitLab namespace reachable through a connection.' })
export class GitLabNamespaceInfo {
  @Field(() => Int) id!: number;
  @Field() kind!: string;
  @Field() name!: string;
  @Field() fullPath!: string;
  @Field() webUrl!: string;
  @Field(() => ID, { nullable: true, description: 'The Organization protecting it, if any.' }) organizationId!:
    string | null;
}

@ObjectType({ simpleResolvers: true })
export class ConnectGitLabPayload {
  @Field(() => Connection) connection!: Connection;
  @Field(() => String, { nullable: true, description: "OAuth methods: GitLab's authorize page, to open in a pop-up." })
  authorizationUrl!: string | null;
}

@ObjectType({ simpleResolvers: true })
export class ConnectionStatusEvent {
  @Field(() => ID) connectionId!: string;
  @Field(() => ConnectionStatusEnum) status!: ConnectionStatus;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field() at!: string;
}

@InputType({ description: 'Connect a GitLab organization. Method-specific fields are named per method.' })
export class ConnectGitLabInput {
  @Field(() => ConnectionMethodEnum) method!: ConnectionMethodEnum;
  @Field(() => String, { nullable: true, description: 'Default https://gitlab.com; a self-managed URL is allowed.' })
  @IsOptional()
  @MaxLength(2000)
  instanceUrl?: string;
  @Field(() => String, { nullable: true, description: 'PEM of a custom CA for a self-managed instance.' })
  @IsOptional()
  @MaxLength(100_000)
  caCertificate?: string;
  @Field(() => String, { nullable: true, description: 'PERSONAL_ACCESS_TOKEN: GitLab username or e-mail.' })
  @IsOptional()
  @MaxLength(255)
  login?: string;
  @Field(() => String, {
    nullable: true,
    description: 'PERSONAL_ACCESS_TOKEN: a new token (saved in the Password Manager).',
  })
  @IsOptional()
  @MaxLength(10_000)
  personalAccessToken?: string;
  @Field(() => ID, { nullable: true, description: 'PERSONAL_ACCESS_TOKEN: a saved credential instead of a new token.' })
  @IsOptional()
  credentialId?: string;
  @Field(() => String, { nullable: true, description: 'OAUTH_APP: Application ID.' })
  @IsOptional()
  @MaxLength(255)
  clientId?: string;
  @Field(() => String, { nullable: true, description: 'OAUTH_APP: Secret (saved in the Password Manager).' })
  @IsOptional()
  @MaxLength(10_000)
  clientSecret?: string;
  @Field(() => ID, { nullable: true, description: 'OAUTH_APP: a saved client-secret credential instead.' })
  @IsOptional()
  clientSecretCredentialId?: string;
  @Field(() => Boolean, { nullable: true, description: 'Default true.' })
  @IsOptional()
  autoAddNewRepositories?: boolean;
  @Field(() => Boolean, { nullable: true, description: 'Default true.' }) @IsOptional() includeGroups?: boolean;
  @Field(() => RepoSyncScheduleInput, { nullable: true, description: 'Default: every 6 hours.' })
  @IsOptional()
  @ValidateNested()
  repoSyncSchedule?: RepoSyncScheduleInput;
  @Field(() => ID, { nullable: true }) @IsOptional() defaultWorkerId?: string;
  @Field(() => String, { nullable: true, description: 'A group path (or username) to protect as soon as connected.' })
  @IsOptional()
  @MaxLength(1000)
  namespacePath?: string;
}
