import { describe, expect, it } from '@jest/globals';
import { lastPeriod } from '../../server/src/alerts/alert-summary.js';

/** The period a summary covers: days and weeks that end at the channel's hour in its time zone. */
const period = (...args: Parameters<typeof lastPeriod>) => {
  const { start, end } = lastPeriod(...args);
  return { start: start.toISOString(), end: end.toISOString() };
};

describe('lastPeriod', () => {
  describe('at midnight UTC (the default)', () => {
    it('is yesterday for a daily summary', () => {
      expect(period('DAILY', new Date('2026-03-11T00:05:00Z'))).toEqual({
        start: '2026-03-10T00:00:00.000Z',
        end: '2026-03-11T00:00:00.000Z',
      });
    });

    it('is last week, Monday to Monday, for a weekly summary', () => {
      // Wednesday 11 March 2026.
      expect(period('WEEKLY', new Date('2026-03-11T12:00:00Z'))).toEqual({
        start: '2026-03-02T00:00:00.000Z',
        end: '2026-03-09T00:00:00.000Z',
      });
    });
  });

  describe('at 08:00 in Europe/Warsaw', () => {
    const clock = { hour: 8, timeZone: 'Europe/Warsaw' };

    it('ends the day at 08:00 local time, and before that hour still reports the day before', () => {
      // 07:30 in Warsaw (UTC+1 in winter): today's day has not ended yet.
      expect(period('DAILY', new Date('2026-02-11T06:30:00Z'), clock)).toEqual({
        start: '2026-02-09T07:00:00.000Z',
        end: '2026-02-10T07:00:00.000Z',
      });
      expect(period('DAILY', new Date('2026-02-11T07:00:00Z'), clock)).toEqual({
        start: '2026-02-10T07:00:00.000Z',
        end: '2026-02-11T07:00:00.000Z',
      });
    });

    it('makes the day across the spring change 23 hours long', () => {
      // Clocks go from 02:00 to 03:00 on Sunday 29 March 2026 in Warsaw.
      expect(period('DAILY', new Date('2026-03-29T12:00:00Z'), clock)).toEqual({
        start: '2026-03-28T07:00:00.000Z',
        end: '2026-03-29T06:00:00.000Z',
      });
    });

    it('ends the week at 08:00 local time on Monday', () => {
      // Monday 9 March 2026, 07:59 in Warsaw: the week ends a minute later, so last week's report is the one before.
      expect(period('WEEKLY', new Date('2026-03-09T06:59:00Z'), clock)).toEqual({
        start: '2026-02-23T07:00:00.000Z',
        end: '2026-03-02T07:00:00.000Z',
      });
      expect(period('WEEKLY', new Date('2026-03-09T07:00:00Z'), clock)).toEqual({
        start: '2026-03-02T07:00:00.000Z',
        end: '2026-03-09T07:00:00.000Z',
      });
    });
  });
});
