/**
 * One metadata type as one artifact: records streamed as JSON Lines through compression and
 * encryption into storage. A type GitLab will not give (scope, role, tier) is SKIPPED with the
 * reason; any other failure is FAILED (the snapshot ends PARTIAL) — except a transient one while
 * the run may still try the item again, which is thrown so that it does.
 */
import { Readable } from 'node:stream';
import { DomainError, isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { StorageBackend } from '../storage/storage.port.js';
import type { Manifest, ManifestArtifact } from '../snapshot/manifest.js';
import { withoutSecrets } from './metadata-secrets.js';
import { RecordsDigest } from './records-digest.js';

export interface MetadataArtifactInput {
  store: StorageBackend;
  codec: ArtifactCodec;
  logger: Logger;
  type: string;
  records: (
    onCount: (n: number) => void,
    onWarning: (warning: string) => void,
  ) => AsyncIterable<Record<string, unknown>>;
  compression: 'NONE' | 'GZIP' | 'BROTLI';
  key: Buffer | null;
  prefix: string;
  onCount: (n: number) => void;
  /**
   * A transient failure (a retryable GITLAB_* error, after the transport's own retries) is thrown
   * instead of recorded as FAILED: the run tries the whole item again later (backup-run.service.ts).
   */
  rethrowTransient?: boolean;
}

export async function writeMetadataArtifact(input: MetadataArtifactInput): Promise<{
  entry: Manifest['metadata'][string];
  artifact: ManifestArtifact | null;
  digest: string | null;
  notOnTier?: boolean;
}> {
  const { store, type, compression, key, prefix } = input;
  const extension = compression === 'GZIP' ? '.gz' : compression === 'BROTLI' ? '.br' : '';
  const path = `metadata/${type}.jsonl${extension}${key ? '.enc' : ''}`;
  let records = 0;
  // Child listings that failed (the parent record kept with what was read) and counts that differ
  // from GitLab's x-total: kept in the manifest entry and reported as the snapshot's warnings.
  const warnings: string[] = [];
  const source = input.records(input.onCount, (warning) => warnings.push(warning));
  const digest = new RecordsDigest();
  const lines = Readable.from(
    (async function* () {
      for await (const record of source) {
        records++;
        const line = JSON.stringify(withoutSecrets(type, record));
        digest.add(line);
        yield `${line}\n`;
      }
    })(),
  );
  const encoded = input.codec.encode({ compression, key });
  // pipe() does not forward errors: a failing GitLab listing must fail the put, not go unhandled.
  lines.on('error', (error) => encoded.destroy(error));
  encoded.on('error', () => undefined); // observed by put(), which rejects with it
  try {
    const stored = await store.put(`${prefix}/${path}`, lines.pipe(encoded));
    return {
      entry: { status: 'OK', records, ...(warnings.length ? { warnings } : {}) },
      artifact: {
        path,
        kind: 'METADATA',
        size: stored.size,
        sha256: stored.sha256,
        compression,
        encrypted: !!key,
        metadataType: type,
        records,
      },
      digest: digest.digest(),
    };
  } catch (error) {
    await store.delete(`${prefix}/${path}`).catch(() => undefined);
    if (input.rethrowTransient && error instanceof DomainError && error.retryable) throw error;
    // A 404 is GitLab saying it has no such list for this project (a feature switched off, an
    // API the instance lacks): said in plain words; the request itself stays in the log.
    const reason = isDomainError(error, 'GITLAB_NOT_FOUND')
      ? 'GitLab has none for this project (the feature is off, or the instance does not offer it)'
      : error instanceof DomainError
        ? error.message
        : 'unexpected error (see the worker log)';
    const skipReason = (error as DomainError)?.details?.skipReason;
    const skip = typeof skipReason === 'string' ? skipReason : null;
    if (skip || isDomainError(error, 'GITLAB_FORBIDDEN') || isDomainError(error, 'GITLAB_NOT_FOUND')) {
      const notOnTier = (error as DomainError).details?.skipKind === 'NOT_ON_TIER';
      return {
        entry: { status: 'SKIPPED', records: 0, reason: skip ?? reason },
        artifact: null,
        digest: null,
        notOnTier,
      };
    }
    input.logger.warn({ err: error, type }, 'metadata export failed');
    return { entry: { status: 'FAILED', records: 0, reason }, artifact: null, digest: null };
  }
}

/**
 * Every type of a snapshot's metadata, one artifact each, in order: the manifest's `metadata`, the
 * artifacts written, a warning for each type not OK — or a note for one the GitLab tier does not
 * offer. `onRecords` gets the running total.
 */
export async function writeMetadataArtifacts<Type extends string>(input: {
  store: StorageBackend;
  codec: ArtifactCodec;
  logger: Logger;
  types: readonly Type[];
  records(
    type: Type,
    onCount: (n: number) => void,
    onWarning: (warning: string) => void,
  ): AsyncIterable<Record<string, unknown>>;
  compression: MetadataArtifactInput['compression'];
  keyFor(type: Type): Buffer | null;
  prefix: string;
  /** See MetadataArtifactInput.rethrowTransient. */
  rethrowTransient?: boolean;
  /** Called before each type (keeps the job's lock alive). */
  beforeType(): Promise<void>;
  onRecords(total: number): void;
}): Promise<{
  metadata: Manifest['metadata'];
  artifacts: ManifestArtifact[];
  warnings: string[];
  /** Facts that are not problems (a type the GitLab tier does not offer). */
  notes: string[];
  /** Per type written: its RecordsDigest (records-digest.ts). */
  digests: Map<Type, string>;
}> {
  const metadata: Manifest['metadata'] = {};
  const artifacts: ManifestArtifact[] = [];
  const digests = new Map<Type, string>();
  const warnings: string[] = [];
  const notes: string[] = [];
  let total = 0;
  for (const type of input.types) {
    await input.beforeType();
    const result = await writeMetadataArtifact({
      store: input.store,
      codec: input.codec,
      logger: input.logger,
      type,
      records: (onCount, onWarning) => input.records(type, onCount, onWarning),
      compression: input.compression,
      key: input.keyFor(type),
      prefix: input.prefix,
      rethrowTransient: input.rethrowTransient,
      onCount: (n) => input.onRecords(total + n),
    });
    metadata[type] = result.entry;
    if (result.artifact) artifacts.push(result.artifact);
    if (result.digest) digests.set(type, result.digest);
    total += result.entry.records;
    // A type the GitLab tier does not offer (epics on Free) is a fact of that tier, not a problem:
    // a note, so that every run of a Free group does not read as partial.
    if (result.notOnTier)
      notes.push(
        `${type}: not available on this GitLab tier (${(result.entry.reason ?? '').replace(/; not available on this tier$/, '')})`,
      );
    else if (result.entry.status !== 'OK')
      warnings.push(`${type}: ${result.entry.status.toLowerCase()} (${result.entry.reason})`);
    for (const warning of result.entry.warnings ?? [])
      warnings.push(warning.startsWith(`${type}`) ? warning : `${type}: ${warning}`);
  }
  return { metadata, artifacts, warnings, notes, digests };
}
