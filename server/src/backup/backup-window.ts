/**
 * The backup window: the part of each day, in the policy's time zone, in which backups may run.
 * A run does not start outside it, and a run still going when it closes stops cleanly and is
 * marked TIMED_OUT (the engine's part; this module only answers the two questions it asks).
 *
 * A window is [start, end) in wall-clock minutes. When `end` is earlier than `start` it crosses
 * midnight (22:00–06:00 is open from 22:00 until 06:00 the next morning). `null` means no window:
 * backups may run at any time. A window whose start equals its end is open all day (validation
 * refuses it, since `null` says the same more plainly).
 *
 * Being inside is a question about the wall clock, so on DST days a window is as long as the
 * clock says: 01:00–04:00 lasts two hours on a spring-forward night and four on a fall-back one.
 */
import { addDays, localParts, zonedInstants, zonedInstant, type CivilDate } from '../shared/zoned-time.js';
import type { BackupWindow, TimeOfDay } from './policy.types.js';

const minuteOfDay = (t: TimeOfDay) => t.hour * 60 + t.minute;

/** Whether a backup may start at `at`: always with no window. */
export function isInsideWindow(window: BackupWindow | null, timeZone: string, at: Date): boolean {
  if (!window) return true;
  const local = localParts(at, timeZone);
  return isInsideMinutes(window, minuteOfDay(local));
}

/**
 * The instant the window that contains `startedAt` closes: the deadline of a run that started
 * then. Null when there is no window (no deadline). A run started outside the window (which should
 * not happen) gets `startedAt` itself, i.e. a deadline already passed, so the engine stops it at
 * once rather than letting it run into business hours.
 *
 * When the closing time repeats (fall back) the window closes at the first occurrence after
 * `startedAt`; when it is skipped (spring forward) it closes when the clock jumps past it.
 */
export function windowEndsAt(window: BackupWindow | null, timeZone: string, startedAt: Date): Date | null {
  if (!window) return null;
  const local = localParts(startedAt, timeZone);
  const now = minuteOfDay(local);
  if (!isInsideMinutes(window, now)) return startedAt;
  const start = minuteOfDay(window.start);
  const end = minuteOfDay(window.end);
  // An all-day window closes at the next `end`; a window crossing midnight, opened before
  // midnight, closes tomorrow; any other closes today.
  const closesTomorrow = start === end ? now >= end : start > end && now >= start;
  const closingDate: CivilDate = addDays(local, closesTomorrow ? 1 : 0);
  const later = zonedInstants(closingDate, window.end.hour, window.end.minute, timeZone).find(
    (t) => t.getTime() > startedAt.getTime(),
  );
  return later ?? zonedInstant(closingDate, window.end.hour, window.end.minute, timeZone);
}

/**
 * The next instant strictly after `after` at which the window opens, or `after` itself when there
 * is no window. For "the next backup can start at …" messages when a run is refused.
 */
export function nextWindowOpensAt(window: BackupWindow | null, timeZone: string, after: Date): Date {
  if (!window) return after;
  const local = localParts(after, timeZone);
  for (let offset = 0; offset < 3; offset++) {
    const at = zonedInstant(addDays(local, offset), window.start.hour, window.start.minute, timeZone);
    if (at.getTime() > after.getTime()) return at;
  }
  throw new Error('no window opening within three days'); // unreachable: a window opens daily
}

function isInsideMinutes(window: BackupWindow, minute: number): boolean {
  const start = minuteOfDay(window.start);
  const end = minuteOfDay(window.end);
  if (start === end) return true;
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}
