/**
 * The audit log: who did what, when, from where, and how it ended. The GraphQL edge records every
 * mutation and sign-in (graphql/audit-recorder.ts); this service stores them (arguments redacted
 * here, so no caller can forget), lists them for administrators, exports them as JSON Lines, and
 * deletes what is older than the retention period. Recording never fails the operation: a row
 * that cannot be written is logged at error and dropped.
 */
import { Between, LessThan, type DataSource, type FindOptionsWhere, type Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { AuditEventEntity, type AuditResult, type AuditTransport } from './audit-event.entity.js';
import { redactArguments } from './audit-redact.js';
import { findPage, type PageRequest } from '../shared/page.js';

export interface AuditRecord {
  tokenId: string | null;
  tokenName: string | null;
  tokenRole: string | null;
  operation: string;
  transport: AuditTransport;
  arguments: Record<string, unknown>;
  errorCode: string | null;
  clientAddress: string;
  userAgent: string | null;
}

export interface AuditFilter {
  operation?: string | null;
  tokenId?: string | null;
  result?: AuditResult | null;
  since?: Date | null;
  until?: Date | null;
}

const EXPORT_BATCH = 1000;

export class AuditService {
  private readonly repo: Repository<AuditEventEntity>;

  constructor(
    dataSource: DataSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Days an event is kept (LABKEEPER_AUDIT_RETENTION_DAYS, default 400). */
    private readonly retentionDays: number,
  ) {
    this.repo = dataSource.getRepository(AuditEventEntity);
  }

  /** Stores one event; never throws. */
  async record(event: AuditRecord): Promise<void> {
    try {
      await this.repo.insert({
        id: newId(),
        at: this.clock.now(),
        tokenId: event.tokenId,
        tokenName: event.tokenName,
        tokenRole: event.tokenRole,
        operation: event.operation,
        transport: event.transport,
        arguments: redactArguments(event.arguments) as never,
        result: event.errorCode ? 'ERROR' : 'OK',
        errorCode: event.errorCode,
        clientAddress: event.clientAddress,
        userAgent: event.userAgent?.slice(0, 512) ?? null,
      });
    } catch (error) {
      this.logger.error({ err: error, operation: event.operation }, 'audit event could not be stored');
    }
  }

  /** Newest first. */
  list(filter: AuditFilter, page: PageRequest) {
    return findPage(this.repo, { where: this.where(filter), order: { at: 'DESC', id: 'DESC' } }, page);
  }

  /** Every matching event, oldest first, one JSON object per line. */
  async *exportJsonLines(filter: AuditFilter): AsyncGenerator<string> {
    for (let offset = 0; ; offset += EXPORT_BATCH) {
      const batch = await this.repo.find({
        where: this.where(filter),
        order: { at: 'ASC', id: 'ASC' },
        skip: offset,
        take: EXPORT_BATCH,
      });
      for (const e of batch) yield `${JSON.stringify(toJson(e))}\n`;
      if (batch.length < EXPORT_BATCH) return;
    }
  }

  /** Deletes the events older than the retention period; resolves with how many. Safe in any process, any time. */
  async pruneExpired(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.retentionDays * 86_400_000);
    const result = await this.repo.delete({ at: LessThan(cutoff) });
    const deleted = result.affected ?? 0;
    if (deleted > 0) this.logger.info({ deleted, cutoff: cutoff.toISOString() }, 'audit events past retention deleted');
    return deleted;
  }

  private where(filter: AuditFilter): FindOptionsWhere<AuditEventEntity> {
    const where: FindOptionsWhere<AuditEventEntity> = {};
    if (filter.operation) where.operation = filter.operation;
    if (filter.tokenId) where.tokenId = filter.tokenId;
    if (filter.result) where.result = filter.result;
    if (filter.since || filter.until) {
      where.at = Between(filter.since ?? new Date(0), filter.until ?? new Date(8.64e15));
    }
    return where;
  }
}

export function toJson(e: AuditEventEntity) {
  return {
    id: e.id,
    at: e.at.toISOString(),
    tokenId: e.tokenId,
    tokenName: e.tokenName,
    tokenRole: e.tokenRole,
    operation: e.operation,
    transport: e.transport,
    arguments: e.arguments,
    result: e.result,
    errorCode: e.errorCode,
    clientAddress: e.clientAddress,
    userAgent: e.userAgent,
  };
}
