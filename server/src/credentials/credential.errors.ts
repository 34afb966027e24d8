import { DomainError } from '../shared/errors.js';

export const credentialNotFound = (id: string) =>
  new DomainError('CREDENTIAL_NOT_FOUND', `credential ${id} does not exist`, { details: { credentialId: id } });

export const credentialInUse = (id: string, users: string[]) =>
  new DomainError('CREDENTIAL_IN_USE', `credential ${id} is still needed by ${users.join(', ')}`, {
    details: { credentialId: id, usedBy: users },
  });

export const credentialNameTaken = (name: string) =>
  new DomainError('CREDENTIAL_NAME_TAKEN', `a credential named "${name}" already exists`, {
    details: { fields: { name: 'is already used by another credential' } },
  });
