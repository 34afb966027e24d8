/**
 * What changed in a whole organization between two points in time. For each repository and group,
 * the snapshot that stood at each point (its newest snapshot taken at or before it) is found;
 * where the two differ, they are compared with snapshotDiff (refs with force-moves, sizes,
 * metadata) and summarised. An owner first backed up in between is listed as new (there is
 * nothing to compare it with); an owner deleted upstream in between is flagged. The full
 * per-owner diff is one `snapshotDiff(from, to)` away. Owners whose snapshot did not change are
 * counted, not listed.
 */
import { LessThanOrEqual, type DataSource } from 'typeorm';
import { GroupEntity, OrganizationEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import { DomainError, validationError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { SnapshotDiff } from './snapshot-diff.js';

export interface OrganizationDiffEntry {
  repositoryId: string | null;
  groupId: string | null;
  /** The repository's path with namespace, or the group's full path. */
  path: string;
  /** Null when the owner had no snapshot yet at `from` (first backed up in between). */
  fromSnapshotId: string | null;
  toSnapshotId: string;
  deletedUpstreamAt: Date | null;
  refsAdded: number;
  refsRemoved: number;
  refsMoved: number;
  forcedRefs: string[];
  recordsAdded: number;
  recordsRemoved: number;
  recordsChanged: number;
  /** Why the two snapshots could not be compared (e.g. an artifact unreadable); null when they were. */
  problem: string | null;
}

export interface OrganizationDiff {
  organizationId: string;
  from: Date;
  to: Date;
  /** Owners with a snapshot at `to`. */
  compared: number;
  /** ... of which the same snapshot stood at both points. */
  unchanged: number;
  entries: OrganizationDiffEntry[];
}

export async function organizationDiff(
  deps: {
    dataSource: DataSource;
    logger: Logger;
    diff: (fromSnapshotId: string, toSnapshotId: string) => Promise<SnapshotDiff>;
  },
  organizationId: string,
  range: { from: Date; to: Date },
): Promise<OrganizationDiff> {
  const { dataSource } = deps;
  if (!(range.from.getTime() < range.to.getTime()))
    throw validationError({ to: 'must be later than from' }, 'the range must end after it starts');
  const isOrganization = /^[0-9a-f-]{36}$/i.test(organizationId)
    ? await dataSource.getRepository(OrganizationEntity).existsBy({ id: organizationId })
    : false;
  if (!isOrganization)
    throw new DomainError('ORGANIZATION_NOT_FOUND', `organization ${organizationId} does not exist`, {
      details: { organizationId },
    });
  const [repositories, groups] = await Promise.all([
    dataSource.getRepository(RepositoryEntity).find({ where: { organizationId } }),
    dataSource.getRepository(GroupEntity).find({ where: { organizationId } }),
  ]);
  const owners = [
    ...repositories.map((r) => ({
      repositoryId: r.id,
      groupId: null,
      path: r.pathWithNamespace,
      deletedUpstreamAt: r.deletedUpstreamAt,
    })),
    ...groups.map((g) => ({
      repositoryId: null,
      groupId: g.id,
      path: g.fullPath,
      deletedUpstreamAt: g.deletedUpstreamAt,
    })),
  ].sort((a, b) => a.path.localeCompare(b.path));
  const snapshots = dataSource.getRepository(SnapshotEntity);
  const standing = (owner: { repositoryId: string | null; groupId: string | null }, at: Date) =>
    snapshots.findOne({
      where: {
        organizationId,
        ...(owner.repositoryId ? { repositoryId: owner.repositoryId } : { groupId: owner.groupId! }),
        createdAt: LessThanOrEqual(at),
      },
      order: { createdAt: 'DESC' },
    });
  const result: OrganizationDiff = { organizationId, ...range, compared: 0, unchanged: 0, entries: [] };
  for (const owner of owners) {
    const [before, after] = [await standing(owner, range.from), await standing(owner, range.to)];
    if (!after) continue;
    result.compared++;
    const deletedInRange =
      owner.deletedUpstreamAt && owner.deletedUpstreamAt > range.from && owner.deletedUpstreamAt <= range.to
        ? owner.deletedUpstreamAt
        : null;
    if (before?.id === after.id && !deletedInRange) {
      result.unchanged++;
      continue;
    }
    const entry: OrganizationDiffEntry = {
      repositoryId: owner.repositoryId,
      groupId: owner.groupId,
      path: owner.path,
      fromSnapshotId: before?.id ?? null,
      toSnapshotId: after.id,
      deletedUpstreamAt: deletedInRange,
      refsAdded: 0,
      refsRemoved: 0,
      refsMoved: 0,
      forcedRefs: [],
      recordsAdded: 0,
      recordsRemoved: 0,
      recordsChanged: 0,
      problem: null,
    };
    if (before && before.id !== after.id) {
      try {
        const diff = await deps.diff(before.id, after.id);
        const compared = diff.metadata.filter((t) => t.isCompared);
        Object.assign(entry, {
          refsAdded: diff.added.length,
          refsRemoved: diff.removed.length,
          refsMoved: diff.moved.length,
          forcedRefs: diff.moved.filter((m) => m.isForced).map((m) => m.ref),
          recordsAdded: compared.reduce((n, t) => n + t.addedCount, 0),
          recordsRemoved: compared.reduce((n, t) => n + t.removedCount, 0),
          recordsChanged: compared.reduce((n, t) => n + t.changedCount, 0),
        });
      } catch (error) {
        deps.logger.warn({ err: error, organizationId, from: before.id, to: after.id }, 'snapshot diff failed');
        entry.problem = 'the two snapshots could not be compared (see the server log)';
      }
    }
    result.entries.push(entry);
  }
  return result;
}
