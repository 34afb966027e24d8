/**
 * What changed in a repository between two of its snapshots: refs added, removed and moved, a
 * move flagged as forced when the new target does not contain the old one (history rewritten).
 * Ancestry needs the objects: the `to` snapshot's chain is materialized into a scratch bare
 * repository (snapshot/repository-materializer.ts, the same path restores take) and asked
 * `git merge-base --is-ancestor old new`; an old commit absent from that chain counts as not
 * contained. The scratch repository is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../git/git.js';
import { DomainError } from '../shared/errors.js';
import type { Manifest } from '../snapshot/manifest.js';
import { materializeRepository } from '../snapshot/repository-materializer.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { ArtifactKeyFor } from '../snapshot/snapshot.ports.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';

export interface RefChange {
  ref: string;
  from: string | null;
  to: string | null;
  /** Moved to a commit that does not contain the old one. */
  isForced: boolean;
}

export interface SnapshotDiff {
  fromSnapshotId: string;
  toSnapshotId: string;
  repositoryId: string;
  defaultBranch: string | null;
  refCountBefore: number;
  refCountAfter: number;
  added: RefChange[];
  removed: RefChange[];
  moved: RefChange[];
}

export interface SnapshotDiffDeps {
  reader: Pick<SnapshotReader, 'snapshot' | 'manifest' | 'chain' | 'decodeTo'>;
  keyFor: ArtifactKeyFor;
  workDir: string;
}

export async function snapshotDiff(deps: SnapshotDiffDeps, fromId: string, toId: string): Promise<SnapshotDiff> {
  const [from, to] = await Promise.all([deps.reader.snapshot(fromId), deps.reader.snapshot(toId)]);
  if (!from.repositoryId || from.repositoryId !== to.repositoryId)
    throw new DomainError('VALIDATION_FAILED', 'both snapshots must be of the same repository', {
      details: { fields: { toSnapshotId: 'is not a snapshot of the same repository as fromSnapshotId' } },
    });
  const [fromManifest, toManifest] = await Promise.all([deps.reader.manifest(from), deps.reader.manifest(to)]);
  const before = fromManifest.git?.refs ?? {};
  const after = toManifest.git?.refs ?? {};
  const added: RefChange[] = [];
  const removed: RefChange[] = [];
  const changed: { ref: string; from: string; to: string }[] = [];
  for (const [ref, sha] of Object.entries(after)) {
    if (!(ref in before)) added.push({ ref, from: null, to: sha, isForced: false });
    else if (before[ref] !== sha) changed.push({ ref, from: before[ref], to: sha });
  }
  for (const [ref, sha] of Object.entries(before))
    if (!(ref in after)) removed.push({ ref, from: sha, to: null, isForced: false });
  const moved = changed.length === 0 ? [] : await withAncestry(deps, to, toManifest, changed);
  const sortByRef = (a: RefChange, b: RefChange) => a.ref.localeCompare(b.ref);
  return {
    fromSnapshotId: from.id,
    toSnapshotId: to.id,
    repositoryId: to.repositoryId,
    defaultBranch: toManifest.git?.head ?? fromManifest.git?.head ?? null,
    refCountBefore: Object.keys(before).length,
    refCountAfter: Object.keys(after).length,
    added: added.sort(sortByRef),
    removed: removed.sort(sortByRef),
    moved: moved.sort(sortByRef),
  };
}

async function withAncestry(
  deps: SnapshotDiffDeps,
  to: SnapshotEntity,
  toManifest: Manifest,
  changed: { ref: string; from: string; to: string }[],
): Promise<RefChange[]> {
  const scratch = await mkdtemp(join(deps.workDir, 'snapshot-diff-'));
  try {
    const chain = await deps.reader.chain(to);
    const manifests = await Promise.all(
      chain.map(async (s) => (s.id === to.id ? toManifest : deps.reader.manifest(s))),
    );
    const dir = join(scratch, 'repo.git');
    await materializeRepository({ chain, manifests, which: 'git', dir, reader: deps.reader, keyFor: deps.keyFor });
    const out: RefChange[] = [];
    for (const c of changed) {
      const contains = await git(['merge-base', '--is-ancestor', c.from, c.to], { cwd: dir }).then(
        () => true,
        () => false,
      );
      out.push({ ...c, isForced: !contains });
    }
    return out;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
