import { describe, expect, it } from '@jest/globals';
import { nextSyncAt, validateSchedule } from '../../server/src/organizations/sync-schedule.js';

const at = (iso: string) => new Date(iso);
const warsaw = { kind: 'HOURS' as const, hours: [2, 14], timeZone: 'Europe/Warsaw' };

describe('nextSyncAt', () => {
  describe('with hours of the day', () => {
    it.each([
      ['2026-01-01T00:00:00Z', '2026-01-01T01:00:00.000Z', 'the next listed hour today (02:00 CET = 01:00Z)'],
      ['2026-01-01T01:00:00Z', '2026-01-01T13:00:00.000Z', 'strictly after: the same instant moves on to 14:00'],
      ['2026-01-01T13:30:00Z', '2026-01-02T01:00:00.000Z', 'the first hour of the next day after the last one'],
      ['2026-07-01T00:30:00Z', '2026-07-01T12:00:00.000Z', 'summer time (14:00 CEST = 12:00Z)'],
      [
        '2026-03-29T00:30:00Z',
        '2026-03-29T01:00:00.000Z',
        'a skipped 02:00 (spring forward) fires when the clock jumps',
      ],
      ['2026-10-25T00:00:00Z', '2026-10-25T13:00:00.000Z', 'a repeated 02:00 (fall back) fires once'],
    ])('after %s is %s: %s', (after, expected) => {
      expect(nextSyncAt(warsaw, at(after)).toISOString()).toBe(expected);
    });

    it('uses the time zone given (midnight in New York is 04:00Z in summer)', () => {
      expect(
        nextSyncAt(
          { kind: 'HOURS', hours: [0], timeZone: 'America/New_York' },
          at('2026-06-01T03:59:00Z'),
        ).toISOString(),
      ).toBe('2026-06-01T04:00:00.000Z');
    });
  });

  describe('with an interval', () => {
    it('is the interval after the given instant', () => {
      expect(nextSyncAt({ kind: 'INTERVAL', intervalMinutes: 90 }, at('2026-01-01T10:00:00Z')).toISOString()).toBe(
        '2026-01-01T11:30:00.000Z',
      );
    });
  });
});

describe('validateSchedule', () => {
  it('sorts and de-duplicates hours', () => {
    expect(validateSchedule({ kind: 'HOURS', hours: [14, 2, 14], timeZone: 'UTC' })).toEqual({
      kind: 'HOURS',
      hours: [2, 14],
      timeZone: 'UTC',
    });
  });
  it.each([
    [{ kind: 'HOURS', hours: [], timeZone: 'UTC' }, 'repoSyncSchedule.hours'],
    [{ kind: 'HOURS', hours: [24], timeZone: 'UTC' }, 'repoSyncSchedule.hours'],
    [{ kind: 'HOURS', hours: [1], timeZone: 'Mars/Olympus' }, 'repoSyncSchedule.timeZone'],
    [{ kind: 'INTERVAL', intervalMinutes: 5 }, 'repoSyncSchedule.intervalMinutes'],
  ] as const)('refuses %j naming %s', (schedule, field) => {
    expect(() => validateSchedule(schedule as never)).toThrow(
      expect.objectContaining({ details: { fields: { [field]: expect.any(String) } } }),
    );
  });
});
