/**
 * Checking a pack while it streams in, as `git clone` does: the same bytes that go to storage go to
 * `git index-pack --stdin` in a scratch bare repository (every object inflated, hashed and its
 * deltas resolved), then the refs are set there and `git fsck --connectivity-only` proves that all
 * of their history is in the pack. The checked stream ends only once all of that passed, so a pack
 * that fails it makes the storage write fail (nothing is stored, the transfer is retried) instead
 * of being found by a second pass over the stored bundle.
 *
 * Only a self-contained pack can be checked alone (a FULL snapshot's); a thin pack's deltas need
 * the parent's objects, which are in storage, not here.
 */
import { Readable } from 'node:stream';
import { git, GitError } from './git.js';
import { stdinGit } from './stdin-git.js';

export interface PackCheckOptions {
  /** An empty or missing folder for the scratch repository; the caller removes it. */
  dir: string;
  /** The refs the pack must hold the history of (ref → object id). */
  refs: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * `pack`'s bytes, unchanged, ending only after git has checked every object and the refs'
 * connectivity; an error (naming what git found) when the check fails.
 */
export function checkedPack(pack: Readable, options: PackCheckOptions): Readable {
  return Readable.from(checking(pack, options), { objectMode: false, highWaterMark: 1024 * 1024 });
}

async function* checking(pack: Readable, { dir, refs, signal }: PackCheckOptions): AsyncGenerator<Buffer> {
  await git(['init', '--bare', '--quiet', dir], { signal });
  const indexPack = stdinGit(['index-pack', '--stdin'], dir);
  const kill = () => indexPack.kill();
  signal?.addEventListener('abort', kill, { once: true });
  try {
    for await (const chunk of pack) {
      await indexPack.write(chunk as Buffer);
      yield chunk as Buffer;
    }
    const { code, lastLine: found } = await indexPack.finish();
    if (code !== 0) throw damaged(`git index-pack refused it: ${found || `exit code ${code}`}`);
    const updates = Object.entries(refs)
      .map(([ref, oid]) => `update ${ref} ${oid}\n`)
      .join('');
    if (!updates) return;
    await git(['update-ref', '--stdin'], { cwd: dir, input: updates, signal }).catch((e: Error) => {
      throw damaged(`a ref points to an object the pack does not hold (${lastLine(e.message)})`);
    });
    await git(['fsck', '--connectivity-only', '--no-dangling', '--no-progress'], { cwd: dir, signal }).catch(
      (e: Error) => {
        throw damaged(`history is incomplete (${lastLine(e.message)})`);
      },
    );
  } finally {
    signal?.removeEventListener('abort', kill);
    indexPack.kill();
  }
}

/** GitLab sent a pack git does not accept: transient as far as anyone can tell, so the transfer is retried. */
function damaged(why: string): GitError {
  return new GitError('GITLAB_UNAVAILABLE', `the pack GitLab sent failed git's check: ${why}`, { retryable: true });
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}
