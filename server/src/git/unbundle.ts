/**
 * `git bundle unbundle` without the bundle file: a bundle is a text header (its format line,
 * capabilities, prerequisites `-<oid>`, refs, then an empty line) followed by a pack, which is what
 * `git bundle unbundle` hands to `git index-pack --fix-thin --stdin`. Feeding the pack to
 * index-pack as the bytes are decoded overlaps decoding with indexing and saves writing the
 * bundle to disk and reading it back (git 2.39 reads a bundle from a file only).
 *
 * As `git bundle unbundle`, this writes objects, never refs; like it, it refuses a bundle whose
 * prerequisites the repository lacks.
 */
import type { Readable } from 'node:stream';
import { transferCanceled } from '../gitlab/gitlab.errors.js';
import { git, GitError } from './git.js';
import { stdinGit } from './stdin-git.js';

/** git refused the bundle (not a bundle, a damaged pack, missing prerequisites); the source's own errors pass as they are. */
export class BundleRefused extends GitError {}

const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** Indexes the pack of `bundle` into the repository at `dir` (objects only). */
export async function unbundleStream(dir: string, bundle: Readable, signal?: AbortSignal): Promise<void> {
  const indexPack = stdinGit(['index-pack', '--fix-thin', '--stdin'], dir);
  const kill = () => indexPack.kill();
  signal?.addEventListener('abort', kill, { once: true });
  const write = (chunk: Buffer) => indexPack.write(chunk);
  const ended = () => indexPack.ended();
  let prerequisites: string[] | null = null;
  try {
    let head = Buffer.alloc(0);
    for await (const chunk of bundle) {
      if (ended()) break; // index-pack gave up (or was stopped): its exit says why
      if (prerequisites) {
        await write(chunk as Buffer);
        continue;
      }
      head = Buffer.concat([head, chunk as Buffer]);
      const end = head.indexOf('\n\n');
      if (end < 0) {
        const start = head.subarray(0, 16).toString('latin1');
        if (head.length > MAX_HEADER_BYTES || (head.length >= 16 && !/^# v[23] git bundle\n$/.test(start)))
          throw refused('not a git bundle');
        continue;
      }
      const lines = head.subarray(0, end).toString('utf8').split('\n');
      if (!/^# v[23] git bundle$/.test(lines[0])) throw refused('not a git bundle');
      prerequisites = lines.filter((l) => l.startsWith('-')).map((l) => l.slice(1).split(' ')[0]);
      await write(head.subarray(end + 2));
    }
    if (signal?.aborted) throw transferCanceled('git bundle unbundle');
    if (!prerequisites && !ended()) throw refused('the bundle ends inside its header');
    const { code, lastLine } = await indexPack.finish();
    if (signal?.aborted) throw transferCanceled('git bundle unbundle');
    if (code !== 0) throw refused(`git index-pack refused its pack: ${lastLine || `exit code ${code}`}`);
  } finally {
    signal?.removeEventListener('abort', kill);
    indexPack.kill();
  }
  if (prerequisites?.length) {
    const { stdout } = await git(['cat-file', '--batch-check'], {
      cwd: dir,
      input: `${prerequisites.join('\n')}\n`,
      signal,
    });
    const missing = stdout.split('\n').filter((l) => l.endsWith(' missing'));
    if (missing.length > 0)
      throw refused(`the repository lacks its prerequisite commits ${missing.map((l) => l.split(' ')[0]).join(', ')}`);
  }
}

function refused(why: string): BundleRefused {
  return new BundleRefused('GIT_FAILED', why);
}
