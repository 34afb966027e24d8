import { DomainError } from '../shared/errors.js';

export const artifactNotFound = (key: string) =>
  new DomainError('ARTIFACT_NOT_FOUND', `no stored object at ${key}`, { details: { key } });

export const artifactExists = (key: string) =>
  new DomainError('ARTIFACT_EXISTS', `an object already exists at ${key}; artifacts are written once`, {
    details: { key },
  });

/** Failures of the medium that retrying will not fix (until an operator acts). */
const PERMANENT = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENAMETOOLONG']);

/** What an operator should read for the usual causes. */
const REASONS: Record<string, string> = {
  EROFS: 'the storage is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the storage',
  EDQUOT: 'the storage quota is exceeded',
};

/** Translates a file system (or object store) failure; passes DomainErrors through. */
export function storageUnavailable(operation: string, key: string, cause: unknown): DomainError {
  if (cause instanceof DomainError) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new DomainError(
    'STORAGE_UNAVAILABLE',
    `storage ${operation} failed for ${key || '(root)'}${code ? ` (${code}${REASONS[code] ? `: ${REASONS[code]}` : ''})` : ''}`,
    { details: { operation, key, ...(code ? { errno: code } : {}) }, retryable: !(code && PERMANENT.has(code)), cause },
  );
}
