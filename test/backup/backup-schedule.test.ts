import { describe, expect, it } from '@jest/globals';
import {
  copyTypeFor,
  nextBackup,
  nextBackupInWindow,
  upcomingBackups,
} from '../../server/src/backup/backup-schedule.js';
import { isInsideWindow, nextWindowOpensAt, windowEndsAt } from '../../server/src/backup/backup-window.js';
import type { BackupSchedule, BackupWindow, CopySchedule } from '../../server/src/backup/policy.types.js';

// Calendar used below: 2026-03-01 and 2026-03-08 are Sundays. Europe/Warsaw springs forward on
// 2026-03-29 at 01:00Z (02:00 → 03:00 local) and falls back on 2026-10-25 at 01:00Z (03:00 → 02:00).
const at = (iso: string) => new Date(iso);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
const next = (schedule: BackupSchedule, tz: string, after: string, history?: { hasFull: boolean }) => {
  const found = nextBackup(schedule, tz, at(after), history);
  return found && `${found.at.toISOString()} ${found.copyType}`;
};
const upcoming = (schedule: BackupSchedule, tz: string, after: string, n: number, history?: { hasFull: boolean }) =>
  upcomingBackups(schedule, tz, at(after), n, history).map((b) => `${b.at.toISOString()} ${b.copyType}`);

const oneAm = { hour: 1, minute: 0 };
const basic = (fullDayOfMonth = 1, time = oneAm): BackupSchedule => ({ type: 'BASIC', time, fullDayOfMonth });
const gfs: BackupSchedule = { type: 'GFS', time: oneAm, fullDayOfMonth: 1, differentialWeekday: 0 };
const copies = (c: Partial<CopySchedule>): CopySchedule => ({ weekdays: [], daysOfMonth: [], times: [oneAm], ...c });
const foreverIncremental = (
  every: 'HOURLY' | 'DAILY' | 'WEEKLY' | 'MONTHLY',
  extra: Partial<{ minute: number; weekday: 0 | 1; dayOfMonth: number }> = {},
) =>
  ({
    type: 'FOREVER_INCREMENTAL',
    every,
    time: { hour: 1, minute: extra.minute ?? 0 },
    weekday: extra.weekday ?? 0,
    dayOfMonth: extra.dayOfMonth ?? 1,
  }) as BackupSchedule;

describe('nextBackup', () => {
  describe('with a BASIC schedule', () => {
    it('runs the full on its day of the month', () => {
      expect(next(basic(), 'UTC', '2026-01-31T12:00:00Z')).toBe('2026-02-01T01:00:00.000Z FULL');
    });

    it('runs an incremental on the other days, strictly after the given instant', () => {
      expect(next(basic(), 'UTC', '2026-02-01T01:00:00Z')).toBe('2026-02-02T01:00:00.000Z INCREMENTAL');
    });

    it.each([
      ['2026-04-29T12:00:00Z', '2026-04-30T01:00:00.000Z FULL', 'the 30th in a 30-day month'],
      ['2026-02-27T12:00:00Z', '2026-02-28T01:00:00.000Z FULL', 'the 28th in February'],
      ['2028-02-28T12:00:00Z', '2028-02-29T01:00:00.000Z FULL', 'the 29th in a leap February'],
      ['2026-03-29T12:00:00Z', '2026-03-30T01:00:00.000Z INCREMENTAL', 'not the 30th in a 31-day month'],
      ['2026-03-30T12:00:00Z', '2026-03-31T01:00:00.000Z FULL', 'the 31st when there is one'],
    ])('treats day 31 as the last day of shorter months (after %s: %s, %s)', (after, expected) => {
      expect(next(basic(31), 'UTC', after)).toBe(expected);
    });

    it('reads the time in the policy time zone, winter and summer', () => {
      expect(next(basic(), 'Europe/Warsaw', '2026-01-13T12:00:00Z')).toBe('2026-01-14T00:00:00.000Z INCREMENTAL');
      expect(next(basic(), 'Europe/Warsaw', '2026-07-13T12:00:00Z')).toBe('2026-07-13T23:00:00.000Z INCREMENTAL');
    });

    it('runs a time skipped by spring forward when the clock jumps past it', () => {
      expect(next(basic(1, { hour: 2, minute: 30 }), 'Europe/Warsaw', '2026-03-28T12:00:00Z')).toBe(
        '2026-03-29T01:00:00.000Z INCREMENTAL',
      );
    });

    it('runs a time repeated by fall back once, at its first occurrence', () => {
      const schedule = basic(1, { hour: 2, minute: 30 });
      expect(upcoming(schedule, 'Europe/Warsaw', '2026-10-24T12:00:00Z', 2)).toEqual([
        '2026-10-25T00:30:00.000Z INCREMENTAL',
        '2026-10-26T01:30:00.000Z INCREMENTAL',
      ]);
    });

    it('makes the first copy a full when there is no full yet', () => {
      expect(next(basic(), 'UTC', '2026-02-10T12:00:00Z', { hasFull: false })).toBe('2026-02-11T01:00:00.000Z FULL');
    });
  });

  describe('with a GFS schedule', () => {
    it('runs a monthly full, a weekly differential and daily incrementals, the full winning on a shared day', () => {
      expect(upcoming(gfs, 'UTC', '2026-02-27T12:00:00Z', 9)).toEqual([
        '2026-02-28T01:00:00.000Z INCREMENTAL',
        '2026-03-01T01:00:00.000Z FULL', // a Sunday: the full wins over the differential
        '2026-03-02T01:00:00.000Z INCREMENTAL',
        '2026-03-03T01:00:00.000Z INCREMENTAL',
        '2026-03-04T01:00:00.000Z INCREMENTAL',
        '2026-03-05T01:00:00.000Z INCREMENTAL',
        '2026-03-06T01:00:00.000Z INCREMENTAL',
        '2026-03-07T01:00:00.000Z INCREMENTAL',
        '2026-03-08T01:00:00.000Z DIFFERENTIAL',
      ]);
    });
  });

  describe('with a CUSTOM schedule', () => {
    it('runs each copy on its own days and times, the full winning at a shared instant', () => {
      const schedule: BackupSchedule = {
        type: 'CUSTOM',
        full: copies({ weekdays: [0] }),
        incremental: copies({ times: [{ hour: 13, minute: 0 }, oneAm] }),
      };
      expect(upcoming(schedule, 'UTC', '2026-02-28T12:00:00Z', 4)).toEqual([
        '2026-02-28T13:00:00.000Z INCREMENTAL',
        '2026-03-01T01:00:00.000Z FULL',
        '2026-03-01T13:00:00.000Z INCREMENTAL',
        '2026-03-02T01:00:00.000Z INCREMENTAL',
      ]);
    });

    it('runs on a listed weekday or a listed day of the month, as cron does', () => {
      const schedule: BackupSchedule = {
        type: 'CUSTOM',
        full: copies({ weekdays: [3], daysOfMonth: [13] }),
        incremental: copies({ times: [] }),
      };
      expect(upcoming(schedule, 'UTC', '2026-03-09T00:00:00Z', 3)).toEqual([
        '2026-03-11T01:00:00.000Z FULL', // Wednesday
        '2026-03-13T01:00:00.000Z FULL', // the 13th, a Friday
        '2026-03-18T01:00:00.000Z FULL', // Wednesday
      ]);
    });

    it('runs every day when neither weekdays nor days of the month are listed', () => {
      const schedule: BackupSchedule = { type: 'CUSTOM', full: copies({ daysOfMonth: [1] }), incremental: copies({}) };
      expect(upcoming(schedule, 'UTC', '2026-03-09T00:00:00Z', 2)).toEqual([
        '2026-03-09T01:00:00.000Z INCREMENTAL',
        '2026-03-10T01:00:00.000Z INCREMENTAL',
      ]);
    });
  });

  describe('with a FOREVER_INCREMENTAL schedule', () => {
    it('runs a full when there is no full yet, then only incrementals', () => {
      expect(upcoming(foreverIncremental('DAILY'), 'UTC', '2026-03-09T12:00:00Z', 3, { hasFull: false })).toEqual([
        '2026-03-10T01:00:00.000Z FULL',
        '2026-03-11T01:00:00.000Z INCREMENTAL',
        '2026-03-12T01:00:00.000Z INCREMENTAL',
      ]);
      expect(next(foreverIncremental('DAILY'), 'UTC', '2026-03-09T12:00:00Z', { hasFull: true })).toBe(
        '2026-03-10T01:00:00.000Z INCREMENTAL',
      );
    });

    it('runs hourly at the given minute', () => {
      expect(next(foreverIncremental('HOURLY', { minute: 15 }), 'UTC', '2026-03-09T10:20:00Z')).toBe(
        '2026-03-09T11:15:00.000Z INCREMENTAL',
      );
    });

    it('runs hourly at every real hour across fall back, the repeated hour included', () => {
      expect(
        upcoming(foreverIncremental('HOURLY', { minute: 30 }), 'Europe/Warsaw', '2026-10-25T00:00:00Z', 3),
      ).toEqual([
        '2026-10-25T00:30:00.000Z INCREMENTAL', // 02:30 CEST
        '2026-10-25T01:30:00.000Z INCREMENTAL', // 02:30 CET
        '2026-10-25T02:30:00.000Z INCREMENTAL', // 03:30 CET
      ]);
    });

    it('runs hourly at every real hour across spring forward, the skipped hour left out', () => {
      expect(
        upcoming(foreverIncremental('HOURLY', { minute: 30 }), 'Europe/Warsaw', '2026-03-29T00:00:00Z', 2),
      ).toEqual([
        '2026-03-29T00:30:00.000Z INCREMENTAL', // 01:30 CET
        '2026-03-29T01:30:00.000Z INCREMENTAL', // 03:30 CEST
      ]);
    });

    it('runs weekly on the given weekday and monthly on the given day', () => {
      expect(next(foreverIncremental('WEEKLY', { weekday: 1 }), 'UTC', '2026-03-01T12:00:00Z')).toBe(
        '2026-03-02T01:00:00.000Z INCREMENTAL',
      );
      expect(next(foreverIncremental('MONTHLY', { dayOfMonth: 31 }), 'UTC', '2026-04-01T00:00:00Z')).toBe(
        '2026-04-30T01:00:00.000Z INCREMENTAL',
      );
    });
  });

  describe('with a MANUAL schedule', () => {
    it('never starts a backup', () => {
      expect(nextBackup({ type: 'MANUAL' }, 'UTC', at('2026-03-01T00:00:00Z'))).toBeNull();
      expect(upcomingBackups({ type: 'MANUAL' }, 'UTC', at('2026-03-01T00:00:00Z'), 5)).toEqual([]);
    });
  });
});

describe('nextBackupInWindow', () => {
  const hourly = foreverIncremental('HOURLY', { minute: 30 });
  const window: BackupWindow = { start: { hour: 22, minute: 0 }, end: { hour: 2, minute: 0 } };

  it('passes over scheduled instants outside the window', () => {
    const found = nextBackupInWindow(hourly, 'UTC', window, at('2026-03-09T02:00:00Z'));
    expect(found && `${found.at.toISOString()} ${found.copyType}`).toBe('2026-03-09T22:30:00.000Z INCREMENTAL');
  });

  it('takes the first instant when there is no window', () => {
    expect(nextBackupInWindow(hourly, 'UTC', null, at('2026-03-09T02:00:00Z'))?.at.toISOString()).toBe(
      '2026-03-09T02:30:00.000Z',
    );
  });
});

describe('copyTypeFor', () => {
  it('names the copy scheduled at an instant, and nothing between instants', () => {
    expect(copyTypeFor(gfs, 'UTC', at('2026-03-08T01:00:00Z'))).toBe('DIFFERENTIAL');
    expect(copyTypeFor(gfs, 'UTC', at('2026-03-08T01:00:00Z'), { hasFull: false })).toBe('FULL');
    expect(copyTypeFor(gfs, 'UTC', at('2026-03-08T01:01:00Z'))).toBeNull();
  });
});

describe('isInsideWindow', () => {
  const night: BackupWindow = { start: { hour: 1, minute: 0 }, end: { hour: 5, minute: 0 } };
  const overMidnight: BackupWindow = { start: { hour: 22, minute: 0 }, end: { hour: 6, minute: 0 } };

  it('lets every instant in when there is no window', () => {
    expect(isInsideWindow(null, 'UTC', at('2026-03-01T12:00:00Z'))).toBe(true);
  });

  it.each([
    ['2026-03-01T00:59:00Z', false],
    ['2026-03-01T01:00:00Z', true],
    ['2026-03-01T04:59:59Z', true],
    ['2026-03-01T05:00:00Z', false],
  ])('includes the start and excludes the end (%s → %s)', (instant, expected) => {
    expect(isInsideWindow(night, 'UTC', at(instant))).toBe(expected);
  });

  it.each([
    ['2026-01-14T21:30:00Z', true, '22:30 local'],
    ['2026-01-15T04:30:00Z', true, '05:30 local, the next morning'],
    ['2026-01-15T11:00:00Z', false, 'noon local'],
  ])('handles a window crossing midnight in the policy time zone (%s → %s: %s)', (instant, expected) => {
    expect(isInsideWindow(overMidnight, 'Europe/Warsaw', at(instant))).toBe(expected);
  });
});

describe('windowEndsAt', () => {
  const overMidnight: BackupWindow = { start: { hour: 22, minute: 0 }, end: { hour: 6, minute: 0 } };
  const night: BackupWindow = { start: { hour: 1, minute: 0 }, end: { hour: 4, minute: 0 } };

  it('gives no deadline when there is no window', () => {
    expect(windowEndsAt(null, 'UTC', at('2026-03-01T12:00:00Z'))).toBeNull();
  });

  it('closes a window crossing midnight the next morning, whichever side of midnight the run started', () => {
    expect(iso(windowEndsAt(overMidnight, 'Europe/Warsaw', at('2026-01-14T21:30:00Z')))).toBe(
      '2026-01-15T05:00:00.000Z',
    );
    expect(iso(windowEndsAt(overMidnight, 'Europe/Warsaw', at('2026-01-15T02:00:00Z')))).toBe(
      '2026-01-15T05:00:00.000Z',
    );
  });

  it('closes a window within one day on that day', () => {
    expect(iso(windowEndsAt(night, 'UTC', at('2026-03-01T02:00:00Z')))).toBe('2026-03-01T04:00:00.000Z');
  });

  it('gives a run started outside the window a deadline already passed', () => {
    expect(iso(windowEndsAt(night, 'UTC', at('2026-03-01T12:00:00Z')))).toBe('2026-03-01T12:00:00.000Z');
  });

  it('follows the wall clock on DST nights: four real hours on fall back, two on spring forward', () => {
    expect(iso(windowEndsAt(night, 'Europe/Warsaw', at('2026-10-24T23:00:00Z')))).toBe('2026-10-25T03:00:00.000Z');
    expect(iso(windowEndsAt(night, 'Europe/Warsaw', at('2026-03-29T00:00:00Z')))).toBe('2026-03-29T02:00:00.000Z');
  });

  it('closes at the repeat of a repeated closing time for a run started in the repeated hour', () => {
    const untilHalfPastTwo: BackupWindow = { start: { hour: 0, minute: 0 }, end: { hour: 2, minute: 30 } };
    // 01:10Z is 02:10 CET, the second 02:10 of the night; the first 02:30 (00:30Z) has passed.
    expect(iso(windowEndsAt(untilHalfPastTwo, 'Europe/Warsaw', at('2026-10-25T01:10:00Z')))).toBe(
      '2026-10-25T01:30:00.000Z',
    );
  });
});

describe('nextWindowOpensAt', () => {
  it('is the next start of the window in the policy time zone', () => {
    const overMidnight: BackupWindow = { start: { hour: 22, minute: 0 }, end: { hour: 6, minute: 0 } };
    expect(iso(nextWindowOpensAt(overMidnight, 'Europe/Warsaw', at('2026-01-14T12:00:00Z')))).toBe(
      '2026-01-14T21:00:00.000Z',
    );
  });
});
