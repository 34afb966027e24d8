/**
 * When a BackupPolicy's schedule starts the next backup, and what kind of copy it makes.
 *
 * A schedule is read as a calendar of wall-clock times in the policy's time zone. For each local
 * date, `copiesOn` lists the (time, copy type) pairs that the schedule places on it:
 * - BASIC: a FULL on `fullDayOfMonth`, an INCREMENTAL every other day, both at `time`.
 * - GFS: a FULL on `fullDayOfMonth`, a DIFFERENTIAL on `differentialWeekday`, an INCREMENTAL on
 *   the other days, all at `time` (grandfather, father, son).
 * - CUSTOM: the full and the incremental copy each run on their days at their times. A day
 *   matches when its weekday or its day of the month is listed (cron's rule when both are set);
 *   with neither listed, every day matches.
 * - FOREVER_INCREMENTAL: an INCREMENTAL every hour (at `time.minute`), day, week or month.
 * - MANUAL: nothing; only "Run now" starts backups.
 * Days of the month past the end of a month mean its last day (31 → 30 April, 30 → 28 February).
 *
 * `nextBackup` walks local dates from the one containing `after`, turns each pair into an
 * instant with zoned-time.ts (DST: a repeated time runs once, a skipped one when the clock jumps;
 * hourly copies run at every real hour, both of a repeated hour included) and returns the earliest
 * instant strictly after `after`. Two copies at one instant merge into the bigger
 * (FULL > DIFFERENTIAL > INCREMENTAL), since the bigger copy contains the smaller's changes.
 *
 * History: an incremental or differential is a copy against a full. When the caller says there is
 * no full yet (`history.hasFull === false`) any scheduled copy becomes a FULL; that is what makes
 * FOREVER_INCREMENTAL "one full, then incrementals", and it keeps the first BASIC, GFS or CUSTOM
 * run from producing an incremental with nothing under it. Without `history` the calendar's own
 * copy type is returned (as if a full exists).
 *
 * Pure: no clock reads; `after` is a parameter, so tests need no waiting.
 */
import {
  addDays,
  isDayOfMonth,
  localParts,
  weekdayOf,
  zonedInstant,
  zonedInstants,
  type CivilDate,
} from '../shared/zoned-time.js';
import { isInsideWindow } from './backup-window.js';
import type { BackupSchedule, BackupWindow, CopySchedule, CopyType, TimeOfDay } from './policy.types.js';

export interface ScheduledBackup {
  at: Date;
  copyType: CopyType;
}

/** What the scheduler knows about earlier copies of the policy's repositories. */
export interface BackupHistory {
  hasFull: boolean;
}

/** How far ahead to look before deciding a schedule never fires (a CUSTOM schedule without times). */
const HORIZON_DAYS = 400;

const COPY_RANK: Record<CopyType, number> = { INCREMENTAL: 0, DIFFERENTIAL: 1, FULL: 2 };

/** The bigger of two copy types: a FULL contains a differential's changes, which contain an incremental's. */
export function biggerCopy(a: CopyType, b: CopyType): CopyType {
  return COPY_RANK[a] >= COPY_RANK[b] ? a : b;
}

interface PlannedCopy {
  time: TimeOfDay;
  copyType: CopyType;
  /** Run at every occurrence of a repeated wall time and skip a missing one (hourly copies). */
  isEveryOccurrence?: boolean;
}

/**
 * The first backup the schedule starts strictly after `after`, or null when it never starts one
 * (MANUAL, or a schedule without times, which validation refuses).
 */
export function nextBackup(
  schedule: BackupSchedule,
  timeZone: string,
  after: Date,
  history?: BackupHistory,
): ScheduledBackup | null {
  if (schedule.type === 'MANUAL') return null;
  const start = localParts(after, timeZone);
  for (let offset = 0; offset < HORIZON_DAYS; offset++) {
    const date = addDays(start, offset);
    let best: ScheduledBackup | null = null;
    for (const copy of copiesOn(schedule, date)) {
      for (const at of instantsOf(copy, date, timeZone)) {
        if (at.getTime() <= after.getTime()) continue;
        if (!best || at.getTime() < best.at.getTime()) best = { at, copyType: copy.copyType };
        else if (at.getTime() === best.at.getTime()) best = { at, copyType: biggerCopy(best.copyType, copy.copyType) };
      }
    }
    if (best) return history && !history.hasFull ? { at: best.at, copyType: 'FULL' } : best;
  }
  return null;
}

/**
 * The first backup strictly after `after` that the backup window lets start. Scheduled instants
 * outside the window are passed over (validation refuses schedules that would never fit, but an
 * hourly schedule legitimately fires outside a window and must wait for it). Null as nextBackup.
 */
export function nextBackupInWindow(
  schedule: BackupSchedule,
  timeZone: string,
  window: BackupWindow | null,
  after: Date,
  history?: BackupHistory,
): ScheduledBackup | null {
  let cursor = after;
  for (let tries = 0; tries < HORIZON_DAYS * 24; tries++) {
    const next = nextBackup(schedule, timeZone, cursor, history);
    if (!next || isInsideWindow(window, timeZone, next.at)) return next;
    cursor = next.at;
  }
  return null;
}

/**
 * The next `count` backups after `after`, for the UI. The first FULL in the list counts as
 * history for the ones after it, so a FOREVER_INCREMENTAL policy without a full shows one FULL
 * and then incrementals.
 */
export function upcomingBackups(
  schedule: BackupSchedule,
  timeZone: string,
  after: Date,
  count: number,
  history?: BackupHistory,
): ScheduledBackup[] {
  const result: ScheduledBackup[] = [];
  let cursor = after;
  let known = history;
  while (result.length < count) {
    const next = nextBackup(schedule, timeZone, cursor, known);
    if (!next) break;
    result.push(next);
    cursor = next.at;
    if (known && next.copyType === 'FULL') known = { hasFull: true };
  }
  return result;
}

/**
 * The copy type of the backup the schedule starts exactly at `at`, or null when `at` is not one
 * of its instants. Lets a worker that picks up a persisted scheduled time (after a restart, say)
 * recompute what it was meant to run.
 */
export function copyTypeFor(
  schedule: BackupSchedule,
  timeZone: string,
  at: Date,
  history?: BackupHistory,
): CopyType | null {
  const next = nextBackup(schedule, timeZone, new Date(at.getTime() - 1), history);
  return next && next.at.getTime() === at.getTime() ? next.copyType : null;
}

/** The copies the schedule places on one local date. */
function copiesOn(schedule: BackupSchedule, date: CivilDate): PlannedCopy[] {
  switch (schedule.type) {
    case 'MANUAL':
      return [];
    case 'BASIC':
      return [{ time: schedule.time, copyType: isDayOfMonth(date, schedule.fullDayOfMonth) ? 'FULL' : 'INCREMENTAL' }];
    case 'GFS': {
      const copyType: CopyType = isDayOfMonth(date, schedule.fullDayOfMonth)
        ? 'FULL'
        : weekdayOf(date) === schedule.differentialWeekday
          ? 'DIFFERENTIAL'
          : 'INCREMENTAL';
      return [{ time: schedule.time, copyType }];
    }
    case 'CUSTOM':
      return [...customCopies(schedule.full, 'FULL', date), ...customCopies(schedule.incremental, 'INCREMENTAL', date)];
    case 'FOREVER_INCREMENTAL': {
      const { time } = schedule;
      switch (schedule.every) {
        case 'HOURLY':
          return Array.from({ length: 24 }, (_, hour) => ({
            time: { hour, minute: time.minute },
            copyType: 'INCREMENTAL',
            isEveryOccurrence: true,
          }));
        case 'DAILY':
          return [{ time, copyType: 'INCREMENTAL' }];
        case 'WEEKLY':
          return weekdayOf(date) === schedule.weekday ? [{ time, copyType: 'INCREMENTAL' }] : [];
        case 'MONTHLY':
          return isDayOfMonth(date, schedule.dayOfMonth) ? [{ time, copyType: 'INCREMENTAL' }] : [];
      }
    }
  }
}

function customCopies(copy: CopySchedule, copyType: CopyType, date: CivilDate): PlannedCopy[] {
  return runsOn(copy, date) ? copy.times.map((time) => ({ time, copyType })) : [];
}

/** Cron's rule: with both weekdays and days of the month listed, either one matching is enough. */
function runsOn(copy: CopySchedule, date: CivilDate): boolean {
  const byWeekday = copy.weekdays.length > 0;
  const byDate = copy.daysOfMonth.length > 0;
  if (!byWeekday && !byDate) return true;
  return (
    (byWeekday && copy.weekdays.includes(weekdayOf(date) as CopySchedule['weekdays'][number])) ||
    (byDate && copy.daysOfMonth.some((day) => isDayOfMonth(date, day)))
  );
}

function instantsOf(copy: PlannedCopy, date: CivilDate, timeZone: string): Date[] {
  const { hour, minute } = copy.time;
  return copy.isEveryOccurrence
    ? zonedInstants(date, hour, minute, timeZone)
    : [zonedInstant(date, hour, minute, timeZone)];
}
