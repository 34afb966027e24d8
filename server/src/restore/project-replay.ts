/**
 * What restoring a repository snapshot into a GitLab project does whichever project it is — a new
 * one (new-project.ts) or the one it came from (original-project.ts): read the snapshot's chain,
 * rebuild its repository and wiki from the chain in a scratch folder, hand each to the target's
 * push, and upload the chain's LFS objects.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitAuth } from '../gitlab/gitlab-http.js';
import { validationError } from '../shared/errors.js';
import type { Manifest } from '../snapshot/manifest.js';
import { materializeRepository, type MaterializedRepository } from '../snapshot/repository-materializer.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { uploadChainLfs } from './chain-lfs.js';
import type { NewProjectDeps, NewProjectOutcome } from './new-project.js';

/** A repository snapshot's chain (oldest first) and its manifests; `manifest` is the snapshot's own. */
export interface RepositoryChain {
  chain: SnapshotEntity[];
  manifests: Manifest[];
  manifest: Manifest & { repository: NonNullable<Manifest['repository']> };
}

/** Reads the chain a repository snapshot restores from; a group's snapshot is refused (`snapshotIds`). */
export async function readRepositoryChain(
  deps: Pick<NewProjectDeps, 'reader'>,
  snapshot: SnapshotEntity,
): Promise<RepositoryChain> {
  const chain = await deps.reader.chain(snapshot);
  const manifests = await Promise.all(chain.map((s) => deps.reader.manifest(s)));
  const manifest = manifests.at(-1)!;
  if (!manifest.repository)
    throw validationError({ snapshotIds: `snapshot ${snapshot.id} is a group's metadata, not a repository` });
  return { chain, manifests, manifest: manifest as RepositoryChain['manifest'] };
}

export type ReplayedRepository = 'git' | 'wiki';

/** Where git pushes a project's repository, or its wiki. */
export function remoteUrlOf(httpUrlToRepo: string, which: ReplayedRepository): string {
  return which === 'git' ? httpUrlToRepo : httpUrlToRepo.replace(/\.git$/, '.wiki.git');
}

export interface ReplayOptions {
  signal?: AbortSignal;
  /** Whether materialising proves the history connected (repository-materializer.ts; default true). */
  checkConnectivity?: boolean;
  /** Called as each materialisation phase ends (`<which><Phase>`, e.g. gitUnbundle), for a StepTimer. */
  onStep?: (step: string) => void;
  /** Repositories the caller restored otherwise (stored-pack-push.ts): not rebuilt. */
  skip?: ReadonlySet<ReplayedRepository>;
}

/**
 * Rebuilds, one after the other, the repository and the wiki that the snapshot has refs for, each
 * as a bare repository in a scratch folder (removed at the end, whatever happens), and hands each
 * to `push` while it exists.
 */
export async function replayRepositories(
  deps: Pick<NewProjectDeps, 'reader' | 'keyFor' | 'workDir'>,
  { chain, manifests, manifest }: RepositoryChain,
  { signal, onStep, checkConnectivity, skip }: ReplayOptions,
  push: (which: ReplayedRepository, dir: string, materialized: MaterializedRepository) => Promise<void>,
): Promise<void> {
  const wanted = (['git', 'wiki'] as const).filter(
    (which) => manifest[which] && Object.keys(manifest[which].refs).length > 0 && !skip?.has(which),
  );
  if (wanted.length === 0) return;
  await mkdir(join(deps.workDir, 'tmp'), { recursive: true });
  const scratch = await mkdtemp(join(deps.workDir, 'tmp', 'restore-'));
  try {
    for (const which of wanted) {
      const dir = join(scratch, which);
      const materialized = await materializeRepository({
        chain,
        manifests,
        which,
        dir,
        reader: deps.reader,
        keyFor: (...args) => deps.keyFor(...args),
        signal,
        checkConnectivity,
        onStep: onStep && ((step) => onStep(`${which}${step[0].toUpperCase()}${step.slice(1)}`)),
      });
      await push(which, dir, materialized);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Uploads the chain's LFS objects to the project (chain-lfs.ts); the counts and each failure go into the outcome. */
export async function uploadLfsInto(
  deps: Pick<NewProjectDeps, 'reader' | 'keyFor'>,
  snapshot: SnapshotEntity,
  { manifests }: RepositoryChain,
  target: { repoHttpUrl: string; auth: GitAuth },
  outcome: Pick<NewProjectOutcome, 'lfs' | 'problems'>,
  signal?: AbortSignal,
): Promise<void> {
  const lfs = await uploadChainLfs(deps, snapshot, manifests, target, signal);
  outcome.lfs = lfs.counts;
  outcome.problems.push(...lfs.problems);
}
