import type { RestorePhase, RestoreStatus } from './restore.entity.js';

/** Published on every phase and count change of a restore run; the last one has isTerminal. */
export interface RestoreProgressed {
  runId: string;
  organizationId: string;
  status: RestoreStatus;
  phase: RestorePhase;
  done: number;
  total: number;
  message: string | null;
  isTerminal: boolean;
  at: string;
}
