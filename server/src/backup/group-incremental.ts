/**
 * Incremental group snapshots. A group's metadata has no git to chain, so a snapshot used to
 * store every type again. Now a type whose records are the same as in the parent snapshot (same
 * RecordsDigest, same compression and key) is not stored again: its manifest entry is the
 * parent's entry with `snapshotId` naming the snapshot whose folder holds the bytes, and the
 * snapshot is INCREMENTAL on that parent (retention and deleteSnapshot then keep the folder).
 * When every type is unchanged, no snapshot is written at all: the parent stands for the run.
 *
 * The parent: for an INCREMENTAL run the group's newest snapshot of the chain, for a
 * DIFFERENTIAL one its newest FULL; a FULL run stores everything. A parent stands in only when
 * it is complete and did not fail verification (backup-item.ts canStandForUnchanged).
 */
import type { Repository } from 'typeorm';
import type { Manifest, ManifestArtifact } from '../snapshot/manifest.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import type { StorageBackend } from '../storage/storage.port.js';
import type { BackupRunEntity } from './backup.entity.js';
import { digestOfLines } from './records-digest.js';

/** The snapshot a group's new one may build on, or null (FULL). */
export async function groupParent(
  snapshots: Repository<SnapshotEntity>,
  run: BackupRunEntity,
  groupId: string,
): Promise<SnapshotEntity | null> {
  if (run.copyType === 'FULL') return null;
  const parent = await snapshots.findOne({
    where: {
      groupId,
      chainKey: run.chainKey,
      ...(run.copyType === 'DIFFERENTIAL' ? { copyType: 'FULL' as const } : {}),
    },
    order: { createdAt: 'DESC' },
  });
  return parent && parent.isComplete && parent.verificationStatus !== 'FAILED' ? parent : null;
}

/** The digest of what a stored metadata artifact holds (decoded, decrypted with `key`). */
export async function storedDigest(
  reader: SnapshotReader,
  snapshot: SnapshotEntity,
  artifact: ManifestArtifact,
  key: Buffer | null,
): Promise<string> {
  return digestOfLines(await reader.openDecoded(snapshot, artifact, key));
}

/**
 * The parent's entry for `type` when it can stand for records with `digest` written the way
 * `written` was (compression, encryption with the key `keyId`); else null.
 */
export async function reusableEntry(o: {
  reader: SnapshotReader;
  parent: SnapshotEntity;
  parentManifest: Manifest;
  written: ManifestArtifact;
  digest: string;
  keyId: string | null;
  key: Buffer | null;
}): Promise<ManifestArtifact | null> {
  const { parentManifest, written } = o;
  const type = written.metadataType!;
  const entry = parentManifest.metadata[type];
  const artifact = parentManifest.artifacts.find((a) => a.kind === 'METADATA' && a.metadataType === type);
  if (!artifact || entry?.status !== 'OK' || (entry.warnings?.length ?? 0) > 0) return null;
  if (artifact.compression !== written.compression || artifact.encrypted !== written.encrypted) return null;
  if ((parentManifest.encryption?.keyId ?? null) !== o.keyId) return null;
  const digest = await storedDigest(o.reader, o.parent, artifact, artifact.encrypted ? o.key : null).catch(
    () => null, // unreadable: store the type again rather than refer to it
  );
  return digest === o.digest ? { ...artifact, snapshotId: artifact.snapshotId ?? o.parent.id } : null;
}

/**
 * Replaces each written artifact whose records the parent already holds by a reference to the
 * parent's, deleting the bytes just written. Returns the artifacts and whether every one was reused.
 */
export async function reuseUnchanged(o: {
  reader: SnapshotReader;
  store: StorageBackend;
  prefix: string;
  parent: SnapshotEntity;
  parentManifest: Manifest;
  artifacts: ManifestArtifact[];
  digests: Map<string, string>;
  encryption: { key: Buffer; keyId: string } | null;
}): Promise<{ artifacts: ManifestArtifact[]; reused: number }> {
  const artifacts: ManifestArtifact[] = [];
  let reused = 0;
  for (const written of o.artifacts) {
    const digest = written.metadataType ? o.digests.get(written.metadataType) : undefined;
    const entry = digest
      ? await reusableEntry({
          reader: o.reader,
          parent: o.parent,
          parentManifest: o.parentManifest,
          written,
          digest,
          keyId: o.encryption?.keyId ?? null,
          key: o.encryption?.key ?? null,
        })
      : null;
    if (!entry) {
      artifacts.push(written);
      continue;
    }
    await o.store.delete(`${o.prefix}/${written.path}`);
    artifacts.push(entry);
    reused++;
  }
  return { artifacts, reused };
}

/** Whether the new metadata says exactly what the parent's does (same types, statuses, counts and reasons). */
export function sameMetadata(a: Manifest['metadata'], b: Manifest['metadata']): boolean {
  const keys = Object.keys(a).sort();
  if (keys.join('\n') !== Object.keys(b).sort().join('\n')) return false;
  return keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}
