/**
 * A group's metadata snapshot (with *include groups*): group labels, milestones, members,
 * subgroups and epics where the tier has them, as GitLab's JSON Lines, with a manifest written
 * last (snapshot/snapshot-writer.ts, the same writer as a repository's). Snapshots are
 * incremental (group-incremental.ts): a type whose records did not change since the parent
 * snapshot refers to the parent's artifact, and a group in which nothing changed gets no new
 * snapshot (its item is UNCHANGED). Groups GitLab proves unchanged before the fan-out never get
 * here (group-unchanged.ts).
 */
import type { DataSource } from 'typeorm';
import { GroupEntity, OrganizationEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { BackupRunEntity, BackupRunItemEntity } from './backup.entity.js';
import type { MetadataSource } from './backup.ports.js';
import { writeMetadataArtifacts } from './metadata-artifacts.js';
import {
  canStandForUnchanged,
  clearEarlierAttempt,
  committedEarlier,
  finishItem,
  fixedSnapshotId,
  type ItemContext,
  type ItemOutcome,
  type ReplicateSnapshot,
  type VerifySnapshot,
} from './backup-item.js';
import { groupSnapshotPrefix } from '../snapshot/artifact-keys.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import { groupParent, reuseUnchanged, sameMetadata } from './group-incremental.js';
import { buildManifest, clearLeftovers, commitSnapshot } from '../snapshot/snapshot-writer.js';
import type { StorageRoots } from '../storage/storage.port.js';

export interface GroupBackupDeps {
  dataSource: DataSource;
  stores: StorageRoots;
  codec: ArtifactCodec;
  reader: SnapshotReader;
  metadataFor(connectionId: string): Promise<MetadataSource>;
  encryptionKey(run: BackupRunEntity): Promise<{ key: Buffer; keyId: string } | null>;
  instanceUrl(connectionId: string): Promise<string>;
  verify: VerifySnapshot;
  replicate?: ReplicateSnapshot;
  clock: Clock;
  logger: Logger;
}

export function createGroupBackup(deps: GroupBackupDeps) {
  return async function backupGroup(
    run: BackupRunEntity,
    item: BackupRunItemEntity,
    ctx: ItemContext,
  ): Promise<ItemOutcome> {
    const { dataSource } = deps;
    const snapshots = dataSource.getRepository(SnapshotEntity);
    // A snapshot this item already committed (job re-run after the row was written): finish it.
    const done = await committedEarlier(snapshots, item, ctx);
    if (done)
      return {
        ...(await finishItem({
          run,
          snapshot: done,
          isPartial: !done.isComplete,
          warnings: item.warnings,
          ctx,
          verify: deps.verify,
          replicate: deps.replicate,
        })),
        notes: item.notes,
      };
    const group = await dataSource.getRepository(GroupEntity).findOneByOrFail({ id: item.groupId! });
    const organization = await dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: run.organizationId });
    const snapshotId = fixedSnapshotId(item);
    const prefix = groupSnapshotPrefix(organization.id, group.id, snapshotId);
    const storageRoot = deps.stores.rootFor(run.policy);
    const store = await deps.stores.at(storageRoot);
    await clearEarlierAttempt(ctx, store, prefix);

    const encryption = await deps.encryptionKey(run);
    // A parent the policy wants verified and nobody has yet is verified first: one that fails is no parent.
    const candidate = await groupParent(snapshots, run, group.id);
    const parent = candidate ? await canStandForUnchanged({ run, latest: candidate, verify: deps.verify }) : null;
    const parentManifest = parent ? await deps.reader.manifest(parent).catch(() => null) : null;
    const source = await deps.metadataFor(organization.connectionId);
    ctx.progress({ phase: 'METADATA', metadataRecords: 0 });
    const written = await writeMetadataArtifacts({
      store,
      codec: deps.codec,
      logger: deps.logger,
      types: run.policy.include.groupMetadata,
      records: (type, onCount, onWarning) => source.groupRecords(group.gitlabGroupId, type, onCount, onWarning),
      compression: run.policy.compression,
      keyFor: () => encryption?.key ?? null,
      prefix,
      rethrowTransient: ctx.canRetryLater,
      beforeType: () => ctx.touch(),
      onRecords: (total) => ctx.progress({ phase: 'METADATA', metadataRecords: total }),
    });
    const { metadata, warnings, notes } = written;
    let artifacts = written.artifacts;
    let reused = 0;
    if (parent && parentManifest) {
      ({ artifacts, reused } = await reuseUnchanged({
        reader: deps.reader,
        store,
        prefix,
        parent,
        parentManifest,
        artifacts,
        digests: written.digests,
        encryption,
      }));
      // Nothing changed at all: no new snapshot; the parent stands for this run.
      if (reused === artifacts.length && sameMetadata(metadata, parentManifest.metadata)) {
        await clearLeftovers(store, prefix);
        deps.logger.info({ runId: run.id, group: group.fullPath, snapshotId: parent.id }, 'group unchanged');
        return { status: 'UNCHANGED', snapshot: parent, warnings: [], notes };
      }
    }

    ctx.progress({ phase: 'WRITING' });
    const manifest = buildManifest({
      snapshotId,
      createdAt: deps.clock.now(),
      copyType: reused > 0 ? (run.copyType === 'DIFFERENTIAL' ? 'DIFFERENTIAL' : 'INCREMENTAL') : 'FULL',
      parent: reused > 0 ? parent : null,
      instanceUrl: await deps.instanceUrl(organization.connectionId),
      organization: { id: organization.id, fullPath: organization.fullPath },
      subject: {
        group: {
          id: group.id,
          gitlabGroupId: group.gitlabGroupId,
          fullPath: group.fullPath,
          webUrl: group.webUrl,
          parentGitlabGroupId: group.parentGitlabGroupId,
        },
      },
      metadata,
      encryption,
      artifacts,
    });
    const encryptionCredentialId = run.policy.encryption?.credentialId ?? null;
    const snapshot = await commitSnapshot({
      dataSource,
      store,
      storageRoot,
      prefix,
      manifest,
      runId: run.id,
      chainKey: run.chainKey,
      encryptionCredentialId,
    });
    const isPartial = Object.values(metadata).some((m) => m.status === 'FAILED');
    const finished = await finishItem({
      run,
      snapshot,
      isPartial,
      warnings,
      ctx,
      verify: deps.verify,
      justCommitted: true,
      replicate: deps.replicate,
    });
    return { ...finished, notes };
  };
}
