import { describe, expect, it } from '@jest/globals';
import { defaultPolicy } from '../../server/src/backup/policy.defaults.js';
import { METADATA_TYPES, type BackupPolicyValue } from '../../server/src/backup/policy.types.js';
import { validatePolicy } from '../../server/src/backup/policy.validation.js';
import { isDomainError } from '../../server/src/shared/errors.js';

/** A policy: the defaults with some parts replaced (any shape, since clients send anything). */
const aPolicy = (overrides: Record<string, unknown> = {}): unknown => ({ ...defaultPolicy(), ...overrides });

/** The field → message map of the validation error `validatePolicy` throws. */
function problemsOf(value: unknown): Record<string, string> {
  try {
    validatePolicy(value);
  } catch (error) {
    if (isDomainError(error, 'VALIDATION_FAILED')) return error.details!.fields!;
    throw error;
  }
  throw new Error('expected the policy to be refused');
}

describe('validatePolicy', () => {
  describe('accepting', () => {
    it('accepts a monthly scratch-namespace drill and leaves out what its cadence does not use', () => {
      const drill = {
        enabled: true,
        every: 'MONTHLY',
        time: { hour: 3, minute: 30 },
        dayOfMonth: 31,
        sampleSize: 5,
        target: { kind: 'SCRATCH_NAMESPACE', connectionId: 'c1', namespacePath: '/drills/scratch/' },
      };
      expect(validatePolicy(aPolicy({ drill })).drill).toEqual({
        ...drill,
        weekday: 0,
        target: { ...drill.target, namespacePath: 'drills/scratch' },
      });
    });

    it('takes a policy without drills (older clients) as having none', () => {
      const { drill: _drill, ...rest } = defaultPolicy();
      expect(validatePolicy(rest).drill).toBeNull();
    });

    it('accepts the default policy as it is', () => {
      expect(validatePolicy(defaultPolicy())).toEqual(defaultPolicy());
    });

    it('normalises what it accepts: lists de-duplicated and sorted, zone spelled canonically, unknown keys dropped', () => {
      const policy = aPolicy({
        scope: { mode: 'SELECTED', repositoryIds: ['r2', 'r1', 'r2'] },
        include: {
          repository: true,
          wiki: false,
          lfs: false,
          metadata: ['labels', 'issues', 'labels'],
          groupMetadata: [],
        },
        schedule: {
          type: 'CUSTOM',
          full: {
            weekdays: [6, 0, 6],
            daysOfMonth: [],
            times: [
              { hour: 13, minute: 0 },
              { hour: 1, minute: 0 },
              { hour: 13, minute: 0 },
            ],
          },
          incremental: { weekdays: [], daysOfMonth: [15, 1], times: [] },
        },
        timeZone: 'europe/warsaw',
        storage: { kind: 'LOCAL', path: '' },
        extra: 'ignored',
      });
      expect(validatePolicy(policy)).toEqual({
        ...defaultPolicy(),
        scope: { mode: 'SELECTED', repositoryIds: ['r2', 'r1'] },
        include: { repository: true, wiki: false, lfs: false, metadata: ['issues', 'labels'], groupMetadata: [] },
        schedule: {
          type: 'CUSTOM',
          full: {
            weekdays: [0, 6],
            daysOfMonth: [],
            times: [
              { hour: 1, minute: 0 },
              { hour: 13, minute: 0 },
            ],
          },
          incremental: { weekdays: [], daysOfMonth: [1, 15], times: [] },
        },
        timeZone: 'Europe/Warsaw',
        storage: { kind: 'LOCAL', path: null },
      } satisfies BackupPolicyValue);
    });

    it('accepts a forever-incremental schedule without the fields its cadence does not use', () => {
      const schedule = { type: 'FOREVER_INCREMENTAL', every: 'HOURLY', time: { hour: 0, minute: 15 } };
      expect(validatePolicy(aPolicy({ schedule })).schedule).toEqual({ ...schedule, weekday: 0, dayOfMonth: 1 });
    });

    it('accepts a schedule inside a window that crosses midnight', () => {
      const window = { start: { hour: 22, minute: 0 }, end: { hour: 6, minute: 0 } };
      expect(validatePolicy(aPolicy({ window })).window).toEqual(window);
    });

    it('treats a missing window and missing encryption as none', () => {
      const { window: _window, encryption: _encryption, ...rest } = defaultPolicy();
      expect(validatePolicy(rest)).toEqual(defaultPolicy());
    });
  });

  describe('refusing', () => {
    it('names the policy itself when it is not an object', () => {
      expect(problemsOf('GFS')).toEqual({ policy: expect.any(String) });
    });

    it('reports every problem at once', () => {
      const fields = problemsOf(
        aPolicy({
          schedule: { type: 'BASIC', time: { hour: 24, minute: -1 }, fullDayOfMonth: 0 },
          timeZone: 'Mars/Olympus',
          retention: { mode: 'BY_TIME', fullDays: 0, differentialDays: 30, incrementalDays: 1.5 },
          compression: 'ZIP',
          verifyAfterBackup: 'yes',
        }),
      );
      expect(Object.keys(fields).sort()).toEqual([
        'compression',
        'retention.fullDays',
        'retention.incrementalDays',
        'schedule.fullDayOfMonth',
        'schedule.time.hour',
        'schedule.time.minute',
        'timeZone',
        'verifyAfterBackup',
      ]);
    });

    it.each([
      ['a scope without its mode', { scope: {} }, 'scope.mode'],
      ['a selection of no repositories', { scope: { mode: 'SELECTED', repositoryIds: [] } }, 'scope.repositoryIds'],
      [
        'an unknown metadata type',
        { include: { ...defaultPolicy().include, metadata: ['issues', 'wikis'] } },
        'include.metadata',
      ],
      ['LFS without the repository', { include: { ...defaultPolicy().include, repository: false } }, 'include.lfs'],
      [
        'nothing to back up',
        { include: { repository: false, wiki: false, lfs: false, metadata: [], groupMetadata: [] } },
        'include',
      ],
      ['an unknown schedule type', { schedule: { type: 'YEARLY' } }, 'schedule.type'],
      [
        'a GFS differential on day 7 of the week',
        { schedule: { ...defaultPolicy().schedule, differentialWeekday: 7 } },
        'schedule.differentialWeekday',
      ],
      [
        'a custom full with no times',
        {
          schedule: {
            type: 'CUSTOM',
            full: { weekdays: [0], daysOfMonth: [], times: [] },
            incremental: { weekdays: [], daysOfMonth: [], times: [] },
          },
        },
        'schedule.full.times',
      ],
      [
        'a bad minute in the second custom time',
        {
          schedule: {
            type: 'CUSTOM',
            full: {
              weekdays: [],
              daysOfMonth: [1],
              times: [
                { hour: 1, minute: 0 },
                { hour: 2, minute: 60 },
              ],
            },
            incremental: { weekdays: [], daysOfMonth: [], times: [] },
          },
        },
        'schedule.full.times[1].minute',
      ],
      [
        'a weekly forever-incremental without its weekday',
        { schedule: { type: 'FOREVER_INCREMENTAL', every: 'WEEKLY', time: { hour: 1, minute: 0 } } },
        'schedule.weekday',
      ],
      ['a time zone Intl does not know', { timeZone: 'Mars/Olympus' }, 'timeZone'],
      [
        'a window that starts where it ends',
        { window: { start: { hour: 1, minute: 0 }, end: { hour: 1, minute: 0 } } },
        'window.end',
      ],
      [
        'a schedule time outside the window',
        { window: { start: { hour: 2, minute: 0 }, end: { hour: 6, minute: 0 } } },
        'schedule.time',
      ],
      [
        'an hourly minute that never falls inside a short window',
        {
          schedule: { type: 'FOREVER_INCREMENTAL', every: 'HOURLY', time: { hour: 0, minute: 30 } },
          window: { start: { hour: 2, minute: 0 }, end: { hour: 2, minute: 20 } },
        },
        'schedule.time.minute',
      ],
      ['keeping zero restore points', { retention: { mode: 'BY_COUNT', keepLast: 0 } }, 'retention.keepLast'],
      ['a relative storage path', { storage: { kind: 'LOCAL', path: 'backups' } }, 'storage.path'],
      ['a storage kind not offered', { storage: { kind: 'S3', path: null } }, 'storage.kind'],
      ['encryption without a key', { encryption: { credentialId: ' ' } }, 'encryptionCredentialId'],
      ['a drill cadence not offered', { drill: { ...defaultPolicy().drill!, every: 'HOURLY' } }, 'drill.every'],
      ['a drill of no repositories', { drill: { ...defaultPolicy().drill!, sampleSize: 0 } }, 'drill.sampleSize'],
      ['a drill sample over the limit', { drill: { ...defaultPolicy().drill!, sampleSize: 101 } }, 'drill.sampleSize'],
      [
        'a drill at hour 24',
        { drill: { ...defaultPolicy().drill!, time: { hour: 24, minute: 0 } } },
        'drill.time.hour',
      ],
      [
        'a weekly drill without its weekday',
        { drill: { ...defaultPolicy().drill!, weekday: undefined } },
        'drill.weekday',
      ],
      [
        'a drill target kind not offered',
        { drill: { ...defaultPolicy().drill!, target: { kind: 'S3' } } },
        'drill.target.kind',
      ],
      [
        'a scratch-namespace drill without a connection',
        { drill: { ...defaultPolicy().drill!, target: { kind: 'SCRATCH_NAMESPACE', namespacePath: 'drills' } } },
        'drill.target.connectionId',
      ],
      [
        'a scratch-namespace drill without a namespace',
        {
          drill: {
            ...defaultPolicy().drill!,
            target: { kind: 'SCRATCH_NAMESPACE', connectionId: 'c1', namespacePath: ' ' },
          },
        },
        'drill.target.namespacePath',
      ],
    ])('refuses %s, naming %s', (_what, overrides, field) => {
      expect(problemsOf(aPolicy(overrides))).toEqual({ [field]: expect.any(String) });
    });

    it('explains a schedule the window would never let start', () => {
      const fields = problemsOf(aPolicy({ window: { start: { hour: 2, minute: 0 }, end: { hour: 6, minute: 0 } } }));
      expect(fields['schedule.time']).toBe(
        '01:00 is outside the backup window (02:00–06:00), so this backup would never start',
      );
    });

    it('lists the known metadata types when it meets an unknown one', () => {
      const fields = problemsOf(aPolicy({ include: { ...defaultPolicy().include, metadata: ['wikis'] } }));
      expect(fields['include.metadata']).toContain(METADATA_TYPES.join(', '));
    });
  });
});
