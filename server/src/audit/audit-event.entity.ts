import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type AuditTransport = 'HTTP' | 'WEBSOCKET';
export type AuditResult = 'OK' | 'ERROR';

/**
 * One audited action: a mutation (over HTTP or a WebSocket) or a sign-in (a WebSocket's
 * connection_init, or any failed authentication). Written once, deleted only by retention.
 */
@Entity('audit_events')
@Index('IDX_audit_events_at', ['at', 'id'])
export class AuditEventEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('timestamptz') at!: Date;
  @Column('uuid', { name: 'token_id', nullable: true }) tokenId!: string | null;
  @Column('text', { name: 'token_name', nullable: true }) tokenName!: string | null;
  @Column('text', { name: 'token_role', nullable: true }) tokenRole!: string | null;
  /** The mutation's field name (`runNow`), or `signIn`. */
  @Column('text') operation!: string;
  @Column('text') transport!: AuditTransport;
  /** The arguments as given, secrets replaced by "[REDACTED]" (audit-redact.ts). */
  @Column('jsonb') arguments!: Record<string, unknown>;
  @Column('text') result!: AuditResult;
  /** The public error code (`NOT_FOUND`, `FORBIDDEN`…) when the result is ERROR. */
  @Column('text', { name: 'error_code', nullable: true }) errorCode!: string | null;
  @Column('text', { name: 'client_address' }) clientAddress!: string;
  @Column('text', { name: 'user_agent', nullable: true }) userAgent!: string | null;
}
