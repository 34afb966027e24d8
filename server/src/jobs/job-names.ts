/** `<domain>.<action>`: the name alone leads to the handler in jobs/handlers.ts. */
export const JOB = {
  /** Discover the repositories and groups of one organization (data: { syncRunId }). */
  repositoriesSync: 'repositories.sync',
  /** Every minute: start the syncs whose RepoSyncSchedule is due. */
  repositoriesSchedule: 'repositories.schedule',
  /** One backup run: refresh GitLab's facts, fan out one job per repository (data: { runId }). */
  backupRun: 'backup.run',
  /** One repository of a backup run (data: { runId, itemId }). */
  backupRepository: 'backup.repository',
  /** Every minute: start the backups whose policy schedule is due. */
  backupSchedule: 'backup.schedule',
  /** Every hour: apply each organization's retention. */
  retentionPrune: 'retention.prune',
  /** One restore run (data: { runId }). */
  restoreRun: 'restore.run',
  /** One restore drill (data: { drillRunId }). */
  drillRun: 'drill.run',
  /** Every minute: start the restore drills whose policy cadence is due. */
  drillSchedule: 'drill.schedule',
} as const;
