import { DomainError } from '../shared/errors.js';

export const organizationNotFound = (id: string) =>
  new DomainError('ORGANIZATION_NOT_FOUND', `organization ${id} does not exist`, { details: { organizationId: id } });

export const alreadyProtected = (fullPath: string, organizationId: string) =>
  new DomainError('ORGANIZATION_ALREADY_PROTECTED', `${fullPath} is already protected`, { details: { organizationId } });
