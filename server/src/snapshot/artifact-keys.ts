/**
 * Where a snapshot's artifacts live in a StorageBackend. Every key is a relative POSIX path built
 * from ids and fixed names (storage/storage-key.ts checks the rules):
 *
 *   orgs/<orgId>/repos/<repoId>/snapshots/<snapshotId>/manifest.json   (written last)
 *   orgs/<orgId>/repos/<repoId>/snapshots/<snapshotId>/<artifact path> (repository.bundle, metadata/…)
 *   orgs/<orgId>/groups/<groupId>/snapshots/<snapshotId>/…            (a group's metadata snapshot)
 *
 * LFS objects are shared by a repository's snapshots and live outside them (lfs-layout.ts).
 */
import { MANIFEST_FILE } from './manifest.js';

export const snapshotPrefix = (organizationId: string, repositoryId: string, snapshotId: string) =>
  `orgs/${organizationId}/repos/${repositoryId}/snapshots/${snapshotId}`;

export const groupSnapshotPrefix = (organizationId: string, groupId: string, snapshotId: string) =>
  `orgs/${organizationId}/groups/${groupId}/snapshots/${snapshotId}`;

/** The key of an artifact (a manifest entry's `path`) below a snapshot's folder. */
export const artifactKey = (prefix: string, path: string) => `${prefix}/${path}`;

/**
 * Where a manifest entry's bytes are: below the snapshot's own folder, or, for an entry that
 * refers to an earlier snapshot of the same subject (`snapshotId`, a group's unchanged metadata
 * type), below that snapshot's folder: its sibling.
 */
export const storedArtifactKey = (prefix: string, artifact: { path: string; snapshotId?: string }) =>
  artifactKey(artifact.snapshotId ? prefix.replace(/[^/]+$/, artifact.snapshotId) : prefix, artifact.path);

/** The key of a snapshot's manifest: its presence is what makes the folder a snapshot. */
export const manifestKey = (prefix: string) => `${prefix}/${MANIFEST_FILE}`;
