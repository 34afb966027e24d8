import { DomainError } from '../shared/errors.js';

export const drillRunNotFound = (id: string) =>
  new DomainError('DRILL_RUN_NOT_FOUND', `drill run ${id} does not exist`, { details: { drillRunId: id } });

export const drillAlreadyRunning = (organizationId: string, drillRunId: string) =>
  new DomainError(
    'DRILL_ALREADY_RUNNING',
    `a drill of this organization is already queued or running (drill ${drillRunId})`,
    {
      details: { organizationId, drillRunId },
    },
  );
