/**
 * Restoring a group's metadata snapshot (target NEW_PROJECT, alongside the organization's
 * projects): its group labels and group milestones are recreated in the matching group of the
 * target namespace. A group at `<organization>/<rest>` goes to `<namespacePath>/<rest>`, the
 * organization's own group to `<namespacePath>` itself.
 *
 * A restore does not create groups: where a group must go is the operator's call (visibility,
 * parent, billing), and GitLab.com lets only some users create top-level groups. A target group
 * that does not exist is reported for that snapshot ("create it, then restore again"); the rest
 * of the restore goes on.
 *
 * The labels and milestones are written by the project metadata restore itself (same rules:
 * looked up in `restore_mappings`, then by name or title, before anything is created; closed
 * milestones closed afterwards), pointed at the group endpoints. Mappings are scoped to the
 * target group (`<connectionId>:group:<groupId>`), so a re-run after a crash creates no
 * duplicate either. Members, subgroups and epics are not written back (members are people's
 * access, subgroups are where this restore goes, epics need a paid tier): the report says so.
 */
import type { GitLabMetadataWriter } from '../gitlab/metadata.writer.js';
import { DomainError, isDomainError } from '../shared/errors.js';
import { restoreProjectMetadata, type RecordSource, type RestorableType } from './metadata-restore.js';
import { readRecords, requireWriteScopes, type NewProjectDeps, type NewProjectOutcome, type NewProjectTarget } from './new-project.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';

/** Group metadata types written back, and the project restore type that writes each. */
const GROUP_TYPES: Record<string, RestorableType> = { group_labels: 'labels', group_milestones: 'milestones' };
const NOT_RESTORED = ['group_members', 'subgroups', 'epics'];

/** The target group's full path for a group snapshot restored under `namespacePath`. */
export function targetGroupPath(groupFullPath: string, organizationFullPath: string, namespacePath: string): string {
  const base = namespacePath.replace(/^\/+|\/+$/g, '');
  if (groupFullPath === organizationFullPath) return base;
  if (groupFullPath.startsWith(`${organizationFullPath}/`)) return `${base}/${groupFullPath.slice(organizationFullPath.length + 1)}`;
  return `${base}/${groupFullPath.split('/').at(-1)}`;
}

/** A writer whose project label and milestone calls go to a group's endpoints. */
function groupWriter(writer: GitLabMetadataWriter): GitLabMetadataWriter {
  return Object.assign(Object.create(writer) as GitLabMetadataWriter, {
    listLabels: (groupId: number) => writer.listGroupLabels(groupId),
    createLabel: (groupId: number, input: Parameters<GitLabMetadataWriter['createLabel']>[1]) => writer.createGroupLabel(groupId, input),
    listMilestones: (groupId: number) => writer.listGroupMilestones(groupId),
    createMilestone: (groupId: number, input: Parameters<GitLabMetadataWriter['createMilestone']>[1]) => writer.createGroupMilestone(groupId, input),
    updateMilestone: (groupId: number, id: number, change: { stateEvent: 'close' | 'activate' }) => writer.updateGroupMilestone(groupId, id, change),
  });
}

export async function restoreGroupToNamespace(
  deps: NewProjectDeps,
  snapshot: SnapshotEntity,
  target: Pick<NewProjectTarget, 'connectionId' | 'namespacePath'>,
  options: { dryRun: boolean },
): Promise<NewProjectOutcome> {
  const connection = await deps.connections.get(target.connectionId);
  requireWriteScopes(connection, ['api'], 'write group labels and milestones');
  const manifest = await deps.reader.manifest(snapshot);
  if (!manifest.group) throw new DomainError('VALIDATION_FAILED', `snapshot ${snapshot.id} is not a group's metadata`);
  const path = targetGroupPath(manifest.group.fullPath, manifest.organization.fullPath, target.namespacePath);
  const namespace = await deps.sessions.withGitLab(connection.id, (client) =>
    client.getNamespace(path).catch((error: unknown) => {
      if (isDomainError(error, 'GITLAB_NOT_FOUND')) {
        throw new DomainError('NAMESPACE_NOT_FOUND', `group ${path} does not exist on the target: create it, then restore again (a restore does not create groups)`, { details: { path } });
      }
      throw error;
    }),
    { write: true },
  );
  if (namespace.kind !== 'group') throw new DomainError('NAMESPACE_NOT_FOUND', `${path} is a user namespace, which has no group labels or milestones`, { details: { path } });

  const store = await deps.stores.at(snapshot.storageRoot);
  const source: Partial<Record<RestorableType, RecordSource>> = {};
  for (const artifact of manifest.artifacts) {
    const type = artifact.metadataType ? GROUP_TYPES[artifact.metadataType] : undefined;
    if (type) source[type] = () => readRecords(store, deps, snapshot, manifest, artifact);
  }
  const access = await deps.sessions.access(connection.id, { write: true });
  const metadata = await restoreProjectMetadata({
    writer: groupWriter(deps.writers.create(access)),
    targetProjectId: namespace.id,
    source,
    mappings: deps.mappingsFor(`${connection.id}:group:${namespace.id}`),
    dryRun: options.dryRun,
  });
  const problems: string[] = [];
  for (const [type, section] of Object.entries(metadata)) for (const f of section.failed) problems.push(`group ${type} ${f.sourceId}: ${f.reason}`);
  return {
    projectPath: path,
    webUrl: namespace.webUrl,
    created: false,
    git: null,
    wiki: null,
    lfs: null,
    metadata,
    problems,
    notRestored: NOT_RESTORED.filter((type) => manifest.metadata[type]?.status === 'OK' && manifest.metadata[type]!.records > 0),
  };
}
