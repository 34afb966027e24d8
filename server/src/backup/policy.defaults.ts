/**
 * The BackupPolicy an organization gets before anyone customizes it. "Run now" uses it as is, so
 * every choice below leans towards a backup that is complete, restorable and trustworthy, then
 * towards cost.
 */
import { GROUP_METADATA_TYPES, METADATA_TYPES, type BackupPolicyValue } from './policy.types.js';

export function defaultPolicy(): BackupPolicyValue {
  return {
    // Every protected repository: a repository nobody remembered to tick is the one that gets lost.
    scope: { mode: 'ALL' },
    // Everything we can restore. Metadata (issues, merge requests…) is small next to the code and
    // often the part a team cannot rebuild; LFS is part of a working checkout.
    include: {
      repository: true,
      wiki: true,
      lfs: true,
      metadata: [...METADATA_TYPES],
      groupMetadata: [...GROUP_METADATA_TYPES],
    },
    // GFS rather than BASIC: a weekly differential caps a restore chain at full + differential +
    // six incrementals, so one damaged incremental costs days, not a month, and restores read less.
    // Fulls on the 1st, differentials on Sunday, at 01:00: quiet hours for most teams.
    schedule: { type: 'GFS', time: { hour: 1, minute: 0 }, fullDayOfMonth: 1, differentialWeekday: 0 },
    // The organization's sync time zone when its sync runs at specific hours (policy.service.ts), so
    // "01:00" means the team's night; otherwise UTC, which has no DST to skip or repeat a run.
    timeZone: 'UTC',
    // No window: a window that is too short would stop the first (full, longest) backup unfinished.
    window: null,
    // About three monthly fulls, four weekly differentials and two weeks of daily incrementals.
    // Retention keeps whatever a kept copy depends on, so nothing kept is ever unrestorable.
    retention: { mode: 'BY_TIME', fullDays: 90, differentialDays: 30, incrementalDays: 14 },
    // null = <data dir>/backups, which the single-container setup already puts on a volume.
    storage: { kind: 'LOCAL', path: null },
    // GZIP: a good ratio on JSON Lines at little CPU, and readable with standard tools in an
    // emergency without Labkeeper.
    compression: 'GZIP',
    // Off until the operator saves a key in the Password Manager: a key we generated and nobody
    // wrote down would make every backup unreadable on the day it is needed.
    encryption: null,
    // A backup we cannot trust is worse than none: re-read and check every artifact.
    verifyAfterBackup: true,
    // Drills filled in but off: a weekly git-only drill of 3 repositories on Sunday at 04:00 (after
    // the 01:00 backup) costs little, yet a scheduled job that restores data should be a decision
    // the operator takes; `runDrill` works whether it is on or not.
    drill: {
      enabled: false,
      every: 'WEEKLY',
      time: { hour: 4, minute: 0 },
      weekday: 0,
      dayOfMonth: 1,
      sampleSize: 3,
      target: { kind: 'LOCAL_BARE' },
    },
  };
}
