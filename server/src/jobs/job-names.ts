/** `<domain>.<action>`: the name alone leads to the handler in jobs/handlers.ts. */
export const JOB = {
  /** Discover the repositories and groups of one organization (data: { syncRunId }). */
  repositoriesSync: 'repositories.sync',
  /** Every minute: start the syncs whose RepoSyncSchedule is due. */
  repositoriesSchedule: 'repositories.schedule',
  /** Every heartbeat: mark this worker alive. Runs in-process, not through the store. */
} as const;
