/**
 * Reading snapshots back: the manifest, an artifact decoded, and the chain of snapshots a
 * snapshot's bundles depend on (oldest, the FULL, first).
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { DataSource } from 'typeorm';
import { DomainError } from '../shared/errors.js';
import { SnapshotEntity } from './backup.entity.js';
import { snapshotNotFound } from './backup.errors.js';
import type { ArtifactCodec, ArtifactStores } from './backup.ports.js';
import { MANIFEST_FILE, parseManifest, type Manifest, type ManifestArtifact } from './manifest.js';

export class SnapshotReader {
  constructor(
    private readonly dataSource: DataSource,
    private readonly stores: ArtifactStores,
    private readonly codec: ArtifactCodec,
  ) {}

  async snapshot(id: string): Promise<SnapshotEntity> {
    const found = /^[0-9a-f-]{36}$/i.test(id) ? await this.dataSource.getRepository(SnapshotEntity).findOneBy({ id }) : null;
    if (!found) throw snapshotNotFound(id);
    return found;
  }

  async manifest(snapshot: SnapshotEntity): Promise<Manifest> {
    const chunks: Buffer[] = [];
    for await (const chunk of await (await this.stores.at(snapshot.storageRoot)).open(`${snapshot.storagePrefix}/${MANIFEST_FILE}`)) chunks.push(chunk as Buffer);
    return parseManifest(Buffer.concat(chunks));
  }

  /** The snapshot and every snapshot it depends on, FULL first. */
  async chain(snapshot: SnapshotEntity): Promise<SnapshotEntity[]> {
    const chain = [snapshot];
    let current = snapshot;
    while (current.parentId) {
      const parent = await this.dataSource.getRepository(SnapshotEntity).findOneBy({ id: current.parentId });
      if (!parent) {
        throw new DomainError('SNAPSHOT_NOT_FOUND', `snapshot ${current.id} depends on ${current.parentId}, which is gone`, {
          details: { snapshotId: current.id, parentId: current.parentId },
        });
      }
      chain.unshift(parent);
      current = parent;
    }
    return chain;
  }

  /** Writes an artifact, decoded (decrypted, decompressed), to a local file. */
  async decodeTo(snapshot: SnapshotEntity, artifact: ManifestArtifact, file: string, key: Buffer | null): Promise<void> {
    const source = await (await this.stores.at(snapshot.storageRoot)).open(`${snapshot.storagePrefix}/${artifact.path}`);
    await pipeline(source, this.codec.decode({ compression: artifact.compression, key: artifact.encrypted ? key : null }), createWriteStream(file));
  }
}
