/**
 * Storages: S3-compatible buckets a policy can name as where its snapshots go. Settings are
 * checked against the server before anything is saved (a probe object is written, read, listed
 * and deleted); the secret access key lives in the Password Manager (a PASSWORD credential),
 * never in the storage row, and is never returned. Snapshots written to a storage record the root
 * `storage:<id>`; a storage is not deleted while one of them, or a policy, still names it.
 */
import type { DataSource, Repository } from 'typeorm';
import type { CredentialService } from '../credentials/credential.service.js';
import { DomainError, validationError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { S3Storage, type S3StorageOptions } from '../storage/s3-storage.js';
import { parsePrefix } from '../storage/storage-key.js';
import type { StorageBackend } from '../storage/storage.port.js';
import { probeStorage, type ProbeResult } from './storage-probe.js';
import { StorageEntity, type S3StorageConfig } from './storage.entity.js';

export const STORAGE_ROOT_PREFIX = 'storage:';
export const storageRoot = (id: string) => `${STORAGE_ROOT_PREFIX}${id}`;

export interface StorageSettingsInput {
  name: string;
  endpoint?: string | null;
  region: string;
  bucket: string;
  prefix?: string | null;
  forcePathStyle?: boolean | null;
  accessKeyId: string;
  /** Typed here: saved as a new PASSWORD credential. Or name one with `secretCredentialId`. */
  secretAccessKey?: string | null;
  secretCredentialId?: string | null;
  serverSideEncryption?: string | null;
  kmsKeyId?: string | null;
  storageClass?: string | null;
  conditionalWrites?: boolean | null;
  objectLockMode?: string | null;
  objectLockDays?: number | null;
}

export interface StorageTestResult extends ProbeResult {
  storageId: string | null;
  location: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SSE = ['AES256', 'aws:kms'] as const;
const LOCK_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;

export class StorageService {
  private readonly repo: Repository<StorageEntity>;
  private readonly open = new Map<string, { stamp: string; backend: S3Storage }>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly credentials: CredentialService,
    private readonly logger: Logger,
    private readonly s3Options: S3StorageOptions = {},
  ) {
    this.repo = dataSource.getRepository(StorageEntity);
  }

  list(): Promise<StorageEntity[]> {
    return this.repo.find({ order: { name: 'ASC' } });
  }

  async get(id: string): Promise<StorageEntity> {
    const found = await this.repo.findOneBy({ id });
    if (!found) throw new DomainError('STORAGE_NOT_FOUND', `storage ${id} does not exist`, { details: { id } });
    return found;
  }

  /** Throws VALIDATION_FAILED on `field` unless `id` names a storage (policies name one so). */
  async requireExists(id: string, field: string): Promise<void> {
    if (!(await this.repo.existsBy({ id })))
      throw validationError({ [field]: `must be the id of a storage; no storage has id "${id}"` });
  }

  /** Checks the settings against the server, then saves them; nothing is saved when the server refuses. */
  async create(input: StorageSettingsInput): Promise<{ storage: StorageEntity; test: StorageTestResult }> {
    const name = checkName(input.name);
    const config = checkSettings(input);
    await this.refuseTakenName(name);
    const secret = await this.secretOf(input, null);
    const test = await this.probe(config, secret, null);
    const credentialId =
      input.secretCredentialId ?? (await this.newSecretCredential(name, config.accessKeyId, secret)).id;
    const entity = this.repo.create({
      id: newId(),
      name,
      kind: 'S3',
      settings: config,
      secretCredentialId: credentialId,
    });
    try {
      await this.repo.insert(entity);
    } catch (error) {
      if (!input.secretCredentialId) await this.credentials.delete(credentialId).catch(() => undefined);
      throw error;
    }
    this.logger.info({ storageId: entity.id, location: test.location }, 'storage created');
    return { storage: await this.get(entity.id), test: { ...test, storageId: entity.id } };
  }

  /** Replaces the settings (a secret left out keeps the current one), after the same check as create. */
  async update(id: string, input: StorageSettingsInput): Promise<{ storage: StorageEntity; test: StorageTestResult }> {
    const current = await this.get(id);
    const name = checkName(input.name);
    const config = checkSettings(input);
    if (name !== current.name) await this.refuseTakenName(name);
    const secret = await this.secretOf(input, current);
    const test = await this.probe(config, secret, id);
    const credentialId = input.secretAccessKey
      ? (await this.newSecretCredential(name, config.accessKeyId, secret)).id
      : (input.secretCredentialId ?? current.secretCredentialId);
    await this.repo.update({ id }, { name, settings: config, secretCredentialId: credentialId });
    this.open.delete(id);
    this.logger.info({ storageId: id, location: test.location }, 'storage updated');
    return { storage: await this.get(id), test };
  }

  usage(id: string): Promise<StorageUsage> {
    return storageUsage(this.dataSource, id);
  }

  /** Probes a saved storage: BAD_USER_INPUT naming the setting when the server refuses. */
  async test(id: string): Promise<StorageTestResult> {
    const storage = await this.get(id);
    return this.probe(storage.settings, await this.credentials.reveal(storage.secretCredentialId), id);
  }

  /** Refused (STORAGE_IN_USE) while a snapshot lives there or a policy names it. */
  async delete(id: string): Promise<void> {
    const storage = await this.get(id);
    const users = await storageUsers(this.dataSource, id);
    if (users.length)
      throw new DomainError('STORAGE_IN_USE', `storage "${storage.name}" is still used: ${users.join(', ')}`, {
        details: { id, users },
      });
    await this.repo.delete({ id });
    this.open.get(id)?.backend.close();
    this.open.delete(id);
    this.logger.info({ storageId: id }, 'storage deleted');
  }

  /** The backend of a saved storage, rebuilt when its settings or secret changed. */
  async backend(id: string): Promise<StorageBackend> {
    const storage = await this.get(id);
    const credential = await this.credentials.get(storage.secretCredentialId);
    const stamp = `${storage.updatedAt.toISOString()}|${credential.updatedAt.toISOString()}`;
    const cached = this.open.get(id);
    if (cached?.stamp === stamp) return cached.backend;
    cached?.backend.close();
    const backend = this.s3(storage.settings, await this.credentials.reveal(storage.secretCredentialId));
    this.open.set(id, { stamp, backend });
    return backend;
  }

  private s3(config: S3StorageConfig, secretAccessKey: string): S3Storage {
    return new S3Storage({ ...config, secretAccessKey }, this.s3Options);
  }

  private async probe(config: S3StorageConfig, secret: string, id: string | null): Promise<StorageTestResult> {
    // The probe object is written without a lock, so it can be deleted; the bucket's lock is asked for.
    const storage = this.s3({ ...config, objectLockMode: null, objectLockDays: null }, secret);
    try {
      const result = await probeStorage(storage);
      if (config.objectLockMode && !result.objectLock)
        throw validationError({
          objectLockMode: `the bucket "${config.bucket}" has no Object Lock enabled (${result.objectLockReason ?? 'GetObjectLockConfiguration'}); create it with Object Lock, or leave the lock out`,
        });
      return { storageId: id, location: storage.location, ...result };
    } finally {
      storage.close();
    }
  }

  private async secretOf(input: StorageSettingsInput, current: StorageEntity | null): Promise<string> {
    const typed = input.secretAccessKey ?? null;
    const picked = input.secretCredentialId ?? null;
    if (typed !== null && picked !== null)
      throw validationError({ secretAccessKey: 'give the secret access key or a credential id, not both' });
    if (typed !== null) {
      if (typed.trim() === '') throw validationError({ secretAccessKey: 'must not be empty' });
      return typed;
    }
    if (picked !== null) {
      await this.credentials.requireKind(picked, 'PASSWORD', 'secretCredentialId');
      return this.credentials.reveal(picked);
    }
    if (current) return this.credentials.reveal(current.secretCredentialId);
    throw validationError({ secretAccessKey: 'is required (or secretCredentialId naming a PASSWORD credential)' });
  }

  /** A typed secret access key becomes a PASSWORD credential of the Password Manager. */
  private newSecretCredential(storageName: string, accessKeyId: string, secret: string) {
    return this.credentials
      .create({
        name: `S3 secret key of storage ${storageName} (${newId().slice(0, 8)})`,
        kind: 'PASSWORD',
        secret,
        username: accessKeyId,
      })
      .catch((error: unknown) => {
        // The Password Manager names its own fields (secret, username); the client knows these as the storage's.
        const fields = (error as DomainError).code === 'VALIDATION_FAILED' && credentialFields(error as DomainError);
        if (!fields) throw error;
        throw validationError(
          Object.fromEntries(
            Object.entries(fields).map(([f, m]) => [f === 'secret' ? 'secretAccessKey' : 'accessKeyId', m]),
          ),
        );
      });
  }

  private async refuseTakenName(name: string): Promise<void> {
    if (await this.repo.existsBy({ name }))
      throw new DomainError('STORAGE_NAME_TAKEN', `a storage named "${name}" already exists`, {
        details: { fields: { name: 'is taken by another storage' } },
      });
  }
}

const credentialFields = (error: DomainError) =>
  (error.details as { fields?: Record<string, string> } | undefined)?.fields ?? null;

/** What still needs a storage, in words: its snapshots (primaries and replica copies) and the policies naming it. */
export async function storageUsers(dataSource: DataSource, id: string): Promise<string[]> {
  const [{ primaries, replicas }] = await dataSource.query<{ primaries: number; replicas: number }[]>(
    `SELECT (SELECT count(*)::int FROM snapshots WHERE storage_root = $1) AS primaries,
            (SELECT count(*)::int FROM snapshot_copies WHERE storage_id = $2) AS replicas`,
    [storageRoot(id), id],
  );
  const policies = await dataSource.query<{ full_path: string; role: string }[]>(
    `SELECT o.full_path, CASE WHEN p.value->'storage'->>'storageId' = $1 THEN 'primary' ELSE 'replica' END AS role
       FROM backup_policies p JOIN organizations o ON o.id = p.organization_id
      WHERE p.value->'storage'->>'storageId' = $1
         OR coalesce(p.value->'storage'->'replicaStorageIds', '[]'::jsonb) ? $1
      ORDER BY o.full_path`,
    [id],
  );
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return [
    ...(primaries ? [plural(primaries, 'snapshot')] : []),
    ...(replicas ? [`${replicas} replica ${replicas === 1 ? 'copy' : 'copies'} of snapshots`] : []),
    ...policies.map((p) => `the policy of ${p.full_path} (as its ${p.role} storage)`),
  ];
}

export interface StorageUsage {
  /** Snapshots written there by a backup (it is their primary). */
  primarySnapshots: number;
  /** Replica copies of snapshots kept there, whatever their status. */
  replicaCopies: number;
  /** Bytes of those snapshots and copies (a replica holds what its snapshot holds). */
  bytes: number;
}

/** What a storage holds, as the database knows it (the bytes its manifests list). */
export async function storageUsage(dataSource: DataSource, id: string): Promise<StorageUsage> {
  const [row] = await dataSource.query<{ primaries: number; replicas: number; bytes: string }[]>(
    `SELECT (SELECT count(*)::int FROM snapshots WHERE storage_root = $1) AS primaries,
            (SELECT count(*)::int FROM snapshot_copies WHERE storage_id = $2) AS replicas,
            ((SELECT coalesce(sum(size_bytes), 0) FROM snapshots WHERE storage_root = $1)
             + (SELECT coalesce(sum(s.size_bytes), 0) FROM snapshot_copies c JOIN snapshots s ON s.id = c.snapshot_id
                 WHERE c.storage_id = $2 AND c.status = 'COPIED'))::text AS bytes`,
    [storageRoot(id), id],
  );
  return { primarySnapshots: row.primaries, replicaCopies: row.replicas, bytes: Number(row.bytes) };
}

/** Storages whose secret is the credential `id` (the Password Manager refuses to delete it). */
export async function storagesUsingCredential(dataSource: DataSource, id: string): Promise<string[]> {
  const rows = await dataSource.query<{ name: string }[]>(`SELECT name FROM storages WHERE secret_credential_id = $1`, [
    id,
  ]);
  return rows.map((r) => `storage ${r.name}`);
}

function checkName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (!trimmed) throw validationError({ name: 'must not be empty' });
  if (trimmed.length > 200) throw validationError({ name: 'must be at most 200 characters' });
  return trimmed;
}

/** Settings as stored, or VALIDATION_FAILED naming every malformed one (before the server is asked). */
function checkSettings(input: StorageSettingsInput): S3StorageConfig {
  const fields: Record<string, string> = {};
  let endpoint: string | null = null;
  if (input.endpoint !== null && input.endpoint !== undefined && input.endpoint !== '') {
    try {
      const url = new URL(input.endpoint);
      if (!['http:', 'https:'].includes(url.protocol)) fields.endpoint = 'must be an http(s) URL';
      else if (url.username || url.password) fields.endpoint = 'must not contain credentials';
      else endpoint = url.toString().replace(/\/$/, '');
    } catch {
      fields.endpoint = 'must be an http(s) URL, or null for AWS S3';
    }
  }
  const region = input.region?.trim() ?? '';
  if (!/^[a-z0-9-]{1,40}$/.test(region)) fields.region = 'must be a region name such as us-east-1';
  const bucket = input.bucket?.trim() ?? '';
  if (!BUCKET.test(bucket)) fields.bucket = 'must be 3-63 lowercase letters, digits, dots or hyphens';
  let prefix = '';
  try {
    prefix = parsePrefix(input.prefix ?? '').join('/');
  } catch (error) {
    fields.prefix = (error as DomainError).details?.fields?.prefix ?? 'is not a valid key prefix';
  }
  const accessKeyId = input.accessKeyId?.trim() ?? '';
  if (!accessKeyId) fields.accessKeyId = 'must not be empty';
  const sse = input.serverSideEncryption ?? null;
  if (sse !== null && !(SSE as readonly string[]).includes(sse))
    fields.serverSideEncryption = 'must be AES256, aws:kms or null';
  if (input.kmsKeyId && sse !== 'aws:kms') fields.kmsKeyId = 'is only used with serverSideEncryption aws:kms';
  if (input.storageClass !== null && input.storageClass !== undefined && !/^[A-Z_]{2,40}$/.test(input.storageClass))
    fields.storageClass = 'must be a storage class such as STANDARD or STANDARD_IA, or null';
  const lockMode = input.objectLockMode ?? null;
  const lockDays = input.objectLockDays ?? null;
  if (lockMode !== null && !(LOCK_MODES as readonly string[]).includes(lockMode))
    fields.objectLockMode = 'must be GOVERNANCE, COMPLIANCE or null';
  else if (lockMode !== null && (lockDays === null || !Number.isInteger(lockDays) || lockDays < 1 || lockDays > 36500))
    fields.objectLockDays = 'must be a whole number of days from 1 to 36500 with an Object Lock mode';
  else if (lockMode === null && lockDays !== null) fields.objectLockDays = 'is only used with objectLockMode';
  if (Object.keys(fields).length) throw validationError(fields);
  return {
    endpoint,
    region,
    bucket,
    prefix,
    forcePathStyle: input.forcePathStyle ?? endpoint !== null,
    accessKeyId,
    serverSideEncryption: sse as S3StorageConfig['serverSideEncryption'],
    kmsKeyId: input.kmsKeyId ?? null,
    storageClass: input.storageClass ?? null,
    conditionalWrites: input.conditionalWrites ?? true,
    objectLockMode: lockMode as S3StorageConfig['objectLockMode'],
    objectLockDays: lockMode ? lockDays : null,
  };
}
