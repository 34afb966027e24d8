/**
 * What a restore drill checks of one snapshot, with nothing but the stored files (the LOCAL_BARE
 * target, and the first half of a SCRATCH_NAMESPACE drill):
 *
 * 1. Every artifact of every snapshot of the chain is re-read: size and sha256 as its manifest
 *    lists them, and each manifest's sha256 as the database recorded it. A difference names the
 *    artifact (`<snapshot>/repository.bundle: sha256 mismatch`).
 * 2. `materializeRepository` (the restore's own code) unbundles the chain into a fresh bare
 *    repository (index-pack checks every object), sets the refs, and `git fsck` then checks
 *    every object and link in full. The refs of the result are compared, one by one, with the
 *    manifest's.
 * 3. Every LFS object the chain stored is decoded and its sha256 compared with its oid.
 * 4. Every metadata artifact is decoded, each line parsed as JSON, and the count compared with
 *    both the artifact's and the manifest's metadata section.
 *
 * Nothing here throws for damaged data: every problem becomes a difference, so a drill of a
 * corrupted snapshot ends FAILED with the reason. The scratch directory is the caller's.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { git } from '../git/git.js';
import { listRefs } from '../git/mirror.js';
import { materializeRepository } from './git-restore.js';
import type { NewProjectDeps } from './new-project.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { lfsKey } from '../snapshot/lfs-layout.js';
import { MANIFEST_FILE, type Manifest, type ManifestArtifact, storedLfsObjects } from '../snapshot/manifest.js';

export type DrillCheckDeps = Pick<NewProjectDeps, 'reader' | 'stores' | 'codec' | 'keyFor'>;

export interface DrillCheckOutcome {
  differences: string[];
  checked: { refs: number; lfsObjects: number; metadataRecords: number };
  chainLength: number;
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 500);

export async function checkSnapshot(deps: DrillCheckDeps, snapshot: SnapshotEntity, scratch: string, options: { gitOnly?: boolean } = {}): Promise<DrillCheckOutcome> {
  const differences: string[] = [];
  const checked = { refs: 0, lfsObjects: 0, metadataRecords: 0 };
  let chain: SnapshotEntity[];
  try {
    chain = await deps.reader.chain(snapshot);
  } catch (error) {
    return { differences: [reason(error)], checked, chainLength: 0 };
  }
  // 1. manifests and artifacts, byte for byte
  const manifests: Manifest[] = [];
  for (const link of chain) {
    const digest = await digestOf(deps, link.storageRoot, `${link.storagePrefix}/${MANIFEST_FILE}`).catch((e: unknown) => ({ error: reason(e) }));
    if ('error' in digest) {
      differences.push(`${link.id}/${MANIFEST_FILE}: unreadable (${digest.error})`);
      continue;
    }
    if (digest.sha256 !== link.manifestSha256) differences.push(`${link.id}/${MANIFEST_FILE}: sha256 differs from the one recorded when the snapshot was made`);
    try {
      manifests.push(await deps.reader.manifest(link));
    } catch (error) {
      differences.push(`${link.id}/${MANIFEST_FILE}: not a readable manifest (${reason(error)})`);
    }
  }
  if (manifests.length !== chain.length) return { differences, checked, chainLength: chain.length };
  for (const [i, link] of chain.entries()) {
    for (const artifact of manifests[i]!.artifacts) {
      const name = `${link.id}/${artifact.path}`;
      const digest = await digestOf(deps, link.storageRoot, `${link.storagePrefix}/${artifact.path}`).catch((e: unknown) => ({ error: reason(e) }));
      if ('error' in digest) differences.push(`${name}: unreadable (${digest.error})`);
      else if (digest.size !== artifact.size) differences.push(`${name}: ${digest.size} bytes stored, the manifest says ${artifact.size} (truncated or extended)`);
      else if (digest.sha256 !== artifact.sha256) differences.push(`${name}: sha256 mismatch (stored bytes changed)`);
    }
  }
  const manifest = manifests.at(-1)!;

  // 2. git (and wiki) restored into a fresh bare repository, fsck'd, refs compared
  for (const which of ['git', 'wiki'] as const) {
    const state = manifest[which];
    if (!state) continue;
    const dir = join(scratch, which);
    try {
      await materializeRepository({ chain, manifests, which, dir, reader: deps.reader, keyFor: deps.keyFor });
      if (Object.keys(state.refs).length > 0) {
        await git(['fsck', '--full', '--no-dangling', '--no-progress'], { cwd: dir }).catch((e: unknown) => {
          throw new Error(`git fsck found problems: ${reason(e)}`);
        });
      }
      const restored = await listRefs(dir);
      for (const [ref, sha] of Object.entries(state.refs)) {
        if (restored[ref] === undefined) differences.push(`${which} ${ref}: missing after restore (manifest: ${sha.slice(0, 12)})`);
        else if (restored[ref] !== sha) differences.push(`${which} ${ref}: ${restored[ref]!.slice(0, 12)} after restore, manifest says ${sha.slice(0, 12)}`);
        else checked.refs++;
      }
      for (const ref of Object.keys(restored)) if (!(ref in state.refs)) differences.push(`${which} ${ref}: present after restore, not in the manifest`);
    } catch (error) {
      differences.push(`${which}: ${reason(error)}`);
    }
  }
  if (options.gitOnly) return { differences, checked, chainLength: chain.length };

  // 3. LFS objects: content hashes to its oid
  const keyId = manifest.encryption?.keyId ?? null;
  const objects = new Map(manifests.flatMap(storedLfsObjects).map((o) => [o.oid, o]));
  if (objects.size > 0) {
    const store = await deps.stores.at(snapshot.storageRoot);
    const key = keyId ? await deps.keyFor(snapshot, manifest, { path: '', kind: 'LFS_OBJECT', size: 0, sha256: '', compression: 'NONE', encrypted: true }).catch(() => null) : null;
    for (const { oid, size } of objects.values()) {
      const name = `lfs ${oid.slice(0, 12)}`;
      try {
        const source = await store.open(lfsKey(snapshot.organizationId, snapshot.repositoryId!, oid, { keyId }));
        const decoder = deps.codec.decode({ compression: 'NONE', key });
        source.on('error', (e) => decoder.destroy(e));
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of source.pipe(decoder)) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
        }
        if (hash.digest('hex') !== oid) differences.push(`${name}: content does not hash to its oid`);
        else if (bytes !== size) differences.push(`${name}: ${bytes} bytes, the manifest says ${size}`);
        else checked.lfsObjects++;
      } catch (error) {
        differences.push(`${name}: unreadable (${reason(error)})`);
      }
    }
  }

  // 4. metadata decodes, parses, and holds as many records as the manifest says
  for (const artifact of manifest.artifacts.filter((a) => a.kind === 'METADATA')) {
    const name = `${snapshot.id}/${artifact.path}`;
    try {
      const records = await countRecords(deps, snapshot, manifest, artifact);
      const listed = artifact.metadataType ? manifest.metadata[artifact.metadataType]?.records : undefined;
      if (artifact.records !== undefined && records !== artifact.records) differences.push(`${name}: ${records} records decoded, the artifact entry says ${artifact.records}`);
      else if (listed !== undefined && records !== listed) differences.push(`${name}: ${records} records decoded, the manifest's metadata section says ${listed}`);
      else checked.metadataRecords += records;
    } catch (error) {
      differences.push(`${name}: unreadable (${reason(error)})`);
    }
  }
  return { differences, checked, chainLength: chain.length };
}

async function digestOf(deps: DrillCheckDeps, root: string, key: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await (await deps.stores.at(root)).open(key)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** JSON lines of one metadata artifact, decoded and parsed one by one; a line that is not JSON throws. */
async function countRecords(deps: DrillCheckDeps, snapshot: SnapshotEntity, manifest: Manifest, artifact: ManifestArtifact): Promise<number> {
  const key = artifact.encrypted ? await deps.keyFor(snapshot, manifest, artifact) : null;
  const source = await (await deps.stores.at(snapshot.storageRoot)).open(`${snapshot.storagePrefix}/${artifact.path}`);
  const decoder = deps.codec.decode({ compression: artifact.compression, key });
  source.on('error', (e) => decoder.destroy(e));
  let records = 0;
  for await (const line of createInterface({ input: source.pipe(decoder), crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    try {
      JSON.parse(line);
    } catch {
      throw new Error(`record ${records + 1} is not JSON`);
    }
    records++;
  }
  return records;
}
