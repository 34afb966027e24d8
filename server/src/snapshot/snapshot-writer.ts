/**
 * Writing a snapshot, for repository and group backups alike: the one manifest builder, and the
 * two steps that bracket a snapshot's artifacts. `clearLeftovers` runs before the first artifact
 * (a retried attempt reuses its snapshot id, and whatever an earlier attempt left has no manifest,
 * so it never was a snapshot); `commitSnapshot` runs after the last one: the manifest is stored
 * last, and only then the row, so a snapshot without its manifest never exists for the API.
 */
import type { DataSource, Repository } from 'typeorm';
import type { StorageBackend } from '../storage/storage.port.js';
import { manifestKey } from './artifact-keys.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  missingData,
  serializeManifest,
  type CopyType,
  type GitState,
  type Manifest,
  type ManifestArtifact,
} from './manifest.js';
import { SnapshotEntity } from './snapshot.entity.js';

export interface ManifestInput {
  snapshotId: string;
  createdAt: Date;
  copyType: CopyType;
  /** The snapshot the bundles build on (null for a FULL). */
  parent: Pick<SnapshotEntity, 'id' | 'manifestSha256'> | null;
  instanceUrl: string;
  organization: Manifest['organization'];
  /** Whose snapshot: a repository's, or a group's metadata snapshot. */
  subject: { repository: NonNullable<Manifest['repository']> } | { group: NonNullable<Manifest['group']> };
  git?: GitState | null;
  wiki?: GitState | null;
  metadata: Manifest['metadata'];
  /** Repository snapshots only: null when LFS is not included. */
  lfs?: Manifest['lfs'];
  encryption: { keyId: string } | null;
  /** Every artifact but the manifest, in the order they are listed. */
  artifacts: ManifestArtifact[];
}

/** The manifest of a repository or group snapshot (docs/FORMAT.md). */
export function buildManifest(input: ManifestInput): Manifest {
  const head = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    snapshotId: input.snapshotId,
    createdAt: input.createdAt.toISOString(),
    copyType: input.copyType,
    parent: input.parent ? { snapshotId: input.parent.id, manifestSha256: input.parent.manifestSha256 } : null,
    instanceUrl: input.instanceUrl,
    organization: input.organization,
  } as const;
  const encryption = input.encryption
    ? { algorithm: 'LKENC1-AES-256-GCM' as const, keyId: input.encryption.keyId }
    : null;
  if ('group' in input.subject) {
    return {
      ...head,
      repository: null,
      group: input.subject.group,
      git: null,
      wiki: null,
      metadata: input.metadata,
      encryption,
      artifacts: input.artifacts,
    };
  }
  return {
    ...head,
    repository: input.subject.repository,
    git: input.git ?? null,
    wiki: input.wiki ?? null,
    metadata: input.metadata,
    lfs: input.lfs ?? null,
    encryption,
    artifacts: input.artifacts,
  };
}

/** Deletes what an earlier attempt at this snapshot id left below its folder (write-once: start again). */
export async function clearLeftovers(store: StorageBackend, prefix: string): Promise<void> {
  await store.abortUploads?.(prefix); // a killed attempt's upload in progress (S3 multipart)
  for await (const key of store.list(`${prefix}/`)) await store.delete(key);
}

export interface CommitSnapshotOptions {
  dataSource: DataSource;
  store: StorageBackend;
  /** The storage root `store` was opened at (recorded on the row). */
  storageRoot: string;
  /** The snapshot's folder (artifact-keys.ts). */
  prefix: string;
  manifest: Manifest;
  runId: string;
  chainKey: string;
  /** The ENCRYPTION_KEY credential the artifacts were encrypted with. */
  encryptionCredentialId: string | null;
}

/**
 * What the restore point holds, for lists that must not read manifests: a wiki with refs, and LFS
 * objects in this snapshot's range or (restore takes the union along the chain) in its parent's.
 */
async function holdings(
  snapshots: Repository<SnapshotEntity>,
  manifest: Manifest,
): Promise<Pick<SnapshotEntity, 'holdsWiki' | 'holdsLfsObjects'>> {
  const holdsWiki = !!manifest.wiki && Object.keys(manifest.wiki.refs).length > 0;
  if ((manifest.lfs?.objects.length ?? 0) > 0 || !manifest.parent) {
    return { holdsWiki, holdsLfsObjects: (manifest.lfs?.objects.length ?? 0) > 0 };
  }
  const parent = await snapshots.findOne({
    where: { id: manifest.parent.snapshotId },
    select: { holdsLfsObjects: true },
  });
  return { holdsWiki, holdsLfsObjects: parent?.holdsLfsObjects ?? null };
}

/**
 * Stores the manifest, then inserts the snapshot's row (UNVERIFIED). The id is new: a retry that
 * finds its row never gets here, so one INSERT is enough.
 */
export async function commitSnapshot(o: CommitSnapshotOptions): Promise<SnapshotEntity> {
  const { manifest } = o;
  const stored = await o.store.put(manifestKey(o.prefix), serializeManifest(manifest));
  const snapshots = o.dataSource.getRepository(SnapshotEntity);
  const snapshot = snapshots.create({
    ...(await holdings(snapshots, manifest)),
    id: manifest.snapshotId,
    repositoryId: manifest.repository?.id ?? null,
    groupId: manifest.group?.id ?? null,
    organizationId: manifest.organization.id,
    runId: o.runId,
    copyType: manifest.copyType,
    parentId: manifest.parent?.snapshotId ?? null,
    chainKey: o.chainKey,
    storageRoot: o.storageRoot,
    storagePrefix: o.prefix,
    manifestSha256: stored.sha256,
    encryptionCredentialId: manifest.encryption ? o.encryptionCredentialId : null,
    sizeBytes: String(
      // what this snapshot stored: an artifact it refers to (snapshotId) is counted by the snapshot holding it
      manifest.artifacts.reduce((n, a) => n + (a.snapshotId ? 0 : a.size), 0) +
        stored.size +
        (manifest.lfs?.storedBytes ?? 0),
    ),
    artifactCount: manifest.artifacts.filter((a) => !a.snapshotId).length + 1,
    refCount: Object.keys(manifest.git?.refs ?? {}).length,
    isComplete: missingData(manifest).length === 0,
    metadataCounts: Object.fromEntries(Object.entries(manifest.metadata).map(([k, v]) => [k, v.records])),
    verificationStatus: 'UNVERIFIED',
    verifiedAt: null,
    verificationError: null,
    // The manifest is the last object written, so its lock ends last.
    lockedUntil: stored.retainUntil ?? null,
    createdAt: new Date(manifest.createdAt),
  });
  await snapshots.insert(snapshot);
  return snapshot;
}
