/**
 * The Connection rows as other parts of Labkeeper need them: found by id, listed by credential,
 * and moved to a new status (saved, logged, announced). ConnectionService, the OAuth attempts,
 * the Password Manager's delete guard and OrganizationService share it, so none of them needs
 * another service that in turn needs it (the composition root builds them in one pass).
 */
import { Not, type DataSource, type Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { ConnectionEntity } from './connection.entity.js';
import { connectionNotFound } from './connection.errors.js';
import type { ConnectionStatusChanged } from './connection.events.js';

export class ConnectionRecords {
  private readonly repo: Repository<ConnectionEntity>;

  constructor(
    dataSource: DataSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly publish: (event: ConnectionStatusChanged) => void,
  ) {
    this.repo = dataSource.getRepository(ConnectionEntity);
  }

  /** The connection, or CONNECTION_NOT_FOUND. */
  async get(id: string): Promise<ConnectionEntity> {
    const found = await this.repo.findOneBy({ id });
    if (!found) throw connectionNotFound(id);
    return found;
  }

  /** Connections (not disconnected) that use a credential — the Password Manager's delete guard. */
  async usersOfCredential(credentialId: string): Promise<string[]> {
    const rows = await this.repo.find({ select: { id: true }, where: { credentialId, status: Not('DISCONNECTED') } });
    return rows.map((r) => r.id);
  }

  /**
   * Saves the new status, then runs `beforeAnnounce` (e.g. protecting the namespace) and announces
   * the change — also when `beforeAnnounce` fails, since the connection is what was saved.
   */
  async setStatus(
    connection: ConnectionEntity,
    status: ConnectionEntity['status'],
    reason: string | null,
    beforeAnnounce?: () => Promise<void>,
  ) {
    connection.status = status;
    connection.statusReason = reason;
    if (status === 'CONNECTED') connection.connectedAt = this.clock.now();
    await this.repo.save(connection);
    this.logger.info({ connectionId: connection.id, status, reason }, 'connection status changed');
    try {
      await beforeAnnounce?.();
    } finally {
      this.publish({ connectionId: connection.id, status, reason, at: this.clock.now().toISOString() });
    }
    return connection;
  }
}
