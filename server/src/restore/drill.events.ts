import type { DrillStatus } from './drill.entity.js';

/** Published when a drill is queued, starts, finishes a repository, and ends (isTerminal). */
export interface DrillChanged {
  drillRunId: string;
  organizationId: string;
  status: DrillStatus;
  repositoriesDone: number;
  isTerminal: boolean;
  at: string;
}
