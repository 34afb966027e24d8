/**
 * What one item of a run (a repository, or a group's metadata) gives and gets, whichever kind it
 * is, and how every item ends once its snapshot is committed: verified when the policy asks, and
 * PARTIAL when a metadata type FAILED or verification did not pass.
 */
import type { Repository } from 'typeorm';
import type { GitProgress } from '../git/git.js';
import type { Manifest } from '../snapshot/manifest.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { BackupRunEntity, ItemPhase } from './backup.entity.js';

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
}

export type ItemOutcome =
  | { status: 'SUCCEEDED' | 'PARTIAL'; snapshot: SnapshotEntity; warnings: string[] }
  | { status: 'UNCHANGED'; snapshot: SnapshotEntity | null; warnings: string[] };

/** Verification after backup (policy.verifyAfterBackup): SnapshotVerifier.verify. */
export type VerifySnapshot = (snapshotId: string) => Promise<{ result: { ok: boolean; problems: string[] } }>;

export interface FinishItemOptions {
  run: BackupRunEntity;
  snapshot: SnapshotEntity;
  metadata: Manifest['metadata'];
  /** The item's warnings so far; a failed verification adds one. */
  warnings: string[];
  ctx: ItemContext;
  verify: VerifySnapshot;
  snapshots: Repository<SnapshotEntity>;
}

export async function finishItem(o: FinishItemOptions): Promise<ItemOutcome> {
  const failedMetadata = Object.values(o.metadata).some((m) => m.status === 'FAILED');
  if (!o.run.policy.verifyAfterBackup) return { status: failedMetadata ? 'PARTIAL' : 'SUCCEEDED', snapshot: o.snapshot, warnings: o.warnings };
  o.ctx.progress({ phase: 'VERIFYING' });
  const { result } = await o.verify(o.snapshot.id);
  if (!result.ok) o.warnings.push(`verification failed: ${result.problems.join('; ')}`);
  const fresh = await o.snapshots.findOneByOrFail({ id: o.snapshot.id });
  return { status: failedMetadata || !result.ok ? 'PARTIAL' : 'SUCCEEDED', snapshot: fresh, warnings: o.warnings };
}
