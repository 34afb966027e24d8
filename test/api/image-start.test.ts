import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { builtinModules } from 'node:module';
import {
  chmod,
  chown,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase } from '../support/database.js';
import { freePort } from '../support/ports.js';

/**
 * The Docker image's start commands, without a Docker engine: the tree is copied as the image's
 * build context is (.dockerignore), built the way the Dockerfile builds it, made root-owned with
 * 0755/0644 like /app, and the commands of the Dockerfile (CMD) and docker-compose.yml run as a
 * non-root user whose only writable directory is the data directory.
 */
const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

let work: string;
let app: string;
const databases: Awaited<ReturnType<typeof createTestDatabase>>[] = [];

/** A new, empty database on the test PostgreSQL (each start gets its own, as a new install would). */
async function databaseUrl(): Promise<string> {
  const database = await createTestDatabase();
  databases.push(database);
  return database.url;
}

/** The Dockerfile's CMD and the `command:` of each docker-compose.yml service (JSON arrays in both). */
async function imageCommands() {
  const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
  const cmd = /^CMD (\[.*\])\s*$/m.exec(dockerfile);
  const compose = await readFile(join(root, 'docker-compose.yml'), 'utf8');
  const commands = Object.fromEntries(
    [...compose.matchAll(/^ {2}(\w+):\n(?:(?! {2}\w).*\n)*? {4}command: (\[.*\])$/gm)].map((m) => [
      m[1],
      JSON.parse(m[2]) as string[],
    ]),
  );
  return { cmd: JSON.parse(cmd![1]) as string[], compose: commands };
}

/** .dockerignore's rules (patterns from the context root, `*` within a name, `!` re-includes; the last match wins). */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!');
      const glob = l.replace(/^!/, '').replace(/^\/|\/$/g, '');
      return {
        negated,
        pattern: new RegExp(
          `^${glob
            .split('*')
            .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('[^/]*')}$`,
        ),
      };
    });
  return (path) =>
    path !== '' && rules.reduce((excluded, rule) => (rule.pattern.test(path) ? !rule.negated : excluded), false);
}

/** Every file under `dir` with its size and modification time (node_modules left out). */
async function listing(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (path: string) => {
    const info = await lstat(path);
    out.set(relative(dir, path), `${info.mode} ${info.size} ${info.mtimeMs}`);
    if (info.isDirectory() && !path.endsWith('/node_modules'))
      for (const entry of await readdir(path)) await visit(join(path, entry));
  };
  await visit(dir);
  return out;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs `command` in the copied tree as the unprivileged user; resolves once `ready` was printed. */
function startAsUser(command: string[], env: Record<string, string>, ready: string): Promise<Started> {
  const [program, ...args] = command;
  const [file, argv] = isRoot
    ? [
        'setpriv',
        [
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          '--clear-groups',
          '--',
          program === 'node' ? process.execPath : program,
          ...args,
        ],
      ]
    : [program === 'node' ? process.execPath : program, args];
  const child = spawn(file, argv, {
    cwd: app,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  const output = () => chunks.join('');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      chunks.push(c.toString());
      if (output().includes(ready)) resolve({ child, output, exited });
    });
    child.stderr.on('data', (c: Buffer) => chunks.push(c.toString()));
    void exited.then((code) => reject(new Error(`${command.join(' ')} exited with ${code}:\n${output()}`)));
  });
}

async function stop(started: Started): Promise<number | null> {
  started.child.kill('SIGTERM');
  return started.exited;
}

/** A data directory only the unprivileged user can write. */
async function dataDir(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { mode: 0o700 });
  if (isRoot) await chown(dir, NOBODY, NOBODY);
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'labkeeper-image-'));
  await chmod(work, 0o755);
  app = join(work, 'app');
  // COPY . . — everything .dockerignore does not leave out.
  const excluded = dockerignore(await readFile(join(root, '.dockerignore'), 'utf8'));
  await cp(root, app, { recursive: true, filter: (source) => !excluded(relative(root, source)) });
  // RUN npm ci: the installed dependencies (root-owned, like the image's). The unprivileged user
  // must pass through the folders above them, as the postgres OS user must (README): add the
  // search bit (o+x, never read) where it is missing, as the embedded PostgreSQL start does.
  const modules = await realpath(join(root, 'node_modules'));
  if (isRoot) {
    for (let dir = dirname(modules); dir !== dirname(dir); dir = dirname(dir)) {
      const mode = (await stat(dir)).mode & 0o7777;
      if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    }
  }
  await symlink(modules, join(app, 'node_modules'));
  // RUN npm run build (scripts/build.mjs): the server part (tsc) is built in the copy; the client
  // part is the one the test run's global setup built from these sources with the same script.
  await cp(join(root, 'client/dist'), join(app, 'client/dist'), { recursive: true, preserveTimestamps: true });
  await run(process.execPath, ['scripts/build.mjs', 'server'], { cwd: app });
  // /app as the image has it: owned by root, 0755 folders and 0644 files (read-only to everyone
  // else); without root, read-only to the owner too.
  if (isRoot) await run('chown', ['-R', '-h', 'root:root', app]);
  await run('chmod', ['-R', isRoot ? 'u=rwX,go=rX' : 'a-w', app]);
});

afterAll(async () => {
  if (app && !isRoot) await run('chmod', ['-R', 'u+w', app]);
  if (work) await rm(work, { recursive: true, force: true });
  for (const database of databases) await database.drop();
});

describe('the Docker image started as a non-root user over a root-owned /app', () => {
  it('runs compiled JavaScript, and docker-compose runs the same commands', async () => {
    const { cmd, compose } = await imageCommands();
    expect(cmd).toEqual(['node', 'server/dist/main.js']);
    expect(compose.labkeeper).toEqual(cmd);
    // The worker as `npm run worker` starts it, V8 flags included (--max-semi-space-size, README);
    // the script's leading NAME=value words are environment variables docker-compose sets.
    expect(compose.worker).toEqual(['node', '--max-semi-space-size=2', 'server/dist/worker.js']);
    const scripts = (
      JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    const script = scripts.worker.split(' ');
    expect(script.slice(script.indexOf('node'))).toEqual(compose.worker);
    const composeFile = await readFile(join(root, 'docker-compose.yml'), 'utf8');
    for (const [name, value] of script.slice(0, script.indexOf('node')).map((word) => word.split('=')))
      expect(composeFile).toContain(`${name}: "${value}"`);
  });

  it('serves the API, the web client and /readyz, writing only into its data directory, and stops on SIGTERM', async () => {
    const data = await dataDir('data-api');
    const port = await freePort();
    const before = await listing(app);
    const { cmd } = await imageCommands();
    const api = await startAsUser(
      cmd,
      {
        NODE_ENV: 'production',
        PORT: String(port),
        LABKEEPER_DATA_DIR: data,
        DATABASE_URL: await databaseUrl(),
        HOME: data,
      },
      'Labkeeper is running',
    );
    try {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      // GraphQL types, validation and TypeORM columns come from tsc's decorator metadata: a query
      // and a mutation with a validated input, with the admin token of the first start.
      const token = /Bearer (lk_\S+)/.exec(api.output())![1];
      const gql = async (query: string) =>
        (
          await fetch(`http://127.0.0.1:${port}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query }),
          })
        ).json();
      expect(await gql('{ workers { name status isInProcess } }')).toEqual({
        data: { workers: [{ name: 'default', status: 'ONLINE', isInProcess: true }] },
      });
      expect(
        await gql('mutation { createApiToken(input: { name: "ci", role: VIEWER }) { apiToken { name role } } }'),
      ).toEqual({ data: { createApiToken: { apiToken: { name: 'ci', role: 'VIEWER' } } } });
      expect(
        (await gql('mutation { createApiToken(input: { name: "", role: VIEWER }) { token } }')).errors[0].extensions
          .code,
      ).toBe('BAD_USER_INPUT');
      const page = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
    } finally {
      expect(await stop(api)).toBe(0);
    }
    expect(api.output()).not.toMatch(/EACCES|EROFS|permission denied/i);
    expect(await listing(app)).toEqual(before);
    expect((await stat(join(data, 'master.key'))).uid).toBe(isRoot ? NOBODY : process.getuid!());
  });

  it("runs docker-compose's worker command beside it against the same database", async () => {
    const data = await dataDir('data-worker');
    const { compose } = await imageCommands();
    const masterKey = 'ab'.repeat(32);
    const env = {
      NODE_ENV: 'production',
      LABKEEPER_DATA_DIR: data,
      DATABASE_URL: await databaseUrl(),
      HOME: data,
      LABKEEPER_MASTER_KEY: masterKey,
    };
    const before = await listing(app);
    const api = await startAsUser(
      compose.labkeeper,
      { ...env, PORT: String(await freePort()) },
      'Labkeeper is running',
    );
    try {
      const worker = await startAsUser(compose.worker, { ...env, LABKEEPER_WORKER_NAME: 'worker-1' }, 'worker started');
      expect(await stop(worker)).toBe(0);
    } finally {
      expect(await stop(api)).toBe(0);
    }
    expect(await listing(app)).toEqual(before);
  });

  it('runs its own PostgreSQL under the data directory when no DATABASE_URL is given (single-container mode)', async () => {
    const data = await dataDir('data-embedded');
    const port = await freePort();
    const before = await listing(app);
    const { cmd } = await imageCommands();
    const api = await startAsUser(
      cmd,
      {
        NODE_ENV: 'production',
        PORT: String(port),
        LABKEEPER_DATA_DIR: data,
        EMBEDDED_POSTGRES_PORT: String(await freePort()),
        HOME: data,
      },
      'Labkeeper is running',
    );
    try {
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      expect(await stop(api)).toBe(0);
    }
    expect(api.output()).toContain('embedded PostgreSQL stopped');
    expect(await listing(app)).toEqual(before);
  });

  it('imports only production dependencies from the compiled server, so the image can drop the dev ones', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const builtins = new Set(builtinModules);
    const imported = new Set<string>();
    const visit = async (dir: string) => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await visit(path);
        else if (entry.name.endsWith('.js')) {
          // tsc's output: `… from 'x';` and `import 'x';` end their line; dynamic `import('x')`
          const source = await readFile(path, 'utf8');
          for (const m of source.matchAll(
            /(?:\bfrom\s+|^import\s*)['"]([^'".][^'"]*)['"];$|\bimport\(\s*['"]([^'".][^'"]*)['"]\s*\)/gm,
          )) {
            const specifier = m[1] ?? m[2];
            if (specifier) imported.add(specifier);
          }
        }
      }
    };
    await visit(join(app, 'server/dist'));
    const packages = [...imported]
      .filter((s) => !s.startsWith('node:') && !builtins.has(s))
      .map((s) =>
        s
          .split('/')
          .slice(0, s.startsWith('@') ? 2 : 1)
          .join('/'),
      );
    expect(packages).toContain('typeorm'); // the scan sees the imports
    expect(packages.filter((p) => !(p in manifest.dependencies))).toEqual([]);
  });
});
