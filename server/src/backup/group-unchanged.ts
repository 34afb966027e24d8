/**
 * Which groups a run may skip because GitLab proves their metadata unchanged since their latest
 * snapshot, decided before the fan-out (as markProvablyUnchanged does for repositories), with a
 * handful of requests for the whole organization instead of five listings per group.
 *
 * GitLab gives groups no `last_activity_at`, and labels and members carry no `updated_at`, so
 * "unchanged" is proven by content, never by a timestamp: the records GitLab lists now are
 * compared (RecordsDigest, records-digest.ts) with those the latest snapshot holds.
 * - group_labels, group_milestones, subgroups, epics: one listing of the whole tree each from the
 *   organization's top group (GROUP_TREE_ENDPOINTS: include_descendant(s|_groups),
 *   descendant_groups), split by owner: `group_id` (milestones, epics), `parent_id` (subgroups).
 *   Labels name no group, so a label is given to the group whose latest snapshot holds its id; a
 *   label no snapshot holds (a new one) could be any group's, and every group's labels count as
 *   changed. A type GitLab refuses (epics below Premium) is unchanged when the snapshot has it
 *   SKIPPED too.
 * - group_members: no tree listing exists, so each group that passed the rest is listed (one
 *   request per 100 members) and compared.
 * A group that passes every type ends UNCHANGED with its latest snapshot, without a job. Any
 * other group, or any doubt (an error, an older snapshot, another key), is backed up as before;
 * its job then stores only the types that changed (group-incremental.ts).
 */
import { createInterface } from 'node:readline';
import { In, type DataSource } from 'typeorm';
import { GROUP_TREE_ENDPOINTS, type GroupTreeType } from '../gitlab/metadata.endpoints.js';
import { GroupEntity, OrganizationEntity } from '../organizations/organization.entity.js';
import type { Clock } from '../shared/clock.js';
import { isDomainError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Manifest } from '../snapshot/manifest.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import { BackupRunItemEntity, type BackupRunEntity } from './backup.entity.js';
import type { MetadataSource } from './backup.ports.js';
import { withoutSecrets } from './metadata-secrets.js';
import type { GroupMetadataType } from './policy.types.js';
import { RecordsDigest } from './records-digest.js';

export interface GroupChangesDeps {
  dataSource: DataSource;
  reader: SnapshotReader;
  metadataFor(connectionId: string): Promise<MetadataSource>;
  encryptionKey(run: BackupRunEntity): Promise<{ key: Buffer; keyId: string } | null>;
  clock: Clock;
  logger: Logger;
}

/** A group whose latest snapshot may stand for this run, with what it holds per type. */
interface Candidate {
  itemId: string;
  gitlabGroupId: number;
  latest: SnapshotEntity;
  manifest: Manifest;
  /** Per OK type: the digest of its stored records. */
  stored: Map<GroupMetadataType, string>;
  changed: boolean;
}

/** Listings of members run this many at a time. */
const MEMBER_LISTINGS_AT_ONCE = 4;

/** Marks the run's group items GitLab proves unchanged UNCHANGED; returns how many. */
export async function markUnchangedGroups(deps: GroupChangesDeps, run: BackupRunEntity): Promise<number> {
  if (run.copyType === 'FULL') return 0;
  const org = await deps.dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: run.organizationId });
  if (org.kind !== 'GROUP') return 0;
  const types = run.policy.include.groupMetadata;
  const candidates = await candidatesOf(deps, run, types);
  if (candidates.length === 0) return 0;
  const source = await deps.metadataFor(org.connectionId);
  const labelOwners = await storedLabelOwners(deps, run, candidates, types);
  for (const type of types) {
    if (type === 'group_members') continue;
    await compareTree(deps, source, org.gitlabNamespaceId, type, candidates, labelOwners);
  }
  if (types.includes('group_members')) {
    const pending = candidates.filter((c) => !c.changed);
    for (let i = 0; i < pending.length; i += MEMBER_LISTINGS_AT_ONCE)
      await Promise.all(
        pending
          .slice(i, i + MEMBER_LISTINGS_AT_ONCE)
          .map((c) =>
            compare(c, 'group_members', () => source.groupRecords(c.gitlabGroupId, 'group_members'), deps.logger),
          ),
      );
  }
  const unchanged = candidates.filter((c) => !c.changed);
  for (const c of unchanged)
    await deps.dataSource
      .getRepository(BackupRunItemEntity)
      .update(
        { id: c.itemId, status: 'QUEUED' },
        { status: 'UNCHANGED', phase: 'DONE', snapshotId: c.latest.id, finishedAt: deps.clock.now() },
      );
  if (unchanged.length > 0)
    deps.logger.info(
      { runId: run.id, unchanged: unchanged.length },
      'groups provably unchanged: skipped without a job',
    );
  return unchanged.length;
}

/**
 * The run's queued group items whose latest snapshot of the chain is complete, not failed (and
 * verified when the policy verifies), holds exactly the policy's types, each OK without
 * warnings or SKIPPED, and was written with the run's key (or none).
 */
async function candidatesOf(
  deps: GroupChangesDeps,
  run: BackupRunEntity,
  types: readonly GroupMetadataType[],
): Promise<Candidate[]> {
  const items = (
    await deps.dataSource.getRepository(BackupRunItemEntity).findBy({ runId: run.id, status: 'QUEUED' })
  ).filter((i) => i.groupId);
  if (items.length === 0) return [];
  const groups = await deps.dataSource.getRepository(GroupEntity).findBy({ id: In(items.map((i) => i.groupId!)) });
  const encryption = await deps.encryptionKey(run);
  const candidates: Candidate[] = [];
  for (const item of items) {
    const group = groups.find((g) => g.id === item.groupId);
    const latest = await deps.dataSource
      .getRepository(SnapshotEntity)
      .findOne({ where: { groupId: item.groupId!, chainKey: run.chainKey }, order: { createdAt: 'DESC' } });
    if (!group || !latest || !latest.isComplete || latest.verificationStatus === 'FAILED') continue;
    if (run.policy.verifyAfterBackup && latest.verificationStatus !== 'VERIFIED') continue;
    const manifest = await deps.reader.manifest(latest).catch(() => null);
    if (!manifest || (manifest.encryption?.keyId ?? null) !== (encryption?.keyId ?? null)) continue;
    if ([...types].sort().join() !== Object.keys(manifest.metadata).sort().join()) continue;
    const entries = Object.values(manifest.metadata);
    if (entries.some((e) => e.status === 'FAILED' || (e.warnings?.length ?? 0) > 0)) continue;
    const stored = new Map<GroupMetadataType, string>();
    try {
      for (const type of types) {
        if (manifest.metadata[type].status !== 'OK') continue;
        const digest = new RecordsDigest();
        for await (const line of storedLines(deps, latest, manifest, type, encryption?.key ?? null)) digest.add(line);
        stored.set(type, digest.digest());
      }
    } catch (error) {
      deps.logger.warn({ err: error, snapshotId: latest.id }, 'group snapshot unreadable: the group is backed up');
      continue;
    }
    candidates.push({ itemId: item.id, gitlabGroupId: group.gitlabGroupId, latest, manifest, stored, changed: false });
  }
  return candidates;
}

async function* storedLines(
  deps: GroupChangesDeps,
  snapshot: SnapshotEntity,
  manifest: Manifest,
  type: GroupMetadataType,
  key: Buffer | null,
): AsyncIterable<string> {
  const artifact = manifest.artifacts.find((a) => a.kind === 'METADATA' && a.metadataType === type);
  if (!artifact) throw new Error(`no artifact for ${type}`);
  const input = await deps.reader.openDecoded(snapshot, artifact, artifact.encrypted ? key : null);
  for await (const line of createInterface({ input, crlfDelay: Infinity })) if (line.trim()) yield line;
}

/** Label id → the GitLab id of the group whose latest snapshot holds it. */
async function storedLabelOwners(
  deps: GroupChangesDeps,
  run: BackupRunEntity,
  candidates: Candidate[],
  types: readonly GroupMetadataType[],
): Promise<Map<unknown, number>> {
  const owners = new Map<unknown, number>();
  if (!types.includes('group_labels')) return owners;
  const key = (await deps.encryptionKey(run))?.key ?? null;
  for (const c of candidates) {
    if (c.manifest.metadata.group_labels?.status !== 'OK') continue;
    for await (const line of storedLines(deps, c.latest, c.manifest, 'group_labels', key))
      owners.set((JSON.parse(line) as { id?: unknown }).id, c.gitlabGroupId);
  }
  return owners;
}

/** One listing of `type` over the whole tree, split by owner and compared group by group. */
async function compareTree(
  deps: GroupChangesDeps,
  source: MetadataSource,
  topGroupId: number,
  type: GroupTreeType,
  candidates: Candidate[],
  labelOwners: Map<unknown, number>,
): Promise<void> {
  const pending = candidates.filter((c) => !c.changed);
  if (pending.length === 0) return;
  const ownerField = GROUP_TREE_ENDPOINTS[type].owner;
  const byOwner = new Map<number, RecordsDigest>();
  let ownerUnknown = false;
  const listing = await list(
    () => source.groupTreeRecords(topGroupId, type),
    (record) => {
      const owner = ownerField ? record[ownerField] : labelOwners.get(record.id);
      if (typeof owner !== 'number') return void (ownerUnknown = true);
      const digest = byOwner.get(owner) ?? new RecordsDigest();
      byOwner.set(owner, digest);
      digest.add(JSON.stringify(withoutSecrets(type, record)));
    },
  );
  for (const c of pending) {
    const entry = c.manifest.metadata[type];
    if (listing === 'FAILED') c.changed = true;
    else if (listing === 'REFUSED') c.changed = entry.status !== 'SKIPPED';
    else
      c.changed =
        entry.status !== 'OK' ||
        ownerUnknown ||
        (byOwner.get(c.gitlabGroupId) ?? new RecordsDigest()).digest() !== c.stored.get(type);
  }
  if (listing === 'FAILED') deps.logger.warn({ type }, 'group tree listing failed: every group is backed up');
}

/** One group's listing of `type` compared with its latest snapshot. */
async function compare(
  c: Candidate,
  type: GroupMetadataType,
  records: () => AsyncIterable<Record<string, unknown>>,
  logger: Logger,
): Promise<void> {
  const digest = new RecordsDigest();
  const listing = await list(records, (record) => digest.add(JSON.stringify(withoutSecrets(type, record))));
  const entry = c.manifest.metadata[type];
  if (listing === 'FAILED') logger.warn({ type, groupId: c.gitlabGroupId }, 'listing failed: the group is backed up');
  c.changed =
    listing === 'FAILED' ||
    (listing === 'REFUSED' ? entry.status !== 'SKIPPED' : digest.digest() !== c.stored.get(type));
}

/** Reads a listing to its end; a refusal (scope, role, tier, absent feature) is REFUSED, any other error FAILED. */
async function list(
  records: () => AsyncIterable<Record<string, unknown>>,
  onRecord: (record: Record<string, unknown>) => void,
): Promise<'OK' | 'REFUSED' | 'FAILED'> {
  try {
    for await (const record of records()) onRecord(record);
    return 'OK';
  } catch (error) {
    return isDomainError(error, 'GITLAB_FORBIDDEN') || isDomainError(error, 'GITLAB_NOT_FOUND') ? 'REFUSED' : 'FAILED';
  }
}
