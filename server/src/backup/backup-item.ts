/**
 * What one item of a run (a repository, or a group's metadata) gives and gets, whichever kind it
 * is, how every item ends once its snapshot is committed (verified when the policy asks, PARTIAL
 * when a metadata type FAILED or verification did not pass; copied to the policy's replicas by a
 * job each), and when a repository's latest
 * snapshot may stand for an unchanged one.
 */
import type { GitProgress } from '../git/git.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { BackupRunEntity, BackupRunItemEntity, ItemPhase } from './backup.entity.js';

export interface ItemProgress {
  phase: ItemPhase;
  git?: GitProgress;
  metadataRecords?: number;
}

export interface ItemContext {
  signal: AbortSignal;
  /** Keeps the job's lock alive during long steps. */
  touch(): Promise<void>;
  progress(progress: ItemProgress): void;
  /**
   * The run tries this item again later when it fails transiently (attempts left): a metadata
   * listing that keeps failing then fails the item's attempt instead of making it PARTIAL.
   */
  canRetryLater: boolean;
  /**
   * This attempt fixed the item's snapshot id (`item.snapshotId`) as it started: no earlier attempt
   * can have committed a snapshot under it, or left anything to clear.
   */
  snapshotFixedNow: boolean;
}

/** The snapshot id the item's attempt fixed as it started (backup-item.runner.ts `start`). */
export function fixedSnapshotId(item: BackupRunItemEntity): string {
  if (!item.snapshotId)
    throw new Error(`backup item ${item.id} has no snapshot id: its attempt fixes one as it starts`);
  return item.snapshotId;
}

/** Tries of one item within a run when its transfers keep failing transiently (each try with the transport's own retries). */
export const ITEM_ATTEMPTS = 3;

/** `notes`: plain facts that are not problems (a metadata type the tier does not offer). */
export type ItemOutcome =
  | { status: 'SUCCEEDED' | 'PARTIAL'; snapshot: SnapshotEntity; warnings: string[]; notes?: string[] }
  | { status: 'UNCHANGED'; snapshot: SnapshotEntity | null; warnings: string[]; notes?: string[] };

/**
 * Verifying a committed snapshot, with the snapshot as it recorded the outcome: SnapshotVerifier.verify
 * (a snapshot committed UNVERIFIED, found again by a retried job or standing for an unchanged one).
 */
export type VerifySnapshot = (
  snapshotId: string,
) => Promise<{ snapshot: SnapshotEntity; result: { ok: boolean; problems: string[] } }>;

/**
 * Verification after backup (policy.verifyAfterBackup) of a snapshot about to be committed:
 * SnapshotVerifier.beforeCommit, which sets the outcome on the row to insert.
 */
export type VerifyBeforeCommit = (
  snapshot: SnapshotEntity,
  options?: { checkedInStream?: string[] },
) => Promise<{ ok: boolean; problems: string[] }>;

/**
 * The verification a backup hands to `commitSnapshot` when the policy asks for one (undefined
 * otherwise): announced as the VERIFYING phase, a failure added to the item's warnings (the item
 * then ends PARTIAL: `finishItem`). `checkedInStream`: bundles git checked as they streamed in
 * from GitLab (pack-check.ts).
 */
export function verificationBeforeCommit(o: {
  run: BackupRunEntity;
  ctx: ItemContext;
  warnings: string[];
  verify: VerifyBeforeCommit;
  checkedInStream?: string[];
}): ((snapshot: SnapshotEntity) => Promise<void>) | undefined {
  if (!o.run.policy.verifyAfterBackup) return undefined;
  return async (snapshot) => {
    o.ctx.progress({ phase: 'VERIFYING' });
    const result = await o.verify(snapshot, { checkedInStream: o.checkedInStream });
    if (!result.ok) o.warnings.push(`verification failed: ${result.problems.join('; ')}`);
  };
}

/** Copies a committed snapshot to the policy's replica storages (SnapshotReplicator.plan: enqueues a job per replica). */
export type ReplicateSnapshot = (snapshot: SnapshotEntity, storageIds: string[]) => Promise<void>;

export interface FinishItemOptions {
  run: BackupRunEntity;
  snapshot: SnapshotEntity;
  /** A metadata type FAILED: the item is PARTIAL whatever verification says. */
  isPartial: boolean;
  /** The item's warnings so far; a failed verification adds one. */
  warnings: string[];
  ctx: ItemContext;
  verify: VerifySnapshot;
  replicate?: ReplicateSnapshot;
}

/**
 * Ends an item whose snapshot is committed. A backup that verifies commits its snapshot verified
 * (`verificationBeforeCommit`); one still UNVERIFIED — committed before the policy asked, or by an
 * earlier version that verified after the row — is verified now when the policy asks.
 */
export async function finishItem(o: FinishItemOptions): Promise<ItemOutcome> {
  let snapshot = o.snapshot;
  if (o.run.policy.verifyAfterBackup && snapshot.verificationStatus === 'UNVERIFIED') {
    o.ctx.progress({ phase: 'VERIFYING' });
    const verified = await o.verify(snapshot.id);
    if (!verified.result.ok) o.warnings.push(`verification failed: ${verified.result.problems.join('; ')}`);
    snapshot = verified.snapshot;
  }
  // Replicas get the committed snapshot (also one a killed job committed, found again by its retry).
  await o.replicate?.(snapshot, o.run.policy.storage.replicaStorageIds ?? []);
  const failedVerification = snapshot.verificationStatus === 'FAILED';
  return { status: o.isPartial || failedVerification ? 'PARTIAL' : 'SUCCEEDED', snapshot, warnings: o.warnings };
}

/**
 * Whether a repository's latest snapshot may stand for a run in which GitLab proves nothing
 * changed: only a complete one (nothing the policy asked for missing) that did not fail
 * verification. One the policy wants verified and nobody has yet (a job killed between its row
 * and its verification) is verified now; if that fails, it does not stand.
 */
export async function canStandForUnchanged(o: {
  run: BackupRunEntity;
  latest: SnapshotEntity;
  verify: VerifySnapshot;
}): Promise<SnapshotEntity | null> {
  const { latest } = o;
  if (!latest.isComplete || latest.verificationStatus === 'FAILED') return null;
  if (!o.run.policy.verifyAfterBackup || latest.verificationStatus === 'VERIFIED') return latest;
  const { snapshot, result } = await o.verify(latest.id);
  return result.ok ? snapshot : null;
}
