/**
 * A snapshot chain read back into a bare git repository, as docs/FORMAT.md describes for plain
 * git, for restores, drills and the checker: each bundle (FULL first) is decoded and unbundled
 * (index-pack checks every object), then the refs are set to exactly those of the chain's last
 * manifest — refs deleted upstream since the FULL are gone — HEAD points to the manifest's head,
 * and `git fsck --connectivity-only` proves all of history is present.
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git, type GitOptions } from '../git/git.js';
import { BundleRefused, unbundleStream } from '../git/unbundle.js';
import { DomainError } from '../shared/errors.js';
import type { Manifest } from './manifest.js';
import type { SnapshotEntity } from './snapshot.entity.js';
import type { ArtifactKeyFor } from './snapshot.ports.js';
import type { SnapshotReader } from './snapshot-reader.js';

export interface MaterializeOptions {
  /** The snapshot chain, FULL first (SnapshotReader.chain). */
  chain: SnapshotEntity[];
  /** The manifest of each snapshot of the chain, in the same order. */
  manifests: Manifest[];
  which: 'git' | 'wiki';
  /** Where the bare repository is created: must not exist, or be an empty folder. */
  dir: string;
  reader: Pick<SnapshotReader, 'openDecoded'>;
  /** The decryption key of an artifact (null when it is not encrypted). */
  keyFor: ArtifactKeyFor;
  signal?: AbortSignal;
  /**
   * Whether `git fsck --connectivity-only` proves all of history present (default true). A caller
   * may leave it out when every snapshot of the chain was verified (its history proven complete)
   * and what it does next walks that history anyway: a push into an empty project packs every
   * object of every ref it sends, and fails on a missing one.
   */
  checkConnectivity?: boolean;
  /** Called as each phase ends (unbundle — the decoding overlaps it —, refs, connectivity), for the caller's StepTimer. */
  onStep?: (step: 'unbundle' | 'refs' | 'connectivity') => void;
}

export interface MaterializedRepository {
  /** Every ref of the repository, equal to the last manifest's. */
  refs: Record<string, string>;
  head: string | null;
}

const REF_NAME = /^refs\/[^\s\0~^:?*[\\]+$/;
const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

function restoreFailed(message: string, details: Record<string, unknown> = {}): DomainError {
  return new DomainError('GIT_FAILED', message, { details });
}

/** Builds a bare repository at `dir` holding exactly the refs of the chain's last manifest. */
export async function materializeRepository(options: MaterializeOptions): Promise<MaterializedRepository> {
  const { chain, manifests, which, dir, reader, keyFor, signal } = options;
  const step = options.onStep ?? (() => undefined);
  if (chain.length === 0 || chain.length !== manifests.length) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `a chain of ${chain.length} snapshots needs as many manifests (got ${manifests.length})`,
    );
  }
  const last = manifests.at(-1)![which];
  if (!last)
    throw new DomainError(
      'VALIDATION_FAILED',
      `snapshot ${chain.at(-1)!.id} holds no ${which === 'git' ? 'repository' : 'wiki'}`,
    );
  for (const [ref, sha] of Object.entries(last.refs)) {
    if (!REF_NAME.test(ref) || ref.includes('..') || !SHA.test(sha)) {
      throw restoreFailed(`snapshot ${chain.at(-1)!.id} lists an invalid ref ${JSON.stringify(ref.slice(0, 200))}`);
    }
  }
  if (existsSync(dir) && (await readdir(dir)).length > 0) {
    throw new DomainError('VALIDATION_FAILED', `${dir} is not empty: a repository is materialized into a new folder`);
  }
  const opts: GitOptions = { cwd: dir, signal };
  await git(['init', '--bare', '--quiet', dir], { signal });
  for (const [i, link] of chain.entries()) {
    const state = manifests[i][which];
    if (!state?.bundle) continue;
    const artifact = manifests[i].artifacts.find((a) => a.path === state.bundle);
    if (!artifact)
      throw restoreFailed(`${link.id}: ${state.bundle} is not listed in the manifest`, { snapshotId: link.id });
    // Decoded straight into git (git/unbundle.ts): no bundle file written and read back.
    const bundle = await reader.openDecoded(link, artifact, await keyFor(link, manifests[i], artifact));
    await unbundleStream(dir, bundle, signal).catch((e: Error) => {
      if (!(e instanceof BundleRefused)) throw e; // the artifact's own error (damaged, cut), or a cancel
      throw restoreFailed(`bundle of snapshot ${link.id} is damaged: ${e.message}`, { snapshotId: link.id });
    });
    step('unbundle');
  }
  // Refs exactly as the last manifest lists them. `git bundle unbundle` writes objects, never refs,
  // so the new repository has none before this one transaction (all or nothing): refs deleted
  // upstream since the FULL are never created, and afterwards the refs are exactly `wanted`.
  const wanted = last.refs;
  const updates = Object.entries(wanted)
    .map(([ref, sha]) => `create ${ref} ${sha}\n`)
    .join('');
  if (updates) {
    await git(['update-ref', '--stdin'], { ...opts, input: updates }).catch((e: Error) => {
      throw restoreFailed(
        `refs of snapshot ${chain.at(-1)!.id} point to objects missing from its bundle chain (${e.message})`,
        { snapshotId: chain.at(-1)!.id },
      );
    });
  }
  // What `git symbolic-ref HEAD` writes, without a git process: HEAD of the bare repository made above.
  if (last.head && REF_NAME.test(last.head)) await writeFile(join(dir, 'HEAD'), `ref: ${last.head}\n`);
  step('refs');
  if (options.checkConnectivity !== false && Object.keys(wanted).length > 0) {
    await git(['fsck', '--connectivity-only', '--no-dangling', '--no-progress'], opts).catch((e: Error) => {
      throw restoreFailed(`history is incomplete: ${e.message}`, { snapshotId: chain.at(-1)!.id });
    });
  }
  step('connectivity');
  return { refs: { ...wanted }, head: last.head };
}
