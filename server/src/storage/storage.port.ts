/**
 * StorageBackend: where a snapshot's artifacts live, after restic's `Backend` (Save, Load, Stat,
 * List, Remove). It stores opaque bytes under keys and knows nothing about snapshots, manifests,
 * compression or encryption; the backup engine builds keys and the artifact codec shapes bytes.
 *
 * Keys are relative POSIX paths built from ids and fixed names, such as
 * `orgs/<orgId>/repos/<repoId>/snapshots/<snapshotId>/manifest.json` (see storage-key.ts for the
 * exact rules). Every implementation runs the conformance suite in test/storage.
 */
import type { Readable } from 'node:stream';

export interface PutOptions {
  /**
   * Replace an existing object (atomically: readers see the old or the new bytes, never a mix).
   * Default false. Artifacts and manifests are write-once; only the conformance suite's
   * atomic-overwrite check and repairs by an operator should ever pass true.
   */
  overwrite?: boolean;
  /**
   * Read every part back from the storage once it is written and compare it with what was
   * written, failing the put on a difference (`PutResult.readBack` says whether it was done).
   * Verification after a backup then takes the stored bytes as proven and does not re-read them.
   * A backend that cannot ignores it. Default false.
   */
  readBack?: boolean;
}

export interface PutResult {
  /** Bytes written. */
  size: number;
  /** Lowercase hex SHA-256 of the bytes written, computed while writing. */
  sha256: string;
  /**
   * Every byte was read back from the storage after it was written and found equal (`readBack`
   * asked for it and the backend did it): the stored object is the bytes `sha256` hashed.
   */
  readBack?: boolean;
  /** When the backend locked the object (S3 Object Lock): it cannot be deleted before this date. */
  retainUntil?: Date | null;
}

export interface ObjectInfo {
  size: number;
  modifiedAt: Date;
}

/** One object open for reads into the caller's buffers (`StorageBackend.openReader`). */
export interface ObjectReader {
  /**
   * Reads up to `into.length` bytes from `position` into `into`; resolves with how many (0 at the
   * end). STORAGE_UNAVAILABLE when the medium fails.
   */
  read(into: Uint8Array, position: number): Promise<number>;
  /** Releases the object (a file handle); waits for reads in flight. */
  close(): Promise<void>;
}

export interface StorageBackend {
  /** Where objects live, for logs (`/data/backups`, `memory`); never contains credentials. */
  readonly location: string;

  /**
   * Stores `source` under `key` atomically: the object appears whole or not at all, so a reader
   * never sees a partial object and a failed or crashed write leaves nothing visible.
   *
   * Ownership: `put` takes `source`. It reads a stream to its end, or destroys it when it gives up
   * (refusal, storage error, or the source's own error), so the caller never has to clean up.
   *
   * Errors: VALIDATION_FAILED for a malformed key (before reading anything); ARTIFACT_EXISTS when
   * the key exists and `overwrite` is not set (checked before reading, and again atomically at
   * commit, so of two racing writers exactly one wins); STORAGE_UNAVAILABLE when the medium fails
   * (`retryable` unless the cause is a permission or read-only file system). An error emitted by
   * `source` is rethrown unchanged.
   */
  put(key: string, source: Readable | Uint8Array, options?: PutOptions): Promise<PutResult>;

  /**
   * Optional: `put` of the concatenation of `parts` (bytes, or the whole of a local file), with
   * the same guarantees, errors and result, for backends that copy a big local file more cheaply
   * than through a stream. A file must not change while it is copied.
   */
  putConcat?(key: string, parts: (Uint8Array | { file: string })[], options?: PutOptions): Promise<PutResult>;

  /**
   * Opens the object for reading. A missing key rejects with ARTIFACT_NOT_FOUND here, before any
   * stream exists. The caller owns the returned stream: read it to its end or `destroy()` it, which
   * releases the file handle. A stream opened before an overwrite keeps reading the old bytes.
   */
  open(key: string): Promise<Readable>;

  /**
   * Optional: the object opened for reads into the caller's buffers, for a reader that reuses its
   * buffers (a DOWNLOAD archive: no fresh buffer per read). Errors as `open`'s. The caller closes it.
   */
  openReader?(key: string): Promise<ObjectReader>;

  /**
   * Optional: the size and SHA-256 of the object as stored, what `open` then hashing would give
   * (a missing key rejects with ARTIFACT_NOT_FOUND), read without a stream of fresh buffers when
   * the backend can (local files: one reused buffer). Verification re-hashes every stored byte.
   */
  digest?(key: string): Promise<PutResult>;

  /** Size and modification time, or null when the key does not exist. */
  stat(key: string): Promise<ObjectInfo | null>;

  /**
   * Every key below `prefix`, recursively, in no particular order (sort if you need one).
   * `prefix` is a key-like path matched segment by segment: `orgs/1` lists `orgs/1/…` but not
   * `orgs/12/…`; a trailing `/` is allowed; `''` lists everything. Writes in progress and their
   * leftovers never appear. Keys removed while listing may or may not appear.
   */
  list(prefix: string): AsyncIterable<string>;

  /**
   * Optional: aborts writes in progress below `prefix` that a crashed writer left behind (S3's
   * incomplete multipart uploads: invisible, but their parts are kept and billed). Call it only
   * when no live writer can be using the prefix (a retry that owns the snapshot's folder).
   * Idempotent; resolves with how many were aborted.
   */
  abortUploads?(prefix: string): Promise<number>;

  /**
   * Optional: a URL anyone holding it can GET the object at `key` with until `expiresAt`, without
   * other credentials (S3's presigned URL). Signed locally: nothing is sent to the server.
   */
  presignGet?(key: string, expiresAt: Date): Promise<string>;

  /** Removes one object. Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;

  /**
   * Removes every object below `prefix` (segment-wise, as in `list`). Idempotent. The objects
   * disappear from `list` at once, even if reclaiming the space takes longer. An empty prefix is
   * refused with VALIDATION_FAILED: wiping a whole store is not an operation.
   */
  deletePrefix(prefix: string): Promise<void>;
}

/**
 * Where a policy's artifacts go, and where a snapshot's are: snapshots record their storage root,
 * so changing a policy's storage never loses the way to older snapshots. One StorageBackend per
 * root, opened once and shared.
 */
export interface StorageRoots {
  /** `storage:<id>` for a named storage (S3), else the local directory's absolute path. */
  rootFor(policy: { storage: { path: string | null; storageId?: string | null } }): string;
  at(root: string): Promise<StorageBackend>;
}
