import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { In, IsNull, type DataSource, type Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import { DomainError, validationError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { API_ROLES, ApiTokenEntity, type ApiRole } from './api-token.entity.js';

export interface Principal {
  tokenId: string;
  role: ApiRole;
  expiresAt: Date | null;
  /** The token's name, for the audit log. */
  tokenName?: string;
}

/** Which roles may do what: ADMIN may do everything; the others only what they are named for. */
export function roleSatisfies(role: ApiRole, required: readonly ApiRole[]): boolean {
  return role === 'ADMIN' || required.length === 0 || required.includes(role);
}

const TOKEN_PREFIX = 'lk_';
const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
/** How often last_used_at is written for a busy token (not on every request). */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * API tokens: bearer secrets with a role. The plaintext exists only in the response that creates
 * it (and the bootstrap line printed on first start); the database keeps its sha256.
 */
export class ApiTokenService {
  private readonly repo: Repository<ApiTokenEntity>;
  private readonly revokedListeners = new Set<(tokenId: string) => void>();

  constructor(
    dataSource: DataSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.repo = dataSource.getRepository(ApiTokenEntity);
  }

  list(): Promise<ApiTokenEntity[]> {
    return this.repo.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async create(input: {
    name: string;
    role: ApiRole;
    expiresAt?: Date | null;
  }): Promise<{ token: string; entity: ApiTokenEntity }> {
    const name = input.name.trim();
    if (!name) throw validationError({ name: 'must not be empty' });
    if (!API_ROLES.includes(input.role)) throw validationError({ role: 'is not a known role' });
    if (input.expiresAt && input.expiresAt <= this.clock.now())
      throw validationError({ expiresAt: 'must be in the future' });
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const entity = await this.insert(name, input.role, token, input.expiresAt ?? null, false);
    this.logger.info({ apiTokenId: entity.id, role: input.role }, 'API token created');
    return { token, entity };
  }

  async revoke(id: string): Promise<ApiTokenEntity> {
    const entity = await this.repo.findOneBy({ id });
    if (!entity)
      throw new DomainError('API_TOKEN_NOT_FOUND', `API token ${id} does not exist`, { details: { apiTokenId: id } });
    if (!entity.revokedAt) {
      entity.revokedAt = this.clock.now();
      await this.repo.save(entity);
      this.logger.info({ apiTokenId: id }, 'API token revoked');
    }
    for (const listener of this.revokedListeners) listener(id);
    return entity;
  }

  /** Called (in this process) after a token is revoked; returns the unsubscribe function. */
  onRevoked(listener: (tokenId: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Of these token ids, the ones that no longer authenticate (revoked, expired or deleted). */
  async inactiveAmong(tokenIds: string[]): Promise<string[]> {
    if (tokenIds.length === 0) return [];
    const now = this.clock.now();
    const rows = await this.repo.find({
      select: { id: true, revokedAt: true, expiresAt: true },
      where: { id: In(tokenIds) },
    });
    const active = new Set(rows.filter((r) => !r.revokedAt && !(r.expiresAt && r.expiresAt <= now)).map((r) => r.id));
    return tokenIds.filter((id) => !active.has(id));
  }

  /** The principal behind a bearer token, or null when it is unknown, revoked or expired. */
  async authenticate(token: string | null | undefined): Promise<Principal | null> {
    if (!token || token.length < 24 || token.length > 512) return null;
    const digest = hash(token);
    const entity = await this.repo.findOneBy({ tokenHash: digest });
    if (!entity || !timingSafeEqual(Buffer.from(entity.tokenHash), Buffer.from(digest))) return null;
    const now = this.clock.now();
    if (entity.revokedAt || (entity.expiresAt && entity.expiresAt <= now)) return null;
    if (!entity.lastUsedAt || now.getTime() - entity.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.repo.update({ id: entity.id }, { lastUsedAt: now });
    }
    return { tokenId: entity.id, role: entity.role, expiresAt: entity.expiresAt, tokenName: entity.name };
  }

  /**
   * Makes sure an admin can get in. With `configured` (LABKEEPER_ADMIN_TOKEN) that exact token is
   * the bootstrap admin token. Without it, a random admin token is created on the first start
   * only (no active admin token exists) and returned so the caller can print it once.
   */
  async ensureBootstrapAdmin(configured: string | null): Promise<string | null> {
    if (configured) {
      const token = configured;
      const existing = await this.repo.findOneBy({ tokenHash: hash(token) });
      if (existing && !existing.revokedAt) return null;
      await this.repo.update({ isBootstrap: true, revokedAt: IsNull() }, { revokedAt: this.clock.now() });
      if (existing) await this.repo.delete({ id: existing.id });
      await this.insert('bootstrap admin (LABKEEPER_ADMIN_TOKEN)', 'ADMIN', token, null, true);
      return null;
    }
    const activeAdmins = await this.repo.countBy({ role: 'ADMIN', revokedAt: IsNull() });
    if (activeAdmins > 0) return null;
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    await this.insert('bootstrap admin (first start)', 'ADMIN', token, null, true);
    return token;
  }

  private async insert(name: string, role: ApiRole, token: string, expiresAt: Date | null, isBootstrap: boolean) {
    const entity = this.repo.create({
      id: newId(),
      name,
      role,
      tokenHash: hash(token),
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
      isBootstrap,
    });
    await this.repo.insert(entity);
    return entity;
  }
}
