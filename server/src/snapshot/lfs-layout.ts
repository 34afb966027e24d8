/**
 * Where an LFS object lives in the artifact store: content-addressed per repository and shared by
 * all its snapshots (write-once; present → skip). Plain objects use git-lfs' own layout
 * (`lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>`, as in `<git dir>/lfs/objects`), so copying the
 * `lfs` folder into a bare clone and running `git lfs push --all` restores them. Encrypted ones
 * live under their key's id (`lfs/encrypted-<keyId>/…`), so a key change never leaves an object
 * readable only with a key the manifest does not name.
 */
import { DomainError } from '../shared/errors.js';

/** An LFS object id: sha256 of the content, 64 lowercase hex digits. */
export const LFS_OID = /^[0-9a-f]{64}$/;

/** An LFS object as a pointer names it (git-lfs docs/spec.md), and as a manifest lists it. */
export interface LfsPointer {
  /** sha256 of the content, 64 lowercase hex digits. */
  oid: string;
  /** Bytes of the content. */
  size: number;
}

/** Unique, valid objects (the first pointer of an oid wins), and the oids of invalid ones. */
export function uniqueObjects(objects: LfsPointer[]): { objects: LfsPointer[]; invalid: string[] } {
  const unique = new Map<string, number>();
  const invalid: string[] = [];
  for (const object of objects) {
    if (!LFS_OID.test(object.oid) || !Number.isSafeInteger(object.size) || object.size < 0)
      invalid.push(String(object.oid));
    else if (!unique.has(object.oid)) unique.set(object.oid, object.size);
  }
  return { objects: [...unique.entries()].map(([oid, size]) => ({ oid, size })), invalid };
}

export function lfsKey(
  organizationId: string,
  repositoryId: string,
  oid: string,
  options: { keyId?: string | null } = {},
): string {
  if (!LFS_OID.test(oid)) throw new DomainError('VALIDATION_FAILED', `not an LFS oid: ${oid.slice(0, 80)}`);
  if (options.keyId && !/^[0-9A-Za-z_-]{1,128}$/.test(options.keyId))
    throw new DomainError('VALIDATION_FAILED', 'not a key id');
  const folder = options.keyId ? `encrypted-${options.keyId}` : 'objects';
  return `orgs/${organizationId}/repos/${repositoryId}/lfs/${folder}/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}`;
}
