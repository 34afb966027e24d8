/**
 * Where a LOCAL storage may live. A policy's storage.path is where workers write (and retention
 * deletes) files, so it must be a directory Labkeeper owns or may create — never a system path,
 * never the data directory's secrets (master key, embedded database, mirrors, scratch space), never
 * a PostgreSQL cluster. Symbolic links are resolved first, so a link cannot lead there either.
 *
 * Refused: relative paths, `..` segments, `/` and the system trees (/etc, /proc, /sys, /dev, /boot,
 * /bin, /sbin, /lib*, /usr, /run, /var/run, /var/lib/postgresql, /var/log, /root/.ssh …), the
 * shared temporary roots themselves (/tmp, /var/tmp, /dev/shm — a folder inside them is fine), the
 * data directory itself and its protected entries, any folder containing or inside a PostgreSQL
 * cluster (PG_VERSION), an existing non-directory, and an existing directory owned by another user.
 */
import { existsSync } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative } from 'node:path';

const SYSTEM_TREES = [
  '/etc',
  '/proc',
  '/sys',
  '/dev',
  '/boot',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/usr',
  '/run',
  '/var/run',
  '/var/lib/postgresql',
  '/var/lib/pgsql',
  '/var/log',
  '/var/spool',
  '/var/mail',
  '/root/.ssh',
  '/snap',
];
const SHARED_ROOTS = [
  '/',
  '/tmp',
  '/var/tmp',
  '/dev/shm',
  '/var',
  '/var/lib',
  '/home',
  '/root',
  '/opt',
  '/srv',
  '/mnt',
  '/media',
];

export interface StoragePathContext {
  /** Labkeeper's data directory: itself and `protectedEntries` inside it are off limits. */
  dataDir: string;
  /** Further paths that must never hold backups (embedded PostgreSQL's cluster, the master key file). */
  protectedPaths: string[];
}

const inside = (path: string, tree: string) => {
  const r = relative(tree, path);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
};

/** The path with symbolic links of its existing part resolved. */
async function resolveExisting(path: string): Promise<string> {
  let existing = path;
  const rest: string[] = [];
  while (!existsSync(existing) && dirname(existing) !== existing) {
    rest.unshift(existing.slice(dirname(existing).length).replace(/^\/+/, ''));
    existing = dirname(existing);
  }
  return join(await realpath(existing), ...rest);
}

function refusedTree(path: string, context: StoragePathContext): string | null {
  if (SHARED_ROOTS.includes(path)) return `is a shared system folder (${path}); choose a folder of its own inside it`;
  const system = SYSTEM_TREES.find((tree) => inside(path, tree));
  if (system) return `is inside ${system}, a system path`;
  const dataDir = normalize(context.dataDir);
  if (path === dataDir || inside(dataDir, path))
    return 'is or contains the Labkeeper data directory (master key, database)';
  for (const protectedPath of [
    ...context.protectedPaths,
    join(dataDir, 'master.key'),
    join(dataDir, 'postgres'),
    join(dataDir, 'mirrors'),
    join(dataDir, 'tmp'),
  ]) {
    if (inside(path, protectedPath) || inside(protectedPath, path))
      return 'is or contains a protected part of the Labkeeper data directory';
  }
  return null;
}

/** What is wrong with `path` as a LOCAL storage location, or null when Labkeeper may use it. */
export async function storagePathProblem(path: string, context: StoragePathContext): Promise<string | null> {
  if (!isAbsolute(path)) return 'must be an absolute path';
  if (path.split(/[\\/]+/).includes('..')) return 'must not contain ".." segments';
  const given = normalize(path).replace(/(.)\/+$/, '$1');
  const problem = refusedTree(given, context);
  if (problem) return problem;
  const real = await resolveExisting(given);
  const realProblem = real === given ? null : refusedTree(real, context);
  if (realProblem) return `leads (through a symbolic link) to ${real}, which ${realProblem}`;
  for (let dir = real; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'PG_VERSION'))) return 'is inside a PostgreSQL data directory';
    if (dirname(dir) === dir) break;
  }
  if (existsSync(real)) {
    const info = await lstat(real);
    if (!info.isDirectory()) return 'exists and is not a directory';
    if (typeof process.getuid === 'function' && info.uid !== process.getuid())
      return "is a directory owned by another user; create a folder Labkeeper's user owns";
  }
  return null;
}
