/**
 * Snapshots as the API shows them, deletion (refused while a later snapshot depends on one) and
 * verification on demand. Artifacts are deleted before the row, manifest last-but-one: a crash in
 * between leaves a row whose verification fails, never a half-deleted snapshot that looks whole.
 */
import { In, LessThanOrEqual, type DataSource, type FindOptionsWhere, type Repository } from 'typeorm';
import type { Logger } from '../shared/logger.js';
import { SnapshotEntity } from './backup.entity.js';
import { snapshotHasDependents } from './backup.errors.js';
import type { ArtifactStores } from './backup.ports.js';
import { MANIFEST_FILE } from './manifest.js';
import type { SnapshotReader } from './snapshot-chain.js';
import type { SnapshotVerifier } from './verification.js';

export interface SnapshotFilter {
  organizationId?: string | null;
  repositoryId?: string | null;
  groupId?: string | null;
  before?: Date | null;
}

export class SnapshotService {
  private readonly repo: Repository<SnapshotEntity>;

  constructor(
    dataSource: DataSource,
    private readonly stores: ArtifactStores,
    readonly reader: SnapshotReader,
    private readonly verifier: SnapshotVerifier,
    private readonly logger: Logger,
  ) {
    this.repo = dataSource.getRepository(SnapshotEntity);
  }

  get(id: string) {
    return this.reader.snapshot(id);
  }

  async list(filter: SnapshotFilter, page: { offset: number; limit: number }) {
    const where: FindOptionsWhere<SnapshotEntity> = {};
    if (filter.organizationId) where.organizationId = filter.organizationId;
    if (filter.repositoryId) where.repositoryId = filter.repositoryId;
    if (filter.groupId) where.groupId = filter.groupId;
    if (filter.before) where.createdAt = LessThanOrEqual(filter.before);
    const [items, total] = await this.repo.findAndCount({ where, order: { createdAt: 'DESC', id: 'DESC' }, skip: page.offset, take: page.limit });
    return { items, total };
  }

  latestOf(repositoryIds: string[]) {
    return repositoryIds.length === 0
      ? Promise.resolve([])
      : this.repo
          .createQueryBuilder('s')
          .distinctOn(['s.repository_id'])
          .where({ repositoryId: In(repositoryIds) })
          .orderBy('s.repository_id')
          .addOrderBy('s.created_at', 'DESC')
          .getMany();
  }

  verify(id: string) {
    return this.verifier.verify(id);
  }

  /** Deletes a snapshot and its artifacts. Refused (CONFLICT) while another snapshot builds on it. */
  async delete(id: string, options: { reason?: string } = {}): Promise<void> {
    const snapshot = await this.reader.snapshot(id);
    const dependents = await this.repo.find({ select: { id: true }, where: { parentId: id } });
    if (dependents.length > 0) throw snapshotHasDependents(id, dependents.map((d) => d.id));
    const store = await this.stores.at(snapshot.storageRoot);
    const keys: string[] = [];
    for await (const key of store.list(`${snapshot.storagePrefix}/`)) keys.push(key);
    const manifest = `${snapshot.storagePrefix}/${MANIFEST_FILE}`;
    for (const key of keys.filter((k) => k !== manifest)) await store.delete(key);
    await store.delete(manifest);
    await this.repo.delete({ id });
    this.logger.info({ snapshotId: id, reason: options.reason ?? 'requested' }, 'snapshot deleted');
  }
}
