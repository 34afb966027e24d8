/**
 * Organizations under protection and their discovered repositories and groups.
 * Protecting a namespace creates the Organization with the connection's advanced-mode options
 * (overridable), then queues its first sync. Editing the RepoSyncSchedule recomputes `nextSyncAt`,
 * which the `repositories.schedule` job reads (see sync.service.ts).
 */
import {
  ILike,
  In,
  IsNull,
  type DataSource,
  type EntityManager,
  type FindOptionsWhere,
  type Repository,
} from 'typeorm';
import type { RepoSyncScheduleValue } from '../connections/connection.entity.js';
import type { ConnectionRecords } from '../connections/connection-records.js';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { Clock } from '../shared/clock.js';
import { isUniqueViolation } from '../shared/db-errors.js';
import { DomainError, isDomainError, validationError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { GroupEntity, OrganizationEntity, RepositoryEntity } from './organization.entity.js';
import { alreadyProtected, organizationNotFound } from './organization.errors.js';
import { nextSyncAt, validateSchedule } from './sync-schedule.js';
import { findPage, type PageRequest } from '../shared/page.js';

export interface ProtectInput {
  connectionId: string;
  namespacePath: string;
  autoAddNewRepositories?: boolean | null;
  includeGroups?: boolean | null;
  repoSyncSchedule?: RepoSyncScheduleValue | null;
  defaultWorkerId?: string | null;
}

export interface OrganizationChanges {
  autoAddNewRepositories?: boolean | null;
  includeGroups?: boolean | null;
  repoSyncSchedule?: RepoSyncScheduleValue | null;
  defaultWorkerId?: string | null;
}

export interface RepositoryFilter {
  isProtected?: boolean | null;
  includeDeletedUpstream?: boolean | null;
  search?: string | null;
}

export interface RepositoryCountsValue {
  total: number;
  protected: number;
  unprotected: number;
  deletedUpstream: number;
}

export class OrganizationService {
  private readonly orgs: Repository<OrganizationEntity>;
  private readonly repos: Repository<RepositoryEntity>;
  private readonly groups: Repository<GroupEntity>;

  constructor(
    dataSource: DataSource,
    private readonly connections: Pick<ConnectionRecords, 'get'>,
    private readonly sessions: GitLabSessions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly checkWorker: (workerId: string) => Promise<void>,
    private readonly onProtected: (organization: OrganizationEntity) => Promise<void>,
  ) {
    this.orgs = dataSource.getRepository(OrganizationEntity);
    this.repos = dataSource.getRepository(RepositoryEntity);
    this.groups = dataSource.getRepository(GroupEntity);
  }

  list(connectionId?: string | null): Promise<OrganizationEntity[]> {
    return this.orgs.find({ where: connectionId ? { connectionId } : {}, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async get(id: string): Promise<OrganizationEntity> {
    const found = await this.orgs.findOneBy({ id });
    if (!found) throw organizationNotFound(id);
    return found;
  }

  async protectNamespace(input: ProtectInput): Promise<OrganizationEntity> {
    const connection = await this.connections.get(input.connectionId);
    const path = input.namespacePath.trim().replace(/^\/+|\/+$/g, '');
    if (!path) throw validationError({ namespacePath: 'is required: the full path of a group, or your username' });
    const namespace = await this.sessions
      .withGitLab(connection.id, (client) => client.getNamespace(path))
      .catch((error: unknown) => {
        if (isDomainError(error, 'GITLAB_NOT_FOUND')) {
          throw new DomainError('NAMESPACE_NOT_FOUND', `GitLab has no namespace "${path}" this connection can see`, {
            details: { fields: { namespacePath: `"${path}" was not found, or the GitLab user cannot see it` } },
          });
        }
        throw error;
      });
    const defaults = connection.organizationDefaults;
    const workerId = input.defaultWorkerId !== undefined ? input.defaultWorkerId : defaults.defaultWorkerId;
    if (workerId) await this.checkWorker(workerId);
    const schedule = validateSchedule(input.repoSyncSchedule ?? defaults.repoSyncSchedule, 'repoSyncSchedule');
    const organization = this.orgs.create({
      id: newId(),
      connectionId: connection.id,
      gitlabNamespaceId: namespace.id,
      kind: namespace.kind === 'group' ? 'GROUP' : 'USER',
      fullPath: namespace.fullPath,
      name: namespace.name,
      webUrl: namespace.webUrl,
      autoAddNewRepositories: input.autoAddNewRepositories ?? defaults.autoAddNewRepositories,
      includeGroups: (input.includeGroups ?? defaults.includeGroups) && namespace.kind === 'group',
      repoSyncSchedule: schedule,
      defaultWorkerId: workerId ?? null,
      nextSyncAt: nextSyncAt(schedule, this.clock.now()),
      lastSyncedAt: null,
    });
    try {
      // Serialised per instance and namespace, so two connections cannot both protect it.
      await this.orgs.manager.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `protect:${connection.instanceUrl}#${namespace.id}`,
        ]);
        await refuseProtectedElsewhere(tx, connection.instanceUrl, namespace.id);
        await tx.insert(OrganizationEntity, organization);
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        const existing = await this.orgs.findOneByOrFail({
          connectionId: connection.id,
          gitlabNamespaceId: namespace.id,
        });
        throw alreadyProtected(namespace.fullPath, existing);
      }
      throw error;
    }
    this.logger.info({ organizationId: organization.id, fullPath: namespace.fullPath }, 'namespace protected');
    await this.onProtected(organization);
    return this.get(organization.id);
  }

  async update(id: string, changes: OrganizationChanges): Promise<OrganizationEntity> {
    const organization = await this.get(id);
    if (changes.autoAddNewRepositories != null) organization.autoAddNewRepositories = changes.autoAddNewRepositories;
    if (changes.includeGroups != null) {
      if (changes.includeGroups && organization.kind === 'USER') {
        throw validationError({ includeGroups: 'a user namespace has no groups' });
      }
      organization.includeGroups = changes.includeGroups;
    }
    if (changes.defaultWorkerId !== undefined) {
      if (changes.defaultWorkerId) await this.checkWorker(changes.defaultWorkerId);
      organization.defaultWorkerId = changes.defaultWorkerId;
    }
    if (changes.repoSyncSchedule) {
      organization.repoSyncSchedule = validateSchedule(changes.repoSyncSchedule, 'repoSyncSchedule');
      organization.nextSyncAt = nextSyncAt(organization.repoSyncSchedule, this.clock.now());
    }
    await this.orgs.save(organization);
    this.logger.info({ organizationId: id }, 'organization updated');
    return organization;
  }

  repositories(organizationId: string, filter: RepositoryFilter, page: PageRequest) {
    const where: FindOptionsWhere<RepositoryEntity> = { organizationId };
    if (filter.isProtected != null) where.isProtected = filter.isProtected;
    if (!filter.includeDeletedUpstream) where.deletedUpstreamAt = IsNull();
    if (filter.search) where.pathWithNamespace = ILike(`%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    return findPage(this.repos, { where, order: { pathWithNamespace: 'ASC', id: 'ASC' } }, page);
  }

  groupsOf(organizationId: string, page: PageRequest) {
    return findPage(this.groups, { where: { organizationId }, order: { fullPath: 'ASC', id: 'ASC' } }, page);
  }

  async repositoryCounts(organizationId: string) {
    return (await this.repositoryCountsOf([organizationId]))[0];
  }

  /** Repository counts of several organizations in one statement (in the order asked). */
  async repositoryCountsOf(organizationIds: readonly string[]): Promise<RepositoryCountsValue[]> {
    if (organizationIds.length === 0) return [];
    const rows: { organizationId: string; total: number; protected: number; deletedUpstream: number }[] =
      await this.repos
        .createQueryBuilder('r')
        .select('r.organization_id', 'organizationId')
        .addSelect('count(*) FILTER (WHERE r.deleted_upstream_at IS NULL)::int', 'total')
        .addSelect('count(*) FILTER (WHERE r.deleted_upstream_at IS NULL AND r.is_protected)::int', 'protected')
        .addSelect('count(*) FILTER (WHERE r.deleted_upstream_at IS NOT NULL)::int', 'deletedUpstream')
        .where('r.organization_id IN (:...ids)', { ids: [...organizationIds] })
        .groupBy('r.organization_id')
        .getRawMany();
    const byOrganization = new Map(rows.map((r) => [r.organizationId, r]));
    return organizationIds.map((id) => {
      const row = byOrganization.get(id);
      const total = row?.total ?? 0;
      const protectedCount = row?.protected ?? 0;
      return {
        total,
        protected: protectedCount,
        unprotected: total - protectedCount,
        deletedUpstream: row?.deletedUpstream ?? 0,
      };
    });
  }

  repository(id: string): Promise<RepositoryEntity | null> {
    return /^[0-9a-f-]{36}$/i.test(id) ? this.repos.findOneBy({ id }) : Promise.resolve(null);
  }

  /** One discovered group (or subgroup) by its id; null when there is none (a malformed id included). */
  group(id: string): Promise<GroupEntity | null> {
    return /^[0-9a-f-]{36}$/i.test(id) ? this.groups.findOneBy({ id }) : Promise.resolve(null);
  }

  /** Adds repositories to (or removes them from) the backup selection. */
  async setProtected(
    organizationId: string,
    repositoryIds: string[],
    isProtected: boolean,
  ): Promise<RepositoryEntity[]> {
    await this.get(organizationId);
    const found = await this.repos.findBy({ organizationId, id: In(repositoryIds) });
    const missing = repositoryIds.filter((id) => !found.some((r) => r.id === id));
    if (missing.length > 0) throw validationError({ repositoryIds: `not in this organization: ${missing.join(', ')}` });
    await this.repos.update({ organizationId, id: In(repositoryIds) }, { isProtected });
    return this.repos.findBy({ organizationId, id: In(repositoryIds) });
  }
}

/**
 * One Organization per GitLab namespace and instance, whichever connection reaches it: a second
 * one would back every repository up twice.
 */
async function refuseProtectedElsewhere(
  tx: EntityManager,
  instanceUrl: string,
  gitlabNamespaceId: number,
): Promise<void> {
  const existing = await tx
    .createQueryBuilder(OrganizationEntity, 'o')
    .innerJoin('connections', 'c', 'c.id = o.connection_id')
    .where('c.instance_url = :instanceUrl AND o.gitlab_namespace_id = :gitlabNamespaceId', {
      instanceUrl,
      gitlabNamespaceId,
    })
    .getOne();
  if (existing) throw alreadyProtected(existing.fullPath, existing);
}
