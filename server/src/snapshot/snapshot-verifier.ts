/**
 * Verifying a snapshot (`verifySnapshot`, after each backup when the policy asks, and before a
 * restore): proof that what is stored can be restored, by the one checker (snapshot-checker.ts)
 * reading this snapshot's artifacts, its whole bundle chain back into git, its LFS objects and
 * its metadata. The outcome is recorded on the snapshot (VERIFIED or FAILED with the problems).
 * Each COPIED replica is checked the same way, reading its whole chain from that replica; its
 * outcome is recorded on the copy and its problems are part of the result, named by storage.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { SnapshotChecker } from './snapshot-checker.js';
import type { SnapshotReplicator } from './snapshot-replicator.js';
import { SnapshotEntity } from './snapshot.entity.js';
import type { SnapshotReader } from './snapshot-reader.js';

export interface VerificationResult {
  ok: boolean;
  problems: string[];
}

export interface SnapshotVerifierDeps {
  dataSource: DataSource;
  reader: Pick<SnapshotReader, 'snapshot'>;
  checker: SnapshotChecker;
  clock: Clock;
  logger: Logger;
  /** Scratch repositories go to `<workDir>/tmp/verify-*`, removed afterwards. */
  workDir: string;
  /** The snapshot's replicas, and a checker reading from one storage root. */
  replicas?: { copies: SnapshotReplicator; checkerAt: (storageRoot: string) => SnapshotChecker };
}

export class SnapshotVerifier {
  constructor(private readonly deps: SnapshotVerifierDeps) {}

  /**
   * `checkedInStream`: bundles of this snapshot that git checked as they streamed in from GitLab
   * (right after the backup that wrote them; pack-check.ts) — their bytes are still re-hashed
   * from storage, but not read back into git a second time.
   * `readBackAtWrite`: artifacts of this snapshot the storage read back and compared as it wrote
   * them (PutOptions.readBack), right before: their stored bytes are not re-read and re-hashed.
   * `committed`: the row as the backup that wrote it just committed it (not read again). It has
   * no replica copies yet: they are made after this verification.
   */
  async verify(
    snapshotId: string,
    options: { checkedInStream?: string[]; readBackAtWrite?: string[]; committed?: SnapshotEntity } = {},
  ): Promise<{ snapshot: SnapshotEntity; result: VerificationResult }> {
    const committed = options.committed?.id === snapshotId ? options.committed : undefined;
    const snapshot = committed ?? (await this.deps.reader.snapshot(snapshotId));
    // Named, not made: a check that reads something back into git makes its folder then (git
    // init); a FULL checked in the stream makes none, and folders cost this file system a ms each.
    const scratch = join(this.deps.workDir, 'tmp', `verify-${randomUUID()}`);
    try {
      const { problems } = await this.deps.checker.check(snapshot, {
        scratch: join(scratch, 'primary'),
        checkedInStream: options.checkedInStream,
        readBackAtWrite: options.readBackAtWrite,
      });
      if (!committed) problems.push(...(await this.checkReplicas(snapshot, scratch)));
      return await this.record(snapshot, { ok: problems.length === 0, problems });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private async checkReplicas(snapshot: SnapshotEntity, scratch: string): Promise<string[]> {
    const replicas = this.deps.replicas;
    if (!replicas) return [];
    const problems: string[] = [];
    for (const copy of await replicas.copies.copiesOf([snapshot.id])) {
      if (copy.status !== 'COPIED') continue;
      const found = (
        await replicas.checkerAt(copy.storageRoot).check(snapshot, { scratch: join(scratch, copy.storageId) })
      ).problems;
      await replicas.copies.recordVerification(snapshot.id, copy.storageId, found);
      problems.push(...found.map((p) => `replica on storage ${copy.storageId}: ${p}`));
    }
    return problems;
  }

  private async record(snapshot: SnapshotEntity, result: VerificationResult) {
    snapshot.verificationStatus = result.ok ? 'VERIFIED' : 'FAILED';
    snapshot.verifiedAt = this.deps.clock.now();
    snapshot.verificationError = result.ok ? null : result.problems.join('; ').slice(0, 4000);
    // An update of the three columns, not save(): that would read the row back first.
    await this.deps.dataSource.getRepository(SnapshotEntity).update(
      { id: snapshot.id },
      {
        verificationStatus: snapshot.verificationStatus,
        verifiedAt: snapshot.verifiedAt,
        verificationError: snapshot.verificationError,
      },
    );
    if (!result.ok)
      this.deps.logger.warn({ snapshotId: snapshot.id, problems: result.problems }, 'snapshot verification failed');
    return { snapshot, result };
  }
}
