/**
 * Uploading a snapshot chain's LFS objects to a target project: the union of what every snapshot
 * of the chain stored, decoded from storage, through GitLab's LFS batch upload API (objects the
 * project already has are skipped there). Shared by the ORIGINAL and NEW_PROJECT targets.
 */
import type { GitAuth } from '../gitlab/gitlab-http.js';
import { uploadLfsObjects } from './lfs-upload.js';
import type { NewProjectDeps } from './new-project.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { LFS_KEY_ARTIFACT, type Manifest, storedLfsObjects } from '../snapshot/manifest.js';

export interface ChainLfsOutcome {
  counts: { uploaded: number; present: number; failed: number } | null;
  problems: string[];
}

export async function uploadChainLfs(
  deps: Pick<NewProjectDeps, 'reader' | 'keyFor' | 'http'>,
  snapshot: SnapshotEntity,
  manifests: Manifest[],
  target: { repoHttpUrl: string; auth: GitAuth },
  signal?: AbortSignal,
): Promise<ChainLfsOutcome> {
  const objects = new Map(manifests.flatMap(storedLfsObjects).map((o) => [o.oid, o]));
  if (objects.size === 0) return { counts: null, problems: [] };
  const manifest = manifests.at(-1)!;
  const keyId = manifest.encryption?.keyId ?? null;
  const key = keyId ? await deps.keyFor(snapshot, manifest, LFS_KEY_ARTIFACT) : null;
  const result = await uploadLfsObjects({
    repoHttpUrl: target.repoHttpUrl,
    auth: target.auth,
    caCertificate: target.auth.caCertificate,
    http: deps.http,
    objects: [...objects.values()],
    signal,
    open: (oid) => deps.reader.openLfsObject(snapshot, oid, keyId ? { keyId, key } : null),
  });
  return {
    counts: { uploaded: result.uploaded.length, present: result.present.length, failed: result.failed.length },
    problems: result.failed.map((f) => `lfs ${f.oid.slice(0, 12)}: ${f.reason}`),
  };
}
