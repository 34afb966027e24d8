/**
 * Which repositories are gone upstream, for the REPOSITORY_DELETED_UPSTREAM anomaly
 * (anomaly.service.ts). Two ways to learn it:
 * - a repository sync no longer lists the project: the sync sets `deletedUpstreamAt`;
 * - a system hook's project_destroy. GitLab sends it after the project is destroyed
 *   (Projects::DestroyService runs the hooks after `project.destroy`), so it is final — project
 *   ids are never reused. The receiver makes the repository due at once for a last backup
 *   attempt; `deletedUpstreamAt` is set only after the run that made the attempt, because runs
 *   skip repositories marked deleted upstream.
 */
import type { DataSource } from 'typeorm';

/**
 * Marks the repositories of this run that a project_destroy delivery named as deleted upstream
 * (as of that delivery). Resolves with how many were marked.
 */
export async function markDestroyedAfterAttempt(dataSource: DataSource, runId: string): Promise<number> {
  const marked: unknown[] = await dataSource.query(
    `UPDATE repositories r SET deleted_upstream_at = d.received_at
       FROM (SELECT repository_id, min(received_at) AS received_at FROM webhook_deliveries
              WHERE kind = 'project_destroy'
                AND repository_id IN (SELECT repository_id FROM backup_run_items WHERE run_id = $1)
              GROUP BY repository_id) d
      WHERE r.id = d.repository_id AND r.deleted_upstream_at IS NULL
      RETURNING r.id`,
    [runId],
  );
  return (Array.isArray(marked[0]) ? (marked[0] as unknown[]) : marked).length;
}

export interface DeletedRepository {
  repositoryId: string;
  path: string;
  deletedUpstreamAt: Date;
  /** A project_destroy delivery named it (else a sync found it missing). */
  isDestroyed: boolean;
  /** Its newest snapshot; null when it was never backed up. */
  lastSnapshotId: string | null;
}

/**
 * The organization's repositories marked deleted upstream whose last snapshot carries no
 * REPOSITORY_DELETED_UPSTREAM anomaly yet (never backed up: listed with a null snapshot).
 */
export async function deletedUpstream(dataSource: DataSource, organizationId: string): Promise<DeletedRepository[]> {
  const rows: {
    id: string;
    path: string;
    deleted_upstream_at: Date;
    is_destroyed: boolean;
    snapshot_id: string | null;
  }[] = await dataSource.query(
    `SELECT r.id, r.path_with_namespace AS path, r.deleted_upstream_at, s.id AS snapshot_id,
            EXISTS (SELECT 1 FROM webhook_deliveries d
                     WHERE d.repository_id = r.id AND d.kind = 'project_destroy') AS is_destroyed
       FROM repositories r
       LEFT JOIN LATERAL (SELECT id FROM snapshots WHERE repository_id = r.id
                           ORDER BY created_at DESC, id DESC LIMIT 1) s ON true
      WHERE r.organization_id = $1 AND r.deleted_upstream_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM snapshot_anomalies a
                         WHERE a.snapshot_id = s.id AND a.kind = 'REPOSITORY_DELETED_UPSTREAM')
      ORDER BY r.path_with_namespace`,
    [organizationId],
  );
  return rows.map((r) => ({
    repositoryId: r.id,
    path: r.path,
    deletedUpstreamAt: r.deleted_upstream_at,
    isDestroyed: r.is_destroyed,
    lastSnapshotId: r.snapshot_id,
  }));
}
