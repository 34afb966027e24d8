import { Column, CreateDateColumn, Entity, PrimaryColumn, type DataSource } from 'typeorm';
import type { RestoreKind, RestoreMappings } from './metadata-mappings.js';

/**
 * What a restore created in a target project, by source id: a re-run (after a crash, or a second
 * restore into the same project) finds it instead of creating a duplicate.
 * `scope` names the target project: `<connectionId>:<projectId>`.
 */
@Entity('restore_mappings')
export class RestoreMappingEntity {
  @PrimaryColumn('text') scope!: string;
  @PrimaryColumn('text') kind!: string;
  @PrimaryColumn('text', { name: 'source_id' }) sourceId!: string;
  @Column('text', { name: 'target_id' }) targetId!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

export class DatabaseRestoreMappings implements RestoreMappings {
  constructor(
    private readonly dataSource: DataSource,
    private readonly scope: string,
  ) {}

  async get(kind: RestoreKind, sourceId: string): Promise<string | null> {
    const row = await this.dataSource
      .getRepository(RestoreMappingEntity)
      .findOneBy({ scope: this.scope, kind, sourceId });
    return row?.targetId ?? null;
  }

  async set(kind: RestoreKind, sourceId: string, targetId: string): Promise<void> {
    await this.dataSource
      .getRepository(RestoreMappingEntity)
      .createQueryBuilder()
      .insert()
      .values({ scope: this.scope, kind, sourceId, targetId })
      .orUpdate(['target_id'], ['scope', 'kind', 'source_id'])
      .execute();
  }
}
