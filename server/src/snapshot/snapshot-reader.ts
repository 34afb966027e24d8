/**
 * Reading snapshots back, for restore, drills, DOWNLOAD and the checker: the row, the manifest,
 * an artifact's bytes (as stored, or decoded), and the chain of snapshots a snapshot's bundles
 * depend on (oldest, the FULL, first). Nothing outside snapshot/ needs to know where artifacts
 * live or how their bytes are shaped.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { In, type DataSource } from 'typeorm';
import { createInterface } from 'node:readline';
import type { ObjectInfo, ObjectReader, StorageRoots } from '../storage/storage.port.js';
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
  /** Reads into the caller's buffers, when the storage offers them (`StorageBackend.openReader`). */
  openReader?: () => Promise<ObjectReader>;
  /** The manifest's sha256 of the bytes as stored (artifacts only; the manifest and LFS objects have none). */
  sha256?: string;
}

/** Stats `storedFiles` keeps in flight. */
const STATS_AHEAD = 16;

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

  /**
   * The chain of each snapshot (as `chain`), for many at once: two queries whatever their number
   * and length, where `chain` asks once per parent.
   */
  async chains(snapshots: SnapshotEntity[]): Promise<Map<string, SnapshotEntity[]>> {
    const byId = new Map(snapshots.map((s) => [s.id, s]));
    const missing = snapshots.filter((s) => s.parentId && !byId.has(s.parentId)).map((s) => s.id);
    if (missing.length > 0) {
      const ancestors = await this.dataSource.query<{ id: string }[]>(
        `WITH RECURSIVE up(id, parent_id) AS (
           SELECT id, parent_id FROM snapshots WHERE id = ANY($1::uuid[])
           UNION
           SELECT s.id, s.parent_id FROM snapshots s JOIN up ON s.id = up.parent_id
         ) SELECT id FROM up`,
        [missing],
      );
      const ids = ancestors.map((a) => a.id).filter((id) => !byId.has(id));
      if (ids.length > 0)
        for (const found of await this.dataSource.getRepository(SnapshotEntity).findBy({ id: In(ids) }))
          byId.set(found.id, found);
    }
    const chains = new Map<string, SnapshotEntity[]>();
    for (const snapshot of snapshots) {
      const chain = [snapshot];
      for (let current = snapshot; current.parentId;) {
        const parent = byId.get(current.parentId);
        if (!parent) throw snapshotParentGone(current.id, current.parentId);
        chain.unshift(parent);
        current = parent;
      }
      chains.set(snapshot.id, chain);
    }
    return chains;
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

  /**
   * An artifact's size and sha256 as stored (what its manifest entry says they are): the
   * storage's own digest when it has one (no stream of fresh buffers), else its bytes hashed.
   */
  async digestArtifact(
    snapshot: SnapshotEntity,
    artifact: Pick<ManifestArtifact, 'path' | 'snapshotId'>,
  ): Promise<{ size: number; sha256: string }> {
    const store = await this.stores.at(await this.rootOf(snapshot));
    const key = storedArtifactKey(snapshot.storagePrefix, artifact);
    if (store.digest) return store.digest(key);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await store.open(key)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { size, sha256: hash.digest('hex') };
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
    // Several stats in flight (an object store answers each after a round trip), yielded in order.
    const stat = (i: number) => {
      const info = store.stat(keys[i].key);
      info.catch(() => undefined); // awaited in its turn
      return info;
    };
    const ahead = keys.slice(0, STATS_AHEAD).map((_, i) => stat(i));
    for (let i = 0; i < keys.length; i++) {
      const info = await ahead[i];
      if (i + STATS_AHEAD < keys.length) ahead.push(stat(i + STATS_AHEAD));
      const { key, sha256 } = keys[i];
      yield {
        key,
        info,
        open: () => store.open(key),
        ...(store.openReader ? { openReader: () => store.openReader!(key) } : {}),
        ...(sha256 ? { sha256 } : {}),
      };
    }
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
