/**
 * What the backup engine needs from its collaborators, in its own terms. app.ts wires them to
 * storage/ (where artifacts live), artifact-codec.ts (compression, encryption) and the GitLab
 * metadata reader; tests may pass in-memory ones.
 */
import type { Readable, Transform } from 'node:stream';
import type { GroupMetadataType, MetadataType } from './policy.types.js';

export interface StoredObject {
  size: number;
  sha256: string;
}

export interface ArtifactStore {
  /** Atomic, write-once: a reader never sees a partial object. */
  put(key: string, source: Readable | Buffer): Promise<StoredObject>;
  /**
   * Optional: `put` of the concatenation of bytes and whole local files, for stores that can copy
   * a big file more cheaply than through a stream (LocalStorage: in a worker thread).
   */
  putConcat?(key: string, parts: (Uint8Array | { file: string })[]): Promise<StoredObject>;
  /** Rejects with a NOT_FOUND-like error when the key is missing. */
  open(key: string): Promise<Readable>;
  stat(key: string): Promise<{ size: number; modifiedAt?: Date } | null>;
  list(prefix: string): AsyncIterable<string>;
  delete(key: string): Promise<void>;
}

export interface ArtifactCodec {
  encode(options: { compression: 'NONE' | 'GZIP' | 'BROTLI'; key: Buffer | null }): Transform;
  decode(options: { compression: 'NONE' | 'GZIP' | 'BROTLI'; key: Buffer | null }): Transform;
  keyId(key: Buffer): string;
}

export interface MetadataSource {
  projectRecords(projectId: number, type: MetadataType, onProgress?: (count: number) => void): AsyncIterable<Record<string, unknown>>;
  groupRecords(groupId: number, type: GroupMetadataType, onProgress?: (count: number) => void): AsyncIterable<Record<string, unknown>>;
}

/**
 * Where a policy's artifacts go, and where a snapshot's are: snapshots record their storage root,
 * so changing a policy's storage never loses the way to older snapshots.
 */
export interface ArtifactStores {
  rootFor(policy: { storage: { path: string | null } }): string;
  at(root: string): Promise<ArtifactStore>;
}
