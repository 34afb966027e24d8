/**
 * Storage keys: relative POSIX paths whose segments are safe on every medium we target (ext4,
 * NFS, SMB/NTFS, S3). Labkeeper builds keys from ids and fixed names, so a strict whitelist costs
 * nothing and keeps `..`, absolute paths, backslashes and reserved Windows characters out.
 *
 * Rules: 1–1024 characters; `/`-separated segments of 1–255 characters from `A–Z a–z 0–9 . _ - = @ +`,
 * not starting with `.` (which also rules out `.` and `..`) and not containing `.tmp-` (the
 * marker of writes in progress, see local-storage.ts).
 */
import { validationError } from '../shared/errors.js';

const SEGMENT = /^[A-Za-z0-9_=@+-][A-Za-z0-9._=@+-]{0,254}$/;
export const TEMP_MARKER = '.tmp-';

function segmentProblem(segment: string): string | null {
  if (segment === '') return 'must not be empty, start or end with "/", or contain "//"';
  if (segment === '..' || segment === '.') return 'must not contain "." or ".." segments';
  if (segment.includes('\\')) return 'must use "/" as separator, not "\\"';
  if (segment.startsWith('.')) return 'segments must not start with "."';
  if (segment.includes(TEMP_MARKER))
    return `segments must not contain "${TEMP_MARKER}" (reserved for writes in progress)`;
  if (!SEGMENT.test(segment)) return 'segments may only use A-Z a-z 0-9 . _ - = @ + (at most 255 characters)';
  return null;
}

function check(value: string, field: string): string[] {
  if (typeof value !== 'string' || value.length === 0) throw validationError({ [field]: 'must not be empty' });
  if (value.length > 1024) throw validationError({ [field]: 'must be at most 1024 characters' });
  if (value.startsWith('/')) throw validationError({ [field]: 'must be a relative path' });
  const segments = value.split('/');
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem) throw validationError({ [field]: problem }, `invalid storage ${field} "${value}": ${problem}`);
  }
  return segments;
}

/** The segments of a valid key; VALIDATION_FAILED (field `key`) otherwise. */
export function parseKey(key: string): string[] {
  return check(key, 'key');
}

/**
 * The segments of a listing prefix (`''` → no segments; one trailing `/` allowed);
 * VALIDATION_FAILED (field `prefix`) otherwise.
 */
export function parsePrefix(prefix: string): string[] {
  if (prefix === '') return [];
  return check(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
}

/** Whether `key` lies below the (parsed) prefix, segment-wise. */
export function isBelow(key: string, prefixSegments: string[]): boolean {
  if (prefixSegments.length === 0) return true;
  return key.startsWith(`${prefixSegments.join('/')}/`);
}
