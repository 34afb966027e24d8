/**
 * Where a NEW_PROJECT restore puts things, and the groups it creates on the way.
 *
 * Hierarchy: the organization's tree is kept under the target namespace. A project or group at
 * `<organization>/<rest>` goes to `<namespacePath>/<rest>` (acme/platform/api → restored/platform/api),
 * the organization's own group to `<namespacePath>` itself. Groups missing on the target are
 * created (parents first) with the settings the backup captured for them (name, description,
 * visibility — from their parent's `subgroups` records); the target namespace itself must exist.
 *
 * Name collisions (docs/RESTORE.md): a project path that is taken on the target is used only when
 * this Connection's earlier restore of the same repository created the project there (recorded
 * in restore_mappings); otherwise the next of `<path>-restored`, `<path>-restored-2`, … that is
 * free (or was created by such an earlier restore) is taken. A restore never writes into a
 * project it did not create.
 */
import { isDomainError, validationError } from '../shared/errors.js';
import type { GitLabClient, GitLabNamespace, GitLabProject } from '../gitlab/gitlab.port.js';
import type { GitLabMetadataWriter } from '../gitlab/metadata.writer.js';
import type { RestoreMappings } from './metadata-mappings.js';

/** A group's settings as the backup captured them (a `subgroups` record of its parent). */
export interface CapturedGroup {
  name: string;
  description: string | null;
  visibility: string;
}

const trim = (path: string) => path.replace(/^\/+|\/+$/g, '');

/** The target path of a source path (a project's or a group's) restored under `namespacePath`. */
export function targetPathOf(sourceFullPath: string, organizationFullPath: string, namespacePath: string): string {
  const base = trim(namespacePath);
  if (sourceFullPath === organizationFullPath) return base;
  if (sourceFullPath.startsWith(`${organizationFullPath}/`))
    return `${base}/${sourceFullPath.slice(organizationFullPath.length + 1)}`;
  return `${base}/${sourceFullPath.split('/').at(-1)}`;
}

/** The collision candidates for `path`, in the order they are tried. */
export function collisionCandidates(path: string, count = 20): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? path : `${path}-restored${i === 1 ? '' : `-${i}`}`));
}

export interface NamespacePlan {
  /** The namespace, or null in a dry run when it would be created. */
  namespace: GitLabNamespace | null;
  /** Groups created (or, in a dry run, that would be), parents first. */
  created: string[];
}

async function findNamespace(
  client: GitLabClient,
  fullPath: string,
  known?: Map<string, GitLabNamespace>,
): Promise<GitLabNamespace | null> {
  const seen = known?.get(fullPath);
  if (seen) return seen;
  const found = await client.getNamespace(fullPath).catch((error: unknown) => {
    if (isDomainError(error, 'GITLAB_NOT_FOUND')) return null;
    throw error;
  });
  if (found) known?.set(fullPath, found);
  return found;
}

/**
 * The namespace at `fullPath`, creating the missing groups between `rootPath` (which must exist)
 * and it. `captured` maps a target group path to its captured settings.
 */
export async function ensureNamespace(input: {
  client: GitLabClient;
  writer: GitLabMetadataWriter | null;
  fullPath: string;
  rootPath: string;
  captured: ReadonlyMap<string, CapturedGroup>;
  dryRun: boolean;
  /**
   * Namespaces found on the target earlier in the same restore run, by full path: one lookup per
   * group rather than one per restored project. Only found ones are kept, so a group that did
   * not exist is looked up (and created) exactly as without it.
   */
  known?: Map<string, GitLabNamespace>;
}): Promise<NamespacePlan> {
  const { client, writer, rootPath, captured, dryRun, known } = input;
  const fullPath = trim(input.fullPath);
  const root = trim(rootPath);
  const found = await findNamespace(client, fullPath, known);
  if (found) return { namespace: found, created: [] };
  if (fullPath === root || !fullPath.startsWith(`${root}/`)) {
    throw validationError({
      namespacePath: `the group or namespace "${root}" does not exist on the target instance: create it there, or restore into another one`,
    });
  }
  const parent = await ensureNamespace({ ...input, fullPath: fullPath.slice(0, fullPath.lastIndexOf('/')) });
  if (dryRun || !parent.namespace || !writer) return { namespace: null, created: [...parent.created, fullPath] };
  if (parent.namespace.kind !== 'group')
    throw validationError({
      namespacePath: `${parent.namespace.fullPath} is a user namespace, which cannot hold groups`,
    });
  const path = fullPath.split('/').at(-1)!;
  const settings = captured.get(fullPath);
  const group = {
    name: settings?.name ?? path,
    path,
    parentId: parent.namespace.id,
    description: settings?.description ?? null,
  };
  try {
    await writer.createGroup({ ...group, visibility: settings?.visibility ?? 'private' });
  } catch (error) {
    const said =
      isDomainError(error) && error.details?.status === 400 ? (error.details.gitlabMessage ?? error.message) : null;
    if (said === null) throw error;
    // "has already been taken": created meanwhile (a concurrent restore), used below. Otherwise
    // GitLab refused the visibility (a subgroup cannot be more visible than its parent, or the
    // level is restricted on the target): private is always allowed.
    if (!/taken/i.test(said)) await writer.createGroup({ ...group, visibility: 'private' });
  }
  const made = await findNamespace(client, fullPath, known);
  if (!made) throw validationError({ namespacePath: `group ${fullPath} could not be created on the target` });
  return { namespace: made, created: [...parent.created, fullPath] };
}

export interface ProjectPlace {
  path: string;
  /** The project this restore created earlier at `path` (reused), or null when `path` is free. */
  project: GitLabProject | null;
}

/** The collision rule (see the module comment). `mappings` holds this Connection's earlier restores. */
export async function chooseProjectPath(
  client: GitLabClient,
  mappings: RestoreMappings,
  repositoryId: string,
  path: string,
): Promise<ProjectPlace> {
  for (const candidate of collisionCandidates(path)) {
    const existing = await client.getProject(candidate).catch((error: unknown) => {
      if (isDomainError(error, 'GITLAB_NOT_FOUND')) return null;
      throw error;
    });
    if (!existing) return { path: candidate, project: null };
    const ours = await mappings.get('project', `${repositoryId}>${candidate}`);
    if (ours === String(existing.id)) return { path: candidate, project: existing };
  }
  throw validationError({
    projectPath: `${path} and its first ${collisionCandidates(path).length - 1} alternatives are taken on the target`,
  });
}

/** Records that this restore created `project` at `path` for `repositoryId`. */
export function rememberProject(
  mappings: RestoreMappings,
  repositoryId: string,
  path: string,
  projectId: number,
): Promise<void> {
  return mappings.set('project', `${repositoryId}>${path}`, String(projectId));
}
