/**
 * What one attempt at a repository's snapshot works with (repository-backup.ts begins it,
 * repository-transfer.ts fills it from GitLab, repository-backup.ts commits it), and where the
 * repository's local mirrors and the attempt's scratch space live.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { OrganizationEntity, RepositoryEntity } from '../organizations/organization.entity.js';
import type { Reservation } from '../shared/semaphore.js';
import type { StepTimer } from '../shared/step-timer.js';
import type { CopyType, Manifest, ManifestArtifact } from '../snapshot/manifest.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { StorageBackend } from '../storage/storage.port.js';
import type { BackupRunEntity, BackupRunItemEntity } from './backup.entity.js';
import type { ItemContext } from './backup-item.js';
import type { Fetched } from './git-transfer.js';

export type Encryption = { key: Buffer; keyId: string } | null;
export type Access = Awaited<ReturnType<GitLabSessions['access']>>;

/** What one attempt at a repository's snapshot works with, from the lookups to the commit. */
export interface Attempt {
  run: BackupRunEntity;
  item: BackupRunItemEntity;
  ctx: ItemContext;
  steps: StepTimer;
  repository: RepositoryEntity;
  organization: OrganizationEntity;
  copyType: CopyType;
  parent: SnapshotEntity | null;
  snapshotId: string;
  prefix: string;
  storageRoot: string;
  store: StorageBackend;
  /** The snapshot id fixed on the item, leftovers cleared, the key and the parent's manifest read. */
  preparing: Promise<{ encryption: Encryption; parentManifest: Manifest | null }>;
  /** A scratch directory, made when first needed (a FULL from a fresh clone needs none). */
  scratch: () => Promise<string>;
  artifacts: ManifestArtifact[];
  warnings: string[];
  /** This job's place among the worker's transfer slots, taken when its lock was (its transfer acquires it). */
  slot: Reservation;
}

/** What the transfer brought: git through git-transfer.ts, LFS, metadata. */
export interface Transferred {
  repositoryGit: Fetched | null;
  wikiGit: Fetched | null;
  lfs: Manifest['lfs'];
  metadata: Manifest['metadata'];
  metadataArtifacts: ManifestArtifact[];
}

/** The local mirror of a repository (or of its wiki) under `<workDir>/mirrors`. */
export function mirrorOf(workDir: string, repository: RepositoryEntity, which: 'git' | 'wiki'): string {
  return join(workDir, 'mirrors', which === 'git' ? `${repository.id}.git` : `${repository.id}.wiki.git`);
}

/** A scratch directory under `<workDir>/tmp`, made on first `get`, removed by `remove`. */
export function lazyScratch(workDir: string) {
  let dir: Promise<string> | null = null;
  const make = () =>
    mkdtemp(join(workDir, 'tmp', 'snap-')).catch(async () => {
      await mkdir(join(workDir, 'tmp'), { recursive: true });
      return mkdtemp(join(workDir, 'tmp', 'snap-'));
    });
  return {
    get: () => (dir ??= make()),
    async remove() {
      const made = await dir?.catch(() => null);
      if (made) await rm(made, { recursive: true, force: true });
    },
  };
}
