/**
 * Checking a pack while it streams in, as `git clone` does: the same bytes that go to storage go to
 * `git index-pack --stdin --check-self-contained-and-connected` in a scratch bare repository. It
 * inflates, hashes and resolves every object, and parses every commit, tree and tag for the
 * objects they name: one that the pack lacks (and the empty repository cannot have) makes it die.
 * So every object's history is in the pack; the refs' tips are then looked up in the index it
 * wrote (pack-index.ts) — together, what `git fsck --connectivity-only` from the refs proves, and
 * how `git clone` itself skips that walk for a self-contained pack. The checked stream ends only
 * once all of that passed, so a pack that fails it makes the storage write fail (nothing is
 * stored, the transfer is retried) instead of being found by a second pass over the stored bundle.
 *
 * One git process per pack: the scratch repository is laid out by hand (gitrepository-layout:
 * HEAD, objects/, refs/), and nothing else is run. Starting a process costs a fork of this
 * one, which a worker holding hundreds of MB pays on its event loop (three more per repository
 * were a quarter of a backup's CPU).
 *
 * git also checks the pack's SHA-1 trailer against the bytes it read, so the transfer need not
 * (upload-pack.ts, `checkTrailer: false`); git stops reading at the trailer, though, and says
 * nothing of bytes after it on a pipe. So the stream must also be exactly as long as the pack git
 * wrote from it: then the bytes stored are the bytes git hashed, and a cut, damaged or padded
 * transfer is refused here as the trailer check refused it.
 *
 * The scratch copy git writes is never fsynced (`core.fsync=none`; git ≥ 2.36 fsyncs a pack and
 * its index by default): it is read once and removed, so its pages need never reach the disk —
 * the bundle in storage is the copy that must, and the two writes no longer queue for the disk
 * together at the end of a big repository's transfer.
 *
 * Only a self-contained pack can be checked alone (a FULL snapshot's); a thin pack's deltas need
 * the parent's objects, which are in storage, not here.
 */
import { mkdir, mkdtemp, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitError } from './git.js';
import { missingFromPackIndex } from './pack-index.js';
import { stdinGit, type StdinGit } from './stdin-git.js';

export interface PackCheckOptions {
  /** An empty or missing folder for the scratch repository; the caller removes it. */
  dir: string;
  /** The refs the pack must hold the history of (ref → object id). */
  refs: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * A pack's check as its bytes go by: every chunk in order to `write`, then `end`. The transfer
 * that reads the pack calls them itself (upload-pack.ts `check`), so the bytes reach storage
 * without another stream in between (test/support/checked-pack.ts wraps a stream in one).
 */
export interface PackCheck {
  /**
   * Hands the next chunk to git: undefined when git took it at once, else a promise that settles
   * once it did (or has ended: `end` says why). Wait for it before the next chunk.
   */
  write(chunk: Buffer): Promise<void> | undefined;
  /** After the last chunk: resolves when git accepted exactly these bytes and holds every ref's history; throws what it found otherwise. */
  end(): Promise<void>;
  /** Stops git if it still runs; call it in every case, after `end` too. */
  close(): void;
}

/** The check of one pack in the scratch repository `dir` (started with its first chunk). */
export function packCheck({ dir, refs, signal }: PackCheckOptions): PackCheck {
  return checkIn(() => scratchRepository(dir).then(() => dir), { refs, signal });
}

/**
 * Scratch repositories for pack checks, laid out once and used again: a backup checks a pack per
 * repository, and making the repository's folders and removing them again cost more of this
 * machine's file system than the small repositories' packs did (every folder or file made costs
 * it ~0.2 ms of kernel time; removing a tree, a walk of it). A check takes a free repository (or
 * lays out a new one), and once its git has exited the pack and index it wrote — all that a check
 * adds, under objects/pack/ — are deleted and the repository is free again; one that cannot be
 * emptied is removed whole. They live in one folder under `parent`, made on first use and removed
 * by `close`.
 */
export class PackChecks {
  private readonly free: string[] = [];
  /** Repositories on their way back (git exiting, their pack being deleted). */
  private readonly returning = new Set<Promise<void>>();
  private folder: Promise<string> | null = null;
  private made = 0;
  private closed = false;

  /** `keep`: how many free repositories are kept (the most checks that run at once). */
  constructor(
    private readonly parent: string,
    private readonly keep: number,
  ) {}

  /** The check of one pack in a scratch repository of this pool, given back when the check is closed and git has exited. */
  start({ refs, signal }: Omit<PackCheckOptions, 'dir'>): PackCheck {
    return checkIn(() => this.take(), { refs, signal, returning: (back) => this.track(back) });
  }

  /** Resolves once every closed check's repository is back (free again, or removed). */
  async returned(): Promise<void> {
    while (this.returning.size > 0) await Promise.all(this.returning);
  }

  /** Removes the pool's folder once the closed checks' repositories are back (no check runs any more). */
  async close(): Promise<void> {
    this.closed = true;
    await this.returned();
    this.free.length = 0;
    const folder = await this.folder?.catch(() => null);
    if (folder) await rm(folder, { recursive: true, force: true });
  }

  /** A closed check's repository comes back once its git has exited (`exited` resolves with the folder). */
  private track(exited: Promise<string>): void {
    const back = exited.then((dir) => this.give(dir)).catch(() => undefined);
    this.returning.add(back);
    void back.finally(() => this.returning.delete(back));
  }

  private async take(): Promise<string> {
    const free = this.free.pop();
    if (free) return free;
    this.folder ??= mkdir(this.parent, { recursive: true }).then(() => mkdtemp(join(this.parent, 'checks-')));
    const folder = await this.folder.catch((error: unknown) => {
      this.folder = null; // tried again by the next check
      throw error;
    });
    const dir = join(folder, String(this.made++));
    await scratchRepository(dir);
    return dir;
  }

  private async give(dir: string): Promise<void> {
    try {
      const packs = join(dir, 'objects', 'pack');
      for (const file of await readdir(packs)) await unlink(join(packs, file));
      if (!this.closed && this.free.length < this.keep) return void this.free.push(dir);
    } catch {
      // not emptied: not used again
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * A check in the repository `repository` lays out (or takes from a pool); `returning` is told,
 * when the check is closed, of the promise of its folder once its git has exited (nothing writes
 * into it any more).
 */
function checkIn(
  repository: () => Promise<string>,
  { refs, signal, returning }: Omit<PackCheckOptions, 'dir'> & { returning?: (exited: Promise<string>) => void },
): PackCheck {
  let indexPack: StdinGit | null = null;
  let starting: Promise<StdinGit> | null = null;
  let closed = false;
  let bytes = 0;
  let dir = '';
  const kill = () => indexPack?.kill();
  signal?.addEventListener('abort', kill, { once: true });
  const git = async () =>
    indexPack ??
    (await (starting ??= repository().then((taken) => {
      dir = taken;
      indexPack = stdinGit(
        ['-c', 'core.fsync=none', 'index-pack', '--stdin', '--check-self-contained-and-connected'],
        dir,
      );
      if (closed || signal?.aborted) indexPack.kill();
      return indexPack;
    })));
  return {
    write(chunk) {
      bytes += chunk.length;
      if (indexPack) return indexPack.write(chunk);
      return git().then((started) => started.write(chunk));
    },
    async end() {
      const { code, lastLine: found } = await (await git()).finish();
      if (code !== 0)
        throw damaged(
          /did not receive expected object/.test(found)
            ? `history is incomplete (${found})`
            : `git index-pack refused it: ${found || `exit code ${code}`}`,
        );
      const packs = join(dir, 'objects', 'pack');
      const idx = (await readdir(packs)).filter((f) => f.endsWith('.idx'));
      if (idx.length !== 1) throw damaged(`git index-pack wrote ${idx.length} pack indexes`);
      const written = (await stat(join(packs, idx[0].replace(/\.idx$/, '.pack')))).size;
      if (written !== bytes)
        throw damaged(`the pack git accepted is ${written} bytes, but ${bytes} arrived (bytes after its trailer)`);
      const oids = [...new Set(Object.values(refs))];
      const missing = oids.length > 0 ? await missingFromPackIndex(join(packs, idx[0]), oids) : [];
      if (missing.length > 0) {
        const ref = Object.keys(refs).find((r) => refs[r] === missing[0]);
        throw damaged(`a ref points to an object the pack does not hold (${ref} → ${missing[0]})`);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      signal?.removeEventListener('abort', kill);
      indexPack?.kill();
      // Given back once git has gone (killed above if it still ran): a check never started took none.
      if (returning && starting)
        returning(
          starting.then(async (started) => {
            await started.finish().catch(() => undefined); // a git that never started writes nothing either
            return dir;
          }),
        );
    },
  };
}

/** GitLab sent a pack git does not accept: transient as far as anyone can tell, so the transfer is retried. */
function damaged(why: string): GitError {
  return new GitError('GITLAB_UNAVAILABLE', `the pack GitLab sent failed git's check: ${why}`, { retryable: true });
}

/**
 * The least git takes for a repository (gitrepository-layout: HEAD, objects/, refs/), plus the
 * objects/pack/ index-pack writes into: every file and folder made costs a millisecond of this
 * machine's file system, and a check per repository made eight of them where four do.
 */
async function scratchRepository(dir: string): Promise<void> {
  await mkdir(join(dir, 'objects', 'pack'), { recursive: true });
  await mkdir(join(dir, 'refs'));
  await writeFile(join(dir, 'HEAD'), 'ref: refs/heads/main\n');
}
