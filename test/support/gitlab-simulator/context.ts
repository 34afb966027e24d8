import type { Access } from './access.js';
import type { MetadataStore } from './metadata-store.js';
import type { SimulatorState } from './state.js';

/** What every route module needs: the state, the permission rules and the public base URL. */
export interface SimContext {
  state: SimulatorState;
  access: Access;
  /** Creates metadata records with GitLab's rules (shared by seeding and the write endpoints). */
  store: MetadataStore;
  /** The LFS objects linked to a project (for its statistics' lfs_objects_size). */
  lfs?: { objects(projectId: number): { size: number }[] };
  /** http://127.0.0.1:<port>, without a trailing slash. */
  baseUrl(): string;
}
