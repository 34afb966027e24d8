/**
 * Wall-clock time in IANA time zones, with nothing but Intl (no date library).
 *
 * Schedules and windows are written in local time ("01:00 in Europe/Warsaw"); jobs fire at
 * instants. Going from instant to wall clock is one `formatToParts`. Going back is the hard part,
 * because a local time can exist twice (autumn fall-back) or not at all (spring-forward gap):
 * - `zonedInstants` lists every instant at which the clock shows the given wall time: two in an
 *   overlap, one normally, none in a gap.
 * - `zonedInstant` picks one: the first occurrence in an overlap (so a daily job runs once), and
 *   in a gap the instant the clock jumps past it (02:30 on a 02:00→03:00 day fires at 03:00), the
 *   way cron runs jobs of a skipped hour right after the change.
 * Civil dates (year, month, day) are plain numbers; day arithmetic goes through Date.UTC, which
 * knows no time zones and therefore no DST.
 */

export interface CivilDate {
  year: number;
  month: number; // 1–12
  day: number; // 1–31
}

export interface LocalParts extends CivilDate {
  hour: number; // 0–23
  minute: number; // 0–59
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

// Building a DateTimeFormat costs far more than using one; schedules call this in loops.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the zone (IANA names such as Europe/Warsaw, and UTC). */
export function isTimeZone(timeZone: string): boolean {
  return canonicalTimeZone(timeZone) !== null;
}

/** The zone's canonical spelling (`europe/warsaw` → `Europe/Warsaw`), or null when unknown. */
export function canonicalTimeZone(timeZone: string): string | null {
  if (typeof timeZone !== 'string' || timeZone.trim() === '') return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The wall clock in `timeZone` at an instant (seconds dropped). */
export function localParts(at: Date, timeZone: string): LocalParts {
  const parts = formatter(timeZone).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute') };
}

/** The UTC offset (ms, east positive) of a zone at an instant, to the minute. */
export function offsetMs(at: Date, timeZone: string): number {
  const p = localParts(at, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  return asUtc - Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS;
}

/** Every instant at which the wall clock in `timeZone` reads this date and time, earliest first. */
export function zonedInstants(date: CivilDate, hour: number, minute: number, timeZone: string): Date[] {
  const naive = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  // The offsets a day either side cover any transition near the naive instant.
  const offsets = new Set([
    offsetMs(new Date(naive - DAY_MS), timeZone),
    offsetMs(new Date(naive), timeZone),
    offsetMs(new Date(naive + DAY_MS), timeZone),
  ]);
  const found = new Set<number>();
  for (const offset of offsets) {
    const candidate = naive - offset;
    const p = localParts(new Date(candidate), timeZone);
    if (p.year === date.year && p.month === date.month && p.day === date.day && p.hour === hour && p.minute === minute)
      found.add(candidate);
  }
  return [...found].sort((a, b) => a - b).map((t) => new Date(t));
}

/**
 * The instant the wall clock reads this date and time: its first occurrence when it repeats,
 * and the end of the gap when it is skipped (see the module comment).
 */
export function zonedInstant(date: CivilDate, hour: number, minute: number, timeZone: string): Date {
  const [first] = zonedInstants(date, hour, minute, timeZone);
  if (first) return first;
  // In a gap. Read with the offset before the jump the instant lands after it, read with the
  // offset after the jump it lands before it; the jump lies between. Search it to the minute.
  const naive = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  const before = offsetMs(new Date(naive - DAY_MS), timeZone);
  const after = offsetMs(new Date(naive + DAY_MS), timeZone);
  let lo = Math.floor(Math.min(naive - before, naive - after) / MINUTE_MS); // offset `before` here
  let hi = Math.ceil(Math.max(naive - before, naive - after) / MINUTE_MS); // offset `after` here
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMs(new Date(mid * MINUTE_MS), timeZone) === before) lo = mid;
    else hi = mid;
  }
  return new Date(hi * MINUTE_MS);
}

/** The civil date `days` after (or before, when negative) the given one. */
export function addDays(date: CivilDate, days: number): CivilDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 0 = Sunday … 6 = Saturday, as Date#getDay. */
export function weekdayOf(date: CivilDate): number {
  return new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Whether a "day of the month" setting falls on this date. Days past the end of the month fall
 * on its last day (31 → 30 April, 29–31 → 28 February), so a monthly copy is never skipped.
 */
export function isDayOfMonth(date: CivilDate, dayOfMonth: number): boolean {
  return date.day === Math.min(dayOfMonth, daysInMonth(date.year, date.month));
}
