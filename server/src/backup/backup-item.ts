/**
 * What one item of a run (a repository, or a group's metadata) gives and gets, whichever kind it
 * is, how every item ends once its snapshot is committed (verified when the policy asks, PARTIAL
 * when a metadata type FAILED or verification did not pass; copied to the policy's replicas by a
 * job each), and when a repository's latest
 * snapshot may stand for an unchanged one.
 */
import type { GitProgress } from '../git/git.js';
import type { Repository } from 'typeorm';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { clearLeftovers } from '../snapshot/snapshot-writer.js';
import type { StorageBackend } from '../storage/storage.port.js';
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

/**
 * The snapshot an earlier attempt of the item committed under its id (a job re-run after the row
 * was written), or null; never one when this attempt fixed the id.
 */
export function committedEarlier(
  snapshots: Pick<Repository<SnapshotEntity>, 'findOneBy'>,
  item: BackupRunItemEntity,
  ctx: ItemContext,
): Promise<SnapshotEntity | null> {
  return ctx.snapshotFixedNow ? Promise.resolve(null) : snapshots.findOneBy({ id: fixedSnapshotId(item) });
}

/**
 * Clears what an earlier attempt of the item left under `prefix` (no manifest: never a snapshot)
 * before the first artifact; nothing can be under an id this attempt fixed.
 */
export async function clearEarlierAttempt(ctx: ItemContext, store: StorageBackend, prefix: string): Promise<void> {
  if (!ctx.snapshotFixedNow) await clearLeftovers(store, prefix);
}

/** Tries of one item within a run when its transfers keep failing transiently (each try with the transport's own retries). */
export const ITEM_ATTEMPTS = 3;

/** `notes`: plain facts that are not problems (a metadata type the tier does not offer). */
export type ItemOutcome =
  | { status: 'SUCCEEDED' | 'PARTIAL'; snapshot: SnapshotEntity; warnings: string[]; notes?: string[] }
  | { status: 'UNCHANGED'; snapshot: SnapshotEntity | null; warnings: string[]; notes?: string[] };

/**
 * Verification after backup (policy.verifyAfterBackup): SnapshotVerifier.verify, with the snapshot
 * as it recorded the outcome. `committed`: the row this attempt has just committed.
 */
export type VerifySnapshot = (
  snapshotId: string,
  options?: { checkedInStream?: string[]; readBackAtWrite?: string[]; committed?: SnapshotEntity },
) => Promise<{ snapshot: SnapshotEntity; result: { ok: boolean; problems: string[] } }>;

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
  /** Bundles of this snapshot git checked as they streamed in from GitLab (pack-check.ts). */
  checkedInStream?: string[];
  /** Artifacts of this snapshot the storage read back as it wrote them (PutOptions.readBack). */
  readBackAtWrite?: string[];
  /** The snapshot was committed by this attempt just now (not found again by a retried job). */
  justCommitted?: boolean;
  replicate?: ReplicateSnapshot;
}

/**
 * Ends an item whose snapshot is committed. A snapshot still UNVERIFIED is verified when the
 * policy asks — also one a killed job committed but never verified, found again by its retry.
 */
export async function finishItem(o: FinishItemOptions): Promise<ItemOutcome> {
  let snapshot = o.snapshot;
  if (o.run.policy.verifyAfterBackup && snapshot.verificationStatus === 'UNVERIFIED') {
    o.ctx.progress({ phase: 'VERIFYING' });
    const verified = await o.verify(snapshot.id, {
      checkedInStream: o.checkedInStream,
      readBackAtWrite: o.readBackAtWrite,
      committed: o.justCommitted ? snapshot : undefined,
    });
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
