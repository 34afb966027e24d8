/**
 * Small adapters between the backup engine's ports and the rest of the server: encryption keys
 * from the Password Manager, and the GitLab metadata source.
 */
import type { DataSource } from 'typeorm';
import type { GitLabSessions } from '../connections/gitlab-session.js';
import type { CredentialService } from '../credentials/credential.service.js';
import type { SecretBox } from '../credentials/secret-box.js';
import type { GitLabMetadataReaderFactory } from '../gitlab/metadata.port.js';
import { DomainError } from '../shared/errors.js';
import { artifactKeyId, deriveArtifactKey } from '../snapshot/artifact-codec.js';
import type { Manifest, ManifestArtifact } from '../snapshot/manifest.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { BackupRunEntity } from './backup.entity.js';
import type { MetadataSource } from './backup.ports.js';
import { chainKeyOf } from './policy.service.js';

const INSTALLATION_KEY_INFO = 'labkeeper installation artifact key v1';

export function encryptionKeys(credentials: CredentialService, box: SecretBox) {
  const installationKey = (organizationId: string) => box.deriveKey(INSTALLATION_KEY_INFO, organizationId);
  return {
    installationKey,
    /** The current version of an ENCRYPTION_KEY credential; a validation error when the id is not one. */
    async keyVersion(credentialId: string): Promise<number> {
      await credentials.requireKind(credentialId, 'ENCRYPTION_KEY', 'encryptionCredentialId');
      return credentials.keyVersion(credentialId);
    },
    /**
     * The policy's key: HKDF of the ENCRYPTION_KEY credential's secret, salted with the organization
     * id — the version of the secret the run's chain was started with (a run queued before a
     * rotation ends its chain with the old key; the next run starts a new chain with the new one).
     */
    async forRun(run: BackupRunEntity): Promise<{ key: Buffer; keyId: string } | null> {
      if (!run.policy.encryption) return null;
      const versions = await credentials.revealKeyVersions(run.policy.encryption.credentialId);
      const secret = (versions.find((v) => chainKeyOf(run.policy, v.version) === run.chainKey) ?? versions[0]).secret;
      const key = deriveArtifactKey(secret, run.organizationId);
      return { key, keyId: artifactKeyId(key) };
    },
    /** The key an artifact was written with, found from the manifest's key id. */
    async forArtifact(
      snapshot: SnapshotEntity,
      manifest: Manifest,
      artifact: ManifestArtifact,
    ): Promise<Buffer | null> {
      if (!artifact.encrypted) return null;
      if (!manifest.encryption) return installationKey(snapshot.organizationId);
      // Every version of the key: a snapshot made before a rotation was encrypted with an older one.
      const matching = async (credentialId: string) => {
        for (const { secret } of await credentials.revealKeyVersions(credentialId).catch(() => [])) {
          const key = deriveArtifactKey(secret, snapshot.organizationId);
          if (artifactKeyId(key) === manifest.encryption!.keyId) return key;
        }
        return null;
      };
      const own = snapshot.encryptionCredentialId ? await matching(snapshot.encryptionCredentialId) : null;
      if (own) return own;
      for (const credential of await credentials.list()) {
        if (credential.kind !== 'ENCRYPTION_KEY' || credential.id === snapshot.encryptionCredentialId) continue;
        const key = await matching(credential.id);
        if (key) return key;
      }
      throw new DomainError(
        'ENCRYPTION_KEY_MISMATCH',
        `no ENCRYPTION_KEY credential matches key ${manifest.encryption.keyId} of snapshot ${snapshot.id}; restore the credential it was made with`,
        {
          details: { snapshotId: snapshot.id, keyId: manifest.encryption.keyId },
        },
      );
    },
  };
}

/** Metadata through the GitLab metadata reader, with the connection's current access. */
export function createMetadataSources(sessions: GitLabSessions, readers: GitLabMetadataReaderFactory) {
  return async (connectionId: string): Promise<MetadataSource> => readers.create(await sessions.access(connectionId));
}

/** Policies and snapshots that need an ENCRYPTION_KEY credential: deleting it would lose them. */
export async function encryptionUsers(dataSource: DataSource, credentialId: string): Promise<string[]> {
  const policies: { organization_id: string }[] = await dataSource.query(
    `SELECT organization_id FROM backup_policies WHERE value->'encryption'->>'credentialId' = $1`,
    [credentialId],
  );
  const [{ n }] = await dataSource.query<{ n: number }[]>(
    'SELECT count(*)::int AS n FROM snapshots WHERE encryption_credential_id = $1',
    [credentialId],
  );
  return [
    ...policies.map((p) => `backup policy of organization ${p.organization_id}`),
    ...(n > 0 ? [`${n} encrypted snapshot(s)`] : []),
  ];
}
