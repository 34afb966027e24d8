/**
 * Bare mirrors: `git clone --mirror` once, `git fetch --prune` afterwards, so a backup moves only
 * what changed. A first clone goes to a temporary directory and is renamed into place, so a
 * killed clone never leaves a half mirror behind. Bundles are written from the mirror.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { git, type GitOptions } from './git.js';

export type Refs = Record<string, string>;

export async function syncMirror(dir: string, url: string, options: GitOptions): Promise<{ cloned: boolean }> {
  if (existsSync(`${dir}/HEAD`)) {
    const config = await readFile(join(dir, 'config'), 'utf8').catch(() => '');
    if (!config.split('\n').some((line) => line.trim() === `url = ${url}`))
      await git(['remote', 'set-url', 'origin', url], { cwd: dir });
    await git(['fetch', '--prune', '--progress', 'origin'], { ...options, cwd: dir });
    return { cloned: false };
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    // keep every object a bundle chain may refer to: no automatic pruning of unreachable objects
    const keep = ['-c', 'gc.pruneExpire=never', '-c', 'gc.reflogExpireUnreachable=never'];
    await git(['clone', '--mirror', '--progress', ...keep, url, tmp], options);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  return { cloned: true };
}

/**
 * Every ref of a repository with its object id (symbolic HEAD excluded), sorted by name as
 * `git for-each-ref` lists them. When every ref is in `packed-refs` (as right after `clone
 * --mirror`), that file is read instead of starting a process: a spawn blocks the event loop for
 * 10–20 ms in a big process, once per repository.
 */
export async function listRefs(dir: string): Promise<Refs> {
  const packed = await packedRefsOnly(dir);
  if (packed) return packed;
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: dir });
  const refs: Refs = {};
  for (const line of stdout.split('\n')) {
    const [sha, name] = line.split(' ');
    if (sha && name) refs[name] = sha;
  }
  return refs;
}

/** The refs of `packed-refs` when there is no loose ref and the file is in a format we know; else null. */
async function packedRefsOnly(dir: string): Promise<Refs | null> {
  if (await hasLooseRef(join(dir, 'refs'))) return null;
  const text = await readFile(join(dir, 'packed-refs'), 'utf8').catch(() => null);
  if (text === null) return null;
  const lines = text.split('\n');
  if (!/^# pack-refs with:.* sorted/.test(lines[0] ?? '')) return null;
  const refs: Refs = {};
  for (const line of lines.slice(1)) {
    if (line === '' || line.startsWith('^')) continue; // a peeled tag's target: not a ref
    const match = /^([0-9a-f]{40}|[0-9a-f]{64}) (refs\/\S+)$/.exec(line);
    if (!match) return null;
    refs[match[2]] = match[1]!;
  }
  return refs;
}

async function hasLooseRef(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (entries === null) return false;
  for (const entry of entries) {
    if (!entry.isDirectory() || (await hasLooseRef(join(dir, entry.name)))) return true;
  }
  return false;
}

/** The ref HEAD points to, read from the HEAD file (no process). */
export async function headRef(dir: string): Promise<string | null> {
  const head = await readFile(join(dir, 'HEAD'), 'utf8').catch(() => '');
  const match = /^ref: (\S+)/.exec(head);
  return match ? match[1] : null;
}

/**
 * When a mirror holds exactly one pack and no loose objects (right after `clone --mirror`), a
 * FULL bundle is that pack behind a bundle header: returns the header and the pack's path, so the
 * bundle is streamed without `git bundle create` re-walking and re-writing the whole history.
 * Null when the mirror has several packs or loose objects (use createBundle).
 */
export async function singlePackBundle(dir: string, refs: Refs): Promise<{ header: Buffer; pack: string } | null> {
  const objects = join(dir, 'objects');
  const entries = await readdir(objects).catch(() => [] as string[]);
  for (const entry of entries) {
    if (/^[0-9a-f]{2}$/.test(entry) && (await readdir(join(objects, entry)).catch(() => [])).length > 0) return null;
  }
  const packs = (await readdir(join(objects, 'pack')).catch(() => [] as string[])).filter((f) => f.endsWith('.pack'));
  if (packs.length !== 1 || Object.keys(refs).length === 0) return null;
  return { header: bundleHeader(refs, []), pack: join(objects, 'pack', packs[0]) };
}

/**
 * A v2 bundle's header (gitformat-bundle(5)): the prerequisite commits (`-<oid>`), the refs
 * (`<oid> <refname>`), an empty line; the pack follows.
 */
export function bundleHeader(refs: Refs, prerequisites: string[]): Buffer {
  const lines = [
    ...prerequisites.map((oid) => `-${oid}\n`),
    ...Object.entries(refs).map(([ref, sha]) => `${sha} ${ref}\n`),
  ];
  return Buffer.from(`# v2 git bundle\n${lines.join('')}\n`, 'utf8');
}

/** Object ids from `candidates` that exist in the repository (prerequisites must exist). */
export async function existingObjects(dir: string, candidates: string[]): Promise<string[]> {
  if (candidates.length === 0) return [];
  const { stdout } = await git(['cat-file', '--batch-check=%(objectname) %(objecttype)'], {
    cwd: dir,
    input: `${candidates.join('\n')}\n`,
  });
  return stdout
    .split('\n')
    .filter((l) => l && !l.endsWith(' missing'))
    .map((l) => l.split(' ')[0]);
}

/**
 * Writes a bundle of every ref, excluding what is reachable from `exclude` (the prerequisite
 * snapshot's tips). Returns false when there is nothing new to bundle (git refuses empty bundles).
 */
export async function createBundle(dir: string, file: string, exclude: string[], refs: Refs): Promise<boolean> {
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
