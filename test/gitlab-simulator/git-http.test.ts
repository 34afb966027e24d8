import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessLevel, startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

const execFileAsync = promisify(execFile);

describe('GitLab simulator git over HTTP', () => {
  let sim: GitLabSimulator;
  let work: string;
  let pat: string;
  let readOnlyPat: string;
  let apiOnlyPat: string;
  let projectId: number;
  let emptyProjectId: number;

  /** Runs the real git CLI, isolated from the machine's git configuration and credential helpers. */
  async function git(args: string[], cwd = work): Promise<{ stdout: string; stderr: string; code: number }> {
    try {
      const { stdout, stderr } = await execFileAsync('git', args, {
        cwd,
        env: {
          PATH: process.env.PATH,
          HOME: work,
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_TERMINAL_PROMPT: '0',
          GIT_AUTHOR_NAME: 'T',
          GIT_AUTHOR_EMAIL: 't@example.com',
          GIT_COMMITTER_NAME: 'T',
          GIT_COMMITTER_EMAIL: 't@example.com',
        },
      });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const e = error as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  }

  const remote = (path: string, user?: string, password?: string) => {
    const url = new URL(`${sim.url}/${path}.git`);
    if (user) url.username = user;
    if (password) url.password = password;
    return url.toString();
  };

  beforeAll(async () => {
    sim = await startGitLabSimulator();
    work = mkdtempSync(join(tmpdir(), 'gitlab-sim-git-'));
    const alice = sim.createUser({ username: 'alice', password: 'alice-password' });
    pat = sim.createPersonalAccessToken(alice.id, { scopes: ['api'] }).token;
    apiOnlyPat = sim.createPersonalAccessToken(alice.id, { scopes: ['read_api'] }).token;
    const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
    projectId = sim.createProject({ namespaceId: group.id, path: 'app' }).id;
    sim.pushCommit(projectId, { branch: 'feature', files: { 'src/a.txt': 'a\n' }, message: 'Add a' });
    sim.createTag(projectId, { tag: 'v1.0.0', message: 'Release 1.0.0' });
    emptyProjectId = sim.createProject({ namespaceId: group.id, path: 'empty', withCommit: false }).id;
    sim.createProject({ namespaceId: group.id, path: 'open', visibility: 'public' });
    const reporter = sim.createUser({ username: 'rita' });
    sim.addMember('group', group.id, reporter.id, AccessLevel.REPORTER);
    readOnlyPat = sim.createPersonalAccessToken(reporter.id, { scopes: ['read_repository', 'write_repository'] }).token;
  });

  afterAll(async () => {
    await sim.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('lists refs with ls-remote using a personal access token under any username', async () => {
    const result = await git(['ls-remote', remote('acme/app', 'anything', pat)]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/refs\/heads\/main/);
    expect(result.stdout).toMatch(/refs\/heads\/feature/);
    expect(result.stdout).toMatch(/refs\/tags\/v1\.0\.0\^\{\}/);
  });

  it('mirror-clones every branch and tag with an OAuth token as oauth2', async () => {
    const { clientId } = sim.createOAuthApplication({
      name: 'cli',
      redirectUri: 'http://127.0.0.1/cb',
      scopes: ['read_repository'],
      confidential: false,
    });
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'alice',
      password: 'alice-password',
      client_id: clientId,
      scope: 'read_repository',
    });
    const { access_token: oauthToken } = (await (
      await fetch(`${sim.url}/oauth/token`, { method: 'POST', body: form })
    ).json()) as { access_token: string };

    const result = await git(['clone', '--mirror', remote('acme/app', 'oauth2', oauthToken), join(work, 'mirror.git')]);
    const refs = await git(['for-each-ref', '--format=%(refname)'], join(work, 'mirror.git'));

    expect(result.code).toBe(0);
    expect(refs.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'refs/heads/feature',
      'refs/heads/main',
      'refs/tags/v1.0.0',
    ]);
  });

  it('refuses an OAuth token presented under another username', async () => {
    const token = sim.oauthTokens()[0].accessToken;

    const result = await git(['ls-remote', remote('acme/app', 'alice', token)]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Authentication failed|Access denied/);
  });

  it('challenges anonymous access to a private project with Basic realm GitLab', async () => {
    const res = await fetch(`${sim.url}/acme/app.git/info/refs?service=git-upload-pack`);

    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="GitLab"');
  });

  it('serves a public project anonymously', async () => {
    const result = await git(['ls-remote', remote('acme/open')]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/refs\/heads\/main/);
  });

  it('denies a token that has only API scopes', async () => {
    const res = await fetch(`${sim.url}/acme/app.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`alice:${apiOnlyPat}`).toString('base64')}` },
    });

    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/^HTTP Basic: Access denied/);
  });

  it('pushes the first branch into an empty project, which makes it the default branch', async () => {
    const clone = join(work, 'empty');
    await git(['clone', remote('acme/empty', 'alice', 'alice-password'), clone]);
    writeFileSync(join(clone, 'hello.txt'), 'hello\n');
    await git(['add', 'hello.txt'], clone);
    await git(['commit', '-m', 'First'], clone);
    await git(['branch', '-M', 'trunk'], clone);

    const pushed = await git(['push', 'origin', 'trunk'], clone);
    const project = (await (
      await fetch(`${sim.url}/api/v4/projects/${emptyProjectId}`, { headers: { 'PRIVATE-TOKEN': pat } })
    ).json()) as Record<string, unknown>;

    expect(pushed.code).toBe(0);
    expect(project).toMatchObject({ empty_repo: false, default_branch: 'trunk' });
  });

  it('pushes new commits that land in the bare repository', async () => {
    const clone = join(work, 'app');
    await git(['clone', remote('acme/app', 'x', pat), clone]);
    for (let i = 0; i < 30; i++) writeFileSync(join(clone, `file-${i}.txt`), `${i}\n`.repeat(200));
    await git(['add', '.'], clone);
    await git(['commit', '-m', 'Many files'], clone);

    const pushed = await git(['push', 'origin', 'main'], clone);
    const head = await git(['rev-parse', 'refs/heads/main'], sim.repoPath(projectId));
    const local = await git(['rev-parse', 'HEAD'], clone);

    expect(pushed.code).toBe(0);
    expect(head.stdout.trim()).toBe(local.stdout.trim());
    expect(readFileSync(join(clone, 'README.md'), 'utf8')).toBe('# app\n');
  });

  it('inflates a gzip request body sent to git-upload-pack', async () => {
    const { gzipSync } = await import('node:zlib');
    const want = (await git(['rev-parse', 'refs/heads/main'], sim.repoPath(projectId))).stdout.trim();
    const pkt = (s: string) => `${(s.length + 4).toString(16).padStart(4, '0')}${s}`;
    const body = gzipSync(Buffer.from(`${pkt(`want ${want}\n`)}0000${pkt('done\n')}`));

    const res = await fetch(`${sim.url}/acme/app.git/git-upload-pack`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/x-git-upload-pack-request',
        'content-encoding': 'gzip',
        authorization: `Basic ${Buffer.from(`x:${pat}`).toString('base64')}`,
      },
    });
    const pack = Buffer.from(await res.arrayBuffer());

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    expect(pack.includes(Buffer.from('PACK'))).toBe(true);
  });

  it('refuses a push from a Reporter with 403', async () => {
    const clone = join(work, 'reporter');
    await git(['clone', remote('acme/app', 'rita', readOnlyPat), clone]);
    writeFileSync(join(clone, 'x.txt'), 'x\n');
    await git(['add', 'x.txt'], clone);
    await git(['commit', '-m', 'x'], clone);

    const pushed = await git(['push', 'origin', 'main'], clone);

    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/403/);
  });

  it('answers 404 to a signed-in user without access', async () => {
    const outsider = sim.createUser({ username: 'olga' });
    const token = sim.createPersonalAccessToken(outsider.id, { scopes: ['read_repository'] }).token;

    const res = await fetch(`${sim.url}/acme/app.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`olga:${token}`).toString('base64')}` },
    });

    expect(res.status).toBe(404);
  });

  it('has no wiki repository until something is pushed to it, as GitLab creates wikis lazily', async () => {
    const auth = { authorization: `Basic ${Buffer.from(`x:${pat}`).toString('base64')}` };
    const before = await fetch(`${sim.url}/acme/app.wiki.git/info/refs?service=git-upload-pack`, { headers: auth });
    expect(before.status).toBe(404);
    expect(await before.text()).toMatch(/A repository for this wiki does not exist yet/);

    const clone = join(work, 'wiki-source');
    await git(['init', '--quiet', '--initial-branch=main', clone]);
    writeFileSync(join(clone, 'Home.md'), '# Home\n');
    await git(['add', 'Home.md'], clone);
    await git(['commit', '--quiet', '-m', 'Home'], clone);
    const pushed = await git(['push', '--mirror', remote('acme/app.wiki', 'x', pat)], clone);
    expect(pushed.code).toBe(0);
    const listed = await git(['ls-remote', remote('acme/app.wiki', 'x', pat)]);
    expect(listed.stdout).toMatch(/refs\/heads\/main/);
  });
});
