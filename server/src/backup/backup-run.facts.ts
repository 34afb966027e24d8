/**
 * What a run learns before it fans out its items: GitLab's current facts about the organization's
 * repositories (one listing, one statement), and which repositories those facts prove unchanged
 * since their latest snapshot, so that their items end UNCHANGED without a job.
 */
import type { DataSource } from 'typeorm';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import { OrganizationEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { BackupRunEntity } from './backup.entity.js';
import { ACTIVITY_GRANULARITY_MS } from './skip-unchanged.js';

export interface RunFactsDeps {
  dataSource: DataSource;
  sessions: GitLabSessions;
  clock: Clock;
  logger: Logger;
}

/** Fresh facts from one listing of the organization's projects, written in one statement. */
export async function refreshRepositories(deps: RunFactsDeps, run: BackupRunEntity): Promise<void> {
  const org = await deps.dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: run.organizationId });
  const projects = await deps.sessions.withGitLab(org.connectionId, async (client) =>
    org.kind === 'GROUP'
      ? client.listGroupProjects(org.gitlabNamespaceId)
      : client.listUserProjects((await client.currentUser()).id),
  );
  if (projects.length === 0) return;
  await deps.dataSource.query(
    `UPDATE repositories AS r
        SET last_activity_at = v.last_activity_at, default_branch = v.default_branch, http_url_to_repo = v.url,
            is_empty = v.is_empty, has_wiki = v.has_wiki, has_lfs = v.has_lfs, lfs_objects_size = v.lfs_objects_size
       FROM unnest($1::int[], $2::timestamptz[], $3::text[], $4::text[], $5::bool[], $6::bool[], $8::bool[], $9::bigint[])
            AS v(project_id, last_activity_at, default_branch, url, is_empty, has_wiki, has_lfs, lfs_objects_size)
      WHERE r.organization_id = $7 AND r.gitlab_project_id = v.project_id`,
    [
      projects.map((p) => p.id),
      projects.map((p) => p.lastActivityAt),
      projects.map((p) => p.defaultBranch),
      projects.map((p) => p.httpUrlToRepo),
      projects.map((p) => p.emptyRepo),
      projects.map((p) => p.wikiEnabled),
      org.id,
      projects.map((p) => p.lfsEnabled),
      // LFS storage decides whether a backup keeps a local mirror (repository-backup.ts); null: not visible to this token
      projects.map((p) => (p.statistics ? String(p.statistics.lfsObjectsSize) : null)),
    ],
  );
}

/**
 * Marks, in one statement, every repository item that GitLab's data proves unchanged since its
 * latest snapshot of the current chain (see isProvablyUnchanged): no job, no git, no lock.
 * Returns how many. A FULL run, or a repository without a full in the chain, is never skipped;
 * nor is one whose latest snapshot is incomplete or failed verification (its job fetches the
 * missing data again), or not yet verified when the policy verifies (its job verifies it).
 */
export async function markProvablyUnchanged(deps: RunFactsDeps, run: BackupRunEntity): Promise<number> {
  if (run.copyType === 'FULL') return 0;
  const rows: unknown[] = await deps.dataSource.query(
    `WITH latest AS (
       SELECT DISTINCT ON (s.repository_id) s.repository_id, s.id, s.created_at, s.is_complete, s.verification_status
         FROM snapshots s
        WHERE s.organization_id = $1 AND s.chain_key = $2 AND s.repository_id IS NOT NULL
        ORDER BY s.repository_id, s.created_at DESC
     ), chained AS (
       SELECT DISTINCT repository_id FROM snapshots WHERE organization_id = $1 AND chain_key = $2 AND copy_type = 'FULL'
     )
     UPDATE backup_run_items AS i
        SET status = 'UNCHANGED', phase = 'DONE', snapshot_id = l.id, finished_at = $5
       FROM latest l, chained c, repositories r
      WHERE i.run_id = $3 AND i.status = 'QUEUED' AND i.repository_id = l.repository_id
        AND c.repository_id = l.repository_id AND r.id = i.repository_id
        AND r.last_activity_at IS NOT NULL AND r.last_activity_at <= l.created_at - ($4 || ' milliseconds')::interval
        AND l.is_complete AND (l.verification_status = 'VERIFIED' OR (NOT $6 AND l.verification_status <> 'FAILED'))
     RETURNING i.id`,
    [
      run.organizationId,
      run.chainKey,
      run.id,
      String(ACTIVITY_GRANULARITY_MS),
      deps.clock.now(),
      run.policy.verifyAfterBackup,
    ],
  );
  const count = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
  if (count > 0)
    deps.logger.info({ runId: run.id, unchanged: count }, 'repositories provably unchanged: skipped without git');
  return count;
}
