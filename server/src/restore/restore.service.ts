/**
 * Restore runs. `restore` validates the request and returns the QUEUED run at once; the
 * `restore.run` job does the work and publishes RestoreProgressed, always ending with a terminal
 * event. Target DOWNLOAD: the snapshots (each with the chain it needs) are verified, then a
 * short-lived signed link serves one tar archive of exactly the stored files — bundles, metadata,
 * manifests and LFS objects in the storage layout of docs/FORMAT.md — streamed from storage.
 * A dry run reports what the archive would hold without issuing a link.
 * Targets NEW_PROJECT and ORIGINAL write to GitLab: an OAuth connection needs its separate write
 * authorization (`authorizeRestore`), checked when the restore is requested. NEW_PROJECT restores
 * group snapshots too (group labels and milestones, group-restore.ts), before the projects.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { In, type DataSource, type Repository } from 'typeorm';
import type { SnapshotVerifier } from '../snapshot/snapshot-verifier.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, refuseEmpty, validationError } from '../shared/errors.js';
import { namespacePathProblem, projectPathProblem } from '../shared/gitlab-path.js';
import { newId } from '../shared/ids.js';
import { inLanes } from '../shared/lanes.js';
import { withAdvisoryLock } from '../shared/advisory-lock.js';
import type { JobQueue } from '../shared/job-queue.js';
import type { Logger } from '../shared/logger.js';
import { RestoreRunEntity, type RestoreReport } from './restore.entity.js';
import type { RestoreProgressed } from './restore.events.js';
import { tarStream, type TarEntry } from './tar.js';
import {
  emptyOutcome,
  restoreToNewProject,
  type NewProjectDeps,
  type NewProjectOutcome,
  type NewProjectTarget,
} from './new-project.js';
import { restoreToOriginal, type OriginalMode, type OriginalTarget } from './original-project.js';
import { capturedGroupsOf, restoreGroupToNamespace } from './group-restore.js';
import { rewriteProjectReferences } from './project-references.js';
import { fidelityOf, isComplete, type TypeOutcome } from './fidelity.js';
import { notRestoredReason } from './coverage.js';
import { writeScopesOf } from '../connections/connection.entity.js';
import { writeAuthorizationRequired } from '../connections/connection.errors.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';
import type { Manifest } from '../snapshot/manifest.js';
import type { StorageRoots } from '../storage/storage.port.js';

export const DOWNLOAD_TTL_MS = 60 * 60_000;

export interface RestoreRequest {
  target: 'DOWNLOAD' | 'NEW_PROJECT' | 'ORIGINAL';
  /** ORIGINAL: PREFIX (default), MISSING_ONLY or OVERWRITE. */
  refMode?: OriginalMode | null;
  /** ORIGINAL with PREFIX: the prefix (default restored/<snapshot time>). */
  refPrefix?: string | null;
  /** NEW_PROJECT: the Connection to restore through (default: the organization's). */
  targetConnectionId?: string | null;
  /** NEW_PROJECT: the group (or user namespace) path that receives the projects. */
  namespacePath?: string | null;
  /** NEW_PROJECT with one snapshot: the new project's path (default: the original's). */
  projectPath?: string | null;
  /** NEW_PROJECT: recreate issues, merge requests, labels… (default true). */
  includeMetadata?: boolean | null;
  snapshotIds?: string[] | null;
  /** Bulk: every repository (and group) of an organization as it was at `at` (default now). */
  organizationId?: string | null;
  at?: Date | null;
  dryRun?: boolean | null;
  /** NEW_PROJECT: secret tokens for captured webhooks, by URL (GitLab never returns them). Never logged. */
  webhookSecretTokens?: { url: string; token: string }[] | null;
}

/** Seals a secret at rest (the credentials' SecretBox): tokens a run needs later never sit in a plain column. */
export interface RestoreSecrets {
  seal(plaintext: string, context: string): Buffer;
  open(sealed: Buffer, context: string): string;
}

const webhookTokensContext = (runId: string) => `restore run ${runId}: webhook secret tokens`;

/** Refuses unusable webhook tokens, naming the item; never echoes a token. */
function checkWebhookTokens(request: RestoreRequest): void {
  const list = request.webhookSecretTokens;
  if (list == null) return;
  const fields: Record<string, string> = {};
  if (request.target !== 'NEW_PROJECT')
    fields.webhookSecretTokens = 'only for target NEW_PROJECT: the other targets write no webhooks';
  const seen = new Set<string>();
  list.forEach(({ url, token }, i) => {
    const at = `webhookSecretTokens[${i}]`;
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || url.length > 2000)
      fields[`${at}.url`] = "must be the captured webhook's http(s) URL";
    else if (seen.has(url)) fields[`${at}.url`] = 'is given twice: one token per webhook URL';
    seen.add(url);
    if (typeof token !== 'string' || token.trim() === '') fields[`${at}.token`] = 'must not be empty';
    else if (token.length > 1000) fields[`${at}.token`] = 'must be at most 1000 characters';
  });
  if (Object.keys(fields).length > 0) throw validationError(fields);
}

const TARGETS = ['DOWNLOAD', 'NEW_PROJECT', 'ORIGINAL'] as const;
const REF_MODES: readonly OriginalMode[] = ['PREFIX', 'MISSING_ONLY', 'OVERWRITE'];

/** Refuses what a restore would otherwise have to guess: unknown targets and modes, empty ids and paths. */
function checkRequest(request: RestoreRequest): void {
  const fields: Record<string, string> = {};
  if (!TARGETS.includes(request.target)) fields.target = `must be one of ${TARGETS.join(', ')}`;
  if (request.refMode != null && !REF_MODES.includes(request.refMode))
    fields.refMode = `must be one of ${REF_MODES.join(', ')}`;
  if (Object.keys(fields).length > 0) throw validationError(fields);
  checkWebhookTokens(request);
  refuseEmpty({
    snapshotIds: request.snapshotIds,
    organizationId: request.organizationId,
    targetConnectionId: request.targetConnectionId,
    // namespacePath: NEW_PROJECT refuses an empty one below, saying what it is for.
    projectPath: request.projectPath,
    refPrefix: request.refPrefix,
  });
}

/**
 * Why a restore (or one snapshot of it) failed, in words for the person who asked: a refused
 * field's own message without its name; anything unexpected stays in the worker log.
 */
function reasonOf(error: unknown): string {
  if (!(error instanceof DomainError)) return 'unexpected error (see the worker log)';
  const fields = error.details?.fields;
  return fields && Object.keys(fields).length > 0 ? Object.values(fields).join('; ') : error.message;
}

/** Target ORIGINAL and a group snapshot: nothing is written (coverage.ts); the report lists its types. */
function groupLeftInPlace(fullPath: string): NewProjectOutcome {
  return emptyOutcome(fullPath);
}

export interface RestoreServiceDeps {
  dataSource: DataSource;
  reader: SnapshotReader;
  verifier: SnapshotVerifier;
  queue: JobQueue;
  /** Signs DOWNLOAD links (derived from the master key, so links survive a restart). */
  signingKey: Buffer;
  /** Where DOWNLOAD links point (config.publicUrl). */
  publicUrl: string;
  clock: Clock;
  logger: Logger;
  publish: (event: RestoreProgressed) => void;
  /** What restores to GitLab need (sessions, writers, mappings); null: only DISK and DOWNLOAD restores. */
  newProject?: NewProjectDeps | null;
  /** Project snapshots a run restores at once (the worker's concurrency; default 4). */
  concurrency?: number;
  /** Seals webhook secret tokens at rest; without it a restore refuses them. */
  secrets?: RestoreSecrets | null;
  /** Where a DOWNLOAD archive is written when the policy asks for a presigned URL; without it, never. */
  stores?: StorageRoots | null;
}

interface DownloadPlan {
  snapshots: SnapshotEntity[];
  /** Each snapshot's chain, FULL first, by snapshot id. */
  chains: Map<string, SnapshotEntity[]>;
  /** A snapshot's manifest, read from storage once per plan. */
  manifestOf(snapshot: SnapshotEntity): Promise<Manifest>;
}

/** Manifests a DOWNLOAD reads ahead of the snapshot whose files it lists. */
const MANIFESTS_AHEAD = 4;

/** Where a presigned DOWNLOAD's archive is written, below the storage's prefix. */
export const archiveKey = (runId: string) => `restores/${runId}/archive.tar`;

export class RestoreService {
  private readonly runs: Repository<RestoreRunEntity>;
  private readonly dataSource: DataSource;
  private readonly reader: SnapshotReader;
  private readonly verifier: SnapshotVerifier;
  private readonly queue: JobQueue;
  private readonly signingKey: Buffer;
  private readonly publicUrl: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly publish: (event: RestoreProgressed) => void;
  private readonly newProject: NewProjectDeps | null;
  private readonly concurrency: number;
  private readonly secrets: RestoreSecrets | null;
  private readonly stores: StorageRoots | null;

  constructor(deps: RestoreServiceDeps) {
    this.dataSource = deps.dataSource;
    this.reader = deps.reader;
    this.verifier = deps.verifier;
    this.queue = deps.queue;
    this.signingKey = deps.signingKey;
    this.publicUrl = deps.publicUrl;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.publish = deps.publish;
    this.newProject = deps.newProject ?? null;
    this.concurrency = deps.concurrency ?? 4;
    this.secrets = deps.secrets ?? null;
    this.stores = deps.stores ?? null;
    this.runs = deps.dataSource.getRepository(RestoreRunEntity);
  }

  async get(id: string): Promise<RestoreRunEntity> {
    const run = /^[0-9a-f-]{36}$/i.test(id) ? await this.runs.findOneBy({ id }) : null;
    if (!run) throw new DomainError('NOT_FOUND', `restore run ${id} does not exist`, { details: { restoreRunId: id } });
    return run;
  }

  list(organizationId?: string | null) {
    return this.runs.find({ where: organizationId ? { organizationId } : {}, order: { createdAt: 'DESC' }, take: 100 });
  }

  async restore(request: RestoreRequest): Promise<RestoreRunEntity> {
    checkRequest(request);
    const snapshots = await this.selectSnapshots(request);
    const organizations = new Set(snapshots.map((s) => s.organizationId));
    if (organizations.size !== 1) throw validationError({ snapshotIds: 'must all belong to one organization' });
    let options: Record<string, unknown> | null = null;
    if (request.target === 'ORIGINAL') {
      const connectionId =
        request.targetConnectionId ?? (await this.organizationConnection(snapshots[0].organizationId));
      options = { connectionId, mode: request.refMode ?? 'PREFIX', prefix: request.refPrefix ?? null };
      // Group snapshots stay in the run: ORIGINAL writes nothing of them, and the report says so per type.
      if (!snapshots.some((s) => s.repositoryId))
        throw validationError({ snapshotIds: 'no repository snapshot to restore' });
    }
    if (request.target === 'NEW_PROJECT') {
      if (!request.namespacePath?.trim())
        throw validationError({ namespacePath: 'is required: the group that receives the restored projects' });
      const pathProblem = namespacePathProblem(request.namespacePath.trim().replace(/^\/+|\/+$/g, ''));
      if (pathProblem) throw validationError({ namespacePath: pathProblem });
      const projectProblem = request.projectPath ? projectPathProblem(request.projectPath) : null;
      if (projectProblem) throw validationError({ projectPath: projectProblem });
      if (request.projectPath && snapshots.filter((s) => s.repositoryId).length > 1)
        throw validationError({ projectPath: 'is only for a single snapshot; several keep their original paths' });
      const connectionId =
        request.targetConnectionId ?? (await this.organizationConnection(snapshots[0].organizationId));
      const includeMetadata = request.includeMetadata ?? true;
      options = {
        connectionId,
        namespacePath: request.namespacePath.trim(),
        projectPath: request.projectPath ?? null,
        includeMetadata,
      };
      // Group snapshots are metadata only: restored (group labels, milestones) unless metadata is left out.
      snapshots.splice(0, snapshots.length, ...snapshots.filter((s) => s.repositoryId || includeMetadata));
      if (snapshots.length === 0)
        throw validationError({
          snapshotIds:
            'no repository snapshot to restore, and group snapshots hold only metadata (includeMetadata is false)',
        });
    }
    if (options && this.newProject) {
      // Write access is asked for when a restore needs it, not at connect time: fail now, while
      // the user is there to authorize, rather than queue a run that cannot write.
      const connection = await this.newProject.connections.get(options.connectionId as string);
      if (connection.method !== 'PERSONAL_ACCESS_TOKEN' && writeScopesOf(connection).length === 0)
        throw writeAuthorizationRequired(connection.id, null);
    }
    const id = newId();
    if (options && request.target === 'NEW_PROJECT' && request.webhookSecretTokens?.length) {
      if (!this.secrets)
        throw validationError({ webhookSecretTokens: 'this server cannot keep secrets for a restore' });
      const tokens = Object.fromEntries(request.webhookSecretTokens.map((w) => [w.url, w.token]));
      options.webhookSecretTokens = this.secrets
        .seal(JSON.stringify(tokens), webhookTokensContext(id))
        .toString('base64');
    }
    const run = this.runs.create({
      id,
      organizationId: snapshots[0].organizationId,
      target: request.target,
      snapshotIds: snapshots.map((s) => s.id),
      isDryRun: !!request.dryRun,
      options,
      status: 'QUEUED',
      phase: 'QUEUED',
      report: null,
      errorMessage: null,
      downloadExpiresAt: null,
      downloadRoot: null,
      startedAt: null,
      finishedAt: null,
    });
    await this.runs.insert(run as never);
    this.emit(run, 0, snapshots.length, null);
    await this.queue.enqueue('restore.run', { runId: run.id });
    this.logger.info(
      { restoreRunId: run.id, target: run.target, snapshots: snapshots.length, dryRun: run.isDryRun },
      'restore queued',
    );
    return run;
  }

  /**
   * A new run with the settings of an earlier one — its target, snapshots, dry-run flag and
   * options (connection, namespace, project path, metadata; ref mode and prefix) — e.g. once
   * the cause of a failure is fixed. The new request is checked like any other.
   */
  async retry(runId: string): Promise<RestoreRunEntity> {
    const run = await this.get(runId);
    const options = run.options ?? {};
    const text = (key: string) => {
      const value = options[key];
      return typeof value === 'string' ? value : null;
    };
    return this.restore({
      target: run.target,
      snapshotIds: run.snapshotIds,
      dryRun: run.isDryRun,
      targetConnectionId: text('connectionId'),
      ...(run.target === 'ORIGINAL' ? { refMode: text('mode') as OriginalMode | null, refPrefix: text('prefix') } : {}),
      ...(run.target === 'NEW_PROJECT'
        ? {
            namespacePath: text('namespacePath'),
            projectPath: text('projectPath'),
            includeMetadata: options.includeMetadata !== false,
            webhookSecretTokens: this.webhookTokensOf(run),
          }
        : {}),
    });
  }

  /** The webhook secret tokens a run was given, unsealed (never logged). */
  private webhookTokensOf(run: RestoreRunEntity): { url: string; token: string }[] | null {
    const sealed = run.options?.webhookSecretTokens;
    if (typeof sealed !== 'string' || !this.secrets) return null;
    const tokens = JSON.parse(this.secrets.open(Buffer.from(sealed, 'base64'), webhookTokensContext(run.id))) as Record<
      string,
      string
    >;
    return Object.entries(tokens).map(([url, token]) => ({ url, token }));
  }

  /** The `restore.run` job. */
  async execute(runId: string): Promise<void> {
    // One execution of a run at a time, across workers: a job taken over while its first worker
    // still runs it (its lock expired during a long database outage, say) waits here, then finds
    // the run finished and does nothing, instead of pushing and creating everything a second time.
    await withAdvisoryLock(this.dataSource, `labkeeper:restore:${runId}`, true, () => this.executeHeld(runId));
  }

  private async executeHeld(runId: string): Promise<void> {
    const run = await this.get(runId);
    if (run.status !== 'QUEUED' && run.status !== 'RUNNING') return;
    await this.update(run, { status: 'RUNNING', phase: 'PLANNING', startedAt: this.clock.now() }, 0);
    try {
      const report: RestoreReport = { snapshots: [], files: 0, bytes: 0, lfsObjects: 0 };
      const snapshots = await this.dataSource.getRepository(SnapshotEntity).findBy({ id: In(run.snapshotIds) });
      const total = snapshots.length;
      if (run.target === 'NEW_PROJECT' || run.target === 'ORIGINAL') return await this.toGitLab(run, snapshots, report);
      await this.update(run, { phase: 'VERIFYING' }, 0);
      const plan = await this.downloadPlan(snapshots);
      // A snapshot verified before (after its backup, by a drill, by verifySnapshot) is not checked
      // again: the archive's bytes are checked against the manifests' sha256 as they stream
      // (archiveEntries). The others are verified now, several at once.
      const verified = new Array<RestoreReport['snapshots'][number]>(total);
      let done = 0;
      await inLanes(
        snapshots,
        (s) => s.id,
        this.concurrency,
        async (snapshot, i) => {
          const chain = plan.chains.get(snapshot.id)!;
          const result = run.isDryRun
            ? null
            : snapshot.verificationStatus === 'VERIFIED'
              ? { ok: true, problems: [] }
              : (await this.verifier.verify(snapshot.id)).result;
          const manifest = await plan.manifestOf(snapshot);
          verified[i] = {
            snapshotId: snapshot.id,
            path: manifest.repository?.pathWithNamespace ?? manifest.group?.fullPath ?? snapshot.id,
            copyType: snapshot.copyType,
            chainLength: chain.length,
            verified: result ? result.ok : null,
            problems: result?.problems ?? [],
          };
          this.emit(run, ++done, total, manifest.repository?.pathWithNamespace ?? null);
        },
      );
      report.snapshots.push(...verified);
      await this.update(run, { phase: 'PREPARING' }, total);
      for await (const entry of this.archiveEntries(plan)) {
        report.files++;
        report.bytes += entry.size;
        if (entry.path.includes('/lfs/')) report.lfsObjects++;
      }
      const failed = report.snapshots.filter((s) => s.verified === false);
      const status = failed.length === 0 ? 'SUCCEEDED' : failed.length === total ? 'FAILED' : 'PARTIAL';
      const downloadRoot = run.isDryRun || status === 'FAILED' ? null : await this.writeArchiveIfPresigned(run);
      await this.finish(
        run,
        {
          status,
          report,
          downloadRoot,
          downloadExpiresAt:
            run.isDryRun || status === 'FAILED' ? null : new Date(this.clock.now().getTime() + DOWNLOAD_TTL_MS),
          errorMessage: failed.length
            ? `${failed.length} snapshot(s) failed verification: ${failed.map((f) => f.path).join(', ')}`
            : null,
        },
        total,
      );
    } catch (error) {
      this.logger.error({ err: error, restoreRunId: runId }, 'restore failed');
      await this.finish(run, { status: 'FAILED', errorMessage: reasonOf(error) }, 0);
    }
  }

  /**
   * After the projects: the project references in restored descriptions (epics', and issues' or
   * merge requests' naming another project: `app#12`) point to where those projects and records
   * went. What could not be written is a problem of the snapshot's it belongs to.
   */
  private async rewriteProjectReferences(
    run: RestoreRunEntity,
    options: NewProjectTarget,
    reports: RestoreReport['snapshots'],
  ): Promise<void> {
    const texts = options.deferredTexts ?? [];
    if (run.isDryRun || texts.length === 0 || !options.projectsPlaced) return;
    const problem = (path: string, message: string) => reports.find((r) => r?.path === path)?.problems.push(message);
    try {
      const failures = await rewriteProjectReferences({
        texts,
        projects: options.projectsPlaced,
        mappingsOf: (projectId) => this.newProject!.mappingsFor(`${options.connectionId}:${projectId}`),
      });
      for (const { text, reason } of failures)
        problem(
          text.owner,
          `${text.from}: restored, but its references to other projects were not rewritten: ${reason}`,
        );
    } catch (error) {
      this.logger.warn({ err: error, restoreRunId: run.id }, 'references to other projects not rewritten');
      for (const owner of new Set(texts.map((t) => t.owner)))
        problem(owner, `references to other projects were not rewritten: ${reasonOf(error)}`);
    }
  }

  private async toGitLab(run: RestoreRunEntity, snapshots: SnapshotEntity[], report: RestoreReport): Promise<void> {
    const tokens = this.webhookTokensOf(run);
    const options = {
      ...(run.options as unknown as NewProjectTarget & OriginalTarget & { includeMetadata: boolean }),
      webhookSecretTokens: new Map((tokens ?? []).map((w) => [w.url, w.token] as const)),
    };
    await this.update(run, { phase: 'RESTORING' }, 0);
    let fatal = 0; // snapshots that could not be restored at all (others may only report problems)
    // Groups first, parents before children: their labels and milestones exist before the
    // projects' issues name them, and the kept hierarchy is built top down.
    const depth = new Map<string, number>();
    for (const s of snapshots)
      if (s.groupId) depth.set(s.id, ((await this.reader.manifest(s)).group?.fullPath ?? '').split('/').length);
    snapshots = [
      ...snapshots.filter((s) => s.groupId).sort((a, b) => depth.get(a.id)! - depth.get(b.id)!),
      ...snapshots.filter((s) => !s.groupId),
    ];
    if (run.target === 'NEW_PROJECT') {
      options.knownNamespaces = new Map();
      // Groups run one after another, parents first: a subgroup's epics find their parents placed.
      options.epicsPlaced = new Map();
      // Descriptions that name other projects wait for the projects (rewriteProjectReferences).
      options.deferredTexts = [];
      options.projectsPlaced = new Map();
      options.capturedGroups = await capturedGroupsOf(
        this.newProject!,
        snapshots.filter((s) => s.groupId),
        options.namespacePath,
      );
    }
    // Reports in the order above whatever order the snapshots finish in.
    const reports = new Array<RestoreReport['snapshots'][number]>(snapshots.length);
    let done = 0;
    const restoreOne = async (snapshot: SnapshotEntity, i: number) => {
      const manifest = await this.reader.manifest(snapshot);
      const path = manifest.repository?.pathWithNamespace ?? manifest.group?.fullPath ?? snapshot.id;
      try {
        const outcome =
          run.target === 'ORIGINAL'
            ? snapshot.groupId
              ? groupLeftInPlace(path)
              : await restoreToOriginal(this.newProject!, snapshot, options, { dryRun: run.isDryRun })
            : snapshot.groupId
              ? await restoreGroupToNamespace(this.newProject!, snapshot, options, { dryRun: run.isDryRun })
              : await restoreToNewProject(this.newProject!, snapshot, options, {
                  dryRun: run.isDryRun,
                  includeMetadata: options.includeMetadata,
                });
        if (outcome.stepsMs)
          this.logger.info(
            { restoreRunId: run.id, snapshotId: snapshot.id, path, stepsMs: outcome.stepsMs },
            'snapshot restored',
          );
        reports[i] = {
          snapshotId: snapshot.id,
          path,
          copyType: snapshot.copyType,
          chainLength: (await this.reader.chain(snapshot)).length,
          verified: null,
          problems: outcome.problems,
          targetPath: outcome.projectPath,
          targetUrl: outcome.webUrl,
          detail: {
            created: outcome.created,
            ...(outcome.groupsCreated?.length ? { groupsCreated: outcome.groupsCreated } : {}),
            refsPushed: outcome.git?.pushed.length ?? 0,
            refsSkipped: outcome.git?.skipped ?? [],
            refsRejected: outcome.git?.rejected ?? [],
            refsExtra: outcome.git?.extra ?? [],
            refsPushedList: outcome.git?.pushed ?? [],
            wikiRefsPushed: outcome.wiki?.pushed.length ?? 0,
            lfs: outcome.lfs,
            metadata:
              outcome.metadata && outcome.epics
                ? {
                    ...outcome.metadata,
                    epics: {
                      created: outcome.epics.created,
                      skipped: outcome.epics.skipped,
                      failed: outcome.epics.failed,
                    },
                  }
                : outcome.metadata,
            ...(outcome.notRestored?.length ? { notRestored: outcome.notRestored } : {}),
          },
          types: fidelityOf(manifest, outcome, {
            metadataLeftOut:
              run.target === 'ORIGINAL'
                ? notRestoredReason(snapshot.groupId ? 'group_labels' : 'issues', 'original')
                : options.includeMetadata === false
                  ? 'metadata left out of this restore (includeMetadata: false)'
                  : null,
          }),
        };
      } catch (error) {
        this.logger.warn({ err: error, restoreRunId: run.id, snapshotId: snapshot.id }, 'restore of a snapshot failed');
        fatal++;
        reports[i] = {
          snapshotId: snapshot.id,
          path,
          copyType: snapshot.copyType,
          chainLength: 0,
          verified: null,
          problems: [reasonOf(error)],
        };
      }
      this.emit(run, ++done, snapshots.length, path);
    };
    // Groups one after another (the hierarchy is built top down), then the projects, up to
    // `concurrency` at once; snapshots of the same repository stay in order, one at a time,
    // as they write to the same target.
    const groups = snapshots.filter((s) => s.groupId);
    for (const [i, snapshot] of groups.entries()) await restoreOne(snapshot, i);
    await inLanes(
      snapshots.slice(groups.length),
      (s) => s.repositoryId ?? s.id,
      this.concurrency,
      (snapshot, k) => restoreOne(snapshot, groups.length + k),
    );
    await this.rewriteProjectReferences(run, options, reports);
    report.snapshots.push(...reports);
    // A restore that left out or failed anything it captured never ends SUCCEEDED (fidelity.ts);
    // ORIGINAL promises refs, the wiki and LFS, so only those count there.
    const counted = (types: TypeOutcome[]) =>
      run.target === 'ORIGINAL' ? types.filter((t) => ['repository', 'wiki', 'lfs'].includes(t.type)) : types;
    const failed = report.snapshots.filter((s) => s.problems.length > 0 || (s.types && !isComplete(counted(s.types))));
    // FAILED when nothing could be restored: ORIGINAL writes nothing of group snapshots, so they do not count there.
    const writable = snapshots.filter((s) => !(run.target === 'ORIGINAL' && s.groupId)).length;
    const status = failed.length === 0 ? 'SUCCEEDED' : fatal === writable ? 'FAILED' : 'PARTIAL';
    for (const s of failed) {
      if (s.problems.length === 0)
        s.problems.push(
          ...(s.types ?? [])
            .filter((t) => t.skipped || t.failed)
            .map(
              (t) => `${t.type}: ${t.captured - t.restored} of ${t.captured} not restored (${t.reasons.join('; ')})`,
            ),
        );
    }
    await this.finish(
      run,
      {
        status,
        report,
        errorMessage: failed.length
          ? failed
              .map((f) => `${f.path}: ${f.problems.join('; ')}`)
              .join(' | ')
              .slice(0, 2000)
          : null,
      },
      snapshots.length,
    );
  }

  private async organizationConnection(organizationId: string): Promise<string> {
    const [row] = await this.dataSource.query<{ connection_id: string }[]>(
      'SELECT connection_id FROM organizations WHERE id = $1',
      [organizationId],
    );
    return row.connection_id;
  }

  /**
   * Under a policy with `storage.downloadLink: PRESIGNED` (an S3 primary), writes the run's archive
   * to that storage (`archiveKey`) and returns its root, so `downloadUrl` hands over a presigned URL
   * and the bytes never pass through Labkeeper; null otherwise. A failure to write it is logged and
   * leaves the Labkeeper link, which serves the same archive.
   */
  private async writeArchiveIfPresigned(run: RestoreRunEntity): Promise<string | null> {
    if (!this.stores) return null;
    const [policy] = await this.dataSource.query<{ storage_id: string | null; download_link: string | null }[]>(
      `SELECT value->'storage'->>'storageId' AS storage_id, value->'storage'->>'downloadLink' AS download_link
         FROM backup_policies WHERE organization_id = $1`,
      [run.organizationId],
    );
    if (policy?.download_link !== 'PRESIGNED' || !policy.storage_id) return null;
    const root = this.stores.rootFor({ storage: { path: null, storageId: policy.storage_id } });
    try {
      const store = await this.stores.at(root);
      if (!store.presignGet) return null;
      const stored = await store.put(archiveKey(run.id), tarStream(this.archiveEntries(await this.planOf(run))));
      this.logger.info(
        { restoreRunId: run.id, root, bytes: stored.size },
        'download archive written for a presigned URL',
      );
      return root;
    } catch (error) {
      this.logger.warn(
        { err: error, restoreRunId: run.id, root },
        'download archive not written: a Labkeeper link instead',
      );
      return null;
    }
  }

  /**
   * The link to a DOWNLOAD run's archive (null when there is none), valid until the run's
   * `downloadExpiresAt`: a presigned S3 URL when the archive was written to a storage, else a
   * signed Labkeeper link bound to the API token that asked for it (it stops working when that
   * token is revoked or expires).
   */
  async downloadUrl(run: RestoreRunEntity, tokenId: string): Promise<string | null> {
    if (!run.downloadExpiresAt || run.downloadExpiresAt <= this.clock.now()) return null;
    if (run.downloadRoot && this.stores) {
      const store = await this.stores.at(run.downloadRoot);
      if (store.presignGet) return store.presignGet(archiveKey(run.id), run.downloadExpiresAt);
    }
    const expires = String(run.downloadExpiresAt.getTime());
    return `${this.publicUrl}/restore/${run.id}/archive.tar?expires=${expires}&token=${tokenId}&signature=${this.sign(run.id, expires, tokenId)}`;
  }

  /** Checks a link's signature, expiry and token; returns the archive's entries. */
  async openDownload(
    link: { runId: string; expires: string; tokenId: string; signature: string },
    isTokenActive: (tokenId: string) => Promise<boolean>,
  ): Promise<{ run: RestoreRunEntity; entries: AsyncIterable<TarEntry> }> {
    const { runId, expires, tokenId, signature } = link;
    const expected = this.sign(runId, expires, tokenId);
    const valid =
      signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
    if (!valid) throw new DomainError('FORBIDDEN', 'this download link is not valid');
    if (Number(expires) <= this.clock.now().getTime())
      throw new DomainError('FORBIDDEN', 'this download link has expired; start the restore again');
    if (!(await isTokenActive(tokenId)))
      throw new DomainError('FORBIDDEN', 'the API token that made this download link was revoked or has expired');
    const run = await this.get(runId);
    if (!run.downloadExpiresAt) throw new DomainError('FORBIDDEN', 'this restore has no archive');
    return { run, entries: this.archiveEntries(await this.planOf(run)) };
  }

  private sign(runId: string, expires: string, tokenId: string): string {
    return createHmac('sha256', this.signingKey).update(`${runId}:${expires}:${tokenId}`).digest('base64url');
  }

  /** A DOWNLOAD run's snapshots, read again (a link is opened in another request, maybe another process). */
  private async planOf(run: RestoreRunEntity): Promise<DownloadPlan> {
    return this.downloadPlan(await this.dataSource.getRepository(SnapshotEntity).findBy({ id: In(run.snapshotIds) }));
  }

  /**
   * What a DOWNLOAD reads before its bytes, loaded once for the run's phases: every chain in two
   * queries (not one per parent), and each manifest read once, when first asked for.
   */
  private async downloadPlan(snapshots: SnapshotEntity[]): Promise<DownloadPlan> {
    const chains = await this.reader.chains(snapshots);
    const manifests = new Map<string, Promise<Manifest>>();
    const manifestOf = (snapshot: SnapshotEntity) => {
      let manifest = manifests.get(snapshot.id);
      if (!manifest) {
        manifest = this.reader.manifest(snapshot);
        manifest.catch(() => undefined); // read ahead: awaited, and its error thrown, where it is used
        manifests.set(snapshot.id, manifest);
      }
      return manifest;
    };
    return { snapshots, chains, manifestOf };
  }

  /** Every stored file the snapshots need: their chains' folders and the LFS objects they list. */
  private async *archiveEntries(plan: DownloadPlan): AsyncIterable<TarEntry> {
    const seen = new Set<string>();
    const links = [...new Set(plan.snapshots.flatMap((s) => plan.chains.get(s.id)!))];
    for (const [i, link] of links.entries()) {
      // The next manifests are read while this snapshot's files are listed (and streamed).
      for (const next of links.slice(i + 1, i + 1 + MANIFESTS_AHEAD)) void plan.manifestOf(next);
      for await (const { key, info, ...reading } of this.reader.storedFiles(link, await plan.manifestOf(link))) {
        if (seen.has(key)) continue;
        seen.add(key);
        if (!info) throw new DomainError('NOT_FOUND', `${key} is missing from storage`, { details: { key } });
        // `reading`: how to open it, and the sha256 it is hashed against as it streams (tar.ts): a
        // mismatch cuts the archive off before its end.
        yield { path: key, size: info.size, mtime: info.modifiedAt ?? new Date(0), ...reading };
      }
    }
  }

  private async selectSnapshots(request: RestoreRequest): Promise<SnapshotEntity[]> {
    const repo = this.dataSource.getRepository(SnapshotEntity);
    if (request.snapshotIds?.length) {
      const found = await repo.findBy({ id: In(request.snapshotIds.filter((id) => /^[0-9a-f-]{36}$/i.test(id))) });
      const missing = request.snapshotIds.filter((id) => !found.some((s) => s.id === id));
      if (missing.length) throw validationError({ snapshotIds: `no snapshot with id ${missing.join(', ')}` });
      return found;
    }
    if (!request.organizationId)
      throw validationError({ snapshotIds: 'give snapshotIds, or organizationId (and at) for a whole organization' });
    if (!/^[0-9a-f-]{36}$/i.test(request.organizationId))
      throw validationError({ organizationId: `no organization with id ${request.organizationId}` });
    const at = request.at ?? this.clock.now();
    // The latest of each repository and group, chosen by the database: one row each, not every
    // snapshot the organization ever kept.
    const latest = await this.dataSource.query<{ id: string }[]>(
      `SELECT DISTINCT ON (COALESCE(repository_id, group_id)) id FROM snapshots
        WHERE organization_id = $1 AND created_at <= $2
        ORDER BY COALESCE(repository_id, group_id), created_at DESC, id`,
      [request.organizationId, at],
    );
    if (latest.length === 0) throw validationError({ at: 'the organization has no snapshot at or before this time' });
    const found = await repo.findBy({ id: In(latest.map((l) => l.id)) });
    return found.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()); // newest first, as before
  }

  /** The run's last update: DONE at this moment, with its status (and report, error…). */
  private finish(
    run: RestoreRunEntity,
    changes: Partial<RestoreRunEntity> & Pick<RestoreRunEntity, 'status'>,
    done: number,
  ): Promise<void> {
    return this.update(run, { ...changes, phase: 'DONE', finishedAt: this.clock.now() }, done);
  }

  private async update(run: RestoreRunEntity, changes: Partial<RestoreRunEntity>, done: number) {
    Object.assign(run, changes);
    await this.runs.update({ id: run.id }, changes as never);
    this.emit(run, done, run.snapshotIds.length, null);
  }

  private emit(run: RestoreRunEntity, done: number, total: number, message: string | null) {
    this.publish({
      runId: run.id,
      organizationId: run.organizationId,
      status: run.status,
      phase: run.phase,
      done,
      total,
      message,
      isTerminal: ['SUCCEEDED', 'PARTIAL', 'FAILED'].includes(run.status),
      at: this.clock.now().toISOString(),
    });
  }
}
