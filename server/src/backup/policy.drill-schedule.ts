/**
 * When a policy's restore drills fall due. A drill cadence is a calendar like a backup schedule's,
 * so it is read by the same rules (backup-schedule.ts: wall-clock times in the policy's time zone,
 * DST included); it lives beside the policy because restore/ takes from backup/ only the policy it
 * is configured by, never the backup engine.
 */
import { nextBackup } from './backup-schedule.js';
import type { DrillPolicy } from './policy.types.js';

/** The calendar slot of a drill cadence strictly after `after`; null when the cadence never fires. */
export function nextDrill(drill: DrillPolicy, timeZone: string, after: Date): Date | null {
  return (
    nextBackup(
      {
        type: 'FOREVER_INCREMENTAL',
        every: drill.every,
        time: drill.time,
        weekday: drill.weekday,
        dayOfMonth: drill.dayOfMonth,
      },
      timeZone,
      after,
    )?.at ?? null
  );
}
