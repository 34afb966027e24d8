/**
 * Discovery: lists every project of an organization (all subgroups, every page) and, with
 * *include groups*, every descendant group, then reconciles the stored lists in one transaction:
 * - a new project → Repository, protected when *auto-add* is on, listed unprotected otherwise;
 * - a known project → its facts refreshed (and un-marked if it had been marked gone);
 * - a project no longer listed → `deletedUpstreamAt` set, never deleted (its backups stay).
 * All listing happens before any write, so a failed sync keeps the previous list and says why.
 *
 * Scheduling: `organizations.next_sync_at` holds the next due time from the RepoSyncSchedule. The
 * `repositories.schedule` job runs every minute and claims due organizations with one UPDATE …
 * RETURNING (so two schedulers never double-start), queues a sync for each, and moves
 * `next_sync_at` to the following scheduled time.
 */
import { In, IsNull, LessThanOrEqual, type DataSource, type Repository } from 'typeorm';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { GitLabGroup, GitLabProject } from '../gitlab/gitlab.port.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { GroupEntity, OrganizationEntity, RepositoryEntity, SyncRunEntity } from './organization.entity.js';
import { organizationNotFound } from './organization.errors.js';
import type { SyncProgressed } from './sync.events.js';
import { nextSyncAt } from './sync-schedule.js';

export class SyncService {
  private readonly runs: Repository<SyncRunEntity>;
  private readonly orgs: Repository<OrganizationEntity>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sessions: GitLabSessions,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly publish: (event: SyncProgressed) => void,
  ) {
    this.runs = dataSource.getRepository(SyncRunEntity);
    this.orgs = dataSource.getRepository(OrganizationEntity);
  }

  /** Queues a sync, or returns the one already queued or running for the organization. */
  async requestSync(organizationId: string, trigger: SyncRunEntity['trigger']): Promise<SyncRunEntity> {
    if (!(await this.orgs.existsBy({ id: organizationId }))) throw organizationNotFound(organizationId);
    const active = await this.runs.findOne({
      where: { organizationId, status: In(['QUEUED', 'RUNNING']) },
      order: { createdAt: 'DESC' },
    });
    if (active) return active;
    const run = this.runs.create({
      id: newId(),
      organizationId,
      trigger,
      status: 'QUEUED',
      startedAt: null,
      finishedAt: null,
      errorCode: null,
      errorMessage: null,
    });
    await this.runs.insert(run);
    this.emit(run, 'QUEUED');
    await this.queue.enqueue('repositories.sync', { syncRunId: run.id });
    return run;
  }

  latestRun(organizationId: string): Promise<SyncRunEntity | null> {
    return this.runs.findOne({ where: { organizationId }, order: { createdAt: 'DESC' } });
  }

  /** The latest sync of each organization asked for, in one statement (absent: never synced). */
  latestRunsOf(organizationIds: readonly string[]): Promise<SyncRunEntity[]> {
    if (organizationIds.length === 0) return Promise.resolve([]);
    return this.runs
      .createQueryBuilder('s')
      .distinctOn(['s.organization_id'])
      .where({ organizationId: In([...organizationIds]) })
      .orderBy('s.organization_id', 'DESC')
      .addOrderBy('s.created_at', 'DESC')
      .addOrderBy('s.id', 'DESC')
      .getMany();
  }

  getRun(id: string): Promise<SyncRunEntity | null> {
    return this.runs.findOneBy({ id });
  }

  /**
   * The `repositories.sync` job. Idempotent: a finished run is not run again. `afterReconcile`
   * runs after a successful sync and before its DONE event (the job wires the deleted-upstream
   * anomaly there); its failure is logged and does not fail the sync.
   */
  async execute(
    syncRunId: string,
    options: { afterReconcile?: (organizationId: string) => Promise<unknown> } = {},
  ): Promise<SyncRunEntity> {
    const run = await this.runs.findOneBy({ id: syncRunId });
    if (!run || run.status === 'SUCCEEDED' || run.status === 'FAILED') return run!;
    const org = await this.orgs.findOneBy({ id: run.organizationId });
    if (!org) throw organizationNotFound(run.organizationId);
    run.status = 'RUNNING';
    run.startedAt = this.clock.now();
    await this.runs.save(run);
    const log = this.logger.child({ organizationId: org.id, syncRunId });
    let listed = { projects: 0, total: null as number | null, groups: 0 };
    this.emit(run, 'LISTING_PROJECTS', listed);
    try {
      const { projects, groups } = await this.sessions.withGitLab(org.connectionId, async (client) => {
        const projects =
          org.kind === 'GROUP'
            ? await client.listGroupProjects(org.gitlabNamespaceId, (fetched, total) => {
                listed = { ...listed, projects: fetched, total };
                this.emit(run, 'LISTING_PROJECTS', listed);
              })
            : await client.listUserProjects(await this.userIdOf(org), (fetched, total) => {
                listed = { ...listed, projects: fetched, total };
                this.emit(run, 'LISTING_PROJECTS', listed);
              });
        let groups: GitLabGroup[] = [];
        if (org.includeGroups && org.kind === 'GROUP') {
          this.emit(run, 'LISTING_GROUPS', listed);
          const root = await client.getGroup(org.gitlabNamespaceId);
          groups = [root, ...(await client.listDescendantGroups(org.gitlabNamespaceId))];
        }
        return { projects, groups };
      });
      listed = { projects: projects.length, total: projects.length, groups: groups.length };
      this.emit(run, 'SAVING', listed);
      const result = await this.reconcile(org, projects, groups);
      Object.assign(run, {
        status: 'SUCCEEDED',
        finishedAt: this.clock.now(),
        repositoriesFound: projects.length,
        repositoriesAdded: result.added,
        repositoriesGone: result.gone,
        groupsFound: groups.length,
      });
      await this.runs.save(run);
      await this.orgs.update({ id: org.id }, { lastSyncedAt: run.finishedAt });
      log.info(
        { projects: projects.length, added: result.added, gone: result.gone, groups: groups.length },
        'repository sync finished',
      );
      await options
        .afterReconcile?.(org.id)
        .catch((error: unknown) => log.warn({ err: error }, 'after-sync step failed (the next sync retries it)'));
    } catch (error) {
      const domain = error instanceof DomainError ? error : null;
      Object.assign(run, {
        status: 'FAILED',
        finishedAt: this.clock.now(),
        errorCode: domain?.code ?? 'INTERNAL',
        errorMessage: domain?.message ?? 'unexpected error during sync (see server log)',
      });
      await this.runs.save(run);
      log.error({ err: error }, 'repository sync failed; the previous list is kept');
    }
    this.emit(run, 'DONE', listed);
    return run;
  }

  /** The `repositories.schedule` job: starts every sync that is due at `clock.now()`. */
  async startDueSyncs(): Promise<string[]> {
    const now = this.clock.now();
    const due = await this.orgs.find({ where: { nextSyncAt: LessThanOrEqual(now) }, select: { id: true } });
    const started: string[] = [];
    for (const { id } of due) {
      const org = await this.orgs.findOneBy({ id });
      if (!org?.nextSyncAt || org.nextSyncAt > now) continue;
      const next = nextSyncAt(org.repoSyncSchedule, now);
      // Claim: only the scheduler that moves next_sync_at from the value it read starts the sync.
      const claimed = await this.orgs.update({ id, nextSyncAt: org.nextSyncAt }, { nextSyncAt: next });
      if (claimed.affected !== 1) continue;
      await this.requestSync(id, 'SCHEDULED');
      started.push(id);
    }
    return started;
  }

  private async userIdOf(org: OrganizationEntity): Promise<number> {
    // A user namespace's owner: the connection's GitLab user when the paths match.
    const namespace = await this.sessions.withGitLab(org.connectionId, (c) => c.currentUser());
    return namespace.id;
  }

  private async reconcile(org: OrganizationEntity, projects: GitLabProject[], groups: GitLabGroup[]) {
    const now = this.clock.now();
    return this.dataSource.transaction(async (tx) => {
      const repos = tx.getRepository(RepositoryEntity);
      const known = new Map((await repos.findBy({ organizationId: org.id })).map((r) => [r.gitlabProjectId, r]));
      let added = 0;
      const rows = projects.map((p) => {
        const existing = known.get(p.id);
        if (!existing) added++;
        return repos.create({
          ...(existing ?? { id: newId(), discoveredAt: now, isProtected: org.autoAddNewRepositories }),
          ...projectFacts(p),
          organizationId: org.id,
          gitlabProjectId: p.id,
          lastSeenAt: now,
          deletedUpstreamAt: null,
        });
      });
      for (let i = 0; i < rows.length; i += 500) await repos.save(rows.slice(i, i + 500));
      const seen = new Set(projects.map((p) => p.id));
      const goneIds = [...known.values()]
        .filter((r) => !seen.has(r.gitlabProjectId) && !r.deletedUpstreamAt)
        .map((r) => r.id);
      if (goneIds.length > 0) await repos.update({ id: In(goneIds) }, { deletedUpstreamAt: now });

      if (org.includeGroups) {
        const groupRepo = tx.getRepository(GroupEntity);
        const knownGroups = new Map(
          (await groupRepo.findBy({ organizationId: org.id })).map((g) => [g.gitlabGroupId, g]),
        );
        const groupRows = groups.map((g) =>
          groupRepo.create({
            ...(knownGroups.get(g.id) ?? { id: newId(), discoveredAt: now }),
            organizationId: org.id,
            gitlabGroupId: g.id,
            parentGitlabGroupId: g.parentId,
            fullPath: g.fullPath,
            name: g.name,
            visibility: g.visibility,
            webUrl: g.webUrl,
            description: g.description,
            lastSeenAt: now,
            deletedUpstreamAt: null,
          }),
        );
        for (let i = 0; i < groupRows.length; i += 500) await groupRepo.save(groupRows.slice(i, i + 500));
        const seenGroups = new Set(groups.map((g) => g.id));
        const goneGroups = [...knownGroups.values()].filter(
          (g) => !seenGroups.has(g.gitlabGroupId) && !g.deletedUpstreamAt,
        );
        if (goneGroups.length > 0)
          await groupRepo.update(
            { id: In(goneGroups.map((g) => g.id)), deletedUpstreamAt: IsNull() },
            { deletedUpstreamAt: now },
          );
      }
      return { added, gone: goneIds.length };
    });
  }

  private emit(
    run: SyncRunEntity,
    phase: SyncProgressed['phase'],
    listed = { projects: 0, total: null as number | null, groups: 0 },
  ) {
    this.publish({
      organizationId: run.organizationId,
      syncRunId: run.id,
      status: run.status,
      phase,
      projectsListed: listed.projects,
      projectsTotal: listed.total,
      groupsListed: listed.groups,
      repositoriesAdded: run.repositoriesAdded ?? 0,
      repositoriesGone: run.repositoriesGone ?? 0,
      errorCode: run.errorCode,
      errorMessage: run.errorMessage,
      at: this.clock.now().toISOString(),
    });
  }
}

function projectFacts(p: GitLabProject) {
  return {
    name: p.name,
    pathWithNamespace: p.pathWithNamespace,
    httpUrlToRepo: p.httpUrlToRepo,
    sshUrlToRepo: p.sshUrlToRepo,
    webUrl: p.webUrl,
    defaultBranch: p.defaultBranch,
    visibility: p.visibility,
    isArchived: p.archived,
    isEmpty: p.emptyRepo,
    lastActivityAt: p.lastActivityAt ? new Date(p.lastActivityAt) : null,
    repositorySize: p.statistics ? String(p.statistics.repositorySize) : null,
    wikiSize: p.statistics ? String(p.statistics.wikiSize) : null,
    lfsObjectsSize: p.statistics ? String(p.statistics.lfsObjectsSize) : null,
    storageSize: p.statistics ? String(p.statistics.storageSize) : null,
    hasWiki: p.wikiEnabled,
    hasLfs: p.lfsEnabled,
  };
}
