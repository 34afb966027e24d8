import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export const API_ROLES = ['ADMIN', 'BACKUP_OPERATOR', 'RESTORE_OPERATOR', 'VIEWER'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** An API token. Only the sha256 of the secret is stored; `prefix` lets people recognise it. */
@Entity('api_tokens')
export class ApiTokenEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') role!: ApiRole;
  @Index({ unique: true })
  @Column('text', { name: 'token_hash' })
  tokenHash!: string;
  @Column('text') prefix!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'last_used_at', nullable: true }) lastUsedAt!: Date | null;
  @Column('timestamptz', { name: 'expires_at', nullable: true }) expiresAt!: Date | null;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
  /** The bootstrap admin token is created by Labkeeper itself (first start or LABKEEPER_ADMIN_TOKEN). */
  @Column('boolean', { name: 'is_bootstrap', default: false }) isBootstrap!: boolean;
}
