/**
 * The BackupPolicy as a plain value (stored as JSON on the policy row, validated by
 * policy.validation.ts, shown through GraphQL). One policy per organization.
 */

import type { CopyType } from '../snapshot/manifest.js';

export type { CopyType };

// The metadata kinds are GitLab's vocabulary (the adapter owns them); a policy picks among them.
import type { GroupMetadataType, MetadataType } from '../gitlab/metadata.types.js';
export {
  GROUP_METADATA_TYPES,
  METADATA_TYPES,
  type GroupMetadataType,
  type MetadataType,
} from '../gitlab/metadata.types.js';

/** Days of the week, 0 = Sunday … 6 = Saturday (as in cron and Date#getDay). */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** A time of day in the policy's time zone. */
export interface TimeOfDay {
  hour: number; // 0–23
  minute: number; // 0–59
}

/** When one kind of copy runs: on these weekdays (or days of the month) at these times. */
export interface CopySchedule {
  /** Weekdays the copy runs on; empty = every day (unless daysOfMonth is set). */
  weekdays: Weekday[];
  /** Days of the month (1–31; 31 means the last day in shorter months); empty = not by date. */
  daysOfMonth: number[];
  times: TimeOfDay[];
}

export type BackupSchedule =
  /** Monthly full on `fullDayOfMonth` + daily incremental, both at `time`. */
  | { type: 'BASIC'; time: TimeOfDay; fullDayOfMonth: number }
  /** Full and incremental each with their own days and times. */
  | { type: 'CUSTOM'; full: CopySchedule; incremental: CopySchedule }
  /** One full, then incrementals at a fixed cadence. */
  | {
      type: 'FOREVER_INCREMENTAL';
      every: 'HOURLY' | 'DAILY' | 'WEEKLY' | 'MONTHLY';
      time: TimeOfDay; // minute used for HOURLY; weekday/day from the fields below
      weekday: Weekday; // WEEKLY
      dayOfMonth: number; // MONTHLY
    }
  /** Grandfather-father-son: monthly full, weekly differential, daily incremental. */
  | { type: 'GFS'; time: TimeOfDay; fullDayOfMonth: number; differentialWeekday: Weekday }
  /** Only "Run now" (and API calls) start backups. */
  | { type: 'MANUAL' };

/** Runs only start inside the window; a run still going at its end stops cleanly (TIMED_OUT). */
export interface BackupWindow {
  start: TimeOfDay;
  end: TimeOfDay; // may be earlier than start: the window crosses midnight
}

export type Retention =
  | { mode: 'KEEP_FOREVER' }
  | { mode: 'BY_COUNT'; keepLast: number }
  | { mode: 'BY_TIME'; fullDays: number; differentialDays: number; incrementalDays: number };

export interface BackupPolicyValue {
  /** ALL = every protected repository of the organization; SELECTED = `repositoryIds` only. */
  scope: { mode: 'ALL' } | { mode: 'SELECTED'; repositoryIds: string[] };
  include: {
    repository: boolean; // all refs
    wiki: boolean;
    lfs: boolean;
    metadata: MetadataType[];
    groupMetadata: GroupMetadataType[];
  };
  schedule: BackupSchedule;
  timeZone: string; // IANA
  window: BackupWindow | null;
  retention: Retention;
  /**
   * LOCAL: a directory (path null = <data dir>/backups); STORAGE: the named storage `storageId` (S3).
   * `replicaStorageIds`: storages each new snapshot is copied to once the primary has its manifest (3-2-1).
   */
  storage: {
    kind: 'LOCAL' | 'STORAGE';
    path: string | null;
    storageId?: string | null;
    replicaStorageIds?: string[];
    /**
     * How a DOWNLOAD restore hands its archive over: LABKEEPER (default: a signed Labkeeper link,
     * streamed through the API) or PRESIGNED (STORAGE only: the archive is written to the storage
     * and handed over as a presigned S3 URL, so the bytes do not pass through Labkeeper).
     */
    downloadLink?: 'LABKEEPER' | 'PRESIGNED';
  };
  compression: 'NONE' | 'GZIP' | 'BROTLI';
  /** Credential (kind ENCRYPTION_KEY) whose secret derives the AES-256-GCM key; null = not encrypted. */
  encryption: { credentialId: string } | null;
  /** Re-read and check every artifact after each backup. */
  verifyAfterBackup: boolean;
  /** Periodic restore drills (restore/drill.service.ts); null or absent = no scheduled drills. */
  drill?: DrillPolicy | null;
}

/**
 * A restore drill restores a sample of repositories (the latest snapshot of each, with its chain)
 * into a scratch target and records what differed. The cadence reuses the backup calendar of
 * backup-schedule.ts (as a FOREVER_INCREMENTAL schedule would fire), in the policy's time zone.
 */
export interface DrillPolicy {
  /** Scheduled drills on or off; `runDrill` works either way. */
  enabled: boolean;
  every: 'DAILY' | 'WEEKLY' | 'MONTHLY';
  time: TimeOfDay;
  /** WEEKLY: 0 = Sunday … 6 = Saturday. */
  weekday: Weekday;
  /** MONTHLY: 1–31 (31 = the last day of shorter months). */
  dayOfMonth: number;
  /** Repositories restored per drill, picked at random among those with a snapshot (1–100). */
  sampleSize: number;
  target: DrillTarget;
}

export type DrillTarget =
  /** git-only: the chain unbundled into a scratch bare repository under the data dir, deleted afterwards. */
  | { kind: 'LOCAL_BARE' }
  /** A NEW_PROJECT restore into `namespacePath` through `connectionId` (api scope); the project is deleted afterwards. */
  | { kind: 'SCRATCH_NAMESPACE'; connectionId: string; namespacePath: string };
