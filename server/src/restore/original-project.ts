/**
 * Restore target ORIGINAL: a snapshot's refs back into the project they came from, never
 * destroying silently. Modes (git-restore.ts pushRestoredRefs):
 * - PREFIX (default): every branch and tag under `restored/<snapshot time>/…`; nothing existing changes;
 * - MISSING_ONLY: only refs the project no longer has;
 * - OVERWRITE (explicit): refs made equal to the snapshot, except protected branches, which are
 *   reported and never forced; refs the snapshot does not have are listed, not deleted.
 * The wiki follows the same mode; LFS objects the project lacks are uploaded. Metadata is not
 * written back into the original project (it would sit beside what is there): restore it to a
 * new project instead.
 */
import { gitAuthOf } from '../gitlab/gitlab-http.js';
import { lsRemoteIfExists, pushRestoredRefs, type PushMode } from './git-restore.js';
import { readRepositoryChain, remoteUrlOf, replayRepositories, uploadLfsInto } from './project-replay.js';
import { emptyOutcome, requireWriteScopes, type NewProjectDeps, type NewProjectOutcome } from './new-project.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';

export type OriginalMode = 'PREFIX' | 'MISSING_ONLY' | 'OVERWRITE';

export interface OriginalTarget {
  connectionId: string;
  mode: OriginalMode;
  prefix?: string | null;
}

const PUSH_MODE: Record<OriginalMode, PushMode> = {
  PREFIX: 'ORIGINAL_PREFIX',
  MISSING_ONLY: 'ORIGINAL_MISSING_ONLY',
  OVERWRITE: 'ORIGINAL_OVERWRITE',
};

export async function restoreToOriginal(
  deps: NewProjectDeps,
  snapshot: SnapshotEntity,
  target: OriginalTarget,
  options: { dryRun: boolean; signal?: AbortSignal },
): Promise<NewProjectOutcome> {
  const connection = await deps.connections.get(target.connectionId);
  requireWriteScopes(connection, ['api', 'write_repository'], 'push');
  const replay = await readRepositoryChain(deps, snapshot);
  const { manifest } = replay;
  const { project, protectedBranches } = await deps.sessions.withGitLab(
    connection.id,
    async (client) => {
      const found = await client.getProject(manifest.repository.gitlabProjectId);
      return {
        project: found,
        protectedBranches: await client.listProtectedBranches(found.id).catch(() => [] as string[]),
      };
    },
    { write: true },
  );
  const prefix = target.prefix?.trim() || `restored/${manifest.createdAt.slice(0, 16).replace(/[:T]/g, '-')}`;
  const outcome = emptyOutcome(project.pathWithNamespace, project.webUrl);
  const access = await deps.sessions.access(connection.id, { write: true });
  const auth = gitAuthOf(access, deps.http); // renewed (OAuth refresh) when GitLab refuses the token

  await replayRepositories(deps, replay, { signal: options.signal }, async (which, dir, materialized) => {
    const remoteUrl = remoteUrlOf(project.httpUrlToRepo, which);
    // A wiki GitLab has not created yet (lazily, on the first page or push) has no refs: the push creates it.
    const existingRefs =
      which === 'wiki' ? ((await lsRemoteIfExists(remoteUrl, auth, options.signal)) ?? {}) : undefined;
    const report = await pushRestoredRefs({
      dir,
      remoteUrl,
      existingRefs,
      auth,
      mode: PUSH_MODE[target.mode],
      prefix,
      refs: materialized.refs,
      protectedBranches: which === 'git' ? protectedBranches : [],
      dryRun: options.dryRun,
      http: deps.http,
      signal: options.signal,
    });
    outcome[which] = report;
    for (const r of report.rejected) outcome.problems.push(`${which} ${r.ref}: ${r.reason}`);
  });
  if (!options.dryRun)
    await uploadLfsInto(deps, snapshot, replay, { repoHttpUrl: project.httpUrlToRepo, auth }, outcome, options.signal);
  return outcome;
}
