/**
 * What a restore drill checks of one snapshot, with nothing but the stored files (the LOCAL_BARE
 * target, and the first half of a SCRATCH_NAMESPACE drill): the one checker
 * (snapshot/snapshot-checker.ts) at its most thorough — every artifact of every snapshot of the
 * chain re-hashed, the chain restored by the restore's own code and `git fsck --full`, the refs
 * compared one by one, every LFS object of the chain hashed, every metadata line parsed.
 *
 * Nothing here throws for damaged data: every problem becomes a difference, so a drill of a
 * corrupted snapshot ends FAILED with the reason. The scratch directory is the caller's.
 */
import type { SnapshotChecker } from '../snapshot/snapshot-checker.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';

export interface DrillCheckOutcome {
  differences: string[];
  checked: { refs: number; lfsObjects: number; metadataRecords: number };
  chainLength: number;
}

export async function checkSnapshot(
  checker: SnapshotChecker,
  snapshot: SnapshotEntity,
  scratch: string,
  options: { gitOnly?: boolean } = {},
): Promise<DrillCheckOutcome> {
  const { problems, checked, chainLength } = await checker.check(snapshot, {
    scratch,
    readChainArtifacts: true,
    fullFsck: true,
    gitOnly: options.gitOnly,
  });
  return { differences: problems, checked, chainLength };
}
