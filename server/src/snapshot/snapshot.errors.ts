import { DomainError } from '../shared/errors.js';

export const snapshotNotFound = (id: string) =>
  new DomainError('SNAPSHOT_NOT_FOUND', `snapshot ${id} does not exist`, { details: { snapshotId: id } });

export const snapshotHasDependents = (id: string, dependents: string[]) =>
  new DomainError(
    'SNAPSHOT_HAS_DEPENDENTS',
    `snapshot ${id} is needed by ${dependents.length} later snapshot(s); delete those first`,
    {
      details: { snapshotId: id, dependents },
    },
  );

/** `copy`: the replica whose lock ends last, when it is a replica's lock that refuses (else the primary's). */
export const snapshotLocked = (id: string, until: Date, copy?: { storageId: string; storageName: string }) =>
  new DomainError(
    'SNAPSHOT_LOCKED',
    `snapshot ${id} is under Object Lock${copy ? ` on its replica in storage "${copy.storageName}"` : ''} until ${until.toISOString()}; it cannot be deleted before then`,
    {
      details: {
        snapshotId: id,
        lockedUntil: until.toISOString(),
        ...(copy ? { storageId: copy.storageId } : {}),
      },
    },
  );

export const snapshotParentGone = (snapshotId: string, parentId: string) =>
  new DomainError('SNAPSHOT_NOT_FOUND', `snapshot ${snapshotId} depends on ${parentId}, which is gone`, {
    details: { snapshotId, parentId },
  });

export const snapshotPinned = (id: string, pin: { reason: string; anomalyId: string | null }) =>
  new DomainError('SNAPSHOT_PINNED', `snapshot ${id} is pinned (${pin.reason}); unpin it before deleting it`, {
    details: { snapshotId: id, pinReason: pin.reason, ...(pin.anomalyId ? { anomalyId: pin.anomalyId } : {}) },
  });
