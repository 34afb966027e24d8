/**
 * A group's metadata snapshot (with *include groups*): group labels, milestones, members,
 * subgroups and epics where the tier has them, as GitLab's JSON Lines, with a manifest written
 * last. Every group snapshot is complete on its own (FULL): metadata has no git chain.
 */
import type { DataSource } from 'typeorm';
import { GroupEntity, OrganizationEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { BackupRunEntity, BackupRunItemEntity } from './backup.entity.js';
import type { MetadataSource } from './backup.ports.js';
import { writeMetadataArtifacts } from './metadata-artifacts.js';
import type { ItemContext, ItemOutcome } from './repository-backup.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { StorageRoots } from '../storage/storage.port.js';
import { groupSnapshotPrefix } from '../snapshot/artifact-keys.js';
import { MANIFEST_FILE, type Manifest, serializeManifest } from '../snapshot/manifest.js';

export interface GroupBackupDeps {
  dataSource: DataSource;
  stores: StorageRoots;
  codec: ArtifactCodec;
  metadataFor(connectionId: string): Promise<MetadataSource>;
  encryptionKey(run: BackupRunEntity): Promise<{ key: Buffer; keyId: string } | null>;
  instanceUrl(connectionId: string): Promise<string>;
  verify(snapshotId: string): Promise<{ result: { ok: boolean; problems: string[] } }>;
  clock: Clock;
  logger: Logger;
}

export function createGroupBackup(deps: GroupBackupDeps) {
  return async function backupGroup(run: BackupRunEntity, item: BackupRunItemEntity, ctx: ItemContext): Promise<ItemOutcome> {
    const { dataSource } = deps;
    const snapshots = dataSource.getRepository(SnapshotEntity);
    if (item.snapshotId) {
      const done = await snapshots.findOneBy({ id: item.snapshotId });
      if (done) return { status: 'SUCCEEDED', snapshot: done, warnings: item.warnings };
    }
    const group = await dataSource.getRepository(GroupEntity).findOneByOrFail({ id: item.groupId! });
    const organization = await dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: run.organizationId });
    const snapshotId = item.snapshotId ?? newId();
    if (!item.snapshotId) await dataSource.getRepository(BackupRunItemEntity).update({ id: item.id }, { snapshotId });
    const prefix = groupSnapshotPrefix(organization.id, group.id, snapshotId);
    const storageRoot = deps.stores.rootFor(run.policy);
    const store = await deps.stores.at(storageRoot);
    for await (const key of store.list(`${prefix}/`)) await store.delete(key);

    const encryption = await deps.encryptionKey(run);
    const source = await deps.metadataFor(organization.connectionId);
    ctx.progress({ phase: 'METADATA', metadataRecords: 0 });
    const { metadata, artifacts, warnings } = await writeMetadataArtifacts({
      store,
      codec: deps.codec,
      logger: deps.logger,
      types: run.policy.include.groupMetadata,
      records: (type, onCount) => source.groupRecords(group.gitlabGroupId, type, onCount),
      compression: run.policy.compression,
      keyFor: () => encryption?.key ?? null,
      prefix,
      beforeType: () => ctx.touch(),
      onRecords: (total) => ctx.progress({ phase: 'METADATA', metadataRecords: total }),
    });

    ctx.progress({ phase: 'WRITING' });
    const createdAt = deps.clock.now();
    const manifest: Manifest = {
      format: 'labkeeper-snapshot',
      version: 1,
      snapshotId,
      createdAt: createdAt.toISOString(),
      copyType: 'FULL',
      parent: null,
      instanceUrl: await deps.instanceUrl(organization.connectionId),
      organization: { id: organization.id, fullPath: organization.fullPath },
      repository: null,
      group: { id: group.id, gitlabGroupId: group.gitlabGroupId, fullPath: group.fullPath, webUrl: group.webUrl, parentGitlabGroupId: group.parentGitlabGroupId },
      git: null,
      wiki: null,
      metadata,
      encryption: encryption ? { algorithm: 'LKENC1-AES-256-GCM', keyId: encryption.keyId } : null,
      artifacts,
    };
    const stored = await store.put(`${prefix}/${MANIFEST_FILE}`, serializeManifest(manifest));
    await snapshots.save(
      snapshots.create({
        id: snapshotId,
        repositoryId: null,
        groupId: group.id,
        organizationId: organization.id,
        runId: run.id,
        copyType: 'FULL',
        parentId: null,
        chainKey: run.chainKey,
        storageRoot,
        storagePrefix: prefix,
        manifestSha256: stored.sha256,
        encryptionCredentialId: encryption ? run.policy.encryption!.credentialId : null,
        sizeBytes: String(artifacts.reduce((n, a) => n + a.size, 0) + stored.size),
        artifactCount: artifacts.length + 1,
        refCount: 0,
        metadataCounts: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, v.records])),
        verificationStatus: 'UNVERIFIED',
        verifiedAt: null,
        verificationError: null,
        createdAt,
      }),
    );
    let verified = true;
    if (run.policy.verifyAfterBackup) {
      ctx.progress({ phase: 'VERIFYING' });
      const { result } = await deps.verify(snapshotId);
      if (!result.ok) {
        verified = false;
        warnings.push(`verification failed: ${result.problems.join('; ')}`);
      }
    }
    const failed = Object.values(metadata).some((m) => m.status === 'FAILED');
    return { status: failed || !verified ? 'PARTIAL' : 'SUCCEEDED', snapshot: await snapshots.findOneByOrFail({ id: snapshotId }), warnings };
  };
}
