/**
 * The GitLab simulator in its own process for the benchmark, as GitLab is on its own machine in
 * production: its `git http-backend` proxying then never competes with Labkeeper's event loop.
 * The parent drives it over IPC (`SimHost`); this file is both the parent-side client and, when
 * forked, the child.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CorpusRepo } from './corpus.js';

export interface HostedRepo {
  name: string;
  projectId: number;
  fullPath: string;
  url: string;
  simPath: string;
  textPaths: string[];
}

interface Started {
  url: string;
  token: string;
  login: string;
  repos: HostedRepo[];
}

type Request =
  | { cmd: 'start'; dataDir: string; corpusDir: string; repos: CorpusRepo[] }
  | { cmd: 'offset'; offsetMs: number }
  | { cmd: 'home'; home: string | undefined }
  | { cmd: 'change'; projectIds: number[]; seed: number }
  | { cmd: 'gitRequests' }
  | { cmd: 'requests' }
  | { cmd: 'restoreTargets'; groups: string[] }
  | { cmd: 'close' };

/** Parent side. */
export class SimHost {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.ok) w?.resolve(m.result);
      else w?.reject(new Error(`simulator: ${m.error}`));
    });
    child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`simulator process exited (${code})`));
      this.waiting.clear();
    });
  }

  /** The simulator process's id (its CPU and its git http-backend children's, bench/measure.ts processCpu). */
  get pid(): number {
    return this.child.pid!;
  }

  static spawn(): SimHost {
    const child = fork(fileURLToPath(import.meta.url), ['--child'], {
      execArgv: ['--import', '@swc-node/register/esm-register'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new SimHost(child);
  }

  private call<T>(request: Request): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, ...request });
    });
  }

  start(dataDir: string, corpusDir: string, repos: CorpusRepo[]) {
    return this.call<Started>({ cmd: 'start', dataDir, corpusDir, repos });
  }
  setOffset(offsetMs: number) {
    return this.call<void>({ cmd: 'offset', offsetMs });
  }
  /** HOME of the simulator's git processes (trace2 config lives there). */
  setHome(home: string | undefined) {
    return this.call<void>({ cmd: 'home', home });
  }
  change(projectIds: number[], seed: number) {
    return this.call<void>({ cmd: 'change', projectIds, seed });
  }
  gitRequests() {
    return this.call<number>({ cmd: 'gitRequests' });
  }
  /** Every request the simulator answered so far (REST, OAuth, git, LFS). */
  requests() {
    return this.call<number>({ cmd: 'requests' });
  }
  /** Empty top-level groups owned by alice, and a token of hers with the `api` scope (git push included). */
  restoreTargets(groups: string[]) {
    return this.call<{ token: string; groupIds: Record<string, number> }>({ cmd: 'restoreTargets', groups });
  }
  async close() {
    await this.call<void>({ cmd: 'close' }).catch(() => undefined);
    this.child.kill();
  }
}

// ---- child side ---------------------------------------------------------------------------------

if (process.argv.includes('--child')) {
  const { startGitLabSimulator } = await import('../test/support/gitlab-simulator/index.js');
  const { prng } = await import('./corpus.js');
  let offsetMs = 0;
  let sim: Awaited<ReturnType<typeof startGitLabSimulator>> | null = null;
  const repos = new Map<number, HostedRepo>();

  const handle = async (r: Request): Promise<unknown> => {
    switch (r.cmd) {
      case 'start': {
        sim = await startGitLabSimulator({
          dataDir: r.dataDir,
          now: () => new Date(Date.now() + offsetMs),
          rateLimit: null,
        });
        const alice = sim.createUser({
          username: 'alice',
          email: 'alice@example.com',
          name: 'Alice',
          password: 'correct-horse-battery',
        });
        const pat = sim.createPersonalAccessToken(alice.id, {
          name: 'labkeeper',
          scopes: ['read_api', 'read_repository'],
        });
        const root = sim.createGroup({ path: 'bench', name: 'Bench', ownerId: alice.id });
        const groups = new Map<string, number>();
        for (const c of r.repos) {
          if (!groups.has(c.group)) groups.set(c.group, sim.createGroup({ path: c.group, parentId: root.id }).id);
          const project = sim.createProject({
            namespaceId: groups.get(c.group)!,
            path: c.name,
            withCommit: false,
            wikiEnabled: false,
            lfsEnabled: false,
          });
          const simPath = sim.repoPath(project.id);
          // Hard-link the cached packs (immutable); copy the rest (refs and config are rewritten by git).
          rmSync(simPath, { recursive: true, force: true });
          execFileSync('cp', ['-a', join(r.corpusDir, c.path), simPath]);
          rmSync(join(simPath, 'objects', 'pack'), { recursive: true, force: true });
          execFileSync('cp', ['-al', join(r.corpusDir, c.path, 'objects', 'pack'), join(simPath, 'objects', 'pack')]);
          sim.state.afterPush(project); // default branch and last_activity_at, as GitLab's PostReceive
          const textPaths = execFileSync('git', ['ls-tree', '-r', '--name-only', 'main'], {
            cwd: simPath,
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          })
            .split('\n')
            .filter((p) => p.endsWith('.ts'));
          const fullPath = `bench/${c.group}/${c.name}`;
          repos.set(project.id, {
            name: c.name,
            projectId: project.id,
            fullPath,
            url: `${sim.url}/${fullPath}.git`,
            simPath,
            textPaths,
          });
        }
        return { url: sim.url, token: pat.token, login: 'alice', repos: [...repos.values()] } satisfies Started;
      }
      case 'offset':
        offsetMs = r.offsetMs;
        return;
      case 'home':
        if (r.home === undefined) delete process.env.HOME;
        else process.env.HOME = r.home;
        return;
      case 'change': {
        const rnd = prng(r.seed);
        for (const id of r.projectIds) {
          const repo = repos.get(id)!;
          // A commit editing a few lines in 2–4 existing files, sometimes adding one.
          const files: Record<string, string> = {};
          const count = 2 + Math.floor(rnd() * 3);
          for (let k = 0; k < count && repo.textPaths.length > 0; k++) {
            const path = repo.textPaths[Math.floor(rnd() * repo.textPaths.length)];
            const lines = execFileSync('git', ['cat-file', 'blob', `main:${path}`], {
              cwd: repo.simPath,
              encoding: 'utf8',
            }).split('\n');
            for (let e = 0; e < 3; e++)
              lines[Math.floor(rnd() * lines.length)] = `  const changed_${Math.floor(rnd() * 1e9)} = update(${e});`;
            files[path] = lines.join('\n');
          }
          if (rnd() < 0.3)
            files[`src/new_${Math.floor(rnd() * 1e9)}.ts`] = `export const added = ${Math.floor(rnd() * 1e6)};\n`;
          sim!.pushCommit(id, { files, message: 'small change' });
        }
        return;
      }
      case 'requests':
        return sim ? sim.requests.length : 0;
      case 'gitRequests':
        return sim ? sim.requests.filter((q) => /\.git\/(info\/refs|git-upload-pack)/.test(q.path)).length : 0;
      case 'restoreTargets': {
        const alice = [...sim!.state.users.values()].find((u) => u.username === 'alice')!;
        const token = sim!.createPersonalAccessToken(alice.id, { name: 'restore', scopes: ['api'] }).token;
        const groupIds: Record<string, number> = {};
        for (const path of r.groups) groupIds[path] = sim!.createGroup({ path, ownerId: alice.id }).id;
        return { token, groupIds };
      }
      case 'close':
        await sim?.close();
        sim = null;
        setTimeout(() => process.exit(0), 10);
        return;
    }
  };

  process.on('message', (m: { id: number } & Request) => {
    handle(m).then(
      (result) => process.send!({ id: m.id, ok: true, result }),
      (error: unknown) => process.send!({ id: m.id, ok: false, error: (error as Error).stack ?? String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
