/**
 * Everything a repository's backup takes from GitLab: its git (and wiki) through git-transfer.ts,
 * its LFS objects (repository-lfs.ts) and its metadata (metadata-artifacts.ts), holding one of the
 * worker's transfer slots.
 */
import type { GitProgress } from '../git/git.js';
import { gitAuthOf, type GitAuth, type GitLabHttp } from '../gitlab/gitlab-http.js';
import type { GitTransfer } from './git-transfer.js';
import { writeMetadataArtifacts } from './metadata-artifacts.js';
import { backupLfsObjects } from './repository-lfs.js';
import { mirrorOf, type Access, type Attempt, type Encryption, type Transferred } from './repository-attempt.js';
import type { Logger } from '../shared/logger.js';
import type { Semaphore } from '../shared/semaphore.js';
import type { ArtifactCodec } from '../snapshot/snapshot.ports.js';
import type { MetadataSource } from './backup.ports.js';

/** What the transfer uses of RepositoryBackupDeps (repository-backup.ts documents each). */
export interface RepositoryTransferDeps {
  codec: ArtifactCodec;
  logger: Logger;
  workDir: string;
  transfers: Semaphore;
  http?: GitLabHttp;
  metadataFor(connectionId: string): Promise<MetadataSource>;
  installationKey(organizationId: string): Buffer;
}

export class RepositoryTransfer {
  constructor(
    private readonly deps: RepositoryTransferDeps,
    private readonly git: GitTransfer,
  ) {}

  /**
   * Everything that talks to GitLab, holding one of the worker's transfer slots (its
   * concurrency); committing the snapshot does not, so the next repository's transfer starts
   * while this one's manifest is written. The biggest waiting repository goes first, as the run
   * ordered them.
   */
  async transfer(a: Attempt, access: Access): Promise<Transferred> {
    const { run, repository, ctx } = a;
    const auth = gitAuthOf(access, this.deps.http); // renewed (OAuth refresh) when GitLab refuses the token
    const out: Transferred = { repositoryGit: null, wikiGit: null, lfs: null, metadata: {}, metadataArtifacts: [] };
    const releaseTransfer = await a.slot.acquire(ctx.signal);
    a.steps.mark('slot');
    try {
      await this.fetchGit(a, auth, out);
      const { encryption, parentManifest } = await a.preparing;
      // LFS objects (content-addressed, shared by the repository's snapshots)
      if (run.policy.include.lfs && repository.hasLfs && out.repositoryGit?.via === 'mirror') {
        out.lfs = await backupLfsObjects({
          store: a.store,
          codec: this.deps.codec,
          logger: this.deps.logger,
          organizationId: a.organization.id,
          repositoryId: repository.id,
          repoHttpUrl: repository.httpUrlToRepo,
          mirror: mirrorOf(this.deps.workDir, repository, 'git'),
          gitState: out.repositoryGit.state,
          parent: parentManifest,
          auth,
          http: this.deps.http,
          encryption,
          ctx,
          warnings: a.warnings,
        });
      }
      await this.fetchMetadata(a, encryption, out);
    } finally {
      releaseTransfer();
    }
    return out;
  }

  /** The repository (and the wiki) through git-transfer.ts. */
  private async fetchGit(a: Attempt, auth: GitAuth, out: Transferred): Promise<void> {
    const { run, repository, ctx } = a;
    ctx.progress({ phase: 'FETCHING' });
    let lastTouch = Date.now(); // the job was locked just now: its first touch is due in 10 s, not at once
    const onProgress = (p: GitProgress) => {
      ctx.progress({ phase: 'FETCHING', git: p });
      if (Date.now() - lastTouch > 10_000) {
        lastTouch = Date.now();
        void ctx.touch();
      }
    };
    const common = {
      store: a.store,
      prefix: a.prefix,
      auth,
      ctx,
      onProgress,
      prepared: a.preparing,
      artifacts: a.artifacts,
      // Verify-after-backup checks a FULL's pack with git as it streams in (pack-check.ts).
      checkIn: run.policy.verifyAfterBackup,
    };
    if (run.policy.include.repository) {
      // LFS pointers are found in a local repository: the mirror is kept when LFS is included
      // and GitLab may hold LFS objects of the project (its statistics do not say 0 bytes).
      const viaMirror = run.policy.include.lfs && repository.hasLfs && repository.lfsObjectsSize !== '0';
      out.repositoryGit = await this.git.fetchGit({
        ...common,
        url: repository.httpUrlToRepo,
        mirror: mirrorOf(this.deps.workDir, repository, 'git'),
        viaMirror,
        what: repository.pathWithNamespace,
        path: 'repository.bundle',
        kind: 'GIT_BUNDLE',
        parentOf: (m) => m?.git ?? null,
      });
      a.steps.mark('fetch');
    }
    if (run.policy.include.wiki && repository.hasWiki) {
      const wikiUrl = repository.httpUrlToRepo.replace(/\.git$/, '.wiki.git');
      try {
        ctx.progress({ phase: 'FETCHING' });
        out.wikiGit = await this.git.fetchGit({
          ...common,
          url: wikiUrl,
          mirror: mirrorOf(this.deps.workDir, repository, 'wiki'),
          viaMirror: false,
          what: `${repository.pathWithNamespace} (wiki)`,
          path: 'wiki.bundle',
          kind: 'WIKI_BUNDLE',
          parentOf: (m) => m?.wiki ?? null,
        });
      } catch (error) {
        // GitLab answers 404 for a wiki that has no page yet.
        if (!/not found|404|does not appear to be a git repository/i.test(String((error as Error).message)))
          throw error;
        // Not a warning: the project has no wiki page yet, so there is nothing to keep.
        this.deps.logger.info({ path: repository.pathWithNamespace }, 'wiki enabled but empty: nothing to back up');
      }
    }
  }

  /** One artifact per metadata type the policy includes (metadata-artifacts.ts). */
  private async fetchMetadata(a: Attempt, encryption: Encryption, out: Transferred): Promise<void> {
    const { run, repository, organization, ctx } = a;
    const types = run.policy.include.metadata;
    if (types.length === 0) return;
    ctx.progress({ phase: 'METADATA', metadataRecords: 0 });
    const source = await this.deps.metadataFor(organization.connectionId);
    const written = await writeMetadataArtifacts({
      store: a.store,
      codec: this.deps.codec,
      logger: this.deps.logger,
      types,
      records: (type, onCount, onWarning) =>
        source.projectRecords(repository.gitlabProjectId, type, onCount, onWarning),
      compression: run.policy.compression,
      keyFor: (type) =>
        type === 'ci_variables'
          ? (encryption?.key ?? this.deps.installationKey(organization.id))
          : (encryption?.key ?? null),
      prefix: a.prefix,
      rethrowTransient: ctx.canRetryLater,
      beforeType: () => ctx.touch(),
      onRecords: (total) => ctx.progress({ phase: 'METADATA', metadataRecords: total }),
    });
    Object.assign(out.metadata, written.metadata);
    out.metadataArtifacts.push(...written.artifacts);
    a.warnings.push(...written.warnings);
  }
}
