/**
 * What changed in a repository (or a group) between two of its snapshots:
 * - refs added, removed and moved, a move flagged as forced when the new target does not contain
 *   the old one (history rewritten), and as protected when the branch matches a protected-branch
 *   rule (GitLab's `*` wildcard) of either snapshot. Ancestry needs the objects: the `to`
 *   snapshot's chain is materialized into a scratch bare repository
 *   (snapshot/repository-materializer.ts, the same path restores take) and asked
 *   `git merge-base --is-ancestor old new`; an old commit absent from that chain counts as not
 *   contained.
 * - the repository's size on both sides (bytes on disk of every object reachable from the refs,
 *   `git rev-list --disk-usage`), measured only when a ref was removed or force-moved: the only
 *   ways a repository shrinks. When the `from` tips are not in the `to` chain (a FULL taken after
 *   a force-push), the `from` chain is materialized too.
 * - metadata, per type (metadata-diff.ts).
 * The scratch repositories are removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../git/git.js';
import { DomainError } from '../shared/errors.js';
import { materializeRepository } from '../snapshot/repository-materializer.js';
import type { ArtifactKeyFor } from '../snapshot/snapshot.ports.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import { metadataDiff, type MetadataSide, type MetadataTypeDiff } from './metadata-diff.js';

export interface RefChange {
  ref: string;
  from: string | null;
  to: string | null;
  /** Moved to a commit that does not contain the old one. */
  isForced: boolean;
  /** A branch matching a protected-branch rule of either snapshot. */
  isProtected: boolean;
}

export interface SnapshotDiff {
  fromSnapshotId: string;
  toSnapshotId: string;
  /** One of the two is set: the repository, or the group whose metadata snapshots are compared. */
  repositoryId: string | null;
  groupId: string | null;
  defaultBranch: string | null;
  refCountBefore: number;
  refCountAfter: number;
  added: RefChange[];
  removed: RefChange[];
  moved: RefChange[];
  /** Bytes on disk of the objects reachable from the refs; null unless a ref was removed or force-moved. */
  gitBytesBefore: number | null;
  gitBytesAfter: number | null;
  metadata: MetadataTypeDiff[];
}

export interface SnapshotDiffDeps {
  reader: Pick<SnapshotReader, 'snapshot' | 'manifest' | 'chain' | 'openDecoded' | 'records'>;
  keyFor: ArtifactKeyFor;
  workDir: string;
}

export async function snapshotDiff(deps: SnapshotDiffDeps, fromId: string, toId: string): Promise<SnapshotDiff> {
  const [from, to] = await Promise.all([deps.reader.snapshot(fromId), deps.reader.snapshot(toId)]);
  const sameOwner = from.repositoryId
    ? from.repositoryId === to.repositoryId
    : from.groupId !== null && from.groupId === to.groupId;
  if (!sameOwner)
    throw new DomainError('VALIDATION_FAILED', 'both snapshots must be of the same repository or group', {
      details: { fields: { toSnapshotId: 'is not a snapshot of the same repository or group as fromSnapshotId' } },
    });
  const [fromManifest, toManifest] = await Promise.all([deps.reader.manifest(from), deps.reader.manifest(to)]);
  const fromSide = { snapshot: from, manifest: fromManifest };
  const toSide = { snapshot: to, manifest: toManifest };
  const before = fromManifest.git?.refs ?? {};
  const after = toManifest.git?.refs ?? {};
  const isProtected = await protectedMatcher(deps, [fromSide, toSide]);
  const change = (ref: string, f: string | null, t: string | null, isForced = false): RefChange => ({
    ref,
    from: f,
    to: t,
    isForced,
    isProtected: isProtected(ref),
  });
  const added: RefChange[] = [];
  const removed: RefChange[] = [];
  const changed: RefChange[] = [];
  for (const [ref, sha] of Object.entries(after)) {
    if (!(ref in before)) added.push(change(ref, null, sha));
    else if (before[ref] !== sha) changed.push(change(ref, before[ref], sha));
  }
  for (const [ref, sha] of Object.entries(before)) if (!(ref in after)) removed.push(change(ref, sha, null));
  const git = await gitFacts(deps, fromSide, toSide, changed, removed.length > 0);
  const sortByRef = (a: RefChange, b: RefChange) => a.ref.localeCompare(b.ref);
  return {
    fromSnapshotId: from.id,
    toSnapshotId: to.id,
    repositoryId: to.repositoryId,
    groupId: to.repositoryId ? null : to.groupId,
    defaultBranch: toManifest.git?.head ?? fromManifest.git?.head ?? null,
    refCountBefore: Object.keys(before).length,
    refCountAfter: Object.keys(after).length,
    added: added.sort(sortByRef),
    removed: removed.sort(sortByRef),
    moved: git.moved.sort(sortByRef),
    gitBytesBefore: git.bytesBefore,
    gitBytesAfter: git.bytesAfter,
    metadata: await metadataDiff(deps, fromSide, toSide),
  };
}

/** Protected-branch rules of both snapshots (names with GitLab's `*` wildcard) as a ref matcher. */
async function protectedMatcher(deps: SnapshotDiffDeps, sides: MetadataSide[]): Promise<(ref: string) => boolean> {
  const patterns: RegExp[] = [];
  for (const side of sides) {
    if (side.manifest.metadata.protected_branches?.status !== 'OK') continue;
    const artifact = side.manifest.artifacts.find((a) => a.metadataType === 'protected_branches');
    if (!artifact) continue;
    const key = artifact.encrypted ? await deps.keyFor(side.snapshot, side.manifest, artifact) : null;
    for await (const record of deps.reader.records(side.snapshot, artifact, key))
      if (typeof record.name === 'string')
        patterns.push(new RegExp(`^${record.name.split('*').map(escapeRegExp).join('.*')}$`));
  }
  return (ref) => ref.startsWith('refs/heads/') && patterns.some((p) => p.test(ref.slice('refs/heads/'.length)));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Ancestry of the changed refs and, when the repository may have shrunk (a ref removed or
 * force-moved), its size on both sides; everything in one scratch folder removed afterwards.
 */
async function gitFacts(
  deps: SnapshotDiffDeps,
  from: MetadataSide,
  to: MetadataSide,
  changed: RefChange[],
  anyRemoved: boolean,
): Promise<{ moved: RefChange[]; bytesBefore: number | null; bytesAfter: number | null }> {
  if (changed.length === 0 && !anyRemoved) return { moved: [], bytesBefore: null, bytesAfter: null };
  const scratch = await mkdtemp(join(deps.workDir, 'snapshot-diff-'));
  try {
    const toDir = join(scratch, 'to.git');
    await materialize(deps, to, toDir);
    const moved: RefChange[] = [];
    for (const c of changed) {
      const contains = await git(['merge-base', '--is-ancestor', c.from!, c.to!], { cwd: toDir }).then(
        () => true,
        () => false,
      );
      moved.push({ ...c, isForced: !contains });
    }
    if (!anyRemoved && !moved.some((m) => m.isForced)) return { moved, bytesBefore: null, bytesAfter: null };
    const fromTips = Object.values(from.manifest.git?.refs ?? {});
    const bytesAfter = await diskUsage(toDir, Object.values(to.manifest.git?.refs ?? {}));
    let bytesBefore = await diskUsage(toDir, fromTips).catch(() => null);
    if (bytesBefore === null && from.manifest.git) {
      const fromDir = join(scratch, 'from.git');
      await materialize(deps, from, fromDir);
      bytesBefore = await diskUsage(fromDir, fromTips);
    }
    return { moved, bytesBefore, bytesAfter };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function materialize(deps: SnapshotDiffDeps, side: MetadataSide, dir: string): Promise<void> {
  if (!side.manifest.git) {
    await git(['init', '--bare', '--quiet', dir]);
    return;
  }
  const chain = await deps.reader.chain(side.snapshot);
  const manifests = await Promise.all(
    chain.map(async (s) => (s.id === side.snapshot.id ? side.manifest : deps.reader.manifest(s))),
  );
  await materializeRepository({ chain, manifests, which: 'git', dir, reader: deps.reader, keyFor: deps.keyFor });
}

/** Bytes on disk of every object reachable from `tips`; rejects when one is missing. */
async function diskUsage(dir: string, tips: string[]): Promise<number> {
  if (tips.length === 0) return 0;
  const { stdout } = await git(['rev-list', '--objects', '--disk-usage', '--stdin'], {
    cwd: dir,
    input: `${[...new Set(tips)].join('\n')}\n`,
  });
  return Number(stdout.trim());
}
