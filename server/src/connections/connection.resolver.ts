import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver, Root, Subscription, UseMiddleware } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import type { ConnectionStatusChanged } from './connection.events.js';
import {
  ConnectGitLabInput,
  ConnectGitLabPayload,
  Connection,
  ConnectionStatusEvent,
  GitLabNamespaceInfo,
  RepoSyncScheduleInput,
} from './connection.type.js';
import { FieldResolver } from 'type-graphql';
import { NotCached } from '../graphql/response-cache.js';

@Resolver(() => Connection)
export class ConnectionResolver {
  @Authorized()
  @Query(() => [Connection])
  async connections(@Ctx() { services }: GraphQLContext): Promise<Connection[]> {
    return (await services.connections.list()).map(Connection.from);
  }

  @Authorized()
  @Query(() => Connection)
  async connection(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext): Promise<Connection> {
    return Connection.from(await services.connections.get(id));
  }

  @Authorized()
  @Query(() => String, { description: 'The redirect URI to register in your GitLab OAuth application.' })
  oauthRedirectUri(@Ctx() { services }: GraphQLContext): string {
    return services.oauthRedirectUri;
  }

  @Authorized()
  @Query(() => String, {
    nullable: true,
    description:
      "The GitLab instance method OAUTH (Labkeeper's own OAuth application) signs in to; null when none is configured (use OAUTH_APP or a token).",
  })
  oauthInstanceUrl(@Ctx() { services }: GraphQLContext): string | null {
    return services.connections.oauthInstanceUrl();
  }

  @FieldResolver(() => [String], { description: 'E.g. a personal access token that expires within 14 days.' })
  async warnings(@Root() connection: Connection, @Ctx() { services, loaders }: GraphQLContext): Promise<string[]> {
    const entity = await loaders.connection.load(connection.id);
    return entity ? services.connections.warnings(entity) : [];
  }

  @UseMiddleware(NotCached)
  @FieldResolver(() => [GitLabNamespaceInfo], {
    description: 'Top-level namespaces the GitLab user can reach (asks GitLab).',
  })
  async namespaces(
    @Root() connection: Connection,
    @Ctx() { services }: GraphQLContext,
  ): Promise<GitLabNamespaceInfo[]> {
    const [namespaces, orgs] = await Promise.all([
      services.connections.namespaces(connection.id),
      services.organizations.list(connection.id),
    ]);
    return namespaces.map((n) =>
      Object.assign(new GitLabNamespaceInfo(), {
        ...n,
        organizationId: orgs.find((o) => o.gitlabNamespaceId === n.id)?.id ?? null,
      }),
    );
  }

  @Authorized('ADMIN')
  @Mutation(() => ConnectGitLabPayload)
  async connectGitLab(@Arg('input') input: ConnectGitLabInput, @Ctx() { services }: GraphQLContext) {
    const { connection, authorizationUrl } = await services.connections.connect({
      ...input,
      repoSyncSchedule: input.repoSyncSchedule ? RepoSyncScheduleInput.toValue(input.repoSyncSchedule) : null,
    });
    return Object.assign(new ConnectGitLabPayload(), { connection: Connection.from(connection), authorizationUrl });
  }

  @Authorized('ADMIN')
  @Mutation(() => ConnectGitLabPayload, { description: 'A fresh authorize URL for an OAuth connection.' })
  async reauthorizeConnection(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    const { connection, authorizationUrl } = await services.connections.reauthorize(id);
    return Object.assign(new ConnectGitLabPayload(), { connection: Connection.from(connection), authorizationUrl });
  }

  @Authorized('RESTORE_OPERATOR')
  @Mutation(() => ConnectGitLabPayload, {
    description:
      'OAuth: an authorize URL for the separate write authorization restores need (api write_repository); the connection keeps its read-only tokens for backups.',
  })
  async authorizeRestore(@Arg('connectionId', () => ID) connectionId: string, @Ctx() { services }: GraphQLContext) {
    const { connection, authorizationUrl } = await services.connections.authorizeRestore(connectionId);
    return Object.assign(new ConnectGitLabPayload(), { connection: Connection.from(connection), authorizationUrl });
  }

  @Authorized('ADMIN')
  @Mutation(() => Connection, {
    description: 'Revokes OAuth tokens where GitLab allows; the connection stays as history.',
  })
  async disconnect(@Arg('id', () => ID) id: string, @Ctx() { services }: GraphQLContext) {
    return Connection.from(await services.connections.disconnect(id));
  }

  @Authorized()
  @Subscription(() => ConnectionStatusEvent, {
    topics: 'CONNECTION_STATUS_CHANGED',
    // One connection's changes (scoped delivery, graphql/pubsub.ts), or every connection's.
    topicId: ({ args }: { args: { id?: string | null } }) => args.id ?? undefined,
    description: 'Status changes of one connection (id) or of all.',
  })
  connectionStatusChanged(
    @Root() event: ConnectionStatusChanged,
    @Arg('id', () => ID, { nullable: true }) _id?: string,
  ): ConnectionStatusEvent {
    return Object.assign(new ConnectionStatusEvent(), event);
  }
}
