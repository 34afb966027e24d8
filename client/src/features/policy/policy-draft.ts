/**
 * The policy form's state: CustomizePolicyInput with every number the user types kept as text, so
 * that what is typed stays on screen and the server (policy.validation.ts) judges it and names the
 * wrong field. `fromPolicy` reads the saved BackupPolicy; `toInput` builds the mutation's input,
 * sending only the fields the chosen schedule type uses.
 */
import type {
  BackupScheduleInput,
  BackupScheduleType,
  Compression,
  CopyScheduleInput,
  CustomizePolicyInput,
  DrillPolicyInput,
  DrillTargetKind,
  PolicyFieldsFragment,
  RetentionMode,
  TimeOfDayInput,
} from '../../graphql/generated/graphql';

/** "HH:MM" as an <input type="time"> holds it; "" when empty. */
export type TimeText = string;

export interface CopyScheduleDraft {
  weekdays: number[];
  /** Comma-separated days of the month, as typed. */
  daysOfMonth: string;
  times: TimeText[];
}

export interface PolicyDraft {
  scope: { mode: 'ALL' | 'SELECTED'; repositoryIds: string[] };
  include: { repository: boolean; wiki: boolean; lfs: boolean; metadata: string[]; groupMetadata: string[] };
  schedule: {
    type: BackupScheduleType;
    time: TimeText;
    fullDayOfMonth: string;
    differentialWeekday: string;
    every: string;
    weekday: string;
    dayOfMonth: string;
    full: CopyScheduleDraft;
    incremental: CopyScheduleDraft;
  };
  timeZone: string;
  window: { isEnabled: boolean; start: TimeText; end: TimeText };
  retention: {
    mode: RetentionMode;
    keepLast: string;
    fullDays: string;
    differentialDays: string;
    incrementalDays: string;
  };
  /** kind LOCAL (path) or STORAGE (storageId); replicas are storage ids either way. */
  storage: {
    kind: string;
    path: string;
    storageId: string;
    replicaStorageIds: string[];
    /** LABKEEPER or PRESIGNED (an S3 primary only). */
    downloadLink: string;
  };
  compression: Compression;
  encryptionCredentialId: string;
  verifyAfterBackup: boolean;
  drill: DrillDraft;
}

/**
 * Restore drills. `saved` says whether the policy had a drill section at all: the API reads a
 * null or absent `drill` as "no drill settings" and would drop them, so the form always sends
 * them back, and sends null only for a policy that had none and where drills stay off.
 */
export interface DrillDraft {
  saved: boolean;
  enabled: boolean;
  every: string;
  time: TimeText;
  weekday: string;
  dayOfMonth: string;
  sampleSize: string;
  kind: DrillTargetKind;
  connectionId: string;
  namespacePath: string;
}

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (n: number) => String(n).padStart(2, '0');
export const timeText = (t: { hour: number; minute: number } | null | undefined): TimeText =>
  t ? `${pad(t.hour)}:${pad(t.minute)}` : '';
const text = (n: number | null | undefined, fallback: number): string => String(n ?? fallback);

/** "" or anything but a whole number → null: the server then says what it must be. */
export function toInt(value: string): number | null {
  if (value.trim() === '') return null;
  const n = Number(value);
  return Number.isInteger(n) ? n : null;
}

export function toTime(value: TimeText): TimeOfDayInput | null {
  const match = /^(\d{1,2}):(\d{2})/.exec(value);
  return match ? { hour: Number(match[1]), minute: Number(match[2]) } : null;
}

type Settings = PolicyFieldsFragment['settings'];
type CopySchedule = NonNullable<Settings['schedule']['full']>;

function copyDraft(c: CopySchedule | null | undefined, fallbackTime: TimeText): CopyScheduleDraft {
  return c
    ? { weekdays: [...c.weekdays], daysOfMonth: c.daysOfMonth.join(', '), times: c.times.map(timeText) }
    : { weekdays: [], daysOfMonth: '', times: [fallbackTime] };
}

export function fromPolicy(settings: Settings): PolicyDraft {
  const s = settings.schedule;
  const time = timeText(s.time) || '01:00';
  return {
    scope: {
      mode: settings.scope.mode === 'SELECTED' ? 'SELECTED' : 'ALL',
      repositoryIds: settings.scope.repositoryIds ?? [],
    },
    // Field by field: query results carry __typename, which an input type refuses.
    include: {
      repository: settings.include.repository,
      wiki: settings.include.wiki,
      lfs: settings.include.lfs,
      metadata: [...settings.include.metadata],
      groupMetadata: [...settings.include.groupMetadata],
    },
    schedule: {
      type: s.type,
      time,
      fullDayOfMonth: text(s.fullDayOfMonth, 1),
      differentialWeekday: text(s.differentialWeekday, 0),
      every: s.every ?? 'DAILY',
      weekday: text(s.weekday, 1),
      dayOfMonth: text(s.dayOfMonth, 1),
      full: copyDraft(s.full, time),
      incremental: copyDraft(s.incremental, time),
    },
    timeZone: settings.timeZone,
    window: settings.window
      ? { isEnabled: true, start: timeText(settings.window.start), end: timeText(settings.window.end) }
      : { isEnabled: false, start: '22:00', end: '06:00' },
    retention: {
      mode: settings.retention.mode,
      keepLast: text(settings.retention.keepLast, 30),
      fullDays: text(settings.retention.fullDays, 365),
      differentialDays: text(settings.retention.differentialDays, 90),
      incrementalDays: text(settings.retention.incrementalDays, 30),
    },
    storage: {
      kind: settings.storage.kind,
      path: settings.storage.path ?? '',
      storageId: settings.storage.storageId ?? '',
      replicaStorageIds: settings.storage.replicaStorageIds ?? [],
      downloadLink: settings.storage.downloadLink ?? 'LABKEEPER',
    },
    compression: settings.compression,
    encryptionCredentialId: settings.encryptionCredentialId ?? '',
    verifyAfterBackup: settings.verifyAfterBackup,
    drill: drillDraft(settings.drill),
  };
}

/** The server's defaults (policy.defaults.ts) when the policy has no drill section. */
function drillDraft(d: Settings['drill']): DrillDraft {
  return {
    saved: Boolean(d),
    enabled: d?.enabled ?? false,
    every: d?.every ?? 'WEEKLY',
    time: timeText(d?.time) || '04:00',
    weekday: text(d?.weekday, 0),
    dayOfMonth: text(d?.dayOfMonth, 1),
    sampleSize: text(d?.sampleSize, 3),
    kind: d?.target.kind ?? 'LOCAL_BARE',
    connectionId: d?.target.connectionId ?? '',
    namespacePath: d?.target.namespacePath ?? '',
  };
}

export function drillInput(d: DrillDraft): DrillPolicyInput | null {
  if (!d.saved && !d.enabled) return null;
  return {
    enabled: d.enabled,
    every: d.every,
    time: toTime(d.time) ?? { hour: -1, minute: -1 },
    ...(d.every === 'WEEKLY' ? { weekday: toInt(d.weekday) } : {}),
    ...(d.every === 'MONTHLY' ? { dayOfMonth: toInt(d.dayOfMonth) } : {}),
    // sampleSize is Int! in the schema: anything that is not a whole number goes as 0, which the
    // server refuses beside the input ("1–100") instead of GraphQL refusing the whole document.
    sampleSize: toInt(d.sampleSize) ?? 0,
    target:
      d.kind === 'SCRATCH_NAMESPACE'
        ? { kind: d.kind, connectionId: d.connectionId || null, namespacePath: d.namespacePath.trim() || null }
        : { kind: d.kind },
  };
}

function copyInput(c: CopyScheduleDraft): CopyScheduleInput {
  const days = c.daysOfMonth
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((d) => toInt(d) ?? -1); // -1: the server names the day that is not a day
  return { weekdays: c.weekdays, daysOfMonth: days, times: c.times.map((t) => toTime(t) ?? { hour: -1, minute: -1 }) };
}

function scheduleInput(s: PolicyDraft['schedule']): BackupScheduleInput {
  const time = toTime(s.time);
  switch (s.type) {
    case 'MANUAL':
      return { type: 'MANUAL' };
    case 'BASIC':
      return { type: 'BASIC', time, fullDayOfMonth: toInt(s.fullDayOfMonth) };
    case 'GFS':
      return {
        type: 'GFS',
        time,
        fullDayOfMonth: toInt(s.fullDayOfMonth),
        differentialWeekday: toInt(s.differentialWeekday),
      };
    case 'FOREVER_INCREMENTAL':
      return {
        type: 'FOREVER_INCREMENTAL',
        every: s.every,
        time,
        ...(s.every === 'WEEKLY' ? { weekday: toInt(s.weekday) } : {}),
        ...(s.every === 'MONTHLY' ? { dayOfMonth: toInt(s.dayOfMonth) } : {}),
      };
    case 'CUSTOM':
      return { type: 'CUSTOM', full: copyInput(s.full), incremental: copyInput(s.incremental) };
  }
}

export function toInput(d: PolicyDraft): CustomizePolicyInput {
  const r = d.retention;
  return {
    scope: d.scope.mode === 'ALL' ? { mode: 'ALL' } : { mode: 'SELECTED', repositoryIds: d.scope.repositoryIds },
    include: d.include,
    schedule: scheduleInput(d.schedule),
    timeZone: d.timeZone.trim(),
    window: d.window.isEnabled
      ? {
          start: toTime(d.window.start) ?? { hour: -1, minute: -1 },
          end: toTime(d.window.end) ?? { hour: -1, minute: -1 },
        }
      : null,
    retention:
      r.mode === 'KEEP_FOREVER'
        ? { mode: r.mode }
        : r.mode === 'BY_COUNT'
          ? { mode: r.mode, keepLast: toInt(r.keepLast) }
          : {
              mode: r.mode,
              fullDays: toInt(r.fullDays),
              differentialDays: toInt(r.differentialDays),
              incrementalDays: toInt(r.incrementalDays),
            },
    storage:
      d.storage.kind === 'STORAGE'
        ? {
            kind: 'STORAGE',
            storageId: d.storage.storageId || null,
            replicaStorageIds: d.storage.replicaStorageIds,
            downloadLink: d.storage.downloadLink,
          }
        : { kind: d.storage.kind, path: d.storage.path.trim() || null, replicaStorageIds: d.storage.replicaStorageIds },
    compression: d.compression,
    encryptionCredentialId: d.encryptionCredentialId || null,
    verifyAfterBackup: d.verifyAfterBackup,
    drill: drillInput(d.drill),
  };
}

/**
 * The message for one input: its own path, or the first one under it (`schedule.time` shows
 * `schedule.time.hour`'s problem), so each problem lands beside the control that can fix it.
 */
export function errorAt(fields: Record<string, string>, ...paths: string[]): string | undefined {
  for (const path of paths) {
    if (fields[path]) return fields[path];
    const nested = Object.keys(fields).find((key) => key.startsWith(`${path}.`) || key.startsWith(`${path}[`));
    if (nested) return fields[nested];
  }
  return undefined;
}
