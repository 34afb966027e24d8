/**
 * Restoring a group's metadata snapshot (target NEW_PROJECT, alongside the organization's
 * projects): its group labels and group milestones are recreated in the matching group of the
 * target namespace. A group at `<organization>/<rest>` goes to `<namespacePath>/<rest>`, the
 * organization's own group to `<namespacePath>` itself (target-namespace.ts). A target group that
 * does not exist is created, parents first, with the name, description and visibility its
 * parent's `subgroups` records captured (capturedGroupsOf); the target namespace itself must exist.
 *
 * The labels and milestones are written by the project metadata restore itself (same rules:
 * looked up in `restore_mappings`, then by name or title, before anything is created; closed
 * milestones closed afterwards), pointed at the group endpoints. Mappings are scoped to the
 * target group (`<connectionId>:group:<groupId>`), so a re-run after a crash creates no
 * duplicate either. Direct members are mapped by username; subgroups are restored as the groups
 * themselves. Epics come last, once the group's labels exist (epic-restore.ts): where the target
 * group's tier has them (Premium), with their hierarchy where it has multi-level epics (Ultimate);
 * on Free the report says they were skipped and why.
 */
import type { GitLabMetadataWriter } from '../gitlab/metadata.writer.js';
import { DomainError, isDomainError } from '../shared/errors.js';
import { restoreMembers, type SettingsTypeReport } from './settings-restore.js';
import { restoreEpics } from './epic-restore.js';
import { ensureNamespace, targetPathOf, type CapturedGroup } from './target-namespace.js';
import {
  InMemoryRestoreMappings,
  restoreProjectMetadata,
  type RecordSource,
  type RestorableType,
} from './metadata-restore.js';
import {
  canWriteAsAuthors,
  emptyTargetWriter,
  readRecords,
  requireWriteScopes,
  type NewProjectDeps,
  type NewProjectOutcome,
  type NewProjectTarget,
} from './new-project.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';

/** Group metadata types written back, and the project restore type that writes each. */
const GROUP_TYPES: Record<string, RestorableType> = { group_labels: 'labels', group_milestones: 'milestones' };

/** The target group's full path for a group snapshot restored under `namespacePath`. */
export const targetGroupPath = targetPathOf;

/**
 * The captured settings of every group the group snapshots' `subgroups` records describe, by the
 * path the group gets under `namespacePath`.
 */
export async function capturedGroupsOf(
  deps: NewProjectDeps,
  groupSnapshots: SnapshotEntity[],
  namespacePath: string,
): Promise<Map<string, CapturedGroup>> {
  const captured = new Map<string, CapturedGroup>();
  for (const snapshot of groupSnapshots) {
    const manifest = await deps.reader.manifest(snapshot);
    const artifact = manifest.artifacts.find((a) => a.metadataType === 'subgroups');
    if (!artifact) continue;
    for await (const record of readRecords(deps, snapshot, manifest, artifact)) {
      if (typeof record.full_path !== 'string' || typeof record.name !== 'string') continue;
      captured.set(targetPathOf(record.full_path, manifest.organization.fullPath, namespacePath), {
        name: record.name,
        description: typeof record.description === 'string' ? record.description : null,
        visibility: typeof record.visibility === 'string' ? record.visibility : 'private',
      });
    }
  }
  return captured;
}

/** A writer whose project label and milestone calls go to a group's endpoints. */
function groupWriter(writer: GitLabMetadataWriter): GitLabMetadataWriter {
  return Object.assign(Object.create(writer) as GitLabMetadataWriter, {
    listLabels: (groupId: number) => writer.listGroupLabels(groupId),
    createLabel: (groupId: number, input: Parameters<GitLabMetadataWriter['createLabel']>[1]) =>
      writer.createGroupLabel(groupId, input),
    listMilestones: (groupId: number) => writer.listGroupMilestones(groupId),
    createMilestone: (groupId: number, input: Parameters<GitLabMetadataWriter['createMilestone']>[1]) =>
      writer.createGroupMilestone(groupId, input),
    updateMilestone: (groupId: number, id: number, change: { stateEvent: 'close' | 'activate' }) =>
      writer.updateGroupMilestone(groupId, id, change),
  });
}

export async function restoreGroupToNamespace(
  deps: NewProjectDeps,
  snapshot: SnapshotEntity,
  target: Pick<
    NewProjectTarget,
    'connectionId' | 'namespacePath' | 'capturedGroups' | 'epicsPlaced' | 'deferredTexts'
  > & {
    /** The group's own path under namespacePath, instead of its path relative to the organization (drills). */
    groupPath?: string;
  },
  options: { dryRun: boolean },
): Promise<NewProjectOutcome> {
  const connection = await deps.connections.get(target.connectionId);
  requireWriteScopes(connection, ['api'], 'write group labels and milestones');
  const manifest = await deps.reader.manifest(snapshot);
  if (!manifest.group) throw new DomainError('VALIDATION_FAILED', `snapshot ${snapshot.id} is not a group's metadata`);
  const path = target.groupPath
    ? `${target.namespacePath}/${target.groupPath}`
    : targetGroupPath(manifest.group.fullPath, manifest.organization.fullPath, target.namespacePath);
  const access = await deps.sessions.access(connection.id, { write: true });
  const writer = deps.writers.create(access);
  const plan = await deps.sessions.withGitLab(
    connection.id,
    (client) =>
      ensureNamespace({
        client,
        writer,
        fullPath: path,
        rootPath: target.namespacePath,
        captured: target.capturedGroups ?? new Map(),
        dryRun: options.dryRun,
      }),
    { write: true },
  );
  const namespace = plan.namespace;
  if (namespace && namespace.kind !== 'group')
    throw new DomainError(
      'NAMESPACE_NOT_FOUND',
      `${path} is a user namespace, which has no group labels or milestones`,
      { details: { path } },
    );

  const source: Partial<Record<RestorableType, RecordSource>> = {};
  for (const artifact of manifest.artifacts) {
    const type = artifact.metadataType ? GROUP_TYPES[artifact.metadataType] : undefined;
    if (type) source[type] = () => readRecords(deps, snapshot, manifest, artifact);
  }
  const metadata = await restoreProjectMetadata({
    // A group the dry run would create is predicted against an empty one.
    writer: groupWriter(namespace ? writer : emptyTargetWriter()),
    targetProjectId: namespace?.id ?? 0,
    source,
    mappings: namespace ? deps.mappingsFor(`${connection.id}:group:${namespace.id}`) : new InMemoryRestoreMappings(),
    dryRun: options.dryRun,
  });
  // Direct members, mapped by username to users of the target (unmapped ones listed).
  let settings: NewProjectOutcome['settings'];
  const membersArtifact = manifest.artifacts.find((a) => a.metadataType === 'group_members');
  if (membersArtifact) {
    const members: SettingsTypeReport = { created: 0, skipped: 0, failed: [], omitted: [], notes: [] };
    const target = namespace ? writer : emptyTargetWriter(writer);
    const existing = namespace ? await writer.listMembers({ kind: 'group', id: namespace.id }) : [];
    await restoreMembers(
      target,
      { kind: 'group', id: namespace?.id ?? 0 },
      readRecords(deps, snapshot, manifest, membersArtifact),
      existing,
      members,
      options.dryRun,
      async (r, id, run) => {
        try {
          r[await run()] += 1;
        } catch (error) {
          if (isDomainError(error) && error.details?.status === 409) r.skipped += 1;
          else r.failed.push({ sourceId: id, reason: error instanceof Error ? error.message : String(error) });
        }
      },
    );
    settings = { members };
  }
  // Epics after the labels they carry; a dry run against a group it would create predicts against an empty one.
  const epicsArtifact = manifest.artifacts.find((a) => a.metadataType === 'epics');
  const epics = epicsArtifact
    ? await restoreEpics({
        writer: namespace ? writer : emptyTargetWriter(writer),
        groupId: namespace?.id ?? 0,
        records: readRecords(deps, snapshot, manifest, epicsArtifact),
        mappings: namespace
          ? deps.mappingsFor(`${connection.id}:group:${namespace.id}`)
          : new InMemoryRestoreMappings(),
        dryRun: options.dryRun,
        asAuthors: await canWriteAsAuthors(connection, writer),
        placedInRun: target.epicsPlaced,
        projectReferences: target.deferredTexts && {
          sourceGroupPath: manifest.group.fullPath,
          targetGroupPath: path,
          texts: target.deferredTexts,
        },
      })
    : undefined;
  const problems: string[] = [];
  for (const f of settings?.members?.failed ?? []) problems.push(`group members ${f.sourceId}: ${f.reason}`);
  for (const f of epics?.failed ?? []) problems.push(`epics ${f.sourceId}: ${f.reason}`);
  for (const [type, section] of Object.entries(metadata))
    for (const f of section.failed) problems.push(`group ${type} ${f.sourceId}: ${f.reason}`);
  return {
    projectPath: path,
    webUrl: namespace?.webUrl ?? null,
    created: plan.created.includes(path),
    groupsCreated: plan.created,
    settings,
    git: null,
    wiki: null,
    lfs: null,
    metadata,
    epics,
    problems,
    notRestored: epics?.unavailable ? ['epics'] : [],
  };
}
