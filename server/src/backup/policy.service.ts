/**
 * One BackupPolicy per organization, created with defaults on first use. `customize` validates
 * the whole policy, recomputes the next scheduled backup, and starts a new chain (the next backup
 * of every repository is FULL) when compression or encryption changes, so snapshots never mix.
 */
import { createHash } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import { OrganizationEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { BackupPolicyEntity } from './backup.entity.js';
import { nextBackupInWindow } from './backup-schedule.js';
import { defaultPolicy } from './policy.defaults.js';
import type { BackupPolicyValue } from './policy.types.js';
import { validatePolicy } from './policy.validation.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';

/**
 * Snapshots chain only within one chain key: the compression, the encryption credential and, once
 * that key was rotated, the version of its secret (so a rotation starts a new full chain with the
 * new key, while the old chain keeps the key it was made with).
 */
export function chainKeyOf(value: BackupPolicyValue, keyVersion = 1): string {
  const encryption = value.encryption?.credentialId ?? null;
  const basis = JSON.stringify({
    compression: value.compression,
    encryption,
    ...(encryption && keyVersion > 1 ? { keyVersion } : {}),
  });
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

export interface PolicyServiceDeps {
  dataSource: DataSource;
  clock: Clock;
  logger: Logger;
  /** The current version of an ENCRYPTION_KEY credential's secret; throws when the id is not one. */
  encryptionKeyVersion: (credentialId: string) => Promise<number>;
  /** Throws VALIDATION_FAILED when a LOCAL storage path is not one Labkeeper may own (storage/storage-path.ts). Default: any path. */
  checkStoragePath?: (path: string) => Promise<void>;
  /** Throws VALIDATION_FAILED on `field` unless the id names a storage (storages/). Default: any id. */
  checkStorageId?: (id: string, field: string) => Promise<void>;
}

export class PolicyService {
  private readonly repo: Repository<BackupPolicyEntity>;
  private readonly dataSource: DataSource;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly encryptionKeyVersion: (credentialId: string) => Promise<number>;
  private readonly checkStoragePath: (path: string) => Promise<void>;
  private readonly checkStorageId: (id: string, field: string) => Promise<void>;

  constructor(deps: PolicyServiceDeps) {
    this.dataSource = deps.dataSource;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.encryptionKeyVersion = deps.encryptionKeyVersion;
    this.checkStoragePath = deps.checkStoragePath ?? (async () => undefined);
    this.checkStorageId = deps.checkStorageId ?? (async () => undefined);
    this.repo = deps.dataSource.getRepository(BackupPolicyEntity);
  }

  list(): Promise<BackupPolicyEntity[]> {
    return this.repo.find({ order: { createdAt: 'ASC' } });
  }

  async forOrganization(organizationId: string): Promise<BackupPolicyEntity> {
    const existing = await this.repo.findOneBy({ organizationId });
    if (existing) return existing;
    const organization = await this.dataSource
      .getRepository(OrganizationEntity)
      .findOne({ where: { id: organizationId }, select: { id: true, repoSyncSchedule: true } });
    if (!organization) {
      throw new DomainError('ORGANIZATION_NOT_FOUND', `organization ${organizationId} does not exist`, {
        details: { organizationId },
      });
    }
    const value = defaultPolicy();
    // Backups keep the clock the organization's repository sync already uses (set at specific hours
    // in a time zone, which the web client fills with the browser's); an interval sync has none.
    if (organization.repoSyncSchedule.kind === 'HOURS') value.timeZone = organization.repoSyncSchedule.timeZone;
    const entity = this.repo.create({
      id: newId(),
      organizationId,
      value,
      chainKey: chainKeyOf(value),
      ...(await this.next(organizationId, value)),
    });
    await this.repo.createQueryBuilder().insert().values(entity).orIgnore().execute();
    return this.repo.findOneByOrFail({ organizationId });
  }

  /**
   * `mayChangeStorage`: only ADMIN tokens choose where backups are stored; for others a storage
   * different from the current one is FORBIDDEN. Everything is checked before anything is written.
   */
  async customize(
    organizationId: string,
    input: BackupPolicyValue,
    options: { mayChangeStorage?: boolean } = {},
  ): Promise<BackupPolicyEntity> {
    const value = validatePolicy(input);
    if (value.storage.path) await this.checkStoragePath(value.storage.path);
    if (value.storage.storageId) await this.checkStorageId(value.storage.storageId, 'storage.storageId');
    for (const id of value.storage.replicaStorageIds ?? []) await this.checkStorageId(id, 'storage.replicaStorageIds');
    const chainKey = await this.chainKeyFor(value);
    const policy = await this.forOrganization(organizationId);
    const current = policy.value.storage;
    const storageChanged =
      value.storage.kind !== current?.kind ||
      (value.storage.path ?? null) !== (current?.path ?? null) ||
      (value.storage.storageId ?? null) !== (current?.storageId ?? null) ||
      (value.storage.replicaStorageIds ?? []).join() !== (current?.replicaStorageIds ?? []).join() ||
      // A presigned link is not bound to a token: whether downloads use one is an ADMIN's choice too.
      (value.storage.downloadLink ?? 'LABKEEPER') !== (current?.downloadLink ?? 'LABKEEPER');
    if (options.mayChangeStorage === false && storageChanged) {
      throw new DomainError('FORBIDDEN', 'Only an ADMIN token may change where backups are stored (input.storage).', {
        details: { fields: { storage: 'may be changed by an ADMIN token only' } },
      });
    }
    if (chainKey !== policy.chainKey)
      this.logger.info(
        { organizationId },
        'compression or encryption changed: the next backups start a new full chain',
      );
    Object.assign(policy, { value, chainKey, ...(await this.next(organizationId, value)) });
    await this.repo.save(policy);
    return policy;
  }

  /** After an encryption key was rotated: the policies using it start a new full chain with the new key. */
  async keyRotated(credentialId: string): Promise<void> {
    const users = await this.repo
      .createQueryBuilder('p')
      .where(`p.value->'encryption'->>'credentialId' = :credentialId`, { credentialId })
      .getMany();
    for (const policy of users) {
      policy.chainKey = await this.chainKeyFor(policy.value);
      Object.assign(policy, await this.next(policy.organizationId, policy.value));
      await this.repo.save(policy);
      this.logger.info(
        { organizationId: policy.organizationId, credentialId },
        'encryption key rotated: the next backups start a new full chain with the new key',
      );
    }
  }

  private async chainKeyFor(value: BackupPolicyValue): Promise<string> {
    return value.encryption
      ? chainKeyOf(value, await this.encryptionKeyVersion(value.encryption.credentialId))
      : chainKeyOf(value);
  }

  /** When the schedule fires next, and which copy it asks for. */
  async next(
    organizationId: string,
    value: BackupPolicyValue,
    after = this.clock.now(),
    options: { runStarting?: boolean } = {},
  ) {
    // A run starting now makes (or completes) a full chain: the copy after it builds on that.
    const hasFull =
      options.runStarting ||
      (await this.dataSource.getRepository(SnapshotEntity).existsBy({
        organizationId,
        copyType: 'FULL',
        chainKey: await this.chainKeyFor(value).catch(() => chainKeyOf(value)),
      }));
    const upcoming = nextBackupInWindow(value.schedule, value.timeZone, value.window, after, { hasFull });
    return { nextBackupAt: upcoming?.at ?? null, nextCopyType: upcoming?.copyType ?? null };
  }
}
