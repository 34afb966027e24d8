/**
 * A snapshot's Git LFS objects: the ones its range references, plus any its parent could not get.
 * Stored once per repository (write-once, content-addressed: snapshot/lfs-layout.ts), downloaded
 * through GitLab's LFS batch API (lfs.ts). A missing or damaged object is listed in the manifest
 * and a warning, not a failed repository; the next backup tries it again.
 */
import { pipeline } from 'node:stream';
import { isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { lfsKey } from '../snapshot/lfs-layout.js';
import type { GitState, Manifest } from '../snapshot/manifest.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { StorageBackend } from '../storage/storage.port.js';
import type { ItemContext } from './backup-item.js';
import { downloadLfsObjects, findLfsPointers } from './lfs.js';
import type { GitAuth, GitLabHttp } from '../gitlab/gitlab-http.js';

export interface LfsObjectsOptions {
  store: StorageBackend;
  codec: ArtifactCodec;
  logger: Logger;
  organizationId: string;
  repositoryId: string;
  repoHttpUrl: string;
  /** The local mirror the pointers are found in. */
  mirror: string;
  gitState: Omit<GitState, 'bundle'>;
  /** The parent snapshot's manifest: its range is not scanned again, its missing objects are retried. */
  parent: Manifest | null;
  /** The batch endpoint's credentials (renewed on 401) and the connection's private CA. */
  auth: GitAuth;
  /** The application's GitLab transport. */
  http?: GitLabHttp;
  encryption: { key: Buffer; keyId: string } | null;
  ctx: ItemContext;
  /** The item's warnings: an incomplete download adds one. */
  warnings: string[];
}

export async function backupLfsObjects(o: LfsObjectsOptions): Promise<NonNullable<Manifest['lfs']>> {
  const {
    store,
    organizationId,
    repositoryId,
    repoHttpUrl,
    mirror,
    gitState,
    parent,
    auth,
    encryption,
    ctx,
    warnings,
  } = o;
  // A parent that recorded no LFS (taken without a mirror while GitLab reported no LFS storage,
  // which it updates asynchronously) leaves its range unscanned: scan the whole history then.
  const since = parent?.lfs ? gitState.prerequisites : [];
  const pointers = await findLfsPointers(mirror, Object.values(gitState.refs), since, { signal: ctx.signal });
  const retry = [
    ...(parent?.lfs?.missing ?? []),
    ...(parent?.lfs?.failed ?? []).map(({ oid, size }) => ({ oid, size })),
  ];
  const wanted = new Map([...pointers, ...retry].map((p) => [p.oid, p]));
  const keyOf = (oid: string) => lfsKey(organizationId, repositoryId, oid, { keyId: encryption?.keyId ?? null });
  const toFetch = [];
  for (const pointer of wanted.values()) if (!(await store.stat(keyOf(pointer.oid)))) toFetch.push(pointer);
  let storedBytes = 0;
  const result = {
    objects: [...wanted.values()],
    missing: [] as { oid: string; size: number }[],
    failed: [] as { oid: string; size: number; reason: string }[],
    storedBytes: 0,
  };
  if (toFetch.length === 0) return result;
  let lastTouch = Date.now();
  try {
    const outcome = await downloadLfsObjects({
      repoHttpUrl,
      auth,
      caCertificate: auth.caCertificate,
      http: o.http,
      objects: toFetch,
      signal: ctx.signal,
      logger: o.logger,
      onProgress: () => {
        if (Date.now() - lastTouch > 10_000) {
          lastTouch = Date.now();
          void ctx.touch();
        }
      },
      sink: async (oid, _size, body) => {
        const encoded = o.codec.encode({ compression: 'NONE', key: encryption?.key ?? null });
        try {
          const put = await store.put(
            keyOf(oid),
            pipeline(body, encoded, () => undefined),
          );
          storedBytes += put.size;
        } catch (error) {
          if (!isDomainError(error, 'ARTIFACT_EXISTS')) throw error;
        }
      },
    });
    const sizeOf = (oid: string) => wanted.get(oid)?.size ?? 0;
    result.missing = outcome.missing.map((oid) => ({ oid, size: sizeOf(oid) }));
    result.failed = outcome.failed.map((f) => ({ oid: f.oid, size: sizeOf(f.oid), reason: f.reason }));
    if (result.missing.length + result.failed.length > 0) {
      warnings.push(
        `lfs: ${result.missing.length} object(s) missing on GitLab, ${result.failed.length} failed (listed in the manifest; retried next backup)`,
      );
    }
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    warnings.push(`lfs: skipped (${(error as Error).message})`);
    result.failed = toFetch.map((p) => ({ ...p, reason: (error as Error).message }));
  }
  result.storedBytes = storedBytes;
  return result;
}
