/**
 * LocalStorage: a StorageBackend in a directory (default `<data dir>/backups`); a mounted NFS or
 * SMB share works the same way. Key `a/b/c` is the file `<root>/a/b/c`, so a user can browse and
 * restore artifacts with ordinary tools.
 *
 * Atomic writes, as in restic's local backend: `put` writes `<name>.tmp-<random>` in the target's
 * own directory (so the final rename never crosses file systems), fsyncs it, then publishes it and
 * fsyncs the directory. Publishing is `link(temp, final)` when the object must not exist yet,
 * which fails atomically with EEXIST if another writer won the race, and `rename` when
 * overwriting (atomic replace). Shares that refuse hard links fall back to check-then-rename.
 *
 * Names containing `.tmp-` are never listed (keys may not contain it). A crashed process can
 * leave such files behind, and `deletePrefix` moves a directory to `<dir>.tmp-deleted-<random>`
 * before removing it, so `open()` sweeps `.tmp-` entries whose mtime is older than an hour.
 * A write in progress keeps touching its temp file's mtime, so only stalled writes are swept;
 * their final rename then fails and the put reports it.
 *
 * Files are created 0600 and directories 0700: artifacts may hold private repositories.
 *
 * A big object's whole MiB blocks are written, read back when the put asks (`readBack`), and
 * re-read by `digest` (verification), with direct I/O where the file system has it (direct-io.ts):
 * no page-cache copy of a bundle is made or kept, and what is compared or hashed is what the disk
 * holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Dirent } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { systemClock, type Clock } from '../shared/clock.js';
import { validationError } from '../shared/errors.js';
import { alignedBlock, DIRECT_BLOCK_BYTES, DirectFile } from './direct-io.js';
import { discardSource, drainSource } from './put-source.js';
import { parseKey, parsePrefix, TEMP_MARKER } from './storage-key.js';
import { artifactExists, artifactNotFound, storageUnavailable } from './storage.errors.js';
import type { ObjectInfo, ObjectReader, PutOptions, PutResult, StorageBackend } from './storage.port.js';

export interface LocalStorageOptions {
  /** Leftover temp files and half-deleted directories older than this are removed by `open`. Default 1 hour. */
  staleTempAgeMs?: number;
  clock?: Clock;
}

const HOUR_MS = 60 * 60 * 1000;
const MISSING = new Set(['ENOENT', 'ENOTDIR']);
/** Errors meaning "this share cannot hard-link", after which put falls back to check-then-rename. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);
/** Errors meaning "this file system cannot fsync a directory" (SMB and some FUSE mounts). */
const NO_DIR_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EPERM', 'EACCES', 'EBADF']);

const errno = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code ?? '';

export class LocalStorage implements StorageBackend {
  readonly location: string;
  /** Big artifacts are written and re-read with direct I/O until the file system refuses it once (direct-io.ts). */
  private directIo = true;

  private constructor(
    private readonly root: string,
    private readonly clock: Clock,
  ) {
    this.location = root;
  }

  /** Creates the directory if needed and sweeps stale temp files (this walks the whole tree). */
  static async open(root: string, options: LocalStorageOptions = {}): Promise<LocalStorage> {
    const storage = new LocalStorage(resolve(root), options.clock ?? systemClock);
    await guard('open', '', () => makeDirectories(storage.root));
    await storage.removeStaleTemps(options.staleTempAgeMs ?? HOUR_MS);
    return storage;
  }

  async put(key: string, source: Readable | Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    let temp: string | null = null;
    let handle: FileHandle | null = null;
    let direct: DirectFile | null = null;
    try {
      const file = this.pathOf(parseKey(key));
      if (!options.overwrite && (await guard('write', key, () => exists(file)))) throw artifactExists(key);
      temp = `${file}${TEMP_MARKER}${randomBytes(8).toString('hex')}`;
      handle = await guard('write', key, () => createTemp(temp!));
      const fileHandle = handle;
      direct = await guard('write', key, () =>
        DirectFile.open(temp!, options.readBack ? 'rw' : 'w', this.directIo, () => void (this.directIo = false)),
      );
      const directly = direct;
      // Chunks (a network source's are often 64 KiB) are copied into reused MiB blocks and written
      // a MiB at a time, directly to the disk where the file system can (direct-io.ts): few round
      // trips through the thread pool, no copy in the page cache, and each chunk is garbage as soon
      // as it is copied. Holding the chunks themselves until their write (as a writev of them did)
      // kept them alive long enough, under the worker's small young generation, to be promoted,
      // and their bytes then cost major collections (--trace-gc). Two blocks: one is written while
      // the next fills, as a direct write waits for the disk.
      //
      // With `readBack`, each part is read back once written (a direct block from the disk, with
      // direct I/O again) into a third block and compared: a memcmp where verification would have
      // re-read and re-hashed the whole object after the put, on the backup's critical path.
      const blocks = [batches.take(), batches.take()];
      const spare = options.readBack ? batches.take() : null;
      let current = 0;
      let filled = 0;
      let position = 0;
      const inFlight: { write: Promise<void> | null } = { write: null }; // the block being written
      const writeBlock = async (block: Buffer, length: number, at: number) => {
        const transfer = async (h: FileHandle) => {
          await writeFully(h, block, length, at);
          if (spare) await readBack(h, block, spare, length, at);
        };
        if (length === DIRECT_BLOCK_BYTES && (await directly.attempt(transfer))) return;
        await transfer(fileHandle); // the last part, or the file system refused
      };
      const flush = async () => {
        await inFlight.write;
        const length = filled;
        const writing = guard('write', key, () => writeBlock(blocks[current], length, position));
        writing.catch(() => undefined); // awaited before the next block, at the end, or in finally
        inFlight.write = writing;
        position += length;
        current ^= 1;
        filled = 0;
      };
      let result: PutResult;
      try {
        /** Copies `chunk` from `from` into the blocks: a promise only when a full block must wait for the one before. */
        const take = (chunk: Buffer, from: number): Promise<void> | undefined => {
          for (let offset = from; offset < chunk.length;) {
            const block = blocks[current];
            const n = Math.min(chunk.length - offset, block.length - filled);
            chunk.copy(block, filled, offset, offset + n);
            filled += n;
            offset += n;
            if (filled === block.length) {
              const rest = offset;
              return flush().then(() => take(chunk, rest));
            }
          }
          return undefined;
        };
        result = await drainSource(source, (chunk) => take(chunk, 0));
        if (filled > 0) await flush();
        await inFlight.write;
      } finally {
        await inFlight.write?.catch(() => undefined); // never hand back a block a write still reads
        for (const block of spare ? [...blocks, spare] : blocks) batches.give(block);
      }
      await guard('write', key, () => fileHandle.sync()); // the direct blocks' extents and the file's size too
      direct = null;
      await directly.close();
      handle = null;
      await guard('write', key, () => fileHandle.close()); // NFS reports deferred write errors here
      await guard('write', key, () => publish(temp!, file, key, options.overwrite === true));
      temp = null;
      await guard('write', key, () => syncDirectory(dirname(file)));
      return spare ? { ...result, readBack: true } : result;
    } catch (error) {
      discardSource(source);
      await direct?.close();
      await handle?.close().catch(() => undefined);
      if (temp) await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Stores the concatenation of `parts` (bytes, or the whole of a local file) under `key`, with
   * put's guarantees (atomic, write-once unless `overwrite`, fsynced, same errors) and result. For
   * big local files such as a mirror's pack: reading, hashing, writing and fsync run in a worker
   * thread with one reused buffer, so a few hundred MB cost neither a round trip through the event
   * loop per chunk (a busy loop slowed them down, and they slowed the loop) nor garbage to collect.
   * A file must not change while it is copied (the caller holds it: the repository lock).
   */
  async putConcat(key: string, parts: (Uint8Array | { file: string })[], options: PutOptions = {}): Promise<PutResult> {
    let temp: string | null = null;
    try {
      const file = this.pathOf(parseKey(key));
      if (!options.overwrite && (await guard('write', key, () => exists(file)))) throw artifactExists(key);
      temp = `${file}${TEMP_MARKER}${randomBytes(8).toString('hex')}`;
      await guard('write', key, async () => (await createTemp(temp!)).close());
      const result = await guard('write', key, () => copyInWorker(temp!, parts));
      await guard('write', key, () => publish(temp!, file, key, options.overwrite === true));
      temp = null;
      await guard('write', key, () => syncDirectory(dirname(file)));
      return result;
    } catch (error) {
      if (temp) await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  async open(key: string): Promise<Readable> {
    const { handle, size } = await this.openFile(key);
    // A MiB per read, as put writes: a sixteenth of the default 64 KiB's round trips through the
    // thread pool and of the chunks each reader then handles (hashing, tar, HTTP, git's stdin).
    // The stream's last byte is the object's (`end`): a read stream's buffer is then no bigger
    // than what is left, not a MiB for a manifest of a few KiB (and another for the read that
    // finds the end), which the garbage collector counts as a MiB of external memory each.
    // The stream closes the handle when it ends or is destroyed.
    return size === 0
      ? handle.createReadStream({ highWaterMark: 1 })
      : handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES, start: 0, end: size - 1 });
  }

  async openReader(key: string): Promise<ObjectReader> {
    const { handle } = await this.openFile(key);
    return {
      read: (into, position) =>
        guard('read', key, async () => (await handle.read(into, 0, into.length, position)).bytesRead),
      close: () => handle.close().catch(() => undefined),
    };
  }

  async digest(key: string): Promise<PutResult> {
    const { handle, size: stored } = await this.openFile(key);
    // Reused blocks (a verification's reads make no garbage: a read stream allocates a fresh MiB
    // per read, hundreds per pass of a big organization), and up to DIGEST_BLOCKS reads in flight
    // while one block is hashed: a direct read waits for the disk, and one at a time this disk
    // gave 0.7 GB/s, four at once 0.9-1.0 (150 MiB in 175 ms instead of 220, hashing alone 90),
    // at the end of the biggest repository's backup, where nothing else is left to overlap it.
    // A big object is read directly from the disk (direct-io.ts): what verification hashes is
    // what the disk holds, and no page-cache copy of it is made or kept.
    const direct = await guard('read', key, () =>
      DirectFile.open(
        this.pathOf(parseKey(key)),
        'r',
        this.directIo && stored >= DIRECT_BLOCK_BYTES,
        () => void (this.directIo = false),
      ),
    ).catch(async (error: unknown) => {
      await handle.close().catch(() => undefined);
      throw error;
    });
    /** One whole block at `at`, or less only at the object's end (`end`). */
    const fill = async (block: Buffer, at: number) => {
      const directly = await direct.attempt((h) => h.read(block, 0, block.length, at));
      // A direct read stops short only at the end; an ordinary one may, in principle, anywhere.
      if (directly) return { bytesRead: directly.result.bytesRead, end: directly.result.bytesRead < block.length };
      const bytesRead = await readFully(handle, block, block.length, at);
      return { bytesRead, end: bytesRead < block.length };
    };
    const free = Array.from({ length: Math.min(DIGEST_BLOCKS, Math.floor(stored / DIRECT_BLOCK_BYTES) + 1) }, () =>
      batches.take(),
    );
    const reads: { block: Buffer; result: Promise<{ bytesRead: number; end: boolean }> }[] = [];
    let position = 0;
    const issue = () => {
      const block = free.pop()!;
      const result = guard('read', key, () => fill(block, position));
      result.catch(() => undefined); // awaited in its turn
      reads.push({ block, result });
      position += block.length;
    };
    try {
      while (free.length) issue();
      const hash = createHash('sha256');
      let size = 0;
      for (;;) {
        const { block, result } = reads.shift()!;
        const { bytesRead, end } = await result;
        hash.update(block.subarray(0, bytesRead));
        size += bytesRead;
        free.push(block);
        if (end) break;
        issue();
      }
      return { size, sha256: hash.digest('hex') };
    } finally {
      // Never hand back a block a read still fills.
      await Promise.allSettled(reads.map((r) => r.result));
      for (const block of [...free, ...reads.map((r) => r.block)]) batches.give(block);
      await direct.close();
      await handle.close().catch(() => undefined);
    }
  }

  /** The object's file, open for reading; ARTIFACT_NOT_FOUND when missing or a folder (a prefix). */
  private async openFile(key: string): Promise<{ handle: FileHandle; size: number }> {
    const file = this.pathOf(parseKey(key));
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (MISSING.has(errno(error)) || errno(error) === 'EISDIR') throw artifactNotFound(key);
      throw storageUnavailable('read', key, error);
    }
    const info = await handle.stat().catch(async (error: unknown) => {
      await handle.close().catch(() => undefined);
      throw storageUnavailable('read', key, error);
    });
    if (!info.isFile()) {
      await handle.close();
      throw artifactNotFound(key); // a directory is a prefix, not an object
    }
    return { handle, size: info.size };
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const file = this.pathOf(parseKey(key));
    try {
      const info = await stat(file);
      return info.isFile() ? { size: info.size, modifiedAt: info.mtime } : null;
    } catch (error) {
      if (MISSING.has(errno(error))) return null;
      throw storageUnavailable('stat', key, error);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    yield* this.walk(parsePrefix(prefix).join('/'));
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(parseKey(key));
    try {
      await unlink(file);
    } catch (error) {
      if (MISSING.has(errno(error)) || errno(error) === 'EISDIR') return; // nothing (or only a prefix) there
      throw storageUnavailable('delete', key, error);
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const segments = parsePrefix(prefix);
    if (segments.length === 0) throw validationError({ prefix: 'must not be empty' });
    const key = segments.join('/');
    const dir = this.pathOf(segments);
    const grave = `${dir}${TEMP_MARKER}deleted-${randomBytes(8).toString('hex')}`;
    try {
      if (!(await lstat(dir)).isDirectory()) return; // an object at `prefix` is not below it
      await rename(dir, grave); // everything disappears from `list` at once
    } catch (error) {
      if (MISSING.has(errno(error))) return;
      throw storageUnavailable('delete', key, error);
    }
    await guard('delete', key, () => rm(grave, { recursive: true, force: true }));
  }

  /** Removes `.tmp-` entries older than `olderThanMs` anywhere below the root; returns how many. */
  async removeStaleTemps(olderThanMs: number, keep?: (key: string) => Promise<boolean>): Promise<number> {
    const cutoff = this.clock.now().getTime() - olderThanMs;
    let removed = 0;
    const sweep = async (dir: string): Promise<void> => {
      for (const entry of await this.entries(dir)) {
        const path = join(dir, entry.name);
        if (entry.name.includes(TEMP_MARKER)) {
          const info = await lstat(path).catch(() => null);
          const key = path
            .slice(this.root.length + 1)
            .split(sep)
            .join('/');
          if (info && info.mtimeMs < cutoff && !(await keep?.(key))) {
            await guard('sweep', path.slice(this.root.length + 1), () => rm(path, { recursive: true, force: true }));
            removed += 1;
          }
        } else if (entry.isDirectory()) {
          await sweep(path);
        }
      }
    };
    await sweep(this.root);
    return removed;
  }

  /**
   * The periodic sweep of what failed writes leave behind (the one at `open` runs once per
   * process): `.tmp-` entries older than `olderThanMs` anywhere, published folders included, and
   * the folders `unit` matches (a snapshot's, by key) that hold no `marker` object (its manifest,
   * written last) and in which nothing changed for `olderThanMs`, unless `inUse` says a writer may
   * still own them. The same guard keeps the temp files of such a folder: a snapshot still being
   * written may have a write idle for longer than `olderThanMs` (a slow GitLab listing), whose
   * rename would fail if its temp file were swept. Returns what it removed.
   */
  async sweep(options: {
    olderThanMs: number;
    unit: RegExp;
    marker: string;
    inUse: (key: string) => Promise<boolean>;
  }): Promise<{ temps: number; folders: string[] }> {
    // A temp file inside an unpublished unit folder that a writer may still own stays.
    const temps = await this.removeStaleTemps(options.olderThanMs, async (key) => {
      const segments = key.split('/');
      for (let n = 1; n < segments.length; n += 1) {
        const unit = segments.slice(0, n).join('/');
        if (!options.unit.test(unit)) continue;
        return !(await this.stat(`${unit}/${options.marker}`)) && (await options.inUse(unit));
      }
      return false;
    });
    const cutoff = this.clock.now().getTime() - options.olderThanMs;
    const folders: string[] = [];
    const visit = async (key: string): Promise<void> => {
      for (const entry of await this.entries(key ? this.pathOf(key.split('/')) : this.root)) {
        if (!entry.isDirectory() || entry.name.includes(TEMP_MARKER) || !isKeySegment(entry.name)) continue;
        const child = key ? `${key}/${entry.name}` : entry.name;
        if (!options.unit.test(child)) {
          await visit(child);
          continue;
        }
        if (await this.stat(`${child}/${options.marker}`)) continue;
        if ((await newestChange(this.pathOf(child.split('/')))) >= cutoff || (await options.inUse(child))) continue;
        await this.deletePrefix(child);
        folders.push(child);
      }
    };
    await visit('');
    return { temps, folders };
  }

  private pathOf(segments: string[]): string {
    return join(this.root, ...segments);
  }

  private async *walk(relative: string): AsyncGenerator<string> {
    const entries = await this.entries(relative ? this.pathOf(relative.split('/')) : this.root);
    for (const entry of entries) {
      if (entry.name.includes(TEMP_MARKER) || !isKeySegment(entry.name)) continue;
      const key = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) yield* this.walk(key);
      else if (entry.isFile()) yield key;
    }
  }

  /** A directory's entries sorted by name; none when it does not exist (or vanished meanwhile). */
  private async entries(dir: string): Promise<Dirent[]> {
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (error) {
      if (MISSING.has(errno(error))) return [];
      throw storageUnavailable('list', dir.slice(this.root.length + 1), error);
    }
  }
}

/** The newest mtime (ms) of a directory and everything below it. */
async function newestChange(dir: string): Promise<number> {
  let newest = (await lstat(dir)).mtimeMs;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory() ? await newestChange(path) : ((await lstat(path).catch(() => null))?.mtimeMs ?? 0),
    );
  }
  return newest;
}

/** Runs a file system operation, translating its failure to STORAGE_UNAVAILABLE (DomainErrors pass). */
async function guard<T>(operation: string, key: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw storageUnavailable(operation, key, error);
  }
}

function isKeySegment(name: string): boolean {
  try {
    parseKey(name);
    return true;
  } catch {
    return false; // foreign files such as .DS_Store are not objects
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (MISSING.has(errno(error))) return false;
    throw error;
  }
}

async function createTemp(temp: string): Promise<FileHandle> {
  try {
    return await open(temp, 'wx+', 0o600); // read too: put's read-back of the last part
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error;
    await makeDirectories(dirname(temp));
    return open(temp, 'wx+', 0o600);
  }
}

/**
 * `mkdir -p` (0700) that fails with the real reason. Node's recursive mkdir answers ENOENT on a
 * read-only file system or a directory it may not write (it stats the path it could not create),
 * which would report a read-only storage as a missing file: create the missing levels one by one
 * then, which fails with EROFS or EACCES.
 */
async function makeDirectories(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return;
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error;
  }
  const missing: string[] = [];
  for (let at = dir; !(await exists(at)); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const level of missing) {
    await mkdir(level, { mode: 0o700 }).catch((error: unknown) => {
      if (errno(error) !== 'EEXIST') throw error;
    });
  }
}

const READ_CHUNK_BYTES = 1024 * 1024;

/** Blocks one digest reads into at once (so up to one less in flight while one is hashed). */
const DIGEST_BLOCKS = 4;

/** Page-aligned MiB blocks for writes (put) and reads (digest), reused; a few are kept while idle. */
const batches = {
  free: [] as Buffer[],
  take(): Buffer {
    return this.free.pop() ?? alignedBlock();
  },
  give(buffer: Buffer): void {
    if (this.free.length < 16) this.free.push(buffer);
  },
};

/** Writes `buffer[0, length)` at `position` of the file (a write may write fewer bytes than asked). */
async function writeFully(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  for (let offset = 0; offset < length;) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset, position + offset);
    if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    offset += bytesWritten;
  }
}

/** Reads `into[0, length)` from `position`, fewer bytes only at the file's end; resolves with how many. */
async function readFully(handle: FileHandle, into: Buffer, length: number, position: number): Promise<number> {
  let offset = 0;
  while (offset < length) {
    const { bytesRead } = await handle.read(into, offset, length - offset, position + offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset;
}

/**
 * Reads `length` bytes at `position` back into `into` and fails with EIO unless they are
 * `written`'s: the storage did not keep what it was given. (Exported for its test.)
 */
export async function readBack(handle: FileHandle, written: Buffer, into: Buffer, length: number, position: number) {
  if ((await readFully(handle, into, length, position)) !== length || into.compare(written, 0, length, 0, length) !== 0)
    throw Object.assign(new Error(`${length} bytes at ${position} read back differ from those written`), {
      code: 'EIO',
    });
}

async function publish(temp: string, file: string, key: string, overwrite: boolean): Promise<void> {
  if (overwrite) return rename(temp, file);
  try {
    await link(temp, file);
  } catch (error) {
    if (errno(error) === 'EEXIST') throw artifactExists(key);
    if (!NO_HARD_LINKS.has(errno(error))) throw error;
    if (await exists(file)) throw artifactExists(key);
    return rename(temp, file);
  }
  await unlink(temp).catch(() => undefined); // published already; a leftover link is swept later
}

/** Writes, hashes and fsyncs `temp` from `parts` in a worker thread (plain JavaScript: no loader needed). */
const COPY_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
let size = 0;
const out = fs.openSync(workerData.temp, 'w');
const writeAll = (bytes) => {
  for (let offset = 0; offset < bytes.length; ) offset += fs.writeSync(out, bytes, offset, bytes.length - offset);
  hash.update(bytes);
  size += bytes.length;
};
try {
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  for (const part of workerData.parts) {
    if (part.bytes) {
      writeAll(Buffer.from(part.bytes.buffer, part.bytes.byteOffset, part.bytes.byteLength));
      continue;
    }
    const input = fs.openSync(part.file, 'r');
    try {
      for (let n; (n = fs.readSync(input, buffer, 0, buffer.length, null)) > 0; ) writeAll(buffer.subarray(0, n));
    } finally {
      fs.closeSync(input);
    }
  }
  fs.fsyncSync(out);
} finally {
  fs.closeSync(out);
}
parentPort.postMessage({ size, sha256: hash.digest('hex') });
`;

function copyInWorker(temp: string, parts: (Uint8Array | { file: string })[]): Promise<PutResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(COPY_WORKER, {
      eval: true,
      workerData: {
        temp,
        parts: parts.map((part) => (part instanceof Uint8Array ? { bytes: part } : { file: part.file })),
      },
    });
    let result: PutResult | null = null;
    worker.once('message', (message: PutResult) => (result = message));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`copy worker exited with code ${code}`)),
    );
  });
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!NO_DIR_SYNC.has(errno(error))) throw error;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
