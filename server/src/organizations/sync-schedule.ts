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
import { addDays, isTimeZone, localParts, zonedInstant } from '../shared/zoned-time.js';

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
      throw validationError({
        [`${field}.timeZone`]: `"${schedule.timeZone}" is not an IANA time zone (e.g. Europe/Warsaw, UTC)`,
      });
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

/** The first scheduled instant strictly after `after`. */
export function nextSyncAt(schedule: RepoSyncScheduleValue, after: Date): Date {
  if (schedule.kind === 'INTERVAL') return new Date(after.getTime() + schedule.intervalMinutes * 60_000);
  const { hours, timeZone } = schedule;
  const start = localParts(after, timeZone);
  // Walk local calendar days from the day of `after`; 3 days always suffice (DST shifts ≤ 1 day).
  for (let dayOffset = 0; dayOffset < 3; dayOffset++) {
    const day = addDays(start, dayOffset);
    for (const hour of hours) {
      const at = zonedInstant(day, hour, 0, timeZone);
      if (at.getTime() > after.getTime()) return at;
    }
  }
  throw new Error('no next sync time found'); // unreachable for a validated schedule
}
