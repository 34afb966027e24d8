/**
 * Bare mirrors: `git clone --mirror` once, `git fetch --prune` afterwards, so a backup moves only
 * what changed. A first clone goes to a temporary directory and is renamed into place, so a
 * killed clone never leaves a half mirror behind. Bundles are written from the mirror.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { git, type GitOptions } from './git.js';

export type Refs = Record<string, string>;

export async function syncMirror(dir: string, url: string, options: GitOptions): Promise<{ cloned: boolean }> {
  if (existsSync(`${dir}/HEAD`)) {
    await git(['remote', 'set-url', 'origin', url], { cwd: dir });
    await git(['fetch', '--prune', '--progress', 'origin'], { ...options, cwd: dir });
    return { cloned: false };
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await git(['clone', '--mirror', '--progress', url, tmp], options);
    // keep every object a bundle chain may refer to: no automatic pruning of unreachable objects
    await git(['config', 'gc.pruneExpire', 'never'], { cwd: tmp });
    await git(['config', 'gc.reflogExpireUnreachable', 'never'], { cwd: tmp });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  return { cloned: true };
}

/** Every ref of a repository with its object id (symbolic HEAD excluded). */
export async function listRefs(dir: string): Promise<Refs> {
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: dir });
  const refs: Refs = {};
  for (const line of stdout.split('\n')) {
    const [sha, name] = line.split(' ');
    if (sha && name) refs[name] = sha;
  }
  return refs;
}

export async function headRef(dir: string): Promise<string | null> {
  try {
    return (await git(['symbolic-ref', 'HEAD'], { cwd: dir })).stdout.trim() || null;
  } catch {
    return null;
  }
}

/** Object ids from `candidates` that exist in the repository (prerequisites must exist). */
export async function existingObjects(dir: string, candidates: string[]): Promise<string[]> {
  if (candidates.length === 0) return [];
  const { stdout } = await git(['cat-file', '--batch-check=%(objectname) %(objecttype)'], { cwd: dir, input: `${candidates.join('\n')}\n` });
  return stdout
    .split('\n')
    .filter((l) => l && !l.endsWith(' missing'))
    .map((l) => l.split(' ')[0]!);
}

/**
 * Writes a bundle of every ref, excluding what is reachable from `exclude` (the prerequisite
 * snapshot's tips). Returns false when there is nothing new to bundle (git refuses empty bundles).
 */
export async function createBundle(dir: string, file: string, exclude: string[]): Promise<boolean> {
  const refs = await listRefs(dir);
  if (Object.keys(refs).length === 0) return false;
  const present = await existingObjects(dir, exclude);
  const tips = new Set(Object.values(refs));
  if (present.length > 0 && [...tips].every((t) => present.includes(t))) return false;
  // git 2.39 takes no options (such as --all) through --stdin: name every ref instead.
  const revs = [...Object.keys(refs), ...present.map((sha) => `^${sha}`)].join('\n');
  try {
    await git(['bundle', 'create', file, '--stdin'], { cwd: dir, input: `${revs}\n` });
    return true;
  } catch (error) {
    if (/Refusing to create empty bundle/i.test(String((error as Error).message))) return false;
    throw error;
  }
}
