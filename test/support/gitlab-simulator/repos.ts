/**
 * Real bare git repositories for the simulator, written with git plumbing (no working tree), so a
 * seeded project can be cloned, fetched and pushed like one on GitLab. Calls are synchronous:
 * seeding reads like plain statements in tests, and each call is a handful of short git processes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CommitAuthor {
  name: string;
  email: string;
}

function git(cwd: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync('git', args, {
    cwd,
    input: options.input,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env },
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

/** Creates an empty bare repository whose HEAD points at `defaultBranch`. Idempotent. */
export function initBareRepository(path: string, defaultBranch: string): void {
  if (existsSync(join(path, 'HEAD'))) return;
  mkdirSync(dirname(path), { recursive: true });
  execFileSync('git', ['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`, path], { stdio: 'pipe' });
  // GitLab accepts pushes of any size and serves every ref; http.receivepack lets
  // git http-backend accept pushes (it only allows them to REMOTE_USER by default).
  git(path, ['config', 'http.receivepack', 'true']);
  git(path, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
  // Gitaly sets receive.advertisePushOptions (GitLab acts on `ci.skip`, `integrations.skip_ci`, the
  // merge_request.* options); the post-receive hook writes a push's options where the simulator
  // reads them once the push succeeded (pushOptionsOf).
  git(path, ['config', 'receive.advertisePushOptions', 'true']);
  mkdirSync(join(path, 'hooks'), { recursive: true });
  const hook = join(path, 'hooks', 'post-receive');
  writeFileSync(
    hook,
    [
      '#!/bin/sh',
      ': > "$GIT_DIR/sim-push-options"',
      'i=0',
      'while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do',
      String.raw`  eval "printf '%s\n' \"\$GIT_PUSH_OPTION_$i\"" >> "$GIT_DIR/sim-push-options"`,
      '  i=$((i + 1))',
      'done',
      '',
    ].join('\n'),
  );
  chmodSync(hook, 0o755);
}

/** The options of the last push into the repository at `path` (read once: the next read is []). */
export function pushOptionsOf(path: string): string[] {
  const file = join(path, 'sim-push-options');
  if (!existsSync(file)) return [];
  const options = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  rmSync(file, { force: true });
  return options;
}

export function removeRepository(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

export function resolveRef(path: string, ref: string): string | null {
  try {
    return git(path, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    return null;
  }
}

export function listBranches(path: string): string[] {
  if (!existsSync(path)) return [];
  const out = git(path, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/']);
  return out ? out.split('\n') : [];
}

/** Whether the repository has any ref; read from disk because listings call it for every project. */
export function hasAnyRef(path: string): boolean {
  const packed = join(path, 'packed-refs');
  if (
    existsSync(packed) &&
    readFileSync(packed, 'utf8')
      .split('\n')
      .some((line) => /^[0-9a-f]{40}/.test(line))
  )
    return true;
  const walk = (dir: string): boolean => {
    if (!existsSync(dir)) return false;
    return readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.isFile(),
    );
  };
  return walk(join(path, 'refs'));
}

export function setHead(path: string, branch: string): void {
  git(path, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
}

/**
 * Commits `files` on top of `branch` (creating the branch, from `startPoint` or as a root commit,
 * when it does not exist) and moves the branch. Returns the new commit sha.
 */
export function commitFiles(
  path: string,
  params: {
    branch: string;
    files: Record<string, string>;
    message: string;
    author: CommitAuthor;
    date: Date;
    startPoint?: string;
  },
): string {
  const branchHead = resolveRef(path, `refs/heads/${params.branch}`);
  const parent = branchHead ?? (params.startPoint ? resolveRef(path, params.startPoint) : null);
  const indexFile = join(path, `simulator-index-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const env = {
    GIT_INDEX_FILE: indexFile,
    GIT_AUTHOR_NAME: params.author.name,
    GIT_AUTHOR_EMAIL: params.author.email,
    GIT_AUTHOR_DATE: params.date.toISOString(),
    GIT_COMMITTER_NAME: params.author.name,
    GIT_COMMITTER_EMAIL: params.author.email,
    GIT_COMMITTER_DATE: params.date.toISOString(),
  };
  try {
    if (parent) git(path, ['read-tree', parent], { env });
    else git(path, ['read-tree', '--empty'], { env });
    for (const [file, content] of Object.entries(params.files)) {
      const blob = git(path, ['hash-object', '-w', '--stdin'], { input: content, env });
      git(path, ['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], { env });
    }
    const tree = git(path, ['write-tree'], { env });
    const commitArgs = ['commit-tree', tree, '-m', params.message];
    if (parent) commitArgs.push('-p', parent);
    const sha = git(path, commitArgs, { env });
    // The old value makes the update atomic against a concurrent push ('' = must not exist yet).
    git(path, ['update-ref', `refs/heads/${params.branch}`, sha, branchHead ?? ''], { env });
    return sha;
  } finally {
    rmSync(indexFile, { force: true });
  }
}

export function createBranch(path: string, branch: string, ref: string): string {
  const sha = resolveRef(path, ref);
  if (!sha) throw new Error(`ref ${ref} not found in ${path}`);
  git(path, ['update-ref', `refs/heads/${branch}`, sha]);
  return sha;
}

/** Lightweight tag, or annotated when `message` is given (as GitLab's tags API does). */
export function createTag(
  path: string,
  tag: string,
  ref: string,
  message: string | undefined,
  tagger: CommitAuthor,
  date: Date,
): string {
  const sha = resolveRef(path, ref);
  if (!sha) throw new Error(`ref ${ref} not found in ${path}`);
  if (message) {
    git(path, ['tag', '-a', tag, sha, '-m', message], {
      env: {
        GIT_COMMITTER_NAME: tagger.name,
        GIT_COMMITTER_EMAIL: tagger.email,
        GIT_COMMITTER_DATE: date.toISOString(),
      },
    });
  } else {
    git(path, ['update-ref', `refs/tags/${tag}`, sha]);
  }
  return sha;
}

export function commitCount(path: string, branch: string | null): number {
  if (!branch || !resolveRef(path, `refs/heads/${branch}`)) return 0;
  return Number(git(path, ['rev-list', '--count', `refs/heads/${branch}`]));
}

/** Bytes on disk under `path` (0 when missing), like GitLab's repository_size statistic. */
export function directorySize(path: string): number {
  if (!existsSync(path)) return 0;
  let total = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) total += statSync(full).size;
    }
  };
  walk(path);
  return total;
}
