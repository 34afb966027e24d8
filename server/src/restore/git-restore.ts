/**
 * Restoring a repository's git data from a snapshot chain, in two steps:
 *
 * 1. snapshot/repository-materializer.ts builds a bare repository from the chain's bundles.
 * 2. `pushRestoredRefs` pushes those refs to a GitLab project in one of four modes (a new empty
 *    project, or the original one under a prefix / only missing refs / overwriting unprotected
 *    refs), in batches, non-atomic, reading `git push --porcelain` to know what each ref did.
 *    Credentials go through the environment (git.ts), never into the URL.
 *
 * GitLab refuses pushes to its internal refs (Gitaly's InternalRefPrefixes, internal/git/reference.go:
 * merge request heads, pipelines, environments, keep-around, temporary and remote refs): those are
 * reported as skipped, with the reason, never attempted.
 */
import { spawn } from 'node:child_process';
import { git, gitEnv, redact, type GitOptions } from '../git/git.js';
import { fromGitCommandFailure, transferCanceled } from '../gitlab/gitlab.errors.js';
import { defaultGitLabHttp, withRenewal, type GitLabHttp } from '../gitlab/gitlab-http.js';
import { DomainError } from '../shared/errors.js';

export type Refs = Record<string, string>;

/** MISSING_ONLY's reason for a ref the project has at another commit (fidelity.ts names such refs). */
export const EXISTS_UPSTREAM = 'exists upstream: left as it is';

// ---- pushing ------------------------------------------------------------------------------------

export type PushMode = 'NEW' | 'ORIGINAL_PREFIX' | 'ORIGINAL_MISSING_ONLY' | 'ORIGINAL_OVERWRITE';

/**
 * Ref namespaces GitLab keeps for itself (Gitaly's InternalRefPrefixes): read-only or hidden to
 * pushes, so a restore never sends them.
 */
export const GITLAB_INTERNAL_REF_PREFIXES: Readonly<Record<string, string>> = {
  'refs/merge-requests/': 'merge request refs are written by GitLab only',
  'refs/pipelines/': 'pipeline refs are written by GitLab only',
  'refs/environments/': 'environment refs are written by GitLab only',
  'refs/keep-around/': 'keep-around refs are hidden and written by GitLab only',
  'refs/tmp/': 'temporary refs are hidden and written by GitLab only',
  'refs/remotes/': 'remote-tracking refs are read-only on GitLab',
};

/** Why GitLab refuses a push to `ref`, or null when it accepts one. */
export function gitlabReadOnlyReason(ref: string): string | null {
  for (const [prefix, reason] of Object.entries(GITLAB_INTERNAL_REF_PREFIXES))
    if (ref.startsWith(prefix)) return `read-only on GitLab: ${reason}`;
  return null;
}

/**
 * Whether a branch name matches a protected-branch name as GitLab returns it: an exact name, or a
 * wildcard pattern where `*` matches any characters, slashes included (ProtectedRef#matches?).
 */
export function matchesProtectedBranch(branch: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (!pattern.includes('*')) return pattern === branch;
    const regex = new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*?')}$`,
    );
    return regex.test(branch);
  });
}

export interface PushOptions {
  /** The materialized bare repository. */
  dir: string;
  /** The target's git HTTP URL, without credentials. */
  remoteUrl: string;
  auth: GitOptions['auth'];
  mode: PushMode;
  /** ORIGINAL_PREFIX: branches go to refs/heads/<prefix>/…, tags to refs/tags/<prefix>/… (default `restored`). */
  prefix?: string;
  /** The refs to restore (materializeRepository's refs). */
  refs: Refs;
  /** The target's refs (ls-remote); fetched when omitted. */
  existingRefs?: Refs;
  /** Protected branch names or wildcard patterns, as GitLab's protected_branches API returns them. */
  protectedBranches?: readonly string[];
  /** Computes the report without changing anything upstream. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Refspecs per `git push` (default 200). */
  batchSize?: number;
  /**
   * The ref HEAD points to (materializeRepository's head). NEW pushes it first, on its own, so
   * that GitLab makes it the default branch of the empty project (the first pushed branch wins).
   */
  head?: string | null;
  /**
   * NEW: the ref the empty target's HEAD already points to (a created project's `default_branch`,
   * which GitLab reports for an empty repository too). When it is `head`, pushing everything at
   * once makes the same default branch, so `head` is not pushed on its own first.
   */
  targetHead?: string | null;
  /** The application's GitLab transport, whose retry policy retries a push that failed transiently. */
  http?: GitLabHttp;
}

export interface PushReport {
  /** Target ref names that were pushed (or would be, with dryRun). */
  pushed: string[];
  /** Refs already as the snapshot has them, MISSING_ONLY's refs that exist upstream, refs GitLab keeps for itself. */
  skipped: { ref: string; reason: string }[];
  /**
   * Refs the snapshot's commit did not reach: refused by GitLab, a protected branch OVERWRITE does
   * not force, or a prefixed name (ORIGINAL_PREFIX) that exists upstream at another commit.
   */
  rejected: { ref: string; reason: string }[];
  /** ORIGINAL_OVERWRITE: refs upstream that the snapshot does not have, left alone. */
  extra: string[];
}

/** The refs of a remote (peeled `^{}` entries and HEAD excluded). */
export async function lsRemote(remoteUrl: string, auth: GitOptions['auth'], signal?: AbortSignal): Promise<Refs> {
  const { stdout } = await git(['ls-remote', remoteUrl], { auth, signal });
  const refs: Refs = {};
  for (const line of stdout.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (sha && ref && ref.startsWith('refs/') && !ref.endsWith('^{}')) refs[ref] = sha;
  }
  return refs;
}

/**
 * The refs of a remote that GitLab may not have created yet: a wiki's repository exists only once
 * a page was written or something was pushed (GitAccessWiki: 404 "A repository for this wiki does
 * not exist yet."). Null when the remote answers "not found"; a push then creates it.
 */
export async function lsRemoteIfExists(
  remoteUrl: string,
  auth: GitOptions['auth'],
  signal?: AbortSignal,
): Promise<Refs | null> {
  try {
    return await lsRemote(remoteUrl, auth, signal);
  } catch (error) {
    if (
      error instanceof DomainError &&
      !error.retryable &&
      /not found|does not exist yet|returned error: 404/i.test(error.message)
    )
      return null;
    throw error;
  }
}

interface Planned {
  /** Local ref (in the materialized repository). */
  source: string;
  /** Ref name upstream. */
  target: string;
  force: boolean;
}

/** Pushes the restored refs to `remoteUrl` as `mode` says; see PushReport. */
export async function pushRestoredRefs(options: PushOptions): Promise<PushReport> {
  const { dir, remoteUrl, auth, mode, refs, signal } = options;
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(remoteUrl))
    throw new DomainError('VALIDATION_FAILED', 'the remote URL must not carry credentials');
  const prefix = (options.prefix ?? 'restored').replace(/^\/+|\/+$/g, '');
  if (mode === 'ORIGINAL_PREFIX') {
    if (
      !prefix ||
      !/^[A-Za-z0-9._/-]+$/.test(prefix) ||
      prefix.includes('..') ||
      prefix.includes('//') ||
      prefix.split('/').some((p) => p.startsWith('.') || p.endsWith('.lock'))
    ) {
      throw new DomainError('VALIDATION_FAILED', `not a usable ref prefix: ${JSON.stringify(prefix)}`);
    }
  }
  const existing = options.existingRefs ?? (await lsRemote(remoteUrl, auth, signal));
  const protectedBranches = options.protectedBranches ?? [];
  const report: PushReport = { pushed: [], skipped: [], rejected: [], extra: [] };
  const plan: Planned[] = [];

  for (const ref of Object.keys(refs).sort()) {
    const sha = refs[ref];
    const readOnly = gitlabReadOnlyReason(ref);
    if (readOnly) {
      report.skipped.push({ ref, reason: readOnly });
      continue;
    }
    let target = ref;
    if (mode === 'ORIGINAL_PREFIX') {
      const m = /^refs\/(heads|tags)\/(.+)$/.exec(ref);
      if (!m) {
        report.skipped.push({ ref, reason: 'only branches and tags are restored under a prefix' });
        continue;
      }
      target = `refs/${m[1]}/${prefix}/${m[2]}`;
    }
    const upstream = existing[target];
    if (upstream === sha) {
      report.skipped.push({ ref: target, reason: 'already up to date' });
      continue;
    }
    if (upstream !== undefined) {
      if (mode === 'ORIGINAL_PREFIX') {
        // the prefixed name is taken by another commit (an earlier restore under the same prefix,
        // or someone's branch): the snapshot's ref is not there, so it is a conflict, not a success
        report.rejected.push({
          ref: target,
          reason: `exists upstream at ${upstream.slice(0, 12)}, not the snapshot's ${sha.slice(0, 12)}: left as it is (restore under another prefix)`,
        });
        continue;
      }
      if (mode === 'ORIGINAL_MISSING_ONLY') {
        report.skipped.push({ ref: target, reason: EXISTS_UPSTREAM });
        continue;
      }
      if (mode === 'ORIGINAL_OVERWRITE') {
        const branch = /^refs\/heads\/(.+)$/.exec(target)?.[1];
        if (branch !== undefined && matchesProtectedBranch(branch, protectedBranches)) {
          report.rejected.push({ ref: target, reason: 'protected branch: not forced' });
          continue;
        }
      }
    }
    plan.push({ source: ref, target, force: mode === 'ORIGINAL_OVERWRITE' && upstream !== undefined });
  }
  if (mode === 'ORIGINAL_OVERWRITE') {
    report.extra = Object.keys(existing)
      .filter((ref) => !(ref in refs) && !gitlabReadOnlyReason(ref))
      .sort();
  }

  const batchSize = Math.max(1, options.batchSize ?? 200);
  const batches: Planned[][] = [];
  const first =
    mode === 'NEW' && options.head && options.head !== options.targetHead
      ? plan.findIndex((p) => p.target === options.head)
      : -1;
  if (first >= 0) batches.push(plan.splice(first, 1));
  for (let start = 0; start < plan.length; start += batchSize) batches.push(plan.slice(start, start + batchSize));
  for (const batch of batches) {
    if (signal?.aborted) throw transferCanceled('git push');
    // Retried only when git reported no ref at all (the connection failed before anything was
    // decided), by the GitLab transport's policy; a refused token is renewed once (OAuth).
    const push = () => withRenewal(auth, () => pushBatch(dir, remoteUrl, auth, batch, !!options.dryRun, signal));
    const outcome = await (options.http ?? defaultGitLabHttp()).retrying(`git push ${redact(remoteUrl)}`, push, signal);
    for (const item of batch) {
      const result = outcome.get(item.target);
      if (!result) report.rejected.push({ ref: item.target, reason: 'git push did not report this ref' });
      else if (result.flag === '!') report.rejected.push({ ref: item.target, reason: result.summary });
      else if (result.flag === '=') report.skipped.push({ ref: item.target, reason: 'already up to date' });
      else report.pushed.push(item.target);
    }
  }
  return report;
}

/**
 * Push options of every restore push: GitLab creates no CI/CD pipeline for it (`ci.skip`) and
 * sends no push event to CI integrations such as Jenkins (`integrations.skip_ci`, GitLab 16.2+;
 * older versions ignore options they do not know). A restore brings history back; it must not
 * build or deploy it. (doc/user/project/push_options.md)
 */
export const RESTORE_PUSH_OPTIONS = ['ci.skip', 'integrations.skip_ci'] as const;

/**
 * One `git push --porcelain`, atomic off: each line `<flag>\t<from>:<to>\t<summary>` tells what
 * happened to a ref. git exits 1 when some ref was rejected; that is a per-ref outcome, not an error.
 */
async function pushBatch(
  dir: string,
  remoteUrl: string,
  auth: GitOptions['auth'],
  batch: Planned[],
  dryRun: boolean,
  signal?: AbortSignal,
): Promise<Map<string, { flag: string; summary: string }>> {
  const specs = batch.map((p) => `${p.force ? '+' : ''}${p.source}:${p.target}`);
  const args = [
    'push',
    '--porcelain',
    '--no-atomic',
    '--no-verify',
    '--no-follow-tags',
    ...RESTORE_PUSH_OPTIONS.map((o) => `--push-option=${o}`),
    ...(dryRun ? ['--dry-run'] : []),
    remoteUrl,
    ...specs,
  ];
  const { code, stdout, stderr } = await runGit(args, dir, auth, signal);
  const results = new Map<string, { flag: string; summary: string }>();
  for (const line of stdout.split('\n')) {
    const m = /^([ +\-*!=])\t([^\t]*):([^\t:]+)\t(.*)$/.exec(line);
    if (m) results.set(m[3], { flag: m[1], summary: redact(m[4].trim()) });
  }
  if (code !== 0 && results.size === 0) throw fromGitCommandFailure('push', stderr, code);
  return results;
}

function runGit(
  args: string[],
  cwd: string,
  auth: GitOptions['auth'],
  signal?: AbortSignal,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: gitEnv(auth),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString('utf8')).slice(-64 * 1024);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(transferCanceled('git push'));
      else resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: err });
    });
  });
}
