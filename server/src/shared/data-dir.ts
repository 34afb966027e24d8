/**
 * The data directory holds the master key, the database (embedded), repository mirrors and
 * scratch space: only Labkeeper's OS user may read it. `restrictNewFiles` sets the process umask
 * to 077 — so every file and folder Labkeeper or a child process (git, tar) creates is 0600/0700 —
 * and `secureDataDir` tightens the directory and its known folders if an older version left them open.
 * When Labkeeper runs as root with embedded PostgreSQL, the postgres OS user must traverse the data
 * directory to reach its cluster, so the directory itself keeps o+x (0701: no listing, no reading).
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export const PRIVATE_UMASK = 0o077;
/** Folders of the data directory that hold copies of user data. */
const PRIVATE_FOLDERS = ['mirrors', 'tmp', 'backups'];

export async function secureDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  for (const folder of PRIVATE_FOLDERS) await chmod(join(dataDir, folder), 0o700).catch(() => undefined);
}

/**
 * From now on, everything this process and its children create is private. Called once the
 * database is up: embedded PostgreSQL's initdb (as the postgres OS user) reads a password file the
 * library writes, which must stay readable to it.
 */
export function restrictNewFiles(): void {
  process.umask(PRIVATE_UMASK);
}
