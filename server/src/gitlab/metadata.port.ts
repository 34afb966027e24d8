/**
 * The metadata side of the GitLab port: every record of one metadata type of one project or group,
 * as GitLab returns it. Records are GitLab's own JSON (snake_case, unmapped), because a snapshot
 * stores them as open JSON Lines that a user can read without Labkeeper; children are embedded
 * where they belong (an issue's `notes`, a merge request's `notes` and `versions`, a snippet's
 * `content`). `metadata.endpoints.ts` lists which endpoint serves each type and why.
 *
 * Listings stream: records are yielded page by page (per_page=100) and never held as a whole.
 * Records that reappear on a later page (offset pagination while GitLab changes) are yielded once.
 *
 * Errors are the adapter's (see gitlab.port.ts). A type that cannot be read for a reason that
 * retrying will not fix is a GITLAB_FORBIDDEN whose details carry `skipKind` and `skipReason`
 * (read them with `metadataSkipOf` from metadata.errors.ts): the token's scopes, the user's role,
 * or a type the instance's tier lacks (epics on Free or CE). The engine records such a type as
 * SKIPPED with that reason; every other error fails the type.
 */
import type { GroupMetadataType, MetadataType } from './metadata.types.js';
import type { GroupTreeType } from './metadata.endpoints.js';
import type { GitLabAccess } from './gitlab.port.js';

export type { GroupMetadataType, MetadataType } from './metadata.types.js';
export type { GroupTreeType } from './metadata.endpoints.js';

/** One record as GitLab returned it, children embedded. */
export type MetadataRecord = Record<string, unknown>;

/** Called with the number of records yielded so far (after each record). */
export type RecordProgress = (count: number) => void;

/**
 * Called with a warning about the listing: a child listing that failed (the parent record is kept
 * with what was read of it), or a count that differs from GitLab's `x-total`.
 */
export type RecordWarning = (warning: string) => void;

export interface GitLabMetadataReader {
  /**
   * Every record of one type of one project, every page; children embedded. `project_settings`
   * yields exactly one record. A child listing that fails (404, or 5xx after retries) keeps the
   * record with what was read of it and reports `onWarning`, as does a count that differs from
   * GitLab's `x-total`. Secrets are returned as GitLab sends them (`ci_variables` values): the caller stores
   * that artifact encrypted.
   */
  projectRecords(
    projectId: number,
    type: MetadataType,
    onProgress?: RecordProgress,
    onWarning?: RecordWarning,
  ): AsyncIterable<MetadataRecord>;
  /** Every record of one type of one group (the group's own, not its subgroups'). */
  groupRecords(
    groupId: number,
    type: GroupMetadataType,
    onProgress?: RecordProgress,
    onWarning?: RecordWarning,
  ): AsyncIterable<MetadataRecord>;
  /**
   * Every record of one type of a group and all its descendants, in one listing (metadata.endpoints.ts
   * GROUP_TREE_ENDPOINTS); refusals throw as groupRecords' do.
   */
  groupTreeRecords(groupId: number, type: GroupTreeType): AsyncIterable<MetadataRecord>;
}

export interface GitLabMetadataReaderFactory {
  create(access: GitLabAccess): GitLabMetadataReader;
}
