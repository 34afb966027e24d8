/**
 * Checks a BackupPolicy as a client sent it and returns it normalised, or throws one
 * VALIDATION_FAILED error naming every problem at once (field → message), so a form can mark all
 * its bad inputs in one round trip. Field paths start with `input.` and follow the value's shape
 * (`schedule.time.hour`, `schedule.full.times[1].minute`), as the GraphQL input
 * mirrors BackupPolicyValue.
 *
 * Besides types and ranges it refuses combinations that would silently never back anything up:
 * nothing included, LFS without the repository, a schedule whose times all fall outside the
 * backup window. Normalising means: unknown keys dropped, lists de-duplicated and sorted, the time
 * zone spelled canonically, an empty storage path made null. Whether ids (repositories, the
 * encryption credential) exist is the service's check, not this pure function's.
 */
import { isAbsolute } from 'node:path';
import { validationError } from '../shared/errors.js';
import { canonicalTimeZone } from '../shared/zoned-time.js';
import { isInsideWindow } from './backup-window.js';
import {
  GROUP_METADATA_TYPES,
  METADATA_TYPES,
  type BackupPolicyValue,
  type BackupSchedule,
  type BackupWindow,
  type CopySchedule,
  type DrillPolicy,
  type Retention,
  type TimeOfDay,
  type Weekday,
} from './policy.types.js';

export const MAX_KEEP_LAST = 10_000;
export const MAX_RETENTION_DAYS = 36_500; // a hundred years; anything longer is KEEP_FOREVER
export const MAX_TIMES_PER_DAY = 96; // every 15 minutes
export const MAX_DRILL_SAMPLE = 100;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const hhmm = (t: TimeOfDay) => `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;

/** Collects problems by field path; the first message for a path wins. */
class Problems {
  readonly fields: Record<string, string> = {};
  add(path: string, message: string): undefined {
    this.fields[path] ??= message;
    return undefined;
  }
  obj(v: unknown, path: string): Obj | undefined {
    return isObj(v) ? v : this.add(path, 'is required and must be an object');
  }
  int(v: unknown, path: string, min: number, max: number): number | undefined {
    return Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? (v as number)
      : this.add(path, `must be a whole number from ${min} to ${max}`);
  }
  bool(v: unknown, path: string): boolean | undefined {
    return typeof v === 'boolean' ? v : this.add(path, 'must be true or false');
  }
  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T | undefined {
    return allowed.includes(v as T) ? (v as T) : this.add(path, `must be one of ${allowed.join(', ')}`);
  }
  list(v: unknown, path: string): unknown[] | undefined {
    return Array.isArray(v) ? v : this.add(path, 'must be a list');
  }
  time(v: unknown, path: string): TimeOfDay | undefined {
    const t = this.obj(v, path);
    if (!t) return undefined;
    const hour = this.int(t.hour, `${path}.hour`, 0, 23);
    const minute = this.int(t.minute, `${path}.minute`, 0, 59);
    return hour === undefined || minute === undefined ? undefined : { hour, minute };
  }
  weekday(v: unknown, path: string): Weekday | undefined {
    return this.int(v, path, 0, 6) as Weekday | undefined;
  }
  dayOfMonth(v: unknown, path: string): number | undefined {
    return this.int(v, path, 1, 31);
  }
}

/** Returns the policy normalised, or throws VALIDATION_FAILED with every offending field. */
export function validatePolicy(value: unknown): BackupPolicyValue {
  const p = new Problems();
  const input = p.obj(value, 'policy');
  if (!input) throw validationError(p.fields);

  const scope = validateScope(p, input.scope);
  const include = validateInclude(p, input.include);
  const schedule = validateSchedule(p, input.schedule);
  const tz = typeof input.timeZone === 'string' ? canonicalTimeZone(input.timeZone) : null;
  if (!tz)
    p.add('timeZone', `must be an IANA time zone such as Europe/Warsaw or UTC, not ${JSON.stringify(input.timeZone)}`);
  const window = validateWindow(p, input.window);
  const retention = validateRetention(p, input.retention);
  const storage = validateStorage(p, input.storage);
  const compression = p.oneOf(input.compression, 'compression', ['NONE', 'GZIP', 'BROTLI'] as const);
  const encryption = validateEncryption(p, input.encryption);
  const verifyAfterBackup = p.bool(input.verifyAfterBackup, 'verifyAfterBackup');
  const drill = validateDrill(p, input.drill);
  if (schedule && window) checkScheduleFitsWindow(p, schedule, window);

  if (Object.keys(p.fields).length > 0) throw validationError(p.fields);
  return {
    scope,
    include,
    schedule,
    timeZone: tz,
    window,
    retention,
    storage,
    compression,
    encryption,
    verifyAfterBackup,
    drill,
  } as BackupPolicyValue;
}

function validateScope(p: Problems, v: unknown): BackupPolicyValue['scope'] | undefined {
  const scope = p.obj(v, 'scope');
  const mode = scope && p.oneOf(scope.mode, 'scope.mode', ['ALL', 'SELECTED'] as const);
  if (!scope || !mode) return undefined;
  if (mode === 'ALL') return { mode };
  const ids = p.list(scope.repositoryIds, 'scope.repositoryIds');
  if (!ids) return undefined;
  if (ids.some((id) => typeof id !== 'string' || id.trim() === ''))
    return p.add('scope.repositoryIds', 'must list repository ids');
  if (ids.length === 0) return p.add('scope.repositoryIds', 'must list at least one repository (or use mode ALL)');
  return { mode, repositoryIds: [...new Set(ids as string[])] };
}

function validateInclude(p: Problems, v: unknown): BackupPolicyValue['include'] | undefined {
  const inc = p.obj(v, 'include');
  if (!inc) return undefined;
  const repository = p.bool(inc.repository, 'include.repository');
  const wiki = p.bool(inc.wiki, 'include.wiki');
  const lfs = p.bool(inc.lfs, 'include.lfs');
  const metadata = knownNames(p, inc.metadata, 'include.metadata', METADATA_TYPES);
  const groupMetadata = knownNames(p, inc.groupMetadata, 'include.groupMetadata', GROUP_METADATA_TYPES);
  if (repository === undefined || wiki === undefined || lfs === undefined || !metadata || !groupMetadata)
    return undefined;
  if (lfs && !repository)
    return p.add('include.lfs', 'LFS objects are backed up with the repository; include the repository too');
  if (!repository && !wiki && !lfs && metadata.length === 0 && groupMetadata.length === 0) {
    return p.add('include', 'must include at least one thing to back up');
  }
  return { repository, wiki, lfs, metadata, groupMetadata };
}

/** A list of names from `known`, returned de-duplicated in `known`'s order. */
function knownNames<T extends string>(p: Problems, v: unknown, path: string, known: readonly T[]): T[] | undefined {
  const list = p.list(v, path);
  if (!list) return undefined;
  const unknown = list.filter((name) => !known.includes(name as T));
  if (unknown.length > 0)
    return p.add(path, `unknown: ${unknown.map((n) => JSON.stringify(n)).join(', ')}; known are ${known.join(', ')}`);
  return known.filter((name) => list.includes(name));
}

function validateSchedule(p: Problems, v: unknown): BackupSchedule | undefined {
  const s = p.obj(v, 'schedule');
  const type =
    s && p.oneOf(s.type, 'schedule.type', ['BASIC', 'CUSTOM', 'FOREVER_INCREMENTAL', 'GFS', 'MANUAL'] as const);
  if (!s || !type) return undefined;
  switch (type) {
    case 'MANUAL':
      return { type };
    case 'BASIC': {
      const time = p.time(s.time, 'schedule.time');
      const fullDayOfMonth = p.dayOfMonth(s.fullDayOfMonth, 'schedule.fullDayOfMonth');
      return time && fullDayOfMonth ? { type, time, fullDayOfMonth } : undefined;
    }
    case 'GFS': {
      const time = p.time(s.time, 'schedule.time');
      const fullDayOfMonth = p.dayOfMonth(s.fullDayOfMonth, 'schedule.fullDayOfMonth');
      const differentialWeekday = p.weekday(s.differentialWeekday, 'schedule.differentialWeekday');
      return time && fullDayOfMonth && differentialWeekday !== undefined
        ? { type, time, fullDayOfMonth, differentialWeekday }
        : undefined;
    }
    case 'CUSTOM': {
      const full = validateCopySchedule(p, s.full, 'schedule.full', true);
      const incremental = validateCopySchedule(p, s.incremental, 'schedule.incremental', false);
      return full && incremental ? { type, full, incremental } : undefined;
    }
    case 'FOREVER_INCREMENTAL': {
      const every = p.oneOf(s.every, 'schedule.every', ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY'] as const);
      const time = p.time(s.time, 'schedule.time');
      // Only the field `every` uses is required; the other may be left out and gets a default.
      const weekday = s.weekday === undefined && every !== 'WEEKLY' ? 0 : p.weekday(s.weekday, 'schedule.weekday');
      const dayOfMonth =
        s.dayOfMonth === undefined && every !== 'MONTHLY' ? 1 : p.dayOfMonth(s.dayOfMonth, 'schedule.dayOfMonth');
      return every && time && weekday !== undefined && dayOfMonth
        ? { type, every, time, weekday, dayOfMonth }
        : undefined;
    }
  }
}

/** The full copy needs at least one time (a schedule without fulls has nothing to build on). */
function validateCopySchedule(
  p: Problems,
  v: unknown,
  path: string,
  isTimeRequired: boolean,
): CopySchedule | undefined {
  const c = p.obj(v, path);
  if (!c) return undefined;
  const weekdays = p.list(c.weekdays, `${path}.weekdays`)?.map((d, i) => p.weekday(d, `${path}.weekdays[${i}]`));
  const days = p
    .list(c.daysOfMonth, `${path}.daysOfMonth`)
    ?.map((d, i) => p.dayOfMonth(d, `${path}.daysOfMonth[${i}]`));
  const times = p.list(c.times, `${path}.times`)?.map((t, i) => p.time(t, `${path}.times[${i}]`));
  if (!weekdays || !days || !times || [...weekdays, ...days, ...times].includes(undefined)) return undefined;
  const uniqueTimes = [...new Map((times as TimeOfDay[]).map((t) => [hhmm(t), t])).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, t]) => t);
  if (isTimeRequired && uniqueTimes.length === 0) return p.add(`${path}.times`, 'must list at least one time');
  if (uniqueTimes.length > MAX_TIMES_PER_DAY)
    return p.add(`${path}.times`, `must list at most ${MAX_TIMES_PER_DAY} times`);
  const sortedUnique = <T extends number>(xs: T[]) => [...new Set(xs)].sort((a, b) => a - b);
  return {
    weekdays: sortedUnique(weekdays as Weekday[]),
    daysOfMonth: sortedUnique(days as number[]),
    times: uniqueTimes,
  };
}

function validateWindow(p: Problems, v: unknown): BackupWindow | null | undefined {
  if (v === null || v === undefined) return null;
  const w = p.obj(v, 'window');
  if (!w) return undefined;
  const start = p.time(w.start, 'window.start');
  const end = p.time(w.end, 'window.end');
  if (!start || !end) return undefined;
  if (hhmm(start) === hhmm(end))
    return p.add('window.end', 'must differ from the start (for no window, set window to null)');
  return { start, end };
}

/** Refuses a schedule that the window would never let start. */
function checkScheduleFitsWindow(p: Problems, schedule: BackupSchedule, window: BackupWindow): void {
  // A comparison of wall-clock times, so any zone and any day will do.
  const inside = (t: TimeOfDay) => isInsideWindow(window, 'UTC', new Date(Date.UTC(2000, 0, 1, t.hour, t.minute)));
  const describe = `the backup window (${hhmm(window.start)}–${hhmm(window.end)})`;
  const check = (t: TimeOfDay, path: string) => {
    if (!inside(t)) p.add(path, `${hhmm(t)} is outside ${describe}, so this backup would never start`);
  };
  switch (schedule.type) {
    case 'MANUAL':
      return;
    case 'FOREVER_INCREMENTAL':
      if (schedule.every !== 'HOURLY') return check(schedule.time, 'schedule.time');
      if (!Array.from({ length: 24 }, (_, hour) => ({ hour, minute: schedule.time.minute })).some(inside)) {
        p.add('schedule.time.minute', `no hour at minute ${schedule.time.minute} falls inside ${describe}`);
      }
      return;
    case 'CUSTOM':
      schedule.full.times.forEach((t, i) => check(t, `schedule.full.times[${i}]`));
      schedule.incremental.times.forEach((t, i) => check(t, `schedule.incremental.times[${i}]`));
      return;
    default:
      return check(schedule.time, 'schedule.time');
  }
}

function validateRetention(p: Problems, v: unknown): Retention | undefined {
  const r = p.obj(v, 'retention');
  const mode = r && p.oneOf(r.mode, 'retention.mode', ['KEEP_FOREVER', 'BY_COUNT', 'BY_TIME'] as const);
  if (!r || !mode) return undefined;
  if (mode === 'KEEP_FOREVER') return { mode };
  if (mode === 'BY_COUNT') {
    const keepLast = p.int(r.keepLast, 'retention.keepLast', 1, MAX_KEEP_LAST);
    return keepLast === undefined ? undefined : { mode, keepLast };
  }
  const days = (key: 'fullDays' | 'differentialDays' | 'incrementalDays') =>
    p.int(r[key], `retention.${key}`, 1, MAX_RETENTION_DAYS);
  const [fullDays, differentialDays, incrementalDays] = [
    days('fullDays'),
    days('differentialDays'),
    days('incrementalDays'),
  ];
  return fullDays && differentialDays && incrementalDays
    ? { mode, fullDays, differentialDays, incrementalDays }
    : undefined;
}

function validateStorage(p: Problems, v: unknown): BackupPolicyValue['storage'] | undefined {
  const s = p.obj(v, 'storage');
  const kind = s && p.oneOf(s.kind, 'storage.kind', ['LOCAL', 'STORAGE'] as const);
  if (!s || !kind) return undefined;
  const replicaStorageIds = validateReplicas(p, s.replicaStorageIds, kind === 'STORAGE' ? s.storageId : null);
  if (!replicaStorageIds) return undefined;
  const downloadLink =
    s.downloadLink === null || s.downloadLink === undefined
      ? 'LABKEEPER'
      : p.oneOf(s.downloadLink, 'storage.downloadLink', ['LABKEEPER', 'PRESIGNED'] as const);
  if (!downloadLink) return undefined;
  if (downloadLink === 'PRESIGNED' && kind !== 'STORAGE')
    return p.add('storage.downloadLink', 'can be PRESIGNED only when kind is STORAGE (an S3 primary)');
  const replicas = {
    ...(replicaStorageIds.length ? { replicaStorageIds } : {}),
    ...(downloadLink === 'PRESIGNED' ? { downloadLink } : {}),
  };
  if (kind === 'STORAGE') {
    if (typeof s.storageId !== 'string' || s.storageId.trim() === '')
      return p.add('storage.storageId', 'must be the id of a storage (storages) when kind is STORAGE');
    if (s.path !== null && s.path !== undefined && s.path !== '')
      return p.add('storage.path', 'must be empty when backups go to a named storage, which says where they are kept');
    return { kind, path: null, storageId: s.storageId, ...replicas };
  }
  if (s.storageId !== null && s.storageId !== undefined)
    return p.add('storage.storageId', 'must be null when kind is LOCAL');
  if (s.path === null || s.path === undefined || s.path === '') return { kind, path: null, ...replicas };
  if (typeof s.path !== 'string' || !isAbsolute(s.path) || s.path.includes('\0')) {
    return p.add(
      'storage.path',
      'must be a full path on the worker, starting with / (such as /srv/backups); leave it empty to keep backups in the data directory',
    );
  }
  return { kind, path: s.path, ...replicas };
}

/** Replica storages: ids of storages, distinct, none the primary; at most 5. */
function validateReplicas(p: Problems, v: unknown, primaryId: unknown): string[] | undefined {
  if (v === null || v === undefined) return [];
  const field = 'storage.replicaStorageIds';
  if (!Array.isArray(v) || v.some((id) => typeof id !== 'string' || id.trim() === ''))
    return p.add(field, 'must be a list of storage ids (storages)');
  const ids = v as string[];
  if (new Set(ids).size !== ids.length) return p.add(field, 'must not name a storage twice');
  if (ids.includes(primaryId as string)) return p.add(field, 'must not name the primary storage');
  if (ids.length > 5) return p.add(field, 'must name at most 5 storages');
  return ids;
}

function validateEncryption(p: Problems, v: unknown): BackupPolicyValue['encryption'] | undefined {
  if (v === null || v === undefined) return null;
  const e = p.obj(v, 'encryption');
  if (!e) return undefined;
  if (typeof e.credentialId !== 'string' || e.credentialId.trim() === '') {
    // Named as the policy settings name it (one field, not the value's nested shape).
    return p.add(
      'encryptionCredentialId',
      'must be the id of an encryption key in the Password Manager (or null for no encryption)',
    );
  }
  return { credentialId: e.credentialId };
}

/**
 * Restore drills: a cadence as FOREVER_INCREMENTAL's (only the weekday or day of the month that
 * `every` uses is required), a sample size, and a target. SCRATCH_NAMESPACE needs a Connection
 * and a namespace path; whether the connection exists and may create projects is the drill's
 * check (it is reported on the drill run, as a restore reports it).
 */
function validateDrill(p: Problems, v: unknown): DrillPolicy | null | undefined {
  if (v === null || v === undefined) return null;
  const d = p.obj(v, 'drill');
  if (!d) return undefined;
  const enabled = p.bool(d.enabled, 'drill.enabled');
  const every = p.oneOf(d.every, 'drill.every', ['DAILY', 'WEEKLY', 'MONTHLY'] as const);
  const time = p.time(d.time, 'drill.time');
  const weekday =
    (d.weekday === undefined || d.weekday === null) && every !== 'WEEKLY' ? 0 : p.weekday(d.weekday, 'drill.weekday');
  const dayOfMonth =
    (d.dayOfMonth === undefined || d.dayOfMonth === null) && every !== 'MONTHLY'
      ? 1
      : p.dayOfMonth(d.dayOfMonth, 'drill.dayOfMonth');
  const sampleSize = p.int(d.sampleSize, 'drill.sampleSize', 1, MAX_DRILL_SAMPLE);
  const t = p.obj(d.target, 'drill.target');
  const kind = t && p.oneOf(t.kind, 'drill.target.kind', ['LOCAL_BARE', 'SCRATCH_NAMESPACE'] as const);
  let target: DrillPolicy['target'] | undefined;
  if (kind === 'LOCAL_BARE') target = { kind };
  else if (t && kind === 'SCRATCH_NAMESPACE') {
    const connectionId =
      typeof t.connectionId === 'string' && t.connectionId.trim()
        ? t.connectionId.trim()
        : p.add(
            'drill.target.connectionId',
            'is required for SCRATCH_NAMESPACE: the Connection (api scope) the drill restores through',
          );
    const path = typeof t.namespacePath === 'string' ? t.namespacePath.trim().replace(/^\/+|\/+$/g, '') : '';
    const namespacePath =
      /^[A-Za-z0-9_.][A-Za-z0-9_.\-/]*$/.test(path) && !path.includes('//') && !path.includes('..')
        ? path
        : p.add(
            'drill.target.namespacePath',
            'is required for SCRATCH_NAMESPACE: the path of a group kept for drills (its drill projects are deleted afterwards)',
          );
    if (connectionId && namespacePath) target = { kind, connectionId, namespacePath };
  }
  if (enabled === undefined || !every || !time || weekday === undefined || !dayOfMonth || !sampleSize || !target)
    return undefined;
  return { enabled, every, time, weekday, dayOfMonth, sampleSize, target };
}
