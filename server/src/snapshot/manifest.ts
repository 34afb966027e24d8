/**
 * manifest.json: the last artifact of a snapshot, written after every other one. It lists every
 * artifact with its size and sha256, the refs the snapshot restores, and the snapshot it builds
 * on. A snapshot without its manifest does not exist. The format is documented in docs/FORMAT.md
 * so that a user can restore with plain git and a JSON reader. Where artifacts live:
 * artifact-keys.ts; how a snapshot's manifest is built: manifest-builder.ts.
 */

/** FULL: every object; INCREMENTAL: since the previous snapshot; DIFFERENTIAL: since the last FULL. */
export type CopyType = 'FULL' | 'INCREMENTAL' | 'DIFFERENTIAL';

export const MANIFEST_FORMAT = 'labkeeper-snapshot';
export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export type ArtifactKind = 'GIT_BUNDLE' | 'WIKI_BUNDLE' | 'METADATA' | 'LFS_OBJECT';

export interface ManifestArtifact {
  /** Path relative to the snapshot's folder, e.g. `repository.bundle`, `metadata/issues.jsonl.gz`. */
  path: string;
  kind: ArtifactKind;
  /** Bytes as stored (after compression and encryption). */
  size: number;
  /** sha256 (hex) of the bytes as stored. */
  sha256: string;
  compression: 'NONE' | 'GZIP' | 'BROTLI';
  encrypted: boolean;
  /** METADATA: the type and how many records (JSON lines) it holds. */
  metadataType?: string;
  records?: number;
  /**
   * Set when the bytes are not in this snapshot's folder but in that of an earlier snapshot of
   * the same group, in its chain (a group's metadata type unchanged since: incremental group
   * snapshots). The entry is that snapshot's entry, copied; the file is read from there.
   */
  snapshotId?: string;
}

export interface GitState {
  /** Every ref with its object id, as upstream had them when the snapshot was taken. */
  refs: Record<string, string>;
  /** The ref HEAD points to (the default branch). */
  head: string | null;
  /** Objects the bundle assumes present: the tips of the prerequisite snapshot (empty for FULL). */
  prerequisites: string[];
  /** The bundle artifact's path, or null when nothing changed since the prerequisite snapshot. */
  bundle: string | null;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  snapshotId: string;
  createdAt: string;
  copyType: CopyType;
  /** The snapshot whose tips the bundles build on: INCREMENTAL → the previous one, DIFFERENTIAL → the last FULL. */
  parent: { snapshotId: string; manifestSha256: string } | null;
  instanceUrl: string;
  organization: { id: string; fullPath: string };
  /** Null for a group's metadata snapshot, which has `group` instead. */
  repository: {
    id: string;
    gitlabProjectId: number;
    pathWithNamespace: string;
    webUrl: string;
    defaultBranch: string | null;
    visibility: string;
    isArchived: boolean;
  } | null;
  group?: { id: string; gitlabGroupId: number; fullPath: string; webUrl: string; parentGitlabGroupId: number | null };
  git: GitState | null;
  wiki: GitState | null;
  /**
   * Per type: OK with the records stored, or SKIPPED/FAILED with the reason. `warnings`: what an OK
   * type could not read completely (a record's child listing that failed — the record is stored
   * with what was read — or a count unlike GitLab's `x-total`).
   */
  metadata: Record<
    string,
    { status: 'OK' | 'SKIPPED' | 'FAILED'; records: number; reason?: string; warnings?: string[] }
  >;
  /**
   * Git LFS objects this snapshot's range references (its bundle's new commits; everything for a
   * FULL). Objects live once per repository at `orgs/<org>/repos/<repo>/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>`
   * (`lfs/encrypted-<keyId>/…` when encrypted), shared by every snapshot: restore takes the union
   * of `objects` along the chain. Absent when LFS is not included.
   */
  lfs?: {
    objects: { oid: string; size: number }[];
    missing: { oid: string; size: number }[];
    failed: { oid: string; size: number; reason: string }[];
    storedBytes: number;
  } | null;
  encryption: { algorithm: 'LKENC1-AES-256-GCM'; keyId: string } | null;
  artifacts: ManifestArtifact[];
}

export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

export function parseManifest(bytes: Buffer): Manifest {
  const value = JSON.parse(bytes.toString('utf8')) as Manifest;
  if (value.format !== MANIFEST_FORMAT || value.version !== MANIFEST_VERSION) {
    throw new Error(`not a Labkeeper snapshot manifest (format ${String(value.format)} v${String(value.version)})`);
  }
  return value;
}

/**
 * How an LFS object looks to a snapshot key lookup: LFS objects are not listed as artifacts, and
 * are encrypted with the snapshot's key when the snapshot is.
 */
export const LFS_KEY_ARTIFACT: ManifestArtifact = {
  path: '',
  kind: 'LFS_OBJECT',
  size: 0,
  sha256: '',
  compression: 'NONE',
  encrypted: true,
};

/** The LFS objects a manifest lists as stored (listed, and neither missing nor failed). */
export function storedLfsObjects(manifest: Manifest): { oid: string; size: number }[] {
  const lfs = manifest.lfs;
  if (!lfs) return [];
  const absent = new Set([...lfs.missing, ...lfs.failed].map((o) => o.oid));
  return lfs.objects.filter((o) => !absent.has(o.oid));
}

/**
 * What a manifest says is missing from its snapshot (empty: complete): metadata types FAILED or
 * read incompletely (an OK type with warnings), LFS objects missing or failed. Metadata SKIPPED
 * by scope or tier is not missing: asking again gives the same answer.
 */
export function missingData(manifest: Manifest): string[] {
  const missing = Object.entries(manifest.metadata)
    .filter(([, m]) => m.status === 'FAILED' || (m.warnings?.length ?? 0) > 0)
    .map(([type]) => `metadata ${type}`);
  const lfs = manifest.lfs;
  if (lfs && lfs.missing.length + lfs.failed.length > 0)
    missing.push(`${lfs.missing.length + lfs.failed.length} LFS object(s)`);
  return missing;
}
