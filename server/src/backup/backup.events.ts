import type { BackupRunStatus, ItemPhase, ItemStatus } from './backup.entity.js';

/** Published on run and per-repository changes; throttled to a few per second per run. */
export interface BackupProgressed {
  organizationId: string;
  runId: string;
  runStatus: BackupRunStatus;
  itemsTotal: number;
  itemsDone: number;
  itemsFailed: number;
  /** Set when the event is about one repository. */
  item: {
    itemId: string;
    repositoryId: string | null;
    groupId: string | null;
    pathWithNamespace: string;
    status: ItemStatus;
    phase: ItemPhase;
    bytesReceived: number;
    objectsReceived: number;
    totalObjects: number | null;
    metadataRecords: number;
    errorMessage: string | null;
  } | null;
  /** True on the run's last event (SUCCEEDED, PARTIAL, FAILED, CANCELED, TIMED_OUT). */
  isTerminal: boolean;
  at: string;
}
