/**
 * Verifying a snapshot: proof that what is stored can be restored.
 *
 * 1. Every artifact of the manifest — and the manifest itself against the sha256 recorded in the
 *    database — is re-read from storage; its size and sha256 must match.
 * 2. A restore-style read of the bundle chain (FULL first) into a scratch bare repository:
 *    `git bundle unbundle` runs index-pack, which checks every object's hash and the pack's
 *    checksum (`git bundle verify` alone only reads the header: a flipped pack byte or a truncated
 *    bundle pass it). Then every ref of the manifest is set and `git fsck --connectivity-only`
 *    proves all of history is present.
 * 3. Metadata artifacts are decoded end to end (decryption authenticates every chunk) and their
 *    JSON lines counted against the manifest.
 * The outcome is recorded on the snapshot.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { git } from '../git/git.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { StorageRoots } from '../storage/storage.port.js';
import { lfsKey } from '../snapshot/lfs-layout.js';
import { type GitState, MANIFEST_FILE, type Manifest, type ManifestArtifact, storedLfsObjects } from '../snapshot/manifest.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';

export interface VerificationResult {
  ok: boolean;
  problems: string[];
}

export class SnapshotVerifier {
  constructor(
    private readonly dataSource: DataSource,
    private readonly stores: StorageRoots,
    private readonly reader: SnapshotReader,
    private readonly keyFor: (snapshot: SnapshotEntity, manifest: Manifest, artifact: ManifestArtifact) => Promise<Buffer | null>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly workDir: string,
    private readonly codec: ArtifactCodec,
  ) {}

  async verify(snapshotId: string): Promise<{ snapshot: SnapshotEntity; result: VerificationResult }> {
    const snapshot = await this.reader.snapshot(snapshotId);
    const problems: string[] = [];
    await mkdir(join(this.workDir, 'tmp'), { recursive: true });
    const tmp = await mkdtemp(join(this.workDir, 'tmp', 'verify-'));
    try {
      const chain = await this.reader.chain(snapshot);
      const manifests: Manifest[] = [];
      for (const link of chain) {
        const manifestKey = `${link.storagePrefix}/${MANIFEST_FILE}`;
        const digest = await this.digest(link.storageRoot, manifestKey).catch((e: Error) => ({ error: e.message }));
        if ('error' in digest) {
          problems.push(`${link.id}: manifest unreadable (${digest.error})`);
          continue;
        }
        if (digest.sha256 !== link.manifestSha256) problems.push(`${link.id}: manifest.json sha256 differs from the one recorded`);
        manifests.push(await this.reader.manifest(link));
      }
      if (problems.length > 0) return await this.record(snapshot, { ok: false, problems });
      const manifest = manifests.at(-1)!;
      // 1. sizes and hashes of this snapshot's artifacts
      for (const artifact of manifest.artifacts) {
        const digest = await this.digest(snapshot.storageRoot, `${snapshot.storagePrefix}/${artifact.path}`).catch((e: Error) => ({ error: e.message }));
        if ('error' in digest) problems.push(`${artifact.path}: unreadable (${digest.error})`);
        else if (digest.size !== artifact.size) problems.push(`${artifact.path}: ${digest.size} bytes stored, manifest says ${artifact.size}`);
        else if (digest.sha256 !== artifact.sha256) problems.push(`${artifact.path}: sha256 mismatch (stored bytes changed)`);
      }
      // 2. the bundle chains restore into a repository with exactly the manifest's refs
      for (const which of ['git', 'wiki'] as const) {
        if (!manifest[which]) continue;
        const error = await this.readChain(chain, manifests, which, join(tmp, which), snapshot).catch((e: Error) => e.message);
        if (error) problems.push(`${which}: ${error}`);
      }
      // 3. metadata decodes and holds as many records as the manifest says
      for (const artifact of manifest.artifacts.filter((a) => a.kind === 'METADATA')) {
        const error = await this.countRecords(snapshot, manifest, artifact, join(tmp, 'meta')).catch((e: Error) => e.message);
        if (error) problems.push(`${artifact.path}: ${error}`);
      }
      // 4. every LFS object the snapshot lists decodes to content whose sha256 is its oid
      for (const object of storedLfsObjects(manifest)) {
        const error = await this.checkLfsObject(snapshot, manifest, object.oid).catch((e: Error) => e.message);
        if (error) problems.push(`lfs ${object.oid.slice(0, 12)}: ${error}`);
      }
      return await this.record(snapshot, { ok: problems.length === 0, problems });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async readChain(chain: SnapshotEntity[], manifests: Manifest[], which: 'git' | 'wiki', repo: string, target: SnapshotEntity) {
    await git(['init', '--bare', '--quiet', repo]);
    for (const [i, link] of chain.entries()) {
      const state = manifests[i]![which] as GitState | null;
      if (!state?.bundle) continue;
      const artifact = manifests[i]!.artifacts.find((a) => a.path === state.bundle);
      if (!artifact) throw new Error(`${link.id}: ${state.bundle} is not listed in the manifest`);
      const file = join(repo, `${link.id}.bundle`);
      await this.reader.decodeTo(link, artifact, file, await this.keyFor(link, manifests[i]!, artifact));
      await git(['bundle', 'unbundle', file], { cwd: repo }).catch((e: Error) => {
        throw new Error(`bundle of snapshot ${link.id} is damaged: ${e.message}`);
      });
      await rm(file, { force: true });
    }
    const refs = (manifests.at(-1)![which] as GitState).refs;
    if (Object.keys(refs).length === 0) return;
    const updates = Object.entries(refs).map(([ref, sha]) => `update ${ref} ${sha}\n`).join('');
    await git(['update-ref', '--stdin'], { cwd: repo, input: updates }).catch((e: Error) => {
      throw new Error(`refs of snapshot ${target.id} point to objects missing from its bundle chain (${e.message})`);
    });
    await git(['fsck', '--connectivity-only', '--no-dangling', '--no-progress'], { cwd: repo }).catch((e: Error) => {
      throw new Error(`history is incomplete: ${e.message}`);
    });
  }

  private async countRecords(snapshot: SnapshotEntity, manifest: Manifest, artifact: ManifestArtifact, dir: string): Promise<string | null> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'records.jsonl');
    await this.reader.decodeTo(snapshot, artifact, file, await this.keyFor(snapshot, manifest, artifact));
    let lines = 0;
    for await (const chunk of createReadStream(file)) for (const byte of chunk as Buffer) if (byte === 10) lines++;
    return lines === (artifact.records ?? lines) ? null : `${lines} records decoded, manifest says ${artifact.records}`;
  }

  private async checkLfsObject(snapshot: SnapshotEntity, manifest: Manifest, oid: string): Promise<string | null> {
    const keyId = manifest.encryption?.keyId ?? null;
    const key = keyId ? await this.keyFor(snapshot, manifest, { path: '', kind: 'LFS_OBJECT', size: 0, sha256: '', compression: 'NONE', encrypted: true }) : null;
    const store = await this.stores.at(snapshot.storageRoot);
    const source = await store.open(lfsKey(snapshot.organizationId, snapshot.repositoryId!, oid, { keyId }));
    const hash = createHash('sha256');
    const decoder = this.codec.decode({ compression: 'NONE', key });
    source.on('error', (e) => decoder.destroy(e));
    for await (const chunk of source.pipe(decoder)) hash.update(chunk as Buffer);
    return hash.digest('hex') === oid ? null : 'content does not match its oid';
  }

  private async digest(root: string, key: string): Promise<{ size: number; sha256: string }> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await (await this.stores.at(root)).open(key)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { size, sha256: hash.digest('hex') };
  }

  private async record(snapshot: SnapshotEntity, result: VerificationResult) {
    snapshot.verificationStatus = result.ok ? 'VERIFIED' : 'FAILED';
    snapshot.verifiedAt = this.clock.now();
    snapshot.verificationError = result.ok ? null : result.problems.join('; ').slice(0, 4000);
    await this.dataSource.getRepository(SnapshotEntity).save(snapshot);
    if (!result.ok) this.logger.warn({ snapshotId: snapshot.id, problems: result.problems }, 'snapshot verification failed');
    return { snapshot, result };
  }
}

export const verificationFailed = (snapshotId: string, problems: string[]) =>
  new DomainError('MANIFEST_CHECKSUM_MISMATCH', `snapshot ${snapshotId} failed verification: ${problems.join('; ')}`, { details: { snapshotId, problems } });
