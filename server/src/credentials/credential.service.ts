import type { DataSource, Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import { isUniqueViolation } from '../shared/db-errors.js';
import { validationError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { credentialInUse, credentialNameTaken, credentialNotFound } from './credential.errors.js';
import { CREDENTIAL_KINDS, CredentialEntity, type CredentialKind } from './credential.entity.js';
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
  /** A new secret replaces the old one (rotation); the old one is not kept. */
  secret?: string;
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
  }

  list(): Promise<CredentialEntity[]> {
    return this.repo.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async get(id: string): Promise<CredentialEntity> {
    const found = await this.repo.findOneBy({ id });
    if (!found) throw credentialNotFound(id);
    return found;
  }

  async create(input: NewCredential): Promise<CredentialEntity> {
    const name = checkName(input.name, 'name');
    checkSecret(input.secret, 'secret');
    if (!CREDENTIAL_KINDS.includes(input.kind)) throw validationError({ kind: 'is not a known credential kind' });
    if (input.expiresAt && input.expiresAt <= this.clock.now()) throw validationError({ expiresAt: 'must be in the future' });
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
    if (changes.expiresAt && changes.expiresAt <= this.clock.now()) throw validationError({ expiresAt: 'must be in the future' });
    const entity = await this.get(id);
    if (changes.name !== undefined) entity.name = checkName(changes.name, 'name');
    if (changes.username !== undefined) entity.username = changes.username?.trim() || null;
    if (changes.description !== undefined) entity.description = changes.description?.trim() || null;
    if (changes.expiresAt !== undefined) entity.expiresAt = changes.expiresAt;
    if (changes.secret !== undefined) {
      checkSecret(changes.secret, 'secret');
      entity.secretCiphertext = this.box.seal(changes.secret, context(id));
      entity.fingerprint = fingerprint(changes.secret);
      entity.rotatedAt = this.clock.now();
    }
    try {
      await this.repo.save(entity);
    } catch (error) {
      if (isUniqueViolation(error)) throw credentialNameTaken(entity.name);
      throw error;
    }
    this.logger.info({ credentialId: id, rotated: changes.secret !== undefined }, 'credential updated');
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

  /** Decrypts the secret for Labkeeper's own use and records the use. Never expose the result. */
  async reveal(id: string): Promise<string> {
    const entity = await this.get(id);
    const secret = this.box.open(entity.secretCiphertext, context(id));
    await this.repo.update({ id }, { lastUsedAt: this.clock.now() });
    return secret;
  }
}

const context = (id: string) => `credential:${id}`;

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
