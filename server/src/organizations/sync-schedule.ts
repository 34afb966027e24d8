/**
 * RepoSyncSchedule: when an organization's repository list is re-discovered.
 * - HOURS: at minute 0 of each listed hour (0–23) of the day, in an IANA time zone. On a DST
 *   spring-forward day an hour that does not exist locally fires at the next instant that does
 *   (02:00 → 03:00 local); on fall-back days a repeated hour fires once, at its first occurrence.
 * - INTERVAL: every N minutes (15 minutes to 7 days) after the previous scheduled time.
 * Pure functions of (schedule, instant) so they are tested without waiting.
 */
import type { RepoSyncScheduleValue } from '../connections/connection.entity.js';
import { validationError } from '../shared/errors.js';

export const DEFAULT_SCHEDULE: RepoSyncScheduleValue = { kind: 'INTERVAL', intervalMinutes: 360 };
export const MIN_INTERVAL_MINUTES = 15;
export const MAX_INTERVAL_MINUTES = 7 * 24 * 60;

export function validateSchedule(schedule: RepoSyncScheduleValue, field = 'repoSyncSchedule'): RepoSyncScheduleValue {
  if (schedule.kind === 'HOURS') {
    const hours = [...new Set(schedule.hours)].sort((a, b) => a - b);
    if (hours.length === 0) throw validationError({ [`${field}.hours`]: 'must list at least one hour' });
    if (hours.some((h) => !Number.isInteger(h) || h < 0 || h > 23)) {
      throw validationError({ [`${field}.hours`]: 'must be whole hours from 0 to 23' });
    }
    if (!isTimeZone(schedule.timeZone)) {
      throw validationError({ [`${field}.timeZone`]: `"${schedule.timeZone}" is not an IANA time zone (e.g. Europe/Warsaw, UTC)` });
    }
    return { kind: 'HOURS', hours, timeZone: schedule.timeZone };
  }
  const m = schedule.intervalMinutes;
  if (!Number.isInteger(m) || m < MIN_INTERVAL_MINUTES || m > MAX_INTERVAL_MINUTES) {
    throw validationError({
      [`${field}.intervalMinutes`]: `must be a whole number of minutes from ${MIN_INTERVAL_MINUTES} to ${MAX_INTERVAL_MINUTES}`,
    });
  }
  return { kind: 'INTERVAL', intervalMinutes: m };
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.length > 0;
  } catch {
    return false;
  }
}

/** The first scheduled instant strictly after `after`. */
export function nextSyncAt(schedule: RepoSyncScheduleValue, after: Date): Date {
  if (schedule.kind === 'INTERVAL') return new Date(after.getTime() + schedule.intervalMinutes * 60_000);
  const { hours, timeZone } = schedule;
  const start = localParts(after, timeZone);
  // Walk local calendar days from the day of `after`; 3 days always suffice (DST shifts ≤ 1 day).
  for (let dayOffset = 0; dayOffset < 3; dayOffset++) {
    const day = new Date(Date.UTC(start.year, start.month - 1, start.day + dayOffset));
    for (const hour of hours) {
      const at = zonedInstant(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), hour, timeZone);
      if (at.getTime() > after.getTime()) return at;
    }
  }
  throw new Error('no next sync time found'); // unreachable for a validated schedule
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function localParts(at: Date, timeZone: string): LocalParts {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute') };
}

/** The UTC offset (ms) of a zone at an instant. */
function offsetMs(at: Date, timeZone: string): number {
  const p = localParts(at, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  return asUtc - Math.floor(at.getTime() / 60_000) * 60_000;
}

/**
 * The instant at which local time in `timeZone` is `hour:00` on the given date, or — when that
 * local time does not exist (spring forward) — the first instant after the gap.
 */
function zonedInstant(year: number, month: number, day: number, hour: number, timeZone: string): Date {
  const naive = Date.UTC(year, month - 1, day, hour);
  // Two candidates from the offsets around the naive instant; take the earliest that maps back.
  const candidates = [naive - offsetMs(new Date(naive), timeZone), naive - offsetMs(new Date(naive - 86_400_000), timeZone)]
    .map((t) => new Date(t))
    .sort((a, b) => a.getTime() - b.getTime());
  for (const c of candidates) {
    const p = localParts(c, timeZone);
    if (p.year === year && p.month === month && p.day === day && p.hour === hour && p.minute === 0) return c;
  }
  // Local hour skipped by DST: fire when the clock jumps past it.
  const later = candidates[candidates.length - 1]!;
  return new Date(Math.max(...candidates.map((c) => c.getTime())) + (localParts(later, timeZone).hour > hour ? 0 : 3_600_000));
}
