/**
 * Restore target NEW_PROJECT: a snapshot becomes a new GitLab project — on the same instance or
 * another one, through any Connection whose token may create projects (`api` scope). The chain is
 * materialised into a scratch repository, every ref GitLab accepts is pushed (the default branch
 * first), then the wiki and the LFS objects. Re-running after a crash reuses the project it
 * created and pushes only what is not there yet.
 */
import { gitAuthOf } from '../gitlab/gitlab-http.js';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotEntity } from '../backup/backup.entity.js';
import type { ArtifactCodec, ArtifactStores } from '../backup/backup.ports.js';
import { storedLfsObjects, type Manifest, type ManifestArtifact } from '../backup/manifest.js';
import type { SnapshotReader } from '../backup/snapshot-chain.js';
import type { ConnectionService } from '../connections/connection.service.js';
import { writeScopesOf, type ConnectionEntity } from '../connections/connection.entity.js';
import { writeAuthorizationRequired } from '../connections/connection.errors.js';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { GitLabProject } from '../gitlab/gitlab.port.js';
import { DomainError, isDomainError, validationError } from '../shared/errors.js';
import { materializeRepository, pushRestoredRefs, type PushReport } from './git-restore.js';
import { uploadChainLfs } from './chain-lfs.js';
import type { RestoreMappings } from './metadata-mappings.js';
import { RESTORABLE_TYPES, restoreProjectMetadata, type MetadataRestoreReport, type RecordSource, type RestorableType } from './metadata-restore.js';
import type { GitbeakerMetadataWriterFactory as GitLabMetadataWriterFactory } from '../gitlab/metadata.writer.js';
import { createInterface } from 'node:readline';

export interface NewProjectTarget {
  /** The Connection to create the project through (default: the snapshot's organization's). */
  connectionId: string;
  /** Group (or user namespace) full path on the target instance. */
  namespacePath: string;
  /** Path of the new project (default: the original project's path). Only with one snapshot. */
  projectPath?: string | null;
}

export interface NewProjectOutcome {
  projectPath: string;
  metadata: MetadataRestoreReport | null;
  webUrl: string | null;
  created: boolean;
  git: PushReport | null;
  wiki: PushReport | null;
  lfs: { uploaded: number; present: number; failed: number } | null;
  problems: string[];
  /** A group snapshot: metadata types it holds that a restore does not write back. */
  notRestored?: string[];
}

export interface NewProjectDeps {
  sessions: GitLabSessions;
  connections: ConnectionService;
  reader: SnapshotReader;
  stores: ArtifactStores;
  codec: ArtifactCodec;
  keyFor(snapshot: SnapshotEntity, manifest: Manifest, artifact: ManifestArtifact): Promise<Buffer | null>;
  workDir: string;
  writers: GitLabMetadataWriterFactory;
  mappingsFor(scope: string): RestoreMappings;
}

/**
 * Refuses a connection that cannot write what a restore writes. An OAuth connection writes only
 * through its separate write authorization (`authorizeRestore`); a PAT through its own scopes.
 */
export function requireWriteScopes(connection: ConnectionEntity, anyOf: string[], what: string): void {
  const scopes = writeScopesOf(connection);
  if (anyOf.some((s) => scopes.includes(s))) return;
  if (connection.method !== 'PERSONAL_ACCESS_TOKEN') throw writeAuthorizationRequired(connection.id, scopes.length ? `its write authorization lacks ${anyOf.join(' or ')}` : null);
  throw new DomainError('CONNECTION_NOT_CONNECTED', `connection ${connection.id} cannot ${what}: its token lacks the ${anyOf.join(' or ')} scope; connect with a token that has it`, {
    details: { fields: { 'input.targetConnectionId': `needs ${anyOf.join(' or ')} to ${what}` } },
  });
}

export async function restoreToNewProject(
  deps: NewProjectDeps,
  snapshot: SnapshotEntity,
  target: NewProjectTarget,
  options: { dryRun: boolean; includeMetadata: boolean; signal?: AbortSignal },
): Promise<NewProjectOutcome> {
  const connection = await deps.connections.get(target.connectionId);
  requireWriteScopes(connection, ['api'], 'create projects');
  const chain = await deps.reader.chain(snapshot);
  const manifests = await Promise.all(chain.map((s) => deps.reader.manifest(s)));
  const manifest = manifests.at(-1)!;
  if (!manifest.repository) throw validationError({ 'input.snapshotIds': `snapshot ${snapshot.id} is a group's metadata, not a repository` });
  const path = target.projectPath?.trim() || manifest.repository.pathWithNamespace.split('/').at(-1)!;
  const fullPath = `${target.namespacePath.replace(/^\/+|\/+$/g, '')}/${path}`;
  const outcome: NewProjectOutcome = { projectPath: fullPath, metadata: null, webUrl: null, created: false, git: null, wiki: null, lfs: null, problems: [] };

  const { project, created } = await deps.sessions.withGitLab(connection.id, async (client) => {
    const existing = await client.getProject(fullPath).catch((error: unknown) => {
      if (isDomainError(error, 'GITLAB_NOT_FOUND')) return null;
      throw error;
    });
    if (existing || options.dryRun) return { project: existing, created: false };
    const namespace = await client.getNamespace(target.namespacePath).catch((error: unknown) => {
      if (isDomainError(error, 'GITLAB_NOT_FOUND')) throw validationError({ 'input.namespacePath': `"${target.namespacePath}" was not found on the target instance` });
      throw error;
    });
    const made: GitLabProject = await client.createProject({
      name: path,
      path,
      namespaceId: namespace.id,
      visibility: (manifest.repository!.visibility as GitLabProject['visibility']) ?? 'private',
      description: `Restored by Labkeeper from ${manifest.repository!.pathWithNamespace} (snapshot ${snapshot.id}, ${manifest.createdAt})`,
    });
    return { project: made, created: true };
  }, { write: true });
  outcome.created = created;
  outcome.webUrl = project?.webUrl ?? null;
  const access = await deps.sessions.access(connection.id, { write: true });
  const auth = gitAuthOf(access); // renewed (OAuth refresh) when GitLab refuses the token

  await mkdir(join(deps.workDir, 'tmp'), { recursive: true });
  const scratch = await mkdtemp(join(deps.workDir, 'tmp', 'restore-'));
  try {
    for (const which of ['git', 'wiki'] as const) {
      if (!manifest[which]) continue;
      if (Object.keys(manifest[which]!.refs).length === 0) continue;
      const dir = join(scratch, which);
      const materialized = await materializeRepository({ chain, manifests, which, dir, reader: deps.reader, keyFor: deps.keyFor, signal: options.signal });
      const remoteUrl = project ? (which === 'git' ? project.httpUrlToRepo : project.httpUrlToRepo.replace(/\.git$/, '.wiki.git')) : null;
      if (!remoteUrl) {
        // dry run against a project that does not exist yet: everything would be pushed
        outcome[which] = { pushed: Object.keys(materialized.refs), skipped: [], rejected: [], extra: [] };
        continue;
      }
      outcome[which] = await pushRestoredRefs({
        dir,
        remoteUrl,
        auth,
        mode: 'NEW',
        refs: materialized.refs,
        head: materialized.head ?? undefined,
        dryRun: options.dryRun,
        signal: options.signal,
      } as Parameters<typeof pushRestoredRefs>[0]);
      for (const r of outcome[which]!.rejected) outcome.problems.push(`${which} ${r.ref}: ${r.reason}`);
    }

    if (project && !options.dryRun) {
      const lfs = await uploadChainLfs(deps, snapshot, manifests, { repoHttpUrl: project.httpUrlToRepo, auth }, options.signal);
      outcome.lfs = lfs.counts;
      outcome.problems.push(...lfs.problems);
    } else if (manifests.some((m) => storedLfsObjects(m).length > 0)) {
      outcome.lfs = { uploaded: 0, present: 0, failed: 0 };
    }
    // Metadata last: merge requests need their branches, releases their tags.
    if (options.includeMetadata && project) {
      const store = await deps.stores.at(snapshot.storageRoot);
      const source: Partial<Record<RestorableType, RecordSource>> = {};
      for (const artifact of manifest.artifacts) {
        const type = artifact.metadataType as RestorableType | undefined;
        if (!type || !(RESTORABLE_TYPES as readonly string[]).includes(type)) continue;
        source[type] = () => readRecords(store, deps, snapshot, manifest, artifact);
      }
      outcome.metadata = await restoreProjectMetadata({
        writer: deps.writers.create(access),
        targetProjectId: project.id,
        source,
        mappings: deps.mappingsFor(`${connection.id}:${project.id}`),
        dryRun: options.dryRun,
      });
      for (const [type, section] of Object.entries(outcome.metadata)) {
        for (const f of section.failed) outcome.problems.push(`${type} ${f.sourceId}: ${f.reason}`);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return outcome;
}

/** One metadata artifact's records, decoded and parsed line by line (never the whole file in memory). Also used by group-restore.ts. */
export async function* readRecords(
  store: Awaited<ReturnType<ArtifactStores['at']>>,
  deps: NewProjectDeps,
  snapshot: SnapshotEntity,
  manifest: Manifest,
  artifact: ManifestArtifact,
): AsyncIterable<Record<string, unknown>> {
  const key = artifact.encrypted ? await deps.keyFor(snapshot, manifest, artifact) : null;
  const source = await store.open(`${snapshot.storagePrefix}/${artifact.path}`);
  const decoder = deps.codec.decode({ compression: artifact.compression, key });
  source.on('error', (e) => decoder.destroy(e));
  const lines = createInterface({ input: source.pipe(decoder), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim()) yield JSON.parse(line) as Record<string, unknown>;
}
