/**
 * When a repository is skipped as UNCHANGED: only when GitLab's data proves nothing changed since
 * its latest snapshot. A run also takes the same decision in bulk, in SQL, before it enqueues
 * any job (backup-run.service.ts); both follow the rule written here.
 */

/** GitLab updates a project's last_activity_at at most once an hour (Project#update_last_activity_at). */
export const ACTIVITY_GRANULARITY_MS = 60 * 60_000;

/**
 * True when GitLab's data proves the repository has not changed since `since` (the parent
 * snapshot's time). GitLab writes last_activity_at for pushes and project events, but skips the
 * write when the stored value is less than an hour old. So a change at time P > since is hidden
 * only if the stored value L ≥ P − 1h, i.e. L > since − 1h. With L ≤ since − 1h nothing can
 * have happened after `since` without moving L: skip. Otherwise fetch.
 */
export function isProvablyUnchanged(lastActivityAt: Date | null, since: Date): boolean {
  return lastActivityAt !== null && lastActivityAt.getTime() <= since.getTime() - ACTIVITY_GRANULARITY_MS;
}
