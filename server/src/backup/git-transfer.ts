/**
 * A repository's (or wiki's) git data into a snapshot: refs, and a bundle of what is new since the
 * parent snapshot. Straight from GitLab over protocol v2 by default (the pack is stored behind the
 * bundle header as it arrives); through a local bare mirror when LFS needs one or GitLab does not
 * speak protocol v2, in which case the bundle is written from the mirror afterwards (`finish`).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { GitProgress } from '../git/git.js';
import { defaultGitLabHttp, type GitAuth, type GitLabHttp } from '../gitlab/gitlab-http.js';
import { bundleHeader, createBundle, headRef, listRefs, singlePackBundle, syncMirror } from '../git/mirror.js';
import type { PackChecks } from '../git/pack-check.js';
import { discoverUploadPack, fetchPack, lsRefs, ProtocolV2UnsupportedError } from '../git/upload-pack.js';
import type { Logger } from '../shared/logger.js';
import { artifactKey } from '../snapshot/artifact-keys.js';
import type { GitState, Manifest, ManifestArtifact } from '../snapshot/manifest.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { StorageBackend } from '../storage/storage.port.js';
import type { ItemContext } from './backup-item.js';

/** Packs from this size on are copied into storage by `putConcat` (a worker thread), not streamed. */
const COPY_IN_WORKER_MIN_BYTES = 16 * 1024 * 1024;

type Encryption = { key: Buffer; keyId: string } | null;
type BundleKind = 'GIT_BUNDLE' | 'WIKI_BUNDLE';

/**
 * How a repository's git data came: streamed into its bundle already (`checked`: git checked every
 * object and the refs' history as the pack streamed in, see pack-check.ts; `readBack`: the storage
 * read every byte of the bundle back as it was written and found it equal), or into a local mirror.
 */
export type Fetched =
  | { via: 'direct'; state: GitState; checked: boolean; readBack: boolean }
  | { via: 'mirror'; state: Omit<GitState, 'bundle'> };

export interface FetchGitOptions {
  url: string;
  mirror: string;
  viaMirror: boolean;
  /** For logs: the repository's path (and "(wiki)"). */
  what: string;
  /** The bundle's artifact path and kind. */
  path: string;
  kind: BundleKind;
  store: StorageBackend;
  prefix: string;
  /** Renewed (OAuth refresh) when GitLab answers 401; carries the connection's private CA. */
  auth: GitAuth;
  ctx: ItemContext;
  onProgress: (p: GitProgress) => void;
  /** Settles with the key and the parent's manifest, prepared while git talks to GitLab. */
  prepared: Promise<{ encryption: Encryption; parentManifest: Manifest | null }>;
  parentOf: (manifest: Manifest | null) => GitState | null;
  /** The snapshot's artifact list: a stored bundle is added to it. */
  artifacts: ManifestArtifact[];
  /**
   * Check a FULL's pack as it streams in (verify-after-backup), in a scratch repository of
   * `GitTransferDeps.checks` for each try. Without it the pack is only stored.
   */
  checkIn?: boolean;
}

export interface BundleOptions {
  store: StorageBackend;
  mirror: string;
  path: string;
  kind: BundleKind;
  prefix: string;
  /** A scratch folder of the attempt, made on first use. */
  scratch: () => Promise<string>;
  encryption: Encryption;
  artifacts: ManifestArtifact[];
}

export interface GitTransferDeps {
  codec: ArtifactCodec;
  logger: Logger;
  /** The application's GitLab transport, whose retry policy (the API's) git transfers use. */
  http?: GitLabHttp;
  /** Where packs are checked as they stream in (`FetchGitOptions.checkIn`). */
  checks: PackChecks;
}

export class GitTransfer {
  constructor(private readonly deps: GitTransferDeps) {}

  /**
   * A repository's (or wiki's) refs and, when anything is new since the parent snapshot, its
   * bundle. Straight from GitLab by default: the pack GitLab sends (everything for a FULL; a thin
   * pack against the parent's tips otherwise) is stored behind the bundle header as it arrives.
   * Through a local bare mirror (`git clone --mirror`, then `git fetch --prune`) when asked (LFS
   * needs a local repository to find pointers in) or when GitLab does not offer protocol v2; that
   * path's bundle is written afterwards by `finish()`.
   */
  async fetchGit(o: FetchGitOptions): Promise<Fetched> {
    if (!o.viaMirror) {
      try {
        return { via: 'direct', ...(await this.direct(o)) };
      } catch (error) {
        if (!(error instanceof ProtocolV2UnsupportedError)) throw error;
        this.deps.logger.warn(
          { repository: o.what },
          'GitLab does not offer git protocol v2 here: backing up through a local mirror',
        );
      }
    }
    await this.fetch(
      () => syncMirror(o.mirror, o.url, { auth: o.auth, onProgress: o.onProgress, signal: o.ctx.signal }),
      o.ctx,
      o.what,
    );
    const { parentManifest } = await o.prepared;
    return { via: 'mirror', state: await refsOf(o.mirror, o.parentOf(parentManifest)) };
  }

  private async direct(o: FetchGitOptions): Promise<{ state: GitState; checked: boolean; readBack: boolean }> {
    const { ctx, auth } = o;
    const http = { auth, caCertificate: auth.caCertificate, signal: ctx.signal, http: this.deps.http };
    const [{ service, remote }, { encryption, parentManifest }] = await Promise.all([
      this.fetch(
        async () => {
          const found = await discoverUploadPack(o.url, http); // once: ls-refs and the fetch both use it
          return { service: found, remote: await lsRefs(found, http) };
        },
        ctx,
        o.what,
      ),
      o.prepared,
    ]);
    const parent = o.parentOf(parentManifest);
    const parentTips = parent ? [...new Set(Object.values(parent.refs))] : [];
    const state: GitState = { refs: remote.refs, head: remote.head, prerequisites: parentTips, bundle: null };
    const wants = [...new Set(Object.values(remote.refs))];
    const present = new Set(parentTips);
    if (wants.every((oid) => present.has(oid))) return { state, checked: false, readBack: false }; // no ref, or nothing new: no transfer
    // A FULL's pack is self-contained: git checks it on its way to storage (a thin pack cannot be checked alone).
    const checkIn = parent ? undefined : o.checkIn;
    const header = bundleHeader(remote.refs, parent ? prerequisiteCommits(parent) : []);
    const stored = await this.fetch(
      async () => {
        // A checked pack goes to git index-pack as it streams (pack-check.ts), which checks its trailer too.
        const check = checkIn ? this.deps.checks.start({ refs: remote.refs, signal: ctx.signal }) : undefined;
        try {
          const { pack, objects } = await fetchPack(service, wants, parentTips, {
            ...http,
            onProgress: o.onProgress,
            checkTrailer: !check,
            check,
          });
          if (objects === 0) {
            pack.destroy(); // refs moved to objects the parent has: nothing to bundle
            return null;
          }
          let source: Readable;
          if (encryption) {
            // Packs are already compressed: bundles are only encrypted, never compressed again.
            const encoded = this.deps.codec.encode({ compression: 'NONE', key: encryption.key });
            encoded.on('error', () => undefined); // observed by put(), which rejects with it
            encoded.write(header);
            source = pack.on('error', (error) => encoded.destroy(error)).pipe(encoded);
          } else {
            // Neither compressed nor encrypted, the artifact is the plain bundle: its header, then the pack.
            pack.unshift(header);
            source = pack.on('error', () => undefined); // observed by put(), which rejects with it
          }
          // Verified after the backup: the storage reads each part back as it is written (no re-read then).
          const readBack = o.checkIn === true;
          return await o.store.put(artifactKey(o.prefix, o.path), source, { readBack }).catch((error: unknown) => {
            pack.destroy(); // a failed put (storage, or git's check) must not leave GitLab's response parked
            throw error;
          });
        } finally {
          check?.close();
        }
      },
      ctx,
      o.what,
    );
    if (!stored) return { state, checked: false, readBack: false };
    o.artifacts.push({
      path: o.path,
      kind: o.kind,
      size: stored.size,
      sha256: stored.sha256,
      compression: 'NONE',
      encrypted: !!encryption,
    });
    return { state: { ...state, bundle: o.path }, checked: !!checkIn, readBack: stored.readBack === true };
  }

  /**
   * A git transfer under the GitLab transport's retry policy, with the API's budget: retried after
   * GitLab's Retry-After (429, 503) or a backoff with jitter (5xx, cut connections, damaged packs),
   * touching the job's lock.
   */
  private fetch<T>(operation: () => Promise<T>, ctx: ItemContext, what: string): Promise<T> {
    return (this.deps.http ?? defaultGitLabHttp()).retrying(`git transfer of ${what}`, operation, {
      signal: ctx.signal,
      onRetry: (event, error) => {
        this.deps.logger.warn(
          {
            repository: what,
            attempt: event.attempt,
            delayMs: event.delayMs,
            status: event.status,
            reason: (error as Error | null)?.message,
          },
          'git transfer failed, retrying',
        );
        void ctx.touch();
      },
    });
  }

  /**
   * The git state of what was fetched: a bundle streamed straight from GitLab is stored already;
   * one that came through a local mirror (this job still has it locked) is written now.
   */
  async finish(fetched: Fetched | null, o: BundleOptions): Promise<GitState | null> {
    if (!fetched) return null;
    if (fetched.via === 'direct') return fetched.state;
    return { ...fetched.state, bundle: await this.bundle(fetched.state, o) };
  }

  /** Writes a mirror's bundle (FULL, or against `state.prerequisites`); null when nothing is new. */
  private async bundle(state: Omit<GitState, 'bundle'>, o: BundleOptions): Promise<string | null> {
    const { store, mirror, path, kind, prefix, scratch, encryption, artifacts } = o;
    const { refs, prerequisites } = state;
    // A FULL straight from a freshly cloned mirror's single pack; otherwise `git bundle create`.
    const direct = prerequisites.length === 0 ? await singlePackBundle(mirror, refs) : null;
    // A worker thread costs tens of ms to start: worth it for big packs only.
    if (direct && !encryption && store.putConcat && (await stat(direct.pack)).size >= COPY_IN_WORKER_MIN_BYTES) {
      const stored = await store.putConcat(artifactKey(prefix, path), [direct.header, { file: direct.pack }]);
      artifacts.push({ path, kind, size: stored.size, sha256: stored.sha256, compression: 'NONE', encrypted: false });
      return path;
    }
    let bytes: Readable;
    if (direct) {
      bytes = Readable.from(
        (async function* () {
          yield direct.header;
          yield* createReadStream(direct.pack, { highWaterMark: 1024 * 1024 });
        })(),
      );
    } else {
      const file = join(await scratch(), path);
      if (!(await createBundle(mirror, file, prerequisites, refs))) return null;
      bytes = createReadStream(file, { highWaterMark: 1024 * 1024 });
    }
    // Packs are already compressed: bundles are only encrypted, never compressed again.
    const encoded = this.deps.codec.encode({ compression: 'NONE', key: encryption?.key ?? null });
    encoded.on('error', () => undefined); // observed by put(), which rejects with it
    const source = bytes.on('error', (error) => encoded.destroy(error)).pipe(encoded);
    const stored = await store.put(artifactKey(prefix, path), source);
    artifacts.push({
      path,
      kind,
      size: stored.size,
      sha256: stored.sha256,
      compression: 'NONE',
      encrypted: !!encryption,
    });
    return path;
  }
}

/**
 * The bundle header's prerequisites for a pack built against `parent`'s tips: the tips of its refs
 * outside refs/tags/. A header lists commits (git 2.39's `bundle unbundle` refuses a tree or blob
 * there), and only tags point elsewhere: an annotated tag may peel to a tree or a blob, a
 * lightweight one may name one. Leaving tags out loses nothing: the objects are in the parent's
 * bundles either way, the list only lets git say early what is missing.
 */
export function prerequisiteCommits(parent: Pick<GitState, 'refs'>): string[] {
  return [
    ...new Set(
      Object.entries(parent.refs)
        .filter(([ref]) => !ref.startsWith('refs/tags/'))
        .map(([, oid]) => oid),
    ),
  ];
}

/** A mirror's refs and HEAD, and the tips of the parent snapshot its bundle builds on. */
async function refsOf(mirror: string, parent: GitState | null): Promise<Omit<GitState, 'bundle'>> {
  const [refs, head] = await Promise.all([listRefs(mirror), headRef(mirror)]);
  return { refs, head, prerequisites: parent ? [...new Set(Object.values(parent.refs))] : [] };
}
