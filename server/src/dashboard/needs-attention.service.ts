/**
 * What needs attention, for the dashboard: each thing an operator should fix, in words, with what
 * to do about it and the ids that lead to it. Read-only and cheap: one query per kind of problem
 * over every organization at once (no query per organization, run or repository), each bounded.
 *
 * A problem stays listed while it is current: the latest finished run of an organization that did
 * not succeed (a later success clears it), the latest drill that FAILED, repositories without a
 * successful backup for 48 hours, connections whose token has expired or expires within 14 days
 * (or that are in ERROR), and storage errors and anomalies of the last 7 days.
 */
import type { DataSource } from 'typeorm';
import type { Clock } from '../shared/clock.js';

export type AttentionKind =
  | 'RUN_FAILED'
  | 'RUN_PARTIAL'
  | 'REPOSITORY_STALE'
  | 'CONNECTION_EXPIRED'
  | 'CONNECTION_EXPIRING'
  | 'CONNECTION_ERROR'
  | 'DRILL_FAILED'
  | 'STORAGE_ERROR'
  | 'ANOMALY';

export interface AttentionItem {
  kind: AttentionKind;
  /** What is wrong, in words. */
  title: string;
  /** Why, when known (a run's error, a connection's status reason). */
  detail: string | null;
  /** What to do about it, in words. */
  action: string;
  /** Since when (a run's or drill's end, an expiry, the last successful backup). */
  at: Date;
  organizationId: string | null;
  runId: string | null;
  repositoryId: string | null;
  connectionId: string | null;
  drillRunId: string | null;
  snapshotId: string | null;
}

export const STALE_AFTER_HOURS = 48;
export const EXPIRING_WITHIN_DAYS = 14;
export const RECENT_DAYS = 7;
/** Each kind lists at most this many items, the oldest problems first dropped. */
export const MAX_PER_KIND = 50;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const none = {
  organizationId: null,
  runId: null,
  repositoryId: null,
  connectionId: null,
  drillRunId: null,
  snapshotId: null,
  detail: null,
};

export class NeedsAttentionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** Every current problem, worst kinds first, newest first within a kind. */
  async list(): Promise<AttentionItem[]> {
    const now = this.clock.now();
    const lists = await Promise.all([
      this.runs(),
      this.connections(now),
      this.drills(),
      this.storage(new Date(now.getTime() - RECENT_DAYS * DAY_MS)),
      this.stale(new Date(now.getTime() - STALE_AFTER_HOURS * HOUR_MS)),
      this.anomalies(new Date(now.getTime() - RECENT_DAYS * DAY_MS)),
    ]);
    return lists.flat();
  }

  /** Per organization, its latest finished run when it did not succeed. */
  private async runs(): Promise<AttentionItem[]> {
    const rows = await this.dataSource.query<
      {
        id: string;
        organization_id: string;
        full_path: string;
        status: string;
        error_message: string | null;
        finished_at: Date;
        items_total: number;
        failed: number;
        first_reason: string | null;
      }[]
    >(
      `WITH latest AS (
         SELECT DISTINCT ON (r.organization_id) r.id, r.organization_id, r.status, r.error_message, r.finished_at, r.items_total
           FROM backup_runs r
          WHERE r.status IN ('SUCCEEDED', 'PARTIAL', 'FAILED', 'TIMED_OUT') AND r.finished_at IS NOT NULL
          ORDER BY r.organization_id, r.finished_at DESC, r.id)
       SELECT l.id, l.organization_id, o.full_path, l.status, l.error_message, l.finished_at, l.items_total,
              f.failed, f.first_reason
         FROM latest l JOIN organizations o ON o.id = l.organization_id
         LEFT JOIN LATERAL (
           SELECT count(*)::int AS failed,
                  (array_agg(i.path_with_namespace || ': ' || coalesce(i.error_message, i.error_code, 'no reason recorded')
                             ORDER BY i.path_with_namespace))[1] AS first_reason
             FROM backup_run_items i WHERE i.run_id = l.id AND i.status = 'FAILED') f ON true
        WHERE l.status <> 'SUCCEEDED'
        ORDER BY l.finished_at DESC LIMIT ${MAX_PER_KIND}`,
    );
    return rows.map((r) => {
      const what = r.status === 'PARTIAL' ? 'finished partly' : r.status === 'TIMED_OUT' ? 'ran out of time' : 'failed';
      const count = `${r.failed} of ${r.items_total} ${r.items_total === 1 ? 'item' : 'items'} failed`;
      return {
        ...none,
        kind: r.status === 'PARTIAL' ? ('RUN_PARTIAL' as const) : ('RUN_FAILED' as const),
        title: `The last backup of ${r.full_path} ${what} (${count}).`,
        // The first failed repository's reason says more than the run's summary.
        detail: r.first_reason ?? r.error_message,
        action:
          'Open the run and read why each item failed, fix the cause (a token, GitLab being unavailable, storage), ' +
          'then press Run now.',
        at: r.finished_at,
        organizationId: r.organization_id,
        runId: r.id,
      };
    });
  }

  /** Connections in ERROR or EXPIRED, or whose token (not refreshed by itself) expires soon. */
  private async connections(now: Date): Promise<AttentionItem[]> {
    const limit = new Date(now.getTime() + EXPIRING_WITHIN_DAYS * DAY_MS);
    const rows = await this.dataSource.query<
      {
        id: string;
        status: string;
        status_reason: string | null;
        instance_url: string;
        login: string | null;
        token_expires_at: Date | null;
        updated_at: Date;
      }[]
    >(
      `SELECT c.id, c.status, c.status_reason, c.instance_url, coalesce(c.gitlab_username, c.login) AS login,
              c.token_expires_at, c.updated_at
         FROM connections c
        WHERE c.status IN ('ERROR', 'EXPIRED')
           OR (c.status <> 'DISCONNECTED' AND c.token_expires_at IS NOT NULL AND c.token_expires_at <= $1
               AND (c.method = 'PERSONAL_ACCESS_TOKEN' OR c.refresh_token_ciphertext IS NULL))
        ORDER BY c.updated_at DESC LIMIT ${MAX_PER_KIND}`,
      [limit],
    );
    const reconnect =
      'Create a new token in GitLab (scopes read_api and read_repository), save it in the Password Manager, ' +
      'and reconnect the connection with it.';
    return rows.map((c) => {
      const name = `${c.login ?? 'unknown user'} on ${hostOf(c.instance_url)}`;
      const expired = c.status === 'EXPIRED' || (c.token_expires_at !== null && c.token_expires_at <= now);
      const base = { ...none, connectionId: c.id, detail: c.status_reason };
      if (c.status === 'ERROR')
        return {
          ...base,
          kind: 'CONNECTION_ERROR' as const,
          title: `The connection ${name} has a problem.`,
          action: 'Open Connections, read the reason, and reconnect once GitLab accepts the connection again.',
          at: c.updated_at,
        };
      if (expired)
        return {
          ...base,
          kind: 'CONNECTION_EXPIRED' as const,
          title: `The token of the connection ${name} has expired: its backups fail until it is replaced.`,
          action: reconnect,
          at: c.token_expires_at ?? c.updated_at,
        };
      const days = Math.max(0, Math.ceil((c.token_expires_at!.getTime() - now.getTime()) / DAY_MS));
      return {
        ...base,
        kind: 'CONNECTION_EXPIRING' as const,
        title: `The token of the connection ${name} expires in ${days} ${days === 1 ? 'day' : 'days'}.`,
        action: reconnect,
        at: c.token_expires_at!,
      };
    });
  }

  /** Per organization, its latest finished drill when it FAILED. */
  private async drills(): Promise<AttentionItem[]> {
    const rows = await this.dataSource.query<
      {
        id: string;
        organization_id: string;
        full_path: string;
        status: string;
        error_message: string | null;
        finished_at: Date;
      }[]
    >(
      `WITH latest AS (
         SELECT DISTINCT ON (d.organization_id) d.id, d.organization_id, d.status, d.error_message, d.finished_at
           FROM drill_runs d WHERE d.status IN ('PASSED', 'FAILED') AND d.finished_at IS NOT NULL
          ORDER BY d.organization_id, d.finished_at DESC, d.id)
       SELECT l.*, o.full_path FROM latest l JOIN organizations o ON o.id = l.organization_id
        WHERE l.status = 'FAILED' ORDER BY l.finished_at DESC LIMIT ${MAX_PER_KIND}`,
    );
    return rows.map((d) => ({
      ...none,
      kind: 'DRILL_FAILED' as const,
      title: `The last restore drill of ${d.full_path} failed: some snapshots could not be restored as recorded.`,
      detail: d.error_message,
      action:
        'Open the organization and read the drill results, run a full backup of the repositories named there, ' +
        'then run the drill again.',
      at: d.finished_at,
      organizationId: d.organization_id,
      drillRunId: d.id,
    }));
  }

  /** Replica copies that FAILED (one item per storage) and snapshots that failed verification, since `since`. */
  private async storage(since: Date): Promise<AttentionItem[]> {
    const [copies, verified] = await Promise.all([
      this.dataSource.query<
        { storage_id: string; storage: string | null; failed: number; error: string | null; at: Date }[]
      >(
        `SELECT c.storage_id, st.name AS storage, count(*)::int AS failed,
                (array_agg(c.error ORDER BY c.created_at DESC))[1] AS error, max(c.created_at) AS at
           FROM snapshot_copies c LEFT JOIN storages st ON st.id = c.storage_id
          WHERE c.status = 'FAILED' AND c.created_at >= $1
          GROUP BY c.storage_id, st.name ORDER BY at DESC LIMIT ${MAX_PER_KIND}`,
        [since],
      ),
      this.dataSource.query<
        {
          id: string;
          organization_id: string;
          full_path: string;
          repository_id: string | null;
          repository: string | null;
          verified_at: Date;
        }[]
      >(
        `SELECT s.id, s.organization_id, o.full_path, s.repository_id, r.path_with_namespace AS repository, s.verified_at
           FROM snapshots s JOIN organizations o ON o.id = s.organization_id LEFT JOIN repositories r ON r.id = s.repository_id
          WHERE s.verification_status = 'FAILED' AND s.verified_at >= $1
          ORDER BY s.verified_at DESC LIMIT ${MAX_PER_KIND}`,
        [since],
      ),
    ]);
    return [
      ...copies.map((c) => ({
        ...none,
        kind: 'STORAGE_ERROR' as const,
        title: `${c.failed} ${c.failed === 1 ? 'copy' : 'copies'} of snapshots to the storage ${c.storage ?? 'for replicas'} failed.`,
        detail: c.error,
        action:
          'Check the storage (its credentials, bucket and whether it can be reached). The first copy of each ' +
          'snapshot is intact; copies are made again once the storage answers.',
        at: c.at,
      })),
      ...verified.map((s) => ({
        ...none,
        kind: 'STORAGE_ERROR' as const,
        title: `A snapshot of ${s.repository ?? `a group of ${s.full_path}`} failed its check: what storage holds no longer matches it.`,
        action:
          'Open its snapshots, check the storage for damage, and run a full backup so a sound restore point exists.',
        at: s.verified_at,
        organizationId: s.organization_id,
        repositoryId: s.repository_id,
        snapshotId: s.id,
      })),
    ];
  }

  /** Protected repositories with no successful backup since `cutoff` (as the stale alert rule counts). */
  private async stale(cutoff: Date): Promise<AttentionItem[]> {
    const rows = await this.dataSource.query<
      { id: string; path_with_namespace: string; organization_id: string; last_at: Date | null; discovered_at: Date }[]
    >(
      `SELECT r.id, r.path_with_namespace, r.organization_id, greatest(s.at, i.at) AS last_at, r.discovered_at
         FROM repositories r
         LEFT JOIN LATERAL (SELECT max(created_at) AS at FROM snapshots WHERE repository_id = r.id AND is_complete) s ON true
         LEFT JOIN LATERAL (SELECT max(finished_at) AS at FROM backup_run_items
                             WHERE repository_id = r.id AND status IN ('SUCCEEDED', 'UNCHANGED')) i ON true
        WHERE r.is_protected AND r.deleted_upstream_at IS NULL
          AND coalesce(greatest(s.at, i.at), r.discovered_at) < $1
        ORDER BY coalesce(greatest(s.at, i.at), r.discovered_at), r.path_with_namespace
        LIMIT ${MAX_PER_KIND}`,
      [cutoff],
    );
    return rows.map((r) => ({
      ...none,
      kind: 'REPOSITORY_STALE' as const,
      title: r.last_at
        ? `${r.path_with_namespace} has had no successful backup for more than ${STALE_AFTER_HOURS} hours.`
        : `${r.path_with_namespace} has never been backed up successfully.`,
      action:
        "Check the organization's policy schedule and its latest runs (a failing repository names its reason on " +
        'the run page), then press Run now.',
      at: r.last_at ?? r.discovered_at,
      organizationId: r.organization_id,
      repositoryId: r.id,
    }));
  }

  /** Anomalies recorded on snapshots since `since`. */
  private async anomalies(since: Date): Promise<AttentionItem[]> {
    const rows = await this.dataSource.query<
      {
        id: string;
        message: string;
        organization_id: string;
        repository_id: string | null;
        snapshot_id: string;
        place: string | null;
        created_at: Date;
      }[]
    >(
      `SELECT a.id, a.message, a.organization_id, a.repository_id, a.snapshot_id,
              coalesce(r.path_with_namespace, g.full_path) AS place, a.created_at
         FROM snapshot_anomalies a LEFT JOIN repositories r ON r.id = a.repository_id
         LEFT JOIN gitlab_groups g ON g.id = a.group_id
        WHERE a.created_at >= $1 ORDER BY a.created_at DESC LIMIT ${MAX_PER_KIND}`,
      [since],
    );
    return rows.map((a) => ({
      ...none,
      kind: 'ANOMALY' as const,
      title: `Unusual change in ${a.place ?? 'a snapshot'}: ${a.message}`,
      action:
        'Check it in GitLab. The snapshot before it is kept: if the change was not wanted, restore that snapshot; ' +
        'if it was, unpin it.',
      at: a.created_at,
      organizationId: a.organization_id,
      repositoryId: a.repository_id,
      snapshotId: a.snapshot_id,
    }));
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
