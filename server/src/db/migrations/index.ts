import type { MigrationInterface } from 'typeorm';
import { Initial1795540842950 } from './1795540842950-Initial.js';
import { BackupEngine1795543494997 } from './1795543494997-BackupEngine.js';
import { SnapshotEncryptionCredential1795543978127 } from './1795543978127-SnapshotEncryptionCredential.js';
import { GroupSnapshots1795544640496 } from './1795544640496-GroupSnapshots.js';
import { RestoreRuns1795545543395 } from './1795545543395-RestoreRuns.js';
import { RestoreToGitLab1795546250096 } from './1795546250096-RestoreToGitLab.js';
import { DrillRuns1795551242542 } from './1795551242542-DrillRuns.js';
import { RestoreWriteAuthorization1795552153614 } from './1795552153614-RestoreWriteAuthorization.js';
import { WorkerRunningJobs1795560000000 } from './1795560000000-WorkerRunningJobs.js';
import { CredentialVersions1795571100000 } from './1795571100000-CredentialVersions.js';
import { SnapshotCompleteness1795572000000 } from './1795572000000-SnapshotCompleteness.js';
import { ApiQueryIndexes1796212696786 } from './1796212696786-ApiQueryIndexes.js';
import { EventDrivenBackups1796212718570 } from './1796212718570-EventDrivenBackups.js';
import { AuditEvents1796214864281 } from './1796214864281-AuditEvents.js';
import { Storages1796215072098 } from './1796215072098-Storages.js';
import { SnapshotPinsAndAnomalies1796216604392 } from './1796216604392-SnapshotPinsAndAnomalies.js';
import { SnapshotCopies1796223142592 } from './1796223142592-SnapshotCopies.js';
import { NotificationChannels1796223190411 } from './1796223190411-NotificationChannels.js';
import { SnapshotObjectLock1796226111184 } from './1796226111184-SnapshotObjectLock.js';
import { GroupAnomalies1796232000000 } from './1796232000000-GroupAnomalies.js';
import { BackupItemNotes1796240000000 } from './1796240000000-BackupItemNotes.js';
import { SnapshotCopyObjectLock1796240500000 } from './1796240500000-SnapshotCopyObjectLock.js';
import { RestorePresignedDownload1796241000000 } from './1796241000000-RestorePresignedDownload.js';
import { SnapshotHoldsWikiAndLfs1796241500000 } from './1796241500000-SnapshotHoldsWikiAndLfs.js';
import { RunAnomalyEvaluation1796242000000 } from './1796242000000-RunAnomalyEvaluation.js';
import { DrillGroupResults1796242500000 } from './1796242500000-DrillGroupResults.js';

/** Migrations in order; add each new one here (ESM cannot glob). */
export const MIGRATIONS: Array<new () => MigrationInterface> = [
  Initial1795540842950,
  BackupEngine1795543494997,
  SnapshotEncryptionCredential1795543978127,
  GroupSnapshots1795544640496,
  RestoreRuns1795545543395,
  RestoreToGitLab1795546250096,
  DrillRuns1795551242542,
  RestoreWriteAuthorization1795552153614,
  WorkerRunningJobs1795560000000,
  CredentialVersions1795571100000,
  SnapshotCompleteness1795572000000,
  ApiQueryIndexes1796212696786,
  EventDrivenBackups1796212718570,
  AuditEvents1796214864281,
  Storages1796215072098,
  SnapshotPinsAndAnomalies1796216604392,
  SnapshotCopies1796223142592,
  NotificationChannels1796223190411,
  SnapshotObjectLock1796226111184,
  GroupAnomalies1796232000000,
  BackupItemNotes1796240000000,
  SnapshotCopyObjectLock1796240500000,
  RestorePresignedDownload1796241000000,
  SnapshotHoldsWikiAndLfs1796241500000,
  RunAnomalyEvaluation1796242000000,
  DrillGroupResults1796242500000,
];
