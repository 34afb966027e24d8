import { DomainError } from '../shared/errors.js';

export const backupRunNotFound = (id: string) =>
  new DomainError('BACKUP_RUN_NOT_FOUND', `backup run ${id} does not exist`, { details: { runId: id } });

export const backupAlreadyRunning = (organizationId: string, runId: string) =>
  new DomainError(
    'BACKUP_ALREADY_RUNNING',
    `a backup of this organization is already queued or running (run ${runId})`,
    {
      details: { organizationId, runId },
    },
  );

export const nothingToBackUp = (organizationId: string) =>
  new DomainError(
    'VALIDATION_FAILED',
    'no protected repository matches: protect repositories or pass repositoryIds of this organization',
    {
      details: { organizationId, fields: { repositoryIds: 'no protected repository of this organization matches' } },
    },
  );
