/**
 * What the backup engine needs from its collaborators that the snapshot format does not define:
 * the GitLab metadata reader (wired in backup.wiring.ts); tests may pass in-memory ones. Storage
 * is storage/'s StorageBackend, the codec snapshot/'s ArtifactCodec.
 */
import type { GroupMetadataType, MetadataType } from './policy.types.js';
import type { GroupTreeType } from '../gitlab/metadata.port.js';

export interface MetadataSource {
  /** `onWarning`: a child listing that failed (the record is kept) or a count unlike GitLab's x-total. */
  projectRecords(
    projectId: number,
    type: MetadataType,
    onProgress?: (count: number) => void,
    onWarning?: (warning: string) => void,
  ): AsyncIterable<Record<string, unknown>>;
  groupRecords(
    groupId: number,
    type: GroupMetadataType,
    onProgress?: (count: number) => void,
    onWarning?: (warning: string) => void,
  ): AsyncIterable<Record<string, unknown>>;
  /** One type of a group and all its descendants in one listing (not group_members). */
  groupTreeRecords(groupId: number, type: GroupTreeType): AsyncIterable<Record<string, unknown>>;
}
