import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const CREDENTIAL_KINDS = ['PERSONAL_ACCESS_TOKEN', 'OAUTH_CLIENT_SECRET', 'ENCRYPTION_KEY', 'PASSWORD'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * A Password Manager entry. The secret is only ever stored as AES-256-GCM ciphertext
 * (`secret_ciphertext`, see secret-box.ts); `fingerprint` is its last 4 characters.
 */
@Entity('credentials')
export class CredentialEntity {
  @PrimaryColumn('uuid') id!: string;
  @Index({ unique: true })
  @Column('text')
  name!: string;
  @Column('text') kind!: CredentialKind;
  @Column('text', { nullable: true }) username!: string | null;
  @Column('bytea', { name: 'secret_ciphertext' }) secretCiphertext!: Buffer;
  @Column('text') fingerprint!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'rotated_at', nullable: true }) rotatedAt!: Date | null;
  @Column('timestamptz', { name: 'last_used_at', nullable: true }) lastUsedAt!: Date | null;
  @Column('timestamptz', { name: 'expires_at', nullable: true }) expiresAt!: Date | null;
}

/**
 * A secret an ENCRYPTION_KEY credential held before it was rotated (`updateCredential` with a new
 * secret). Snapshots encrypted with it stay readable: the key is looked up by the id their
 * manifest records, among the current secret and these. Sealed like the current secret, bound to
 * the credential id and version. Deleted with the credential (which is refused while snapshots
 * need it).
 */
@Entity('credential_versions')
export class CredentialVersionEntity {
  @PrimaryColumn('uuid', { name: 'credential_id' }) credentialId!: string;
  /** 1 for the credential's first secret, 2 for the one that replaced it, … */
  @PrimaryColumn('integer') version!: number;
  @Column('bytea', { name: 'secret_ciphertext' }) secretCiphertext!: Buffer;
  @Column('text') fingerprint!: string;
  @Column('timestamptz', { name: 'retired_at' }) retiredAt!: Date;
}
