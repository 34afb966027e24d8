/**
 * Git over smart HTTP, served by spawning `git http-backend` as a CGI (git-http-backend(1)) for
 * `/<full_path>.git/{info/refs,git-upload-pack,git-receive-pack}` and the `.wiki.git` twin.
 *
 * Authentication follows Gitlab::Auth.find_for_git_client (lib/gitlab/auth.rb) and
 * Repositories::GitHttpClientController:
 * - username `oauth2` + an OAuth access token (oauth_access_token_check insists on that login);
 * - any username + a personal access token (personal_access_token_check ignores the login);
 * - username or email + the account password (user_with_password_for_git).
 * Token scopes decide abilities: api or read_repository (or write_repository) to fetch, api or
 * write_repository to push. Anonymous fetches of public projects are allowed; everything else
 * without valid credentials gets 401 with `WWW-Authenticate: Basic realm="GitLab"`.
 * Signed in without access → 404 "The project you were looking for could not be found or you
 * don't have permission to view it."; may read but not push → 403 (GitAccess messages).
 * A wiki's repository is created lazily (on the first page or push): until then a fetch of
 * `<path>.wiki.git` answers 404 "A repository for this wiki does not exist yet." and a push creates it.
 * After a push the project learns its default branch and last_activity_at, as GitLab's
 * PostReceive does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Request, Response } from 'express';
import { findOAuthToken, findPat, oauthIsExpired, patIsExpired, type AuthKind } from './auth.js';
import type { BranchProtectionLevel, ProjectRecord, UserRecord } from './model.js';
import { initBareRepository, pushOptionsOf } from './repos.js';
import type { ServerDeps } from './server.js';

const GIT_PATH = /^\/(.+?)(\.wiki)?\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/;

export const WIKI_NO_REPO = 'A repository for this wiki does not exist yet.';
export const NOT_FOUND = "The project you were looking for could not be found or you don't have permission to view it.";
export const ACCESS_DENIED =
  "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped.";

export function isGitPath(path: string): boolean {
  return GIT_PATH.test(path);
}

export interface GitActor {
  user: UserRecord;
  kind: AuthKind | 'lfs_token';
  canDownload: boolean;
  canPush: boolean;
}

function abilitiesFor(scopes: string[]): { canDownload: boolean; canPush: boolean } {
  const has = (s: string) => scopes.includes(s);
  return {
    canDownload: has('api') || has('read_repository') || has('write_repository'),
    canPush: has('api') || has('write_repository'),
  };
}

/** Returns the actor, null for no credentials, or 'denied' for credentials that do not authenticate. */
export function authenticateGit(deps: ServerDeps, req: Request): GitActor | null | 'denied' {
  const match = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const login = colon >= 0 ? decoded.slice(0, colon) : decoded;
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  if (!password) return 'denied';
  const { state } = deps.ctx;
  const now = state.now();
  const byPassword = state.findUserByLogin(login);
  if (byPassword && byPassword.password === password)
    return { user: byPassword, kind: 'password', canDownload: true, canPush: true };
  // Gitlab::Auth#lfs_token_check: the token the LFS batch API hands out (lfs-store.ts), read-write abilities.
  const lfsUserId = deps.lfs.authenticateToken(login, password);
  if (lfsUserId !== null)
    return { user: state.users.get(lfsUserId)!, kind: 'lfs_token', canDownload: true, canPush: true };
  if (login === 'oauth2') {
    const token = findOAuthToken(state, password);
    if (token && !token.revokedAt && !oauthIsExpired(token, now)) {
      const user = state.users.get(token.userId);
      if (user) return { user, kind: 'oauth', ...abilitiesFor(token.scopes) };
    }
  }
  const pat = findPat(state, password);
  if (pat && !pat.revoked && !patIsExpired(pat, now)) {
    const user = state.users.get(pat.userId);
    const abilities = abilitiesFor(pat.scopes);
    if (user && abilities.canDownload) {
      pat.lastUsedAt = now;
      return { user, kind: 'pat', ...abilities };
    }
  }
  return 'denied';
}

export function challenge(res: Response, message = 'HTTP Basic: Access denied\n'): void {
  res.setHeader('WWW-Authenticate', 'Basic realm="GitLab"');
  res.status(401).type('text/plain').send(message);
}

export async function handleGitRequest(deps: ServerDeps, req: Request, res: Response): Promise<void> {
  const { state, access } = deps.ctx;
  const [, rawPath, wiki, service] = GIT_PATH.exec(req.path)!;
  const fullPath = decodeURIComponent(rawPath);
  const isPush = service === 'git-receive-pack' || req.query.service === 'git-receive-pack';
  if (service === 'info/refs' && req.query.service !== 'git-upload-pack' && req.query.service !== 'git-receive-pack') {
    // GitLab only speaks the smart protocol.
    res.status(403).type('text/plain').send('Only smart HTTP is supported\n');
    return;
  }
  const actor = authenticateGit(deps, req);
  if (actor === 'denied') return challenge(res, `${ACCESS_DENIED}\n`);
  res.locals.authKind = actor ? actor.kind : 'none';
  const project: ProjectRecord | undefined = state.findProjectByFullPath(fullPath);
  const user = actor ? actor.user : null;
  const readable = !!project && access.canReadProject(user, project) && (!wiki || project.wikiEnabled);
  if (!actor && (!readable || isPush || project.visibility !== 'public')) return challenge(res);
  if (!readable || !project) {
    res.status(404).type('text/plain').send(`${NOT_FOUND}\n`);
    return;
  }
  if (actor && !actor.canDownload) return challenge(res, `${ACCESS_DENIED}\n`);
  if (isPush) {
    const level = access.projectAccess(user, project);
    if (!actor?.canPush || level < 30) {
      res.status(403).type('text/plain').send('You are not allowed to push code to this project.\n');
      return;
    }
    if (project.archived) {
      res.status(403).type('text/plain').send('You are not allowed to push code to an archived project.\n');
      return;
    }
  }
  const repoDir = wiki ? state.wikiPath(project.id) : state.repoPath(project.id);
  if (wiki && !existsSync(join(repoDir, 'HEAD'))) {
    // A wiki's repository exists only once a page was written or something was pushed to it.
    // Fetches (ls-remote, clone) get GitAccess#check_repository_existence!'s NotFoundError with
    // GitAccessWiki's :no_repo message; a push creates the repository, as on GitLab.
    if (!isPush) {
      res.status(404).type('text/plain').send(`${WIKI_NO_REPO}\n`);
      return;
    }
    initBareRepository(repoDir, 'main');
  }
  const relative = repoDir.slice(state.repositoriesRoot.length);
  // One push into a repository at a time, its PostReceive effects (default branch, HEAD) applied
  // before the next one starts: they run when http-backend exits, after the client already has
  // its report, and a HEAD rewrite racing a push that updates HEAD's branch fails that push with
  // "cannot lock ref 'HEAD'" / "failed to update ref" — a race of this simulator's, not a
  // behaviour of GitLab's to reproduce (its PostReceive runs seconds later, in Sidekiq).
  const serve = async (): Promise<void> => {
    const wasEmpty = !wiki && isPush && state.isEmptyRepo(project);
    await runHttpBackend(deps, req, res, {
      pathInfo: `${relative}/${service}`,
      remoteUser: actor?.user.username,
      onSuccess: () => {
        if (service !== 'git-receive-pack') return;
        state.pushes.push({ projectId: project.id, wiki: !!wiki, options: pushOptionsOf(repoDir) });
        if (wiki) {
          project.lastActivityAt = state.now();
          state.bumpRepoVersion(project.id);
        } else {
          state.afterPush(project);
          // The first push to an empty project: Projects::ProtectDefaultBranchService protects the
          // default branch as the namespace's default_branch_protection says (state.ts
          // branchProtectionFor; 0 protects nothing), unless a rule already covers it.
          const branch = project.defaultBranch;
          const levels = FIRST_PUSH_PROTECTION[state.branchProtectionFor(project)];
          if (
            wasEmpty &&
            branch &&
            levels &&
            !state.protectedBranches.some((b) => b.projectId === project.id && b.name === branch)
          )
            deps.ctx.store.protectBranch(project.id, { name: branch, ...levels });
        }
      },
    });
  };
  if (service === 'git-receive-pack') await oneAtATime(repoDir, serve);
  else await serve();
}

const pushesUnderWay = new Map<string, Promise<void>>();

/** Runs `work` after every earlier `work` for the same key has settled. */
async function oneAtATime(key: string, work: () => Promise<void>): Promise<void> {
  const current = (pushesUnderWay.get(key) ?? Promise.resolve()).then(work);
  const settled = current.catch(() => undefined);
  pushesUnderWay.set(key, settled);
  try {
    await current;
  } finally {
    if (pushesUnderWay.get(key) === settled) pushesUnderWay.delete(key);
  }
}

/**
 * The protection of a new project's default branch per default_branch_protection
 * (Gitlab::Access::BranchProtection#to_hash; doc/api/groups.md): 1 partial — Developers push and
 * merge, no force push; 2 full and 4 full after the initial push — Maintainers push and merge; 3
 * protected against pushes — Maintainers push, Developers merge; 0 none.
 */
const FIRST_PUSH_PROTECTION: Record<
  BranchProtectionLevel,
  { pushAccessLevel: number; mergeAccessLevel: number } | null
> = {
  0: null,
  1: { pushAccessLevel: 30, mergeAccessLevel: 30 },
  2: { pushAccessLevel: 40, mergeAccessLevel: 40 },
  3: { pushAccessLevel: 40, mergeAccessLevel: 30 },
  4: { pushAccessLevel: 40, mergeAccessLevel: 40 },
};

function runHttpBackend(
  deps: ServerDeps,
  req: Request,
  res: Response,
  options: { pathInfo: string; remoteUser?: string; onSuccess: () => void },
): Promise<void> {
  const { state } = deps.ctx;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_PROJECT_ROOT: state.repositoriesRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    PATH_INFO: options.pathInfo,
    QUERY_STRING: req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '',
    REQUEST_METHOD: req.method,
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    ...(options.remoteUser ? { REMOTE_USER: options.remoteUser } : {}),
    ...(typeof req.headers['git-protocol'] === 'string' ? { HTTP_GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
  };
  const gzipped = /gzip/i.test(String(req.headers['content-encoding'] ?? ''));
  // A gzip body is inflated here, so its length is unknown: without CONTENT_LENGTH http-backend reads to EOF.
  if (!gzipped && req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  deps.children.add(child);
  const input = gzipped ? req.pipe(createGunzip()) : req;
  input.on('error', () => child.kill('SIGKILL'));
  input.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  res.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });

  return new Promise<void>((resolve) => {
    let headerBuffer = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      headerBuffer = Buffer.concat([headerBuffer, chunk]);
      const end = headerBuffer.indexOf('\r\n\r\n');
      const endLf = headerBuffer.indexOf('\n\n');
      const cut = end >= 0 ? { at: end, len: 4 } : endLf >= 0 ? { at: endLf, len: 2 } : null;
      if (!cut) return;
      headersDone = true;
      let status = 200;
      for (const line of headerBuffer.subarray(0, cut.at).toString('utf8').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.status(status);
      res.write(headerBuffer.subarray(cut.at + cut.len));
    });
    child.on('close', (code) => {
      deps.children.delete(child);
      if (code === 0) options.onSuccess();
      else if (stderr && !res.headersSent) console.error(`gitlab-simulator: git http-backend failed: ${stderr}`);
      if (!res.headersSent) res.status(500).type('text/plain').send('git http-backend failed\n');
      else res.end();
      resolve();
    });
  });
}
