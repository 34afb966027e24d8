/**
 * The rules: each turns rows of PostgreSQL into occurrences, each with a key that names it once and
 * for all (`run:<id>`, `token:<connection>:<expiry>`, `stale:<repository>:<last snapshot>`), so
 * however many processes evaluate the same facts, one alert row exists per occurrence. Every text
 * says what happened, where, since when and what to do; the link opens the web client there.
 */
import type { DataSource } from 'typeorm';
import type { AlertKind } from './alert.entity.js';

export interface Occurrence {
  key: string;
  kind: AlertKind;
  organizationId: string | null;
  title: string;
  message: string;
  link: string | null;
  details: Record<string, unknown>;
  occurredAt: Date;
}

/** Failed repositories listed one by one up to this many; the rest are counted (a digest, not a flood). */
export const MAX_LISTED = 20;

const RUN_KIND: Record<string, AlertKind | undefined> = {
  SUCCEEDED: 'RUN_SUCCEEDED',
  PARTIAL: 'RUN_PARTIAL',
  FAILED: 'RUN_FAILED',
  TIMED_OUT: 'RUN_FAILED',
};

const day = (d: Date) => d.toISOString().slice(0, 10);
const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** A finished backup run (null while it runs, or when it was canceled). */
export async function runOccurrence(db: DataSource, publicUrl: string, runId: string): Promise<Occurrence | null> {
  const [run] = await db.query<
    {
      id: string;
      status: string;
      organization_id: string;
      full_path: string;
      trigger: string;
      items_total: number;
      error_message: string | null;
      started_at: Date | null;
      created_at: Date;
      finished_at: Date | null;
    }[]
  >(
    `SELECT r.id, r.status, r.organization_id, o.full_path, r.trigger, r.items_total, r.error_message, r.started_at, r.created_at, r.finished_at
       FROM backup_runs r JOIN organizations o ON o.id = r.organization_id WHERE r.id = $1`,
    [runId],
  );
  const kind = run && RUN_KIND[run.status];
  if (!run || !kind || !run.finished_at) return null;
  const failed = await db.query<
    { path_with_namespace: string; error_code: string | null; error_message: string | null }[]
  >(
    `SELECT path_with_namespace, error_code, error_message FROM backup_run_items
      WHERE run_id = $1 AND status = 'FAILED' ORDER BY path_with_namespace`,
    [runId],
  );
  const started = run.started_at ?? run.created_at;
  const what =
    run.status === 'SUCCEEDED'
      ? 'succeeded'
      : run.status === 'TIMED_OUT'
        ? 'timed out (its backup window closed)'
        : run.status === 'PARTIAL'
          ? 'finished PARTIAL'
          : 'FAILED';
  const lines = [
    `The ${run.trigger.toLowerCase()} backup of organization ${run.full_path} ${what}: ` +
      `${failed.length} of ${run.items_total} ${run.items_total === 1 ? 'item' : 'items'} failed.`,
    `Started ${when(started)}, finished ${when(run.finished_at)}.`,
  ];
  if (run.error_message) lines.push(`Reason: ${run.error_message}`);
  if (failed.length > 0) {
    lines.push('', 'Failed repositories:');
    for (const item of failed.slice(0, MAX_LISTED))
      lines.push(`- ${item.path_with_namespace}: ${item.error_message ?? item.error_code ?? 'no reason recorded'}`);
    if (failed.length > MAX_LISTED) lines.push(`- and ${failed.length - MAX_LISTED} more (listed on the run's page)`);
  }
  if (kind !== 'RUN_SUCCEEDED')
    lines.push(
      '',
      'What to do: open the run and read each reason. Fix the cause (an expired token, GitLab unavailable, ' +
        'storage full) and press Run now; the repositories that failed are tried again by the next run.',
    );
  return {
    key: `run:${run.id}`,
    kind,
    organizationId: run.organization_id,
    title: `Backup of ${run.full_path} ${kind === 'RUN_SUCCEEDED' ? 'succeeded' : run.status}`,
    message: lines.join('\n'),
    link: `${publicUrl}/runs/${run.id}`,
    details: {
      runId: run.id,
      status: run.status,
      organization: run.full_path,
      itemsTotal: run.items_total,
      failedRepositories: failed.map((f) => ({
        path: f.path_with_namespace,
        errorCode: f.error_code,
        reason: f.error_message,
      })),
    },
    occurredAt: run.finished_at,
  };
}

/** A drill that FAILED (null otherwise). */
export async function drillOccurrence(
  db: DataSource,
  publicUrl: string,
  drillRunId: string,
): Promise<Occurrence | null> {
  const [drill] = await db.query<
    {
      id: string;
      status: string;
      organization_id: string;
      full_path: string;
      error_message: string | null;
      results: { path: string; status: string; differences: string[] }[];
      group_results: { path: string; status: string; differences: string[] }[];
      finished_at: Date | null;
    }[]
  >(
    `SELECT d.id, d.status, d.organization_id, o.full_path, d.error_message, d.results, d.group_results, d.finished_at
       FROM drill_runs d JOIN organizations o ON o.id = d.organization_id WHERE d.id = $1`,
    [drillRunId],
  );
  if (!drill || drill.status !== 'FAILED' || !drill.finished_at) return null;
  const failed = drill.results.filter((r) => r.status === 'FAILED');
  const failedGroups = (drill.group_results ?? []).filter((r) => r.status === 'FAILED');
  const lines = [`A restore drill of organization ${drill.full_path} FAILED at ${when(drill.finished_at)}.`];
  if (drill.error_message) lines.push(`Reason: ${drill.error_message}`);
  for (const r of [...failed, ...failedGroups].slice(0, MAX_LISTED))
    lines.push(`- ${r.path}: ${r.differences.slice(0, 3).join('; ')}`);
  lines.push(
    '',
    'What to do: the snapshots named above could not be restored as recorded. Verify them, run a new ' +
      'FULL backup of those repositories and groups, and run the drill again.',
  );
  return {
    key: `drill:${drill.id}`,
    kind: 'DRILL_FAILED',
    organizationId: drill.organization_id,
    title: `Restore drill of ${drill.full_path} FAILED`,
    message: lines.join('\n'),
    link: `${publicUrl}/organizations/${drill.organization_id}`,
    details: {
      drillRunId: drill.id,
      organization: drill.full_path,
      failedRepositories: failed.map((r) => r.path),
      failedGroups: failedGroups.map((r) => r.path),
    },
    occurredAt: drill.finished_at,
  };
}

/** An anomaly recorded on a new snapshot (a force-push of the default branch, refs deleted, a subgroup deleted...). */
export async function anomalyOccurrence(
  db: DataSource,
  publicUrl: string,
  anomalyId: string,
): Promise<Occurrence | null> {
  const [a] = await db.query<
    {
      id: string;
      kind: string;
      message: string;
      organization_id: string;
      repository_id: string | null;
      group_id: string | null;
      snapshot_id: string;
      previous_snapshot_id: string;
      path_with_namespace: string | null;
      group_path: string | null;
      created_at: Date;
    }[]
  >(
    `SELECT a.id, a.kind, a.message, a.organization_id, a.repository_id, a.group_id, a.snapshot_id, a.previous_snapshot_id,
            r.path_with_namespace, g.full_path AS group_path, a.created_at
       FROM snapshot_anomalies a LEFT JOIN repositories r ON r.id = a.repository_id
       LEFT JOIN gitlab_groups g ON g.id = a.group_id WHERE a.id = $1`,
    [anomalyId],
  );
  if (!a) return null;
  const where = a.path_with_namespace ?? a.group_path ?? a.repository_id ?? a.group_id ?? 'a snapshot';
  return {
    key: `anomaly:${a.id}`,
    kind: 'ANOMALY',
    organizationId: a.organization_id,
    title: `Anomaly in ${where}: ${a.kind}`,
    message: [
      `${a.message} (snapshot ${a.snapshot_id}, ${when(a.created_at)}).`,
      `The previous snapshot ${a.previous_snapshot_id} is pinned, so retention keeps it.`,
      '',
      `What to do: check the ${a.repository_id ? 'repository' : 'group'} in GitLab. If the change was wanted, ` +
        'unpin the snapshot; if not, restore the pinned snapshot.',
    ].join('\n'),
    // A group's snapshots have no page of their own: its organization's.
    link: a.repository_id
      ? `${publicUrl}/repositories/${a.repository_id}/snapshots`
      : `${publicUrl}/organizations/${a.organization_id}`,
    details: {
      anomalyId: a.id,
      anomaly: a.kind,
      repository: where,
      snapshotId: a.snapshot_id,
      pinnedSnapshotId: a.previous_snapshot_id,
    },
    occurredAt: a.created_at,
  };
}

/** Connections whose token expires before `limit` (or has expired): one occurrence per connection and expiry. */
export async function tokenOccurrences(
  db: DataSource,
  publicUrl: string,
  now: Date,
  limit: Date,
  organizationId: string | null,
): Promise<Occurrence[]> {
  const rows = await db.query<
    { id: string; instance_url: string; login: string | null; token_expires_at: Date; organizations: string[] }[]
  >(
    `SELECT c.id, c.instance_url, coalesce(c.gitlab_username, c.login) AS login, c.token_expires_at,
            coalesce(array_agg(o.full_path ORDER BY o.full_path) FILTER (WHERE o.id IS NOT NULL), '{}') AS organizations
       FROM connections c LEFT JOIN organizations o ON o.connection_id = c.id
      WHERE c.status <> 'DISCONNECTED' AND c.token_expires_at IS NOT NULL AND c.token_expires_at <= $1
        AND (c.method = 'PERSONAL_ACCESS_TOKEN' OR c.refresh_token_ciphertext IS NULL)
        AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM organizations x WHERE x.connection_id = c.id AND x.id = $2))
      GROUP BY c.id`,
    [limit, organizationId],
  );
  return rows.map((c) => {
    const expired = c.token_expires_at <= now;
    const days = Math.max(0, Math.ceil((c.token_expires_at.getTime() - now.getTime()) / 86_400_000));
    const name = `${c.login ?? 'unknown user'} on ${new URL(c.instance_url).host}`;
    return {
      key: `token:${c.id}:${c.token_expires_at.toISOString()}`,
      kind: 'TOKEN_EXPIRING' as const,
      organizationId: null,
      title: expired
        ? `The token of connection ${name} expired on ${day(c.token_expires_at)}`
        : `The token of connection ${name} expires on ${day(c.token_expires_at)}`,
      message: [
        expired
          ? `The token expired on ${day(c.token_expires_at)}: backups of ${c.organizations.join(', ') || 'its organizations'} fail until it is replaced.`
          : `The token expires on ${day(c.token_expires_at)} (in ${days} ${days === 1 ? 'day' : 'days'}); after that, backups of ${c.organizations.join(', ') || 'its organizations'} fail.`,
        '',
        'What to do: create a new personal access token in GitLab (scopes read_api and read_repository), ' +
          'put it in the Password Manager, and reconnect the connection with it.',
      ].join('\n'),
      link: `${publicUrl}/connections`,
      details: { connectionId: c.id, expiresAt: c.token_expires_at.toISOString(), organizations: c.organizations },
      occurredAt: now,
    };
  });
}

/**
 * Protected repositories with no successful backup since `cutoff` (none at all: discovered before
 * it). A backup is successful when it committed a complete snapshot, or found the repository
 * provably unchanged. One occurrence per repository and last success: a new success ends it, and
 * the next silence is a new occurrence.
 */
export async function staleOccurrences(
  db: DataSource,
  publicUrl: string,
  now: Date,
  cutoff: Date,
  organizationId: string | null,
): Promise<Occurrence[]> {
  const rows = await db.query<
    {
      id: string;
      path_with_namespace: string;
      organization_id: string;
      full_path: string;
      last_at: Date | null;
      discovered_at: Date;
    }[]
  >(
    `SELECT r.id, r.path_with_namespace, r.organization_id, o.full_path, greatest(s.at, i.at) AS last_at, r.discovered_at
       FROM repositories r JOIN organizations o ON o.id = r.organization_id
       LEFT JOIN LATERAL (SELECT max(created_at) AS at FROM snapshots WHERE repository_id = r.id AND is_complete) s ON true
       LEFT JOIN LATERAL (SELECT max(finished_at) AS at FROM backup_run_items
                           WHERE repository_id = r.id AND status IN ('SUCCEEDED', 'UNCHANGED')) i ON true
      WHERE r.is_protected AND r.deleted_upstream_at IS NULL
        AND ($2::uuid IS NULL OR r.organization_id = $2)
        AND coalesce(greatest(s.at, i.at), r.discovered_at) < $1
      ORDER BY r.path_with_namespace
      LIMIT 1000`,
    [cutoff, organizationId],
  );
  return rows.map((r) => {
    const since = r.last_at ?? r.discovered_at;
    const hours = Math.floor((now.getTime() - since.getTime()) / 3_600_000);
    return {
      key: `stale:${r.id}:${r.last_at?.toISOString() ?? 'never'}`,
      kind: 'REPOSITORY_STALE' as const,
      organizationId: r.organization_id,
      title: r.last_at
        ? `No successful backup of ${r.path_with_namespace} since ${when(r.last_at)}`
        : `No successful backup of ${r.path_with_namespace} yet`,
      message: [
        r.last_at
          ? `Repository ${r.path_with_namespace} (organization ${r.full_path}) has had no successful backup for ${hours} hours; the last one finished ${when(r.last_at)}.`
          : `Repository ${r.path_with_namespace} (organization ${r.full_path}) was discovered ${hours} hours ago and has no successful backup.`,
        '',
        "What to do: check the organization's policy schedule and its latest runs; a repository that keeps " +
          'failing names its reason on the run page. Run now once the cause is fixed.',
      ].join('\n'),
      link: `${publicUrl}/repositories/${r.id}/snapshots`,
      details: {
        repositoryId: r.id,
        repository: r.path_with_namespace,
        organization: r.full_path,
        lastSuccessAt: r.last_at?.toISOString() ?? null,
      },
      occurredAt: now,
    };
  });
}
