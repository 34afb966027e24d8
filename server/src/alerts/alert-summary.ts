/**
 * The scheduled summary report: for a channel whose `summary` rule is DAILY or WEEKLY, one message
 * per period once the period is over — days that end at the channel's `summaryHour` in its
 * `summaryTimeZone` (midnight UTC unless set), weeks that end at that hour on Monday — with a section per
 * organization: backup runs by status, failed repositories, repository syncs by status (a failed
 * one leaves the list of repositories as it was: new ones are not backed up), repositories new and
 * deleted upstream, and storage growth (bytes of the kept snapshots created in the period, and in
 * total at its end).
 * Its key names the channel and the period, so it is sent once however often it is evaluated.
 */
import type { DataSource } from 'typeorm';
import type { Occurrence } from './alert-rules.js';
import type { SummaryCadence } from './alert.entity.js';
import { addDays, localParts, weekdayOf, zonedInstant, type CivilDate } from '../shared/zoned-time.js';

const DAY_MS = 86_400_000;

/** When a channel's days end: an hour of the wall clock in a time zone (midnight UTC by default). */
export interface SummaryClock {
  hour: number;
  timeZone: string;
}

export const UTC_MIDNIGHT: SummaryClock = { hour: 0, timeZone: 'UTC' };

/**
 * The last complete period before `now`: the day that ended at the latest `hour` (in `timeZone`),
 * or the week that ended at that hour on the latest Monday. Boundaries are wall-clock times, so a
 * day across a daylight-saving change lasts 23 or 25 hours.
 */
export function lastPeriod(
  cadence: SummaryCadence,
  now: Date,
  clock: SummaryClock = UTC_MIDNIGHT,
): { start: Date; end: Date } {
  const at = (date: CivilDate) => zonedInstant(date, clock.hour, 0, clock.timeZone);
  const { year, month, day: date } = localParts(now, clock.timeZone);
  const today: CivilDate = { year, month, day: date };
  if (cadence === 'DAILY') {
    const endDay = at(today) <= now ? today : addDays(today, -1);
    return { start: at(addDays(endDay, -1)), end: at(endDay) };
  }
  let monday = addDays(today, -((weekdayOf(today) + 6) % 7));
  if (at(monday) > now) monday = addDays(monday, -7);
  return { start: at(addDays(monday, -7)), end: at(monday) };
}

/** How the report names its period: days at midnight by date, otherwise with the hour; always with the zone. */
function spanOf(cadence: SummaryCadence, period: { start: Date; end: Date }, clock: SummaryClock): string {
  const local = (d: Date) => {
    const p = localParts(d, clock.timeZone);
    const date = `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
    return clock.hour === 0 ? date : `${date} ${String(p.hour).padStart(2, '0')}:00`;
  };
  if (clock.hour !== 0) return `${local(period.start)} to ${local(period.end)}`;
  // At midnight a day is its date, and a week runs from its first day to its last.
  return cadence === 'DAILY'
    ? local(period.start)
    : `${local(period.start)} to ${local(new Date(period.end.getTime() - DAY_MS / 2))}`;
}

interface OrganizationFigures {
  id: string;
  full_path: string;
  runs: Record<string, number> | null;
  syncs: Record<string, number> | null;
  failed_repositories: number;
  new_repositories: number;
  deleted_repositories: number;
  added_bytes: number;
  snapshots_added: number;
  stored_bytes: number;
}

/** `3 FAILED, 2 SUCCEEDED`: counts by status, statuses in alphabetical order. */
const byStatus = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

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
  clock: SummaryClock = UTC_MIDNIGHT,
): Promise<Occurrence> {
  const orgs = await db.query<OrganizationFigures[]>(
    `SELECT o.id, o.full_path,
       (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*)::int AS n FROM backup_runs
          WHERE organization_id = o.id AND finished_at >= $1 AND finished_at < $2 GROUP BY status) r) AS runs,
       (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*)::int AS n FROM sync_runs
          WHERE organization_id = o.id AND finished_at >= $1 AND finished_at < $2 GROUP BY status) s) AS syncs,
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
  const span = spanOf(cadence, period, clock);
  const lines = [`Labkeeper ${cadence.toLowerCase()} summary for ${span} (${clock.timeZone}).`];
  if (orgs.length === 0) lines.push('', 'No organization is connected.');
  let failures = 0;
  let failedSyncs = 0;
  for (const o of orgs) {
    const runs = o.runs ?? {};
    const total = Object.values(runs).reduce((a, b) => a + b, 0);
    const failedRuns = (runs.FAILED ?? 0) + (runs.TIMED_OUT ?? 0) + (runs.PARTIAL ?? 0);
    failures += failedRuns;
    const syncs = o.syncs ?? {};
    const syncTotal = Object.values(syncs).reduce((a, b) => a + b, 0);
    failedSyncs += syncs.FAILED ?? 0;
    lines.push(
      '',
      `Organization ${o.full_path}:`,
      `- Backup runs: ${total}${total ? ` (${byStatus(runs)})` : ''}`,
      `- Failures: ${failedRuns} ${failedRuns === 1 ? 'run' : 'runs'} not fully successful, ${o.failed_repositories} ${o.failed_repositories === 1 ? 'repository' : 'repositories'} failed, ${plural(syncs.FAILED ?? 0, 'repository sync', 'repository syncs')} failed`,
      `- Repository syncs: ${syncTotal}${syncTotal ? ` (${byStatus(syncs)})` : ''}`,
      `- Repositories: ${o.new_repositories} new, ${o.deleted_repositories} deleted upstream`,
      `- Storage: +${formatBytes(Number(o.added_bytes))} in ${o.snapshots_added} ${o.snapshots_added === 1 ? 'snapshot' : 'snapshots'}, ${formatBytes(Number(o.stored_bytes))} kept in total`,
    );
  }
  lines.push('');
  if (failures > 0) lines.push('What to do: open the runs that were not fully successful and read their reasons.');
  if (failedSyncs > 0)
    lines.push(
      "What to do about a failed sync: check the connection (token, scopes, the instance's reachability), then press Sync on the organization.",
    );
  if (failures === 0 && failedSyncs === 0) lines.push('Nothing needs attention.');
  return {
    key: `summary:${channel.id}:${cadence}:${period.start.toISOString()}`,
    kind: 'SUMMARY',
    organizationId: channel.organizationId,
    title: `${cadence === 'DAILY' ? 'Daily' : 'Weekly'} summary, ${span}: ${failures} ${failures === 1 ? 'run' : 'runs'} not fully successful${failedSyncs > 0 ? `, ${plural(failedSyncs, 'repository sync', 'repository syncs')} failed` : ''}`,
    message: lines.join('\n'),
    link: `${publicUrl}/`,
    details: {
      cadence,
      timeZone: clock.timeZone,
      periodStart: period.start.toISOString(),
      periodEnd: period.end.toISOString(),
      organizations: orgs.map((o) => ({
        organizationId: o.id,
        organization: o.full_path,
        runs: o.runs ?? {},
        syncs: o.syncs ?? {},
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
