/**
 * Restore target NEW_PROJECT: a snapshot becomes a new GitLab project — on the same instance or
 * another one, through any Connection whose token may create projects (`api` scope). The chain is
 * materialised into a scratch repository, every ref GitLab accepts is pushed (the default branch
 * first), then the wiki and the LFS objects. A verified chain whose objects are all in one FULL
 * bundle skips the scratch repository: its stored pack goes to the new project as it is
 * (stored-pack-push.ts). Re-running after a crash reuses the project it
 * created and pushes only what is not there yet.
 */
import { gitAuthOf, type GitLabHttp } from '../gitlab/gitlab-http.js';
import type { ConnectionService } from '../connections/connection.service.js';
import { writeScopesOf, type ConnectionEntity } from '../connections/connection.entity.js';
import { writeAuthorizationRequired } from '../connections/connection.errors.js';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { GitLabNamespace, GitLabProject } from '../gitlab/gitlab.port.js';
import { DomainError, isDomainError } from '../shared/errors.js';
import { gitlabReadOnlyReason, lsRemote, lsRemoteIfExists, pushRestoredRefs, type PushReport } from './git-restore.js';
import { StepTimer } from '../shared/step-timer.js';
import {
  readRepositoryChain,
  remoteUrlOf,
  replayRepositories,
  uploadLfsInto,
  type ReplayedRepository,
} from './project-replay.js';
import { pushStoredPack } from './stored-pack-push.js';
import type { RestoreMappings } from './metadata-mappings.js';
import {
  InMemoryRestoreMappings,
  RESTORABLE_TYPES,
  restoreProjectMetadata,
  type MetadataRestoreReport,
  type RecordSource,
  type RestorableType,
} from './metadata-restore.js';
import type {
  GitbeakerMetadataWriterFactory as GitLabMetadataWriterFactory,
  GitLabMetadataWriter,
} from '../gitlab/metadata.writer.js';
import {
  restoreProjectSettings,
  SETTINGS_TYPES,
  type SettingsRestoreReport,
  type SettingsType,
} from './settings-restore.js';
import {
  chooseProjectPath,
  ensureNamespace,
  rememberProject,
  targetPathOf,
  type CapturedGroup,
} from './target-namespace.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { type Manifest, type ManifestArtifact, storedLfsObjects } from '../snapshot/manifest.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import { issueEpicLinker, type EpicPlacements, type EpicRestoreReport } from './epic-restore.js';
import type { DeferredText } from './project-references.js';

export interface NewProjectTarget {
  /** The Connection to create the project through (default: the snapshot's organization's). */
  connectionId: string;
  /** Group (or user namespace) full path on the target instance. */
  namespacePath: string;
  /** Path of the new project under namespacePath (default: its path relative to the organization). Only with one snapshot. */
  projectPath?: string | null;
  /** Captured settings of the organization's groups, by target path (for groups the restore creates). */
  capturedGroups?: ReadonlyMap<string, CapturedGroup>;
  /** Namespaces already found on the target during this run (target-namespace.ts `ensureNamespace`). */
  knownNamespaces?: Map<string, GitLabNamespace>;
  /** The epics this run placed so far, in every group (epic-restore.ts): a subgroup's child epic finds its parent here. */
  epicsPlaced?: EpicPlacements;
  /** Descriptions that name other projects (`app#12`), rewritten once the run's projects are restored (epic-restore.ts). */
  deferredTexts?: DeferredText[];
  /** The projects this run restored, by source path: where each went (for the epics' project references). */
  projectsPlaced?: Map<string, { id: number; path: string }>;
  /** Secret tokens for captured webhooks, by URL (GitLab never returns them). Never logged. */
  webhookSecretTokens?: ReadonlyMap<string, string>;
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
  /** Project settings and access types (settings-restore.ts). */
  settings?: SettingsRestoreReport;
  /** Groups the restore created on the target (in a dry run: would create), parents first. */
  groupsCreated?: string[];
  /** A group snapshot: its epics (epic-restore.ts). */
  epics?: EpicRestoreReport;
  /** A group snapshot: metadata types it holds that this restore could not write back (epics on a tier without them). */
  notRestored?: string[];
  /** Milliseconds per phase (prepare, project, git/wiki materialise and push, lfs, metadata, settings, total). */
  stepsMs?: Record<string, number>;
}

/** An outcome with nothing created, pushed or written yet (each restore fills in its own). */
export function emptyOutcome(projectPath: string, webUrl: string | null = null): NewProjectOutcome {
  return { projectPath, metadata: null, webUrl, created: false, git: null, wiki: null, lfs: null, problems: [] };
}

export interface NewProjectDeps {
  sessions: GitLabSessions;
  connections: ConnectionService;
  reader: SnapshotReader;
  keyFor: (snapshot: SnapshotEntity, manifest: Manifest, artifact: ManifestArtifact) => Promise<Buffer | null>;
  workDir: string;
  writers: GitLabMetadataWriterFactory;
  mappingsFor(scope: string): RestoreMappings;
  /** The application's GitLab transport (its retry policy, metrics and proxy) for git pushes. */
  http?: GitLabHttp;
}

/**
 * Refuses a connection that cannot write what a restore writes. An OAuth connection writes only
 * through its separate write authorization (`authorizeRestore`); a PAT through its own scopes.
 */
export function requireWriteScopes(connection: ConnectionEntity, anyOf: string[], what: string): void {
  const scopes = writeScopesOf(connection);
  if (anyOf.some((s) => scopes.includes(s))) return;
  if (connection.method !== 'PERSONAL_ACCESS_TOKEN')
    throw writeAuthorizationRequired(
      connection.id,
      scopes.length ? `its write authorization lacks ${anyOf.join(' or ')}` : null,
    );
  throw new DomainError(
    'CONNECTION_NOT_CONNECTED',
    `connection ${connection.id} cannot ${what}: its token lacks the ${anyOf.join(' or ')} scope; connect with a token that has it`,
    {
      details: {
        fields: {
          targetConnectionId: `its token lacks the ${anyOf.join(' or ')} scope needed to ${what}; connect with a token that has it`,
        },
      },
    },
  );
}

export async function restoreToNewProject(
  deps: NewProjectDeps,
  snapshot: SnapshotEntity,
  target: NewProjectTarget,
  options: { dryRun: boolean; includeMetadata: boolean; signal?: AbortSignal },
): Promise<NewProjectOutcome> {
  const steps = new StepTimer();
  const connection = await deps.connections.get(target.connectionId);
  requireWriteScopes(connection, ['api'], 'create projects');
  const replay = await readRepositoryChain(deps, snapshot);
  const { manifest, manifests } = replay;
  // The project's place in the kept hierarchy (target-namespace.ts), or the path asked for.
  const wanted = target.projectPath?.trim()
    ? `${target.namespacePath.replace(/^\/+|\/+$/g, '')}/${target.projectPath.trim()}`
    : targetPathOf(manifest.repository.pathWithNamespace, manifest.organization.fullPath, target.namespacePath);
  const outcome: NewProjectOutcome = { ...emptyOutcome(wanted), groupsCreated: [] };
  const placements = deps.mappingsFor(`${connection.id}:projects`);
  const writer = deps.writers.create(await deps.sessions.access(connection.id, { write: true }));
  steps.mark('prepare');

  // Pre-flight, the same for a dry run and a real one: the target namespace must exist (a dry
  // run that skipped this check used to predict success for a restore that then failed), the
  // project's place follows the collision rule, missing groups are created (or listed).
  const { project, created } = await deps.sessions.withGitLab(
    connection.id,
    async (client) => {
      const place = await chooseProjectPath(client, placements, manifest.repository.id, wanted);
      outcome.projectPath = place.path;
      if (place.project) return { project: place.project, created: false };
      const parent = await ensureNamespace({
        client,
        writer,
        fullPath: place.path.slice(0, place.path.lastIndexOf('/')),
        rootPath: target.namespacePath,
        captured: target.capturedGroups ?? new Map(),
        known: target.knownNamespaces,
        dryRun: options.dryRun,
      });
      outcome.groupsCreated = parent.created;
      if (options.dryRun || !parent.namespace) return { project: null, created: false };
      const path = place.path.split('/').at(-1)!;
      const made: GitLabProject = await client.createProject({
        name: path,
        path,
        namespaceId: parent.namespace.id,
        visibility: (manifest.repository.visibility as GitLabProject['visibility']) ?? 'private',
        description: `Restored by Labkeeper from ${manifest.repository.pathWithNamespace} (snapshot ${snapshot.id}, ${manifest.createdAt})`,
      });
      await rememberProject(placements, manifest.repository.id, place.path, made.id);
      return { project: made, created: true };
    },
    { write: true },
  );
  outcome.created = created;
  outcome.webUrl = project?.webUrl ?? null;
  if (project)
    target.projectsPlaced?.set(manifest.repository.pathWithNamespace, { id: project.id, path: outcome.projectPath });
  const access = await deps.sessions.access(connection.id, { write: true });
  const auth = gitAuthOf(access, deps.http); // renewed (OAuth refresh) when GitLab refuses the token
  steps.mark('project');

  const onStep = (step: string) => steps.mark(step);
  // A chain verified before (after its backup, by a drill or verifySnapshot) was proven connected
  // then; pushing it into the empty project it just created walks every pushed ref's history again
  // (and GitLab checks what it receives), so a second connectivity pass only costs time.
  const checkConnectivity = !(created && replay.chain.every((s) => s.verificationStatus === 'VERIFIED'));
  // The branch GitLab's HEAD of the project just created points to: GitLab keeps it as the
  // default once pushed, so the snapshot's head needs no push of its own when it is that one.
  const targetHead = (which: ReplayedRepository) =>
    which === 'git' && created && project?.defaultBranch ? `refs/heads/${project.defaultBranch}` : null;
  /** Runs one repository's push; the wiki is its own repository: a refused wiki push is that type's failure, not the project's. */
  const pushing = async (which: ReplayedRepository, push: () => Promise<PushReport | null>) => {
    let report: PushReport | null;
    try {
      report = await push();
    } catch (error) {
      if (which !== 'wiki' || isDomainError(error, 'GITLAB_UNAUTHORIZED') || options.signal?.aborted) throw error;
      outcome.problems.push(`wiki: ${error instanceof Error ? error.message : String(error)}`);
      return true;
    }
    if (!report) return false;
    outcome[which] = report;
    for (const r of report.rejected) outcome.problems.push(`${which} ${r.ref}: ${r.reason}`);
    return true;
  };

  // A verified chain whose objects are all in one self-contained bundle (a FULL alone, or followed
  // by snapshots that brought no new objects) into the project just created: that bundle's stored
  // pack is pushed as it is (stored-pack-push.ts), with the last snapshot's refs and no scratch
  // repository; whatever that path declines is materialised.
  const pushedFromStorage = new Set<ReplayedRepository>();
  if (project && created && !options.dryRun && !checkConnectivity) {
    for (const which of ['git', 'wiki'] as const) {
      const state = manifest[which];
      const bundles = replay.manifests.flatMap((m, i) => {
        const artifact = m[which]?.bundle ? m.artifacts.find((a) => a.path === m[which]!.bundle) : undefined;
        return m[which]?.bundle ? [{ link: replay.chain[i], manifest: m, artifact, state: m[which] }] : [];
      });
      if (!state || Object.keys(state.refs).length === 0 || bundles.length !== 1) continue;
      const [{ link, manifest: stored, artifact, state: storedState }] = bundles;
      if (!artifact || storedState.prerequisites.length > 0) continue;
      const done = await pushing(which, () =>
        pushStoredPack({
          openBundle: async () => deps.reader.openDecoded(link, artifact, await deps.keyFor(link, stored, artifact)),
          remoteUrl: remoteUrlOf(project.httpUrlToRepo, which),
          auth,
          refs: state.refs,
          head: state.head,
          targetHead: targetHead(which),
          signal: options.signal,
          http: deps.http,
        }),
      );
      if (done) pushedFromStorage.add(which);
      steps.mark(`${which}StoredPush`);
    }
  }

  await replayRepositories(
    deps,
    replay,
    { signal: options.signal, onStep, checkConnectivity, skip: pushedFromStorage },
    async (which, dir, materialized) => {
      const remoteUrl = project ? remoteUrlOf(project.httpUrlToRepo, which) : null;
      // GitLab creates a wiki's repository lazily (first page or push): one that does not exist
      // yet answers "not found" and is created by the push itself. A project this call created is
      // empty, wiki included: asking costs a git round trip per repository and tells nothing.
      const existingRefs = remoteUrl
        ? created
          ? {}
          : which === 'wiki'
            ? await lsRemoteIfExists(remoteUrl, auth, options.signal)
            : await lsRemote(remoteUrl, auth, options.signal)
        : null;
      steps.mark(`${which}LsRemote`);
      if (!remoteUrl || (existingRefs === null && options.dryRun)) {
        // dry run against a project (or wiki) that does not exist yet: everything would be pushed
        outcome[which] = {
          pushed: Object.keys(materialized.refs).filter((ref) => !gitlabReadOnlyReason(ref)),
          skipped: [],
          rejected: [],
          extra: [],
        };
        return;
      }
      await pushing(which, () =>
        pushRestoredRefs({
          dir,
          remoteUrl,
          auth,
          mode: 'NEW',
          refs: materialized.refs,
          existingRefs: existingRefs ?? {},
          head: materialized.head ?? undefined,
          targetHead: targetHead(which),
          dryRun: options.dryRun,
          signal: options.signal,
          http: deps.http,
        }),
      );
      steps.mark(`${which}Push`);
    },
  );
  steps.mark('cleanup'); // the scratch folder removed

  if (project && !options.dryRun) {
    await uploadLfsInto(deps, snapshot, replay, { repoHttpUrl: project.httpUrlToRepo, auth }, outcome, options.signal);
  } else if (manifests.some((m) => storedLfsObjects(m).length > 0)) {
    const objects = new Set(manifests.flatMap(storedLfsObjects).map((o) => o.oid));
    outcome.lfs = { uploaded: objects.size, present: 0, failed: 0 };
  }
  steps.mark('lfs');
  // Metadata last: merge requests need their branches, releases their tags. A dry run against a
  // project that does not exist yet predicts against an empty one.
  if (options.includeMetadata) {
    const targetWriter = project ? writer : emptyTargetWriter(writer);
    const settingsSource: Partial<Record<SettingsType, RecordSource>> = {};
    for (const artifact of manifest.artifacts) {
      const type = artifact.metadataType as SettingsType | undefined;
      if (type && (SETTINGS_TYPES as readonly string[]).includes(type))
        settingsSource[type] = () => readRecords(deps, snapshot, manifest, artifact);
    }
    const branches = new Set(
      Object.keys(manifest.git?.refs ?? {})
        .filter((r) => r.startsWith('refs/heads/'))
        .map((r) => r.slice('refs/heads/'.length)),
    );
    const settingsOf = (source: Partial<Record<SettingsType, RecordSource>>) =>
      restoreProjectSettings({
        writer: targetWriter,
        projectId: project?.id ?? 0,
        source,
        branches,
        dryRun: options.dryRun,
        createdProject: created,
        webhookTokens: target.webhookSecretTokens,
      });
    // Members before the records that name users: GitLab refuses to act (Sudo) as a user who
    // cannot see the project, so an issue by a project-only member keeps its author only once
    // that member is back.
    const { members: memberSource, ...laterSource } = settingsSource;
    const members = memberSource ? (await settingsOf({ members: memberSource })).report : {};
    steps.mark('members');

    const source: Partial<Record<RestorableType, RecordSource>> = {};
    for (const artifact of manifest.artifacts) {
      const type = artifact.metadataType as RestorableType | undefined;
      if (!type || !(RESTORABLE_TYPES as readonly string[]).includes(type)) continue;
      source[type] = () => readRecords(deps, snapshot, manifest, artifact);
    }
    outcome.metadata = await restoreProjectMetadata({
      writer: targetWriter,
      targetProjectId: project?.id ?? 0,
      source,
      mappings: project ? deps.mappingsFor(`${connection.id}:${project.id}`) : new InMemoryRestoreMappings(),
      dryRun: options.dryRun,
      asAuthors: await canWriteAsAuthors(connection, writer),
      projectReferences: target.deferredTexts && {
        sourceProjectPath: manifest.repository.pathWithNamespace,
        targetProjectPath: outcome.projectPath,
        texts: target.deferredTexts,
      },
      linkToEpic: issueEpicLinker({
        writer,
        findGroup: (path) =>
          deps.sessions.withGitLab(
            connection.id,
            (client) =>
              client.getNamespace(path).catch((error: unknown) => {
                if (isDomainError(error, 'GITLAB_NOT_FOUND')) return null;
                throw error;
              }),
            { write: true },
          ),
        mappingsOf: (groupId) => deps.mappingsFor(`${connection.id}:group:${groupId}`),
        targetPathOf: (path) => targetPathOf(path, manifest.organization.fullPath, target.namespacePath),
      }),
    });
    for (const [type, section] of Object.entries(outcome.metadata)) {
      for (const f of section.failed) outcome.problems.push(`${type} ${f.sourceId}: ${f.reason}`);
    }
    steps.mark('metadata');
    // The other settings and access after the metadata; the archived state last of all.
    const settings = await settingsOf(laterSource);
    outcome.settings = { ...members, ...settings.report };
    for (const [type, section] of Object.entries(outcome.settings)) {
      for (const f of section.failed) outcome.problems.push(`${type} ${f.sourceId}: ${f.reason}`);
    }
    if (settings.archive && project && !options.dryRun) {
      await writer.archiveProject(project.id).catch((error: unknown) => {
        outcome.problems.push(`project_settings archived: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    steps.mark('settings');
  }
  outcome.stepsMs = steps.done();
  return outcome;
}

/**
 * Whether records can be written as their original authors: GitLab's `Sudo` needs an
 * administrator's token with the `sudo` scope (docs: REST API authentication, "Sudo"). GitLab
 * shows `is_admin` on GET /user to administrators only.
 */
export async function canWriteAsAuthors(connection: ConnectionEntity, writer: GitLabMetadataWriter): Promise<boolean> {
  if (!writeScopesOf(connection).includes('sudo')) return false;
  return (await writer.currentUser()).isAdmin;
}

/**
 * The writer a dry run uses for a project that does not exist yet: every listing is empty, so
 * every record is predicted as created; writing is refused (a dry run never writes).
 */
export function emptyTargetWriter(users?: GitLabMetadataWriter): GitLabMetadataWriter {
  return new Proxy({} as GitLabMetadataWriter, {
    get: (_target, name) => {
      if (typeof name === 'string' && name.startsWith('list')) return async () => [];
      // users exist on the target whether or not the project does
      if (name === 'findUser' && users) return (username: string) => users.findUser(username);
      if (name === 'currentUser' && users) return () => users.currentUser();
      return async () => {
        throw new Error(`a dry run does not write (${String(name)})`);
      };
    },
  });
}

/** One metadata artifact's records, decoded and parsed line by line (never the whole file in memory). Also used by group-restore.ts. */
export async function* readRecords(
  deps: Pick<NewProjectDeps, 'reader' | 'keyFor'>,
  snapshot: SnapshotEntity,
  manifest: Manifest,
  artifact: ManifestArtifact,
): AsyncIterable<Record<string, unknown>> {
  const key = artifact.encrypted ? await deps.keyFor(snapshot, manifest, artifact) : null;
  yield* deps.reader.records(snapshot, artifact, key);
}
