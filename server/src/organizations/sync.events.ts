import type { SyncStatus } from './organization.entity.js';

/** Progress and result of a repository sync, published per organization. */
export interface SyncProgressed {
  organizationId: string;
  syncRunId: string;
  status: SyncStatus;
  phase: 'QUEUED' | 'LISTING_PROJECTS' | 'LISTING_GROUPS' | 'SAVING' | 'DONE';
  projectsListed: number;
  projectsTotal: number | null;
  groupsListed: number;
  repositoriesAdded: number;
  repositoriesGone: number;
  errorCode: string | null;
  errorMessage: string | null;
  /** ISO timestamp */
  at: string;
}
