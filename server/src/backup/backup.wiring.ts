/**
 * Small adapters between the backup engine's ports and the rest of the server: storage roots,
 * encryption keys from the Password Manager, and the GitLab metadata source.
 */
import { join, resolve } from 'node:path';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { CredentialService } from '../credentials/credential.service.js';
import type { SecretBox } from '../credentials/secret-box.js';
import type { GitLabClientFactory } from '../gitlab/gitlab.port.js';
import { DomainError, validationError } from '../shared/errors.js';
import { LocalStorage } from '../storage/local-storage.js';
import type { BackupRunEntity, SnapshotEntity } from './backup.entity.js';
import type { ArtifactStore, ArtifactStores, MetadataSource } from './backup.ports.js';
import type { Manifest, ManifestArtifact } from './manifest.js';

export function createArtifactStores(dataDir: string): ArtifactStores {
  const open = new Map<string, Promise<ArtifactStore>>();
  return {
    rootFor: (policy) => resolve(policy.storage.path ?? join(dataDir, 'backups')),
    at(root) {
      let store = open.get(root);
      if (!store) {
        store = LocalStorage.open(root);
        open.set(root, store);
        store.catch(() => open.delete(root));
      }
      return store;
    },
  };
}

const INSTALLATION_KEY_INFO = 'labkeeper installation artifact key v1';

export function encryptionKeys(credentials: CredentialService, box: SecretBox) {
  const installationKey = (organizationId: string) => box.deriveKey(INSTALLATION_KEY_INFO, organizationId);
  return {
    installationKey,
    async checkCredential(credentialId: string) {
      const credential = await credentials.get(credentialId).catch(() => null);
      if (!credential || credential.kind !== 'ENCRYPTION_KEY') {
        throw validationError({ 'input.encryptionCredentialId': 'must be the id of an ENCRYPTION_KEY credential of the Password Manager' });
      }
    },
    async forRun(run: BackupRunEntity): Promise<{ key: Buffer; keyId: string } | null> {
      if (!run.policy.encryption) return null;
      throw new DomainError('VALIDATION_FAILED', 'encrypted backups are not available yet', { details: { runId: run.id } });
    },
    async forArtifact(snapshot: SnapshotEntity, manifest: Manifest, artifact: ManifestArtifact): Promise<Buffer | null> {
      if (!artifact.encrypted) return null;
      if (!manifest.encryption) return installationKey(snapshot.organizationId);
      throw new DomainError('VALIDATION_FAILED', 'encrypted backups are not available yet', { details: { snapshotId: snapshot.id } });
    },
  };
}

/** Metadata through the GitLab metadata reader (wired when it lands). */
export function createMetadataSources(sessions: GitLabSessions, _gitlab: GitLabClientFactory) {
  return async (connectionId: string): Promise<MetadataSource> => {
    await sessions.access(connectionId);
    return {
      // eslint-disable-next-line require-yield
      async *projectRecords() {
        throw new DomainError('GITLAB_NOT_FOUND', 'metadata export is not available yet', { details: { skipReason: 'not available in this version yet' } });
      },
    };
  };
}
