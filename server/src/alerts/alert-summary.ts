/**
 * The scheduled summary report: for a channel whose `summary` rule is DAILY or WEEKLY, one message
 * per period (UTC days; weeks from Monday) once the period is over, with a section per
 * organization: backup runs by status, failed repositories, repositories new and deleted upstream,
 * and storage growth (bytes of the kept snapshots created in the period, and in total at its end).
 * Its key names the channel and the period, so it is sent once however often it is evaluated.
 */
import type { DataSource } from 'typeorm';
import type { Occurrence } from './alert-rules.js';
import type { SummaryCadence } from './alert.entity.js';

const DAY_MS = 86_400_000;

/** The last complete period before `now`: yesterday, or last week (Monday to Monday, UTC). */
export function lastPeriod(cadence: SummaryCadence, now: Date): { start: Date; end: Date } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if (cadence === 'DAILY') return { start: new Date(today - DAY_MS), end: new Date(today) };
  const monday = today - ((now.getUTCDay() + 6) % 7) * DAY_MS;
  return { start: new Date(monday - 7 * DAY_MS), end: new Date(monday) };
}

interface OrganizationFigures {
  id: string;
  full_path: string;
  runs: Record<string, number> | null;
  failed_repositories: number;
  new_repositories: number;
  deleted_repositories: number;
  added_bytes: number;
  snapshots_added: number;
  stored_bytes: number;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export async function summaryOccurrence(
  db: DataSource,
  publicUrl: string,
  channel: { id: string; name: string; organizationId: string | null },
  cadence: SummaryCadence,
  period: { start: Date; end: Date },
): Promise<Occurrence> {
  const orgs = await db.query<OrganizationFigures[]>(
    `SELECT o.id, o.full_path,
       (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*)::int AS n FROM backup_runs
          WHERE organization_id = o.id AND finished_at >= $1 AND finished_at < $2 GROUP BY status) r) AS runs,
       (SELECT count(DISTINCT i.repository_id)::int FROM backup_run_items i JOIN backup_runs r ON r.id = i.run_id
          WHERE r.organization_id = o.id AND r.finished_at >= $1 AND r.finished_at < $2 AND i.status = 'FAILED') AS failed_repositories,
       (SELECT count(*)::int FROM repositories WHERE organization_id = o.id AND discovered_at >= $1 AND discovered_at < $2) AS new_repositories,
       (SELECT count(*)::int FROM repositories WHERE organization_id = o.id AND deleted_upstream_at >= $1 AND deleted_upstream_at < $2) AS deleted_repositories,
       (SELECT coalesce(sum(size_bytes), 0)::float8 FROM snapshots WHERE organization_id = o.id AND created_at >= $1 AND created_at < $2) AS added_bytes,
       (SELECT count(*)::int FROM snapshots WHERE organization_id = o.id AND created_at >= $1 AND created_at < $2) AS snapshots_added,
       (SELECT coalesce(sum(size_bytes), 0)::float8 FROM snapshots WHERE organization_id = o.id AND created_at < $2) AS stored_bytes
     FROM organizations o WHERE ($3::uuid IS NULL OR o.id = $3) ORDER BY o.full_path`,
    [period.start, period.end, channel.organizationId],
  );
  const span =
    cadence === 'DAILY' ? day(period.start) : `${day(period.start)} to ${day(new Date(period.end.getTime() - DAY_MS))}`;
  const lines = [`Labkeeper ${cadence.toLowerCase()} summary for ${span} (UTC).`];
  if (orgs.length === 0) lines.push('', 'No organization is connected.');
  let failures = 0;
  for (const o of orgs) {
    const runs = o.runs ?? {};
    const total = Object.values(runs).reduce((a, b) => a + b, 0);
    const failedRuns = (runs.FAILED ?? 0) + (runs.TIMED_OUT ?? 0) + (runs.PARTIAL ?? 0);
    failures += failedRuns;
    const byStatus = Object.entries(runs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${n} ${status}`)
      .join(', ');
    lines.push(
      '',
      `Organization ${o.full_path}:`,
      `- Backup runs: ${total}${total ? ` (${byStatus})` : ''}`,
      `- Failures: ${failedRuns} ${failedRuns === 1 ? 'run' : 'runs'} not fully successful, ${o.failed_repositories} ${o.failed_repositories === 1 ? 'repository' : 'repositories'} failed`,
      `- Repositories: ${o.new_repositories} new, ${o.deleted_repositories} deleted upstream`,
      `- Storage: +${formatBytes(Number(o.added_bytes))} in ${o.snapshots_added} ${o.snapshots_added === 1 ? 'snapshot' : 'snapshots'}, ${formatBytes(Number(o.stored_bytes))} kept in total`,
    );
  }
  lines.push(
    '',
    failures > 0
      ? 'What to do: open the runs that were not fully successful and read their reasons.'
      : 'Nothing needs attention.',
  );
  return {
    key: `summary:${channel.id}:${cadence}:${period.start.toISOString()}`,
    kind: 'SUMMARY',
    organizationId: channel.organizationId,
    title: `${cadence === 'DAILY' ? 'Daily' : 'Weekly'} summary, ${span}: ${failures} ${failures === 1 ? 'run' : 'runs'} not fully successful`,
    message: lines.join('\n'),
    link: `${publicUrl}/`,
    details: {
      cadence,
      periodStart: period.start.toISOString(),
      periodEnd: period.end.toISOString(),
      organizations: orgs.map((o) => ({
        organizationId: o.id,
        organization: o.full_path,
        runs: o.runs ?? {},
        failedRepositories: o.failed_repositories,
        newRepositories: o.new_repositories,
        deletedRepositories: o.deleted_repositories,
        addedBytes: Number(o.added_bytes),
        storedBytes: Number(o.stored_bytes),
      })),
    },
    occurredAt: period.end,
  };
}
