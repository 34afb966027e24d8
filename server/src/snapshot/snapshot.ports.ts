/**
 * What the snapshot format needs from outside, in its own terms: the codec that shapes artifact
 * bytes (artifact-codec.ts in production) and the keys artifacts were encrypted with (the
 * Password Manager, wired in backup.wiring.ts). Storage is storage/'s StorageBackend.
 */
import type { Transform } from 'node:stream';
import type { SnapshotEntity } from './snapshot.entity.js';
import type { ArtifactCompression } from './artifact-codec.js';
import type { Manifest, ManifestArtifact } from './manifest.js';

export interface ArtifactCodec {
  encode(options: { compression: ArtifactCompression; key: Buffer | null }): Transform;
  decode(options: { compression: ArtifactCompression; key: Buffer | null }): Transform;
  keyId(key: Buffer): string;
}

/** The key an artifact of a snapshot was written with (null: not encrypted). */
export type ArtifactKeyFor = (
  snapshot: SnapshotEntity,
  manifest: Manifest,
  artifact: ManifestArtifact,
) => Promise<Buffer | null>;
