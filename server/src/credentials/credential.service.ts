import type { DataSource, Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import { isUniqueViolation } from '../shared/db-errors.js';
import { validationError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { credentialInUse, credentialNameTaken, credentialNotFound } from './credential.errors.js';
import {
  CREDENTIAL_KINDS,
  CredentialEntity,
  CredentialVersionEntity,
  type CredentialKind,
} from './credential.entity.js';
import type { SecretBox } from './secret-box.js';

export interface NewCredential {
  name: string;
  kind: CredentialKind;
  secret: string;
  username?: string | null;
  description?: string | null;
  expiresAt?: Date | null;
}

export interface CredentialChanges {
  name?: string;
  username?: string | null;
  description?: string | null;
  expiresAt?: Date | null;
  /**
   * A new secret replaces the old one (rotation). An ENCRYPTION_KEY keeps the old one as a previous
   * version, which the snapshots encrypted with it go on using; other kinds do not keep it.
   */
  secret?: string;
}

/** One secret an ENCRYPTION_KEY credential holds or held: `version` 1 is its first. */
export interface KeyVersion {
  version: number;
  secret: string;
}

/** What still needs a credential — connections, encrypted policies and snapshots (injected: this domain depends on none of them). */
export type CredentialUsage = (credentialId: string) => Promise<string[]>;

/**
 * The Password Manager. Secrets go in, are sealed with the SecretBox bound to the credential id,
 * and never come out through this service's public reads; only `reveal` (used by Labkeeper
 * itself to call GitLab) decrypts, and it records the use.
 */
export class CredentialService {
  private readonly repo: Repository<CredentialEntity>;

  constructor(
    dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly usage: CredentialUsage = async () => [],
  ) {
    this.repo = dataSource.getRepository(CredentialEntity);
    this.versions = dataSource.getRepository(CredentialVersionEntity);
  }

  private readonly versions: Repository<CredentialVersionEntity>;
  private readonly keyRotatedListeners: ((credentialId: string) => Promise<void>)[] = [];

  /**
   * Tells `listener` after an ENCRYPTION_KEY's secret was rotated (its users start new chains with
   * the new key). A listener rather than a constructor argument: the policies that listen need
   * this service to read key versions.
   */
  whenKeyRotated(listener: (credentialId: string) => Promise<void>): void {
    this.keyRotatedListeners.push(listener);
  }

  list(): Promise<CredentialEntity[]> {
    return this.repo.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async get(id: string): Promise<CredentialEntity> {
    const found = await this.repo.findOneBy({ id });
    if (!found) throw credentialNotFound(id);
    return found;
  }

  /**
   * The credential `id` names, when it is of `kind`; otherwise a validation error on `field` (the
   * input field that named it), so a credential is never used as another kind — an encryption key
   * sent to GitLab as a token, a token used as an encryption key.
   */
  async requireKind(id: string, kind: CredentialKind, field: string): Promise<CredentialEntity> {
    const found = UUID.test(id) ? await this.repo.findOneBy({ id }) : null;
    if (!found)
      throw validationError({
        [field]: `must be the id of ${KIND_LABEL[kind]} in the Password Manager; no credential has id "${id}"`,
      });
    if (found.kind !== kind) {
      throw validationError({
        [field]: `must be the id of ${KIND_LABEL[kind]} in the Password Manager; "${found.name}" is ${KIND_LABEL[found.kind]}`,
      });
    }
    return found;
  }

  async create(input: NewCredential): Promise<CredentialEntity> {
    const name = checkName(input.name, 'name');
    checkSecret(input.secret, 'secret');
    if (!CREDENTIAL_KINDS.includes(input.kind)) throw validationError({ kind: 'is not a known credential kind' });
    if (input.expiresAt && input.expiresAt <= this.clock.now())
      throw validationError({ expiresAt: 'must be in the future' });
    const id = newId();
    const entity = this.repo.create({
      id,
      name,
      kind: input.kind,
      username: input.username?.trim() || null,
      description: input.description?.trim() || null,
      secretCiphertext: this.box.seal(input.secret, context(id)),
      fingerprint: fingerprint(input.secret),
      expiresAt: input.expiresAt ?? null,
      rotatedAt: null,
      lastUsedAt: null,
    });
    try {
      await this.repo.insert(entity);
    } catch (error) {
      if (isUniqueViolation(error)) throw credentialNameTaken(name);
      throw error;
    }
    this.logger.info({ credentialId: id, kind: input.kind }, 'credential created');
    return this.get(id);
  }

  async update(id: string, changes: CredentialChanges): Promise<CredentialEntity> {
    if (changes.name === null) throw validationError({ name: 'must not be empty' });
    if (changes.expiresAt && changes.expiresAt <= this.clock.now())
      throw validationError({ expiresAt: 'must be in the future' });
    const entity = await this.get(id);
    if (changes.name !== undefined) entity.name = checkName(changes.name, 'name');
    if (changes.username !== undefined) entity.username = changes.username?.trim() || null;
    if (changes.description !== undefined) entity.description = changes.description?.trim() || null;
    if (changes.expiresAt !== undefined) entity.expiresAt = changes.expiresAt;
    let retired: CredentialVersionEntity | null = null;
    if (changes.secret !== undefined) {
      checkSecret(changes.secret, 'secret');
      const previous = this.box.open(entity.secretCiphertext, context(id));
      if (entity.kind === 'ENCRYPTION_KEY' && previous !== changes.secret) {
        const version = (await this.versions.countBy({ credentialId: id })) + 1;
        retired = this.versions.create({
          credentialId: id,
          version,
          secretCiphertext: this.box.seal(previous, versionContext(id, version)),
          fingerprint: entity.fingerprint,
          retiredAt: this.clock.now(),
        });
      }
      entity.secretCiphertext = this.box.seal(changes.secret, context(id));
      entity.fingerprint = fingerprint(changes.secret);
      entity.rotatedAt = this.clock.now();
    }
    try {
      // The previous key and the new one are saved together: no moment without either.
      await this.repo.manager.transaction(async (tx) => {
        if (retired) await tx.insert(CredentialVersionEntity, retired);
        await tx.save(entity);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw credentialNameTaken(entity.name);
      throw error;
    }
    this.logger.info(
      { credentialId: id, rotated: changes.secret !== undefined, keptVersion: retired?.version },
      'credential updated',
    );
    if (retired) for (const listener of this.keyRotatedListeners) await listener(id);
    return this.get(id);
  }

  /** Refused while a connection uses the credential (CREDENTIAL_IN_USE). */
  async delete(id: string): Promise<void> {
    await this.get(id);
    const users = await this.usage(id);
    if (users.length > 0) throw credentialInUse(id, users);
    await this.repo.delete({ id });
    this.logger.info({ credentialId: id }, 'credential deleted');
  }

  /** The version of the credential's current secret: 1 until it is first rotated. */
  async keyVersion(id: string): Promise<number> {
    return (await this.versions.countBy({ credentialId: id })) + 1;
  }

  /**
   * Every secret an ENCRYPTION_KEY credential holds or held, the current one (the highest
   * version) first. For reading what was encrypted before a rotation; never expose the result.
   */
  async revealKeyVersions(id: string): Promise<KeyVersion[]> {
    const current = await this.reveal(id);
    const previous = await this.versions.find({ where: { credentialId: id }, order: { version: 'DESC' } });
    return [
      { version: previous.length + 1, secret: current },
      ...previous.map((v) => ({
        version: v.version,
        secret: this.box.open(v.secretCiphertext, versionContext(id, v.version)),
      })),
    ];
  }

  /**
   * Decrypts the secret for Labkeeper's own use and records the use, to the minute: a backup run
   * reveals a connection's token once per repository, and one write per minute says as much as
   * one per use (GitLab records a token's last use at a coarser step still). Never
   * expose the result. A use is not an edit: `updatedAt` stays (TypeORM would set it on any
   * update), so whoever keeps something built from the secret (a storage's S3 client) can tell a
   * changed credential by it.
   */
  async reveal(id: string): Promise<string> {
    const entity = await this.get(id);
    const secret = this.box.open(entity.secretCiphertext, context(id));
    const now = this.clock.now();
    if (!entity.lastUsedAt || now.getTime() - entity.lastUsedAt.getTime() >= LAST_USE_RESOLUTION_MS)
      await this.repo.update({ id }, { lastUsedAt: now, updatedAt: () => 'updated_at' });
    return secret;
  }
}

/** How precisely `lastUsedAt` follows the uses of a credential. */
const LAST_USE_RESOLUTION_MS = 60_000;
const context = (id: string) => `credential:${id}`;
const versionContext = (id: string, version: number) => `credential:${id}:v${version}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KIND_LABEL: Record<CredentialKind, string> = {
  PERSONAL_ACCESS_TOKEN: 'a personal access token (PERSONAL_ACCESS_TOKEN)',
  OAUTH_CLIENT_SECRET: 'an OAuth client secret (OAUTH_CLIENT_SECRET)',
  ENCRYPTION_KEY: 'an encryption key (ENCRYPTION_KEY)',
  PASSWORD: 'a password (PASSWORD)',
};

/** The last 4 characters: enough to recognise a token, too few to guess it. */
export const fingerprint = (secret: string) => `…${secret.slice(-4)}`;

function checkName(name: string, field: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw validationError({ [field]: 'must not be empty' });
  if (trimmed.length > 200) throw validationError({ [field]: 'must be at most 200 characters' });
  return trimmed;
}

function checkSecret(secret: string, field: string): void {
  if (secret.length < 8) throw validationError({ [field]: 'must be at least 8 characters' });
  if (secret.length > 10_000) throw validationError({ [field]: 'must be at most 10000 characters' });
}
