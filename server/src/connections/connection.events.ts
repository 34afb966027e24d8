import type { ConnectionStatus } from './connection.entity.js';

/** Published on every status change of a Connection (also AWAITING_AUTHORIZATION at creation). */
export interface ConnectionStatusChanged {
  connectionId: string;
  status: ConnectionStatus;
  reason: string | null;
  /** ISO timestamp */
  at: string;
}
