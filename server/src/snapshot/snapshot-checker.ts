/**
 * The one checker of a snapshot, after restic's `checker`: everything it says is proven from the
 * stored files alone, and damaged data never throws out of it — every problem becomes a line of
 * the result that names what is wrong (`<snapshot>/repository.bundle: sha256 mismatch`).
 * `verifySnapshot` (backup/verification.ts, also after each backup) and restore drills
 * (restore/drill-check.ts) both use it; they differ only in how far it reads.
 *
 * 1. Structure: the chain (FULL first) exists, each manifest's sha256 is the one the database
 *    recorded when the snapshot was made, and each parses.
 * 2. Artifacts, byte for byte: size and sha256 as the manifest lists them — of the snapshot, or
 *    of every snapshot of the chain (`readChainArtifacts`).
 * 3. Git (and wiki): the chain is read back into a fresh bare repository with the restore's own
 *    code (repository-materializer.ts: index-pack checks every object, fsck the connectivity),
 *    optionally `git fsck --full` (`fullFsck`), and the refs compared one by one with the manifest.
 * 4. LFS: every object stored for the snapshot (or the chain) decodes to content that hashes to
 *    its oid and has its size.
 * 5. Metadata: every artifact decodes, each line parses as JSON, and the count matches both the
 *    artifact's entry and the manifest's metadata section.
 *
 * The scratch directory is the caller's, and must be empty or missing (git makes what it needs).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { git } from '../git/git.js';
import { listRefs } from '../git/mirror.js';
import { LFS_KEY_ARTIFACT, MANIFEST_FILE, storedLfsObjects, type Manifest, type ManifestArtifact } from './manifest.js';
import { materializeRepository } from './repository-materializer.js';
import type { SnapshotEntity } from './snapshot.entity.js';
import type { ArtifactKeyFor } from './snapshot.ports.js';
import type { SnapshotReader } from './snapshot-reader.js';

export interface CheckOptions {
  /** An empty folder for the repositories read back; the caller removes it. */
  scratch: string;
  /** Re-hash the artifacts of every snapshot of the chain, not only this one's (drills). Default false. */
  readChainArtifacts?: boolean;
  /** `git fsck --full` over the restored repository, not only connectivity (drills). Default false. */
  fullFsck?: boolean;
  /** Stop after git: no LFS objects, no metadata. Default false. */
  gitOnly?: boolean;
  /**
   * Bundles of this snapshot that git checked as they streamed in (pack-check.ts: index-pack, the
   * refs set, fsck --connectivity-only), when the snapshot is a FULL (its chain is itself): its
   * stored bytes are still re-hashed (step 2), and the git step takes that check for its own.
   */
  checkedInStream?: string[];
  /**
   * Artifacts of this snapshot the storage read back and compared as it wrote them, right before
   * this check (PutOptions.readBack: the stored bytes are those whose size and sha256 the manifest
   * lists): step 2 takes that for its own and does not re-read them.
   */
  readBackAtWrite?: string[];
}

export interface CheckResult {
  /** Empty when the snapshot is sound. */
  problems: string[];
  checked: { refs: number; lfsObjects: number; metadataRecords: number };
  chainLength: number;
}

export interface SnapshotCheckerDeps {
  reader: Pick<
    SnapshotReader,
    'chain' | 'manifest' | 'decodeTo' | 'openDecoded' | 'digestArtifact' | 'openKey' | 'openLfsObject'
  >;
  keyFor: ArtifactKeyFor;
}

const reason = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 500);

/** What one check found so far; each step adds to it. */
interface Findings extends CheckResult {
  snapshot: SnapshotEntity;
  chain: SnapshotEntity[];
  manifests: Manifest[];
}

export class SnapshotChecker {
  constructor(private readonly deps: SnapshotCheckerDeps) {}

  async check(snapshot: SnapshotEntity, options: CheckOptions): Promise<CheckResult> {
    const found: Findings = {
      snapshot,
      chain: [],
      manifests: [],
      problems: [],
      checked: { refs: 0, lfsObjects: 0, metadataRecords: 0 },
      chainLength: 0,
    };
    try {
      found.chain = await this.deps.reader.chain(snapshot);
    } catch (error) {
      return result({ ...found, problems: [reason(error)] });
    }
    found.chainLength = found.chain.length;
    await this.checkManifests(found);
    if (found.manifests.length !== found.chain.length) return result(found);
    await this.checkArtifacts(
      found,
      options.readChainArtifacts ? found.chain.length : 1,
      new Set(options.readBackAtWrite ?? []),
    );
    await this.checkGit(found, options);
    if (options.gitOnly) return result(found);
    await this.checkLfsObjects(found, options.readChainArtifacts ? found.manifests : found.manifests.slice(-1));
    await this.checkMetadata(found);
    return result(found);
  }

  /** 1. Every manifest of the chain: readable, as recorded, parseable. */
  private async checkManifests(found: Findings): Promise<void> {
    for (const link of found.chain) {
      const name = `${link.id}/${MANIFEST_FILE}`;
      const digest = await digestOf(this.deps.reader.openKey(link, `${link.storagePrefix}/${MANIFEST_FILE}`)).catch(
        (e: unknown) => ({ error: reason(e) }),
      );
      if ('error' in digest) {
        found.problems.push(`${name}: unreadable (${digest.error})`);
        continue;
      }
      if (digest.sha256 !== link.manifestSha256)
        found.problems.push(`${name}: sha256 differs from the one recorded when the snapshot was made`);
      try {
        found.manifests.push(await this.deps.reader.manifest(link));
      } catch (error) {
        found.problems.push(`${name}: not a readable manifest (${reason(error)})`);
      }
    }
  }

  /** 2. The artifacts of the last `links` snapshots of the chain, byte for byte (but those read back as written). */
  private async checkArtifacts(found: Findings, links: number, readBack: Set<string>): Promise<void> {
    for (let i = found.chain.length - links; i < found.chain.length; i++) {
      const link = found.chain[i];
      const isThis = i === found.chain.length - 1;
      for (const artifact of found.manifests[i].artifacts) {
        if (isThis && readBack.has(artifact.path)) continue;
        const name = `${link.id}/${artifact.path}`;
        const digest = await this.deps.reader.digestArtifact(link, artifact).catch((e: unknown) => ({
          error: reason(e),
        }));
        if ('error' in digest) found.problems.push(`${name}: unreadable (${digest.error})`);
        else if (digest.size !== artifact.size)
          found.problems.push(
            `${name}: ${digest.size} bytes stored, the manifest says ${artifact.size} (truncated or extended)`,
          );
        else if (digest.sha256 !== artifact.sha256)
          found.problems.push(`${name}: sha256 mismatch (stored bytes changed)`);
      }
    }
  }

  /** 3. Git and wiki read back into fresh bare repositories, refs compared with the manifest. */
  private async checkGit(found: Findings, options: CheckOptions): Promise<void> {
    const manifest = found.manifests.at(-1)!;
    for (const which of ['git', 'wiki'] as const) {
      const state = manifest[which];
      if (!state) continue;
      const dir = join(options.scratch, which);
      if (found.chain.length === 1 && state.bundle && options.checkedInStream?.includes(state.bundle)) {
        found.checked.refs += Object.keys(state.refs).length; // set and proven connected by the stream's check
        continue;
      }
      try {
        await materializeRepository({
          chain: found.chain,
          manifests: found.manifests,
          which,
          dir,
          reader: this.deps.reader,
          keyFor: this.deps.keyFor,
        });
        if (options.fullFsck && Object.keys(state.refs).length > 0) {
          await git(['fsck', '--full', '--no-dangling', '--no-progress'], { cwd: dir }).catch((e: unknown) => {
            throw new Error(`git fsck found problems: ${reason(e)}`);
          });
        }
        const restored = await listRefs(dir);
        for (const [ref, sha] of Object.entries(state.refs)) {
          if (restored[ref] === undefined)
            found.problems.push(`${which} ${ref}: missing after restore (manifest: ${sha.slice(0, 12)})`);
          else if (restored[ref] !== sha)
            found.problems.push(
              `${which} ${ref}: ${restored[ref].slice(0, 12)} after restore, manifest says ${sha.slice(0, 12)}`,
            );
          else found.checked.refs++;
        }
        for (const ref of Object.keys(restored))
          if (!(ref in state.refs)) found.problems.push(`${which} ${ref}: present after restore, not in the manifest`);
      } catch (error) {
        found.problems.push(`${which}: ${reason(error)}`);
      }
    }
  }

  /** 4. LFS objects the given manifests list as stored: content hashes to the oid, size as listed. */
  private async checkLfsObjects(found: Findings, manifests: Manifest[]): Promise<void> {
    const objects = new Map(manifests.flatMap(storedLfsObjects).map((o) => [o.oid, o]));
    if (objects.size === 0) return;
    const { snapshot } = found;
    const manifest = found.manifests.at(-1)!;
    const keyId = manifest.encryption?.keyId ?? null;
    const key = keyId ? await this.deps.keyFor(snapshot, manifest, LFS_KEY_ARTIFACT).catch(() => null) : null;
    for (const { oid, size } of objects.values()) {
      const name = `lfs ${oid.slice(0, 12)}`;
      try {
        const digest = await digestOf(this.deps.reader.openLfsObject(snapshot, oid, keyId ? { keyId, key } : null));
        if (digest.sha256 !== oid) found.problems.push(`${name}: content does not hash to its oid`);
        else if (digest.size !== size) found.problems.push(`${name}: ${digest.size} bytes, the manifest says ${size}`);
        else found.checked.lfsObjects++;
      } catch (error) {
        found.problems.push(`${name}: unreadable (${reason(error)})`);
      }
    }
  }

  /** 5. Metadata decodes, parses, and holds as many records as the manifest says. */
  private async checkMetadata(found: Findings): Promise<void> {
    const { snapshot } = found;
    const manifest = found.manifests.at(-1)!;
    for (const artifact of manifest.artifacts.filter((a) => a.kind === 'METADATA')) {
      const name = `${snapshot.id}/${artifact.path}`;
      try {
        const records = await this.countRecords(snapshot, manifest, artifact);
        const listed = artifact.metadataType ? manifest.metadata[artifact.metadataType]?.records : undefined;
        if (artifact.records !== undefined && records !== artifact.records)
          found.problems.push(`${name}: ${records} records decoded, the artifact entry says ${artifact.records}`);
        else if (listed !== undefined && records !== listed)
          found.problems.push(`${name}: ${records} records decoded, the manifest's metadata section says ${listed}`);
        else found.checked.metadataRecords += records;
      } catch (error) {
        found.problems.push(`${name}: unreadable (${reason(error)})`);
      }
    }
  }

  /** JSON lines of one metadata artifact, decoded and parsed one by one; a line that is not JSON throws. */
  private async countRecords(
    snapshot: SnapshotEntity,
    manifest: Manifest,
    artifact: ManifestArtifact,
  ): Promise<number> {
    const key = artifact.encrypted ? await this.deps.keyFor(snapshot, manifest, artifact) : null;
    const input = await this.deps.reader.openDecoded(snapshot, artifact, key);
    let records = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
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
}

const result = ({ problems, checked, chainLength }: CheckResult): CheckResult => ({ problems, checked, chainLength });

async function digestOf(opening: Promise<Readable>): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await opening) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}
