import { DomainError } from '../shared/errors.js';

export const organizationNotFound = (id: string) =>
  new DomainError('ORGANIZATION_NOT_FOUND', `organization ${id} does not exist`, { details: { organizationId: id } });

export const alreadyProtected = (fullPath: string, existing: { id: string; name: string; connectionId: string }) =>
  new DomainError(
    'ORGANIZATION_ALREADY_PROTECTED',
    `${fullPath} is already protected as organization "${existing.name}" (id ${existing.id}, connection ${existing.connectionId})`,
    {
      details: {
        organizationId: existing.id,
        connectionId: existing.connectionId,
        fields: { namespacePath: `is already protected as organization "${existing.name}" (id ${existing.id})` },
      },
    },
  );
