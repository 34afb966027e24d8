/**
 * Reading snapshots back, for restore, drills, DOWNLOAD and the checker: the row, the manifest,
 * an artifact's bytes (as stored, or decoded), and the chain of snapshots a snapshot's bundles
 * depend on (oldest, the FULL, first). Nothing outside snapshot/ needs to know where artifacts
 * live or how their bytes are shaped.
 */
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DataSource } from 'typeorm';
import { createInterface } from 'node:readline';
import type { ObjectInfo, StorageRoots } from '../storage/storage.port.js';
import { manifestKey, storedArtifactKey } from './artifact-keys.js';
import { lfsKey } from './lfs-layout.js';
import { parseManifest, storedLfsObjects, type Manifest, type ManifestArtifact } from './manifest.js';
import { snapshotNotFound, snapshotParentGone } from './snapshot.errors.js';
import { SnapshotEntity } from './snapshot.entity.js';
import type { ArtifactCodec } from './snapshot.ports.js';

export interface StoredFile {
  /** The storage key, which is also its path in a DOWNLOAD archive. */
  key: string;
  info: ObjectInfo | null;
  open: () => Promise<Readable>;
  /** The manifest's sha256 of the bytes as stored (artifacts only; the manifest and LFS objects have none). */
  sha256?: string;
}

/** Which storage root to read a snapshot's files from (default: the primary, `snapshot.storageRoot`). */
export type RootOf = (snapshot: SnapshotEntity) => Promise<string>;

export class SnapshotReader {
  constructor(
    private readonly dataSource: DataSource,
    private readonly stores: StorageRoots,
    private readonly codec: ArtifactCodec,
    private readonly rootOf: RootOf = async (snapshot) => snapshot.storageRoot,
  ) {}

  /**
   * The same reader, reading each snapshot's files from the root `rootOf` picks: a replica's
   * (snapshot-replicator.ts), for restores and drills that fall back to a healthy copy, or for
   * the verification of one replica. Keys are the same on every copy.
   */
  readingFrom(rootOf: RootOf): SnapshotReader {
    return new SnapshotReader(this.dataSource, this.stores, this.codec, rootOf);
  }

  async snapshot(id: string): Promise<SnapshotEntity> {
    const found = /^[0-9a-f-]{36}$/i.test(id)
      ? await this.dataSource.getRepository(SnapshotEntity).findOneBy({ id })
      : null;
    if (!found) throw snapshotNotFound(id);
    return found;
  }

  async manifest(snapshot: SnapshotEntity): Promise<Manifest> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.openKey(snapshot, manifestKey(snapshot.storagePrefix)))
      chunks.push(chunk as Buffer);
    return parseManifest(Buffer.concat(chunks));
  }

  /** The snapshot and every snapshot it depends on, FULL first. */
  async chain(snapshot: SnapshotEntity): Promise<SnapshotEntity[]> {
    const chain = [snapshot];
    let current = snapshot;
    while (current.parentId) {
      const parent = await this.dataSource.getRepository(SnapshotEntity).findOneBy({ id: current.parentId });
      if (!parent) {
        throw snapshotParentGone(current.id, current.parentId);
      }
      chain.unshift(parent);
      current = parent;
    }
    return chain;
  }

  /** Writes an artifact, decoded (decrypted, decompressed), to a local file. */
  async decodeTo(
    snapshot: SnapshotEntity,
    artifact: ManifestArtifact,
    file: string,
    key: Buffer | null,
  ): Promise<void> {
    await pipeline(await this.openDecoded(snapshot, artifact, key), createWriteStream(file));
  }

  /** An artifact's bytes decoded (decrypted, decompressed); a damaged one errors the stream. */
  async openDecoded(snapshot: SnapshotEntity, artifact: ManifestArtifact, key: Buffer | null): Promise<Readable> {
    return this.decoded(await this.openArtifact(snapshot, artifact), {
      compression: artifact.compression,
      key: artifact.encrypted ? key : null,
    });
  }

  /**
   * An artifact's bytes as stored (what its manifest entry's size and sha256 describe), from the
   * earlier snapshot's folder when the entry refers to one.
   */
  openArtifact(snapshot: SnapshotEntity, artifact: Pick<ManifestArtifact, 'path' | 'snapshotId'>): Promise<Readable> {
    return this.openKey(snapshot, storedArtifactKey(snapshot.storagePrefix, artifact));
  }

  /** A repository's LFS object decoded: its bytes hash to its oid. */
  async openLfsObject(
    snapshot: SnapshotEntity,
    oid: string,
    encryption: { keyId: string; key: Buffer | null } | null,
  ): Promise<Readable> {
    const source = await this.openKey(
      snapshot,
      lfsKey(snapshot.organizationId, snapshot.repositoryId!, oid, { keyId: encryption?.keyId ?? null }),
    );
    return this.decoded(source, { compression: 'NONE', key: encryption?.key ?? null });
  }

  /** One metadata artifact's records, decoded and parsed line by line (never the whole file in memory). */
  async *records(
    snapshot: SnapshotEntity,
    artifact: ManifestArtifact,
    key: Buffer | null,
  ): AsyncIterable<Record<string, unknown>> {
    const lines = createInterface({ input: await this.openDecoded(snapshot, artifact, key), crlfDelay: Infinity });
    for await (const line of lines) if (line.trim()) yield JSON.parse(line) as Record<string, unknown>;
  }

  /**
   * Every stored file a snapshot consists of, as stored (DOWNLOAD archives them): its artifacts,
   * its manifest and the LFS objects it lists. `info` is null for a file missing from storage.
   */
  async *storedFiles(snapshot: SnapshotEntity, manifest: Manifest): AsyncIterable<StoredFile> {
    const store = await this.stores.at(await this.rootOf(snapshot));
    const keyId = manifest.encryption?.keyId ?? null;
    const keys: { key: string; sha256?: string }[] = [
      ...manifest.artifacts.map((a) => ({ key: storedArtifactKey(snapshot.storagePrefix, a), sha256: a.sha256 })),
      { key: manifestKey(snapshot.storagePrefix) },
    ];
    for (const o of storedLfsObjects(manifest))
      keys.push({ key: lfsKey(snapshot.organizationId, snapshot.repositoryId!, o.oid, { keyId }) });
    for (const { key, sha256 } of keys)
      yield { key, info: await store.stat(key), open: () => store.open(key), ...(sha256 ? { sha256 } : {}) };
  }

  /** Any key of the snapshot's storage root, as stored. */
  async openKey(snapshot: SnapshotEntity, key: string): Promise<Readable> {
    return (await this.stores.at(await this.rootOf(snapshot))).open(key);
  }

  private decoded(
    source: Readable,
    options: { compression: ManifestArtifact['compression']; key: Buffer | null },
  ): Readable {
    const decoder = this.codec.decode(options);
    source.on('error', (error) => decoder.destroy(error));
    return source.pipe(decoder);
  }
}
