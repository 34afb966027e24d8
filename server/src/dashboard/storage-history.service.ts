/**
 * Storage over time for the dashboard: for each day of a window, the bytes of the snapshots kept
 * (created on or before that day and not yet deleted by retention) and the bytes added that day.
 * Read-only, computed from the snapshots table, so it reflects what storage holds now rather than
 * what it held in the past (a pruned snapshot no longer counts on the days it existed).
 */
import type { DataSource } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import { validationError } from '../shared/errors.js';

export interface StoragePoint {
  /** The day, YYYY-MM-DD (UTC). */
  date: string;
  /** Bytes of kept snapshots created up to the end of that day. */
  storedBytes: number;
  /** Bytes of kept snapshots created that day. */
  addedBytes: number;
  snapshotCount: number;
}

export const STORAGE_HISTORY_DEFAULT_DAYS = 30;
export const STORAGE_HISTORY_MAX_DAYS = 366;
const DAY_MS = 86_400_000;

export class StorageHistoryService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** One point per day, oldest first, ending today (UTC). `days` is 1–366 (default 30). */
  async history(options: { organizationId?: string | null; days?: number | null } = {}): Promise<StoragePoint[]> {
    const days = options.days ?? STORAGE_HISTORY_DEFAULT_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > STORAGE_HISTORY_MAX_DAYS) {
      throw validationError({ days: `must be a whole number from 1 to ${STORAGE_HISTORY_MAX_DAYS}` });
    }
    const today = startOfDay(this.clock.now());
    const first = new Date(today.getTime() - (days - 1) * DAY_MS);
    const params: unknown[] = [first.toISOString()];
    const byOrg = options.organizationId ? 'AND organization_id = $2' : '';
    if (options.organizationId) params.push(options.organizationId);
    const [before] = await this.dataSource.query<{ bytes: number; n: number }[]>(
      `SELECT coalesce(sum(size_bytes), 0)::float8 AS bytes, count(*)::int AS n FROM snapshots WHERE created_at < $1 ${byOrg}`,
      params,
    );
    const rows: { day: string; bytes: number; n: number }[] = await this.dataSource.query(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, sum(size_bytes)::float8 AS bytes, count(*)::int AS n
         FROM snapshots WHERE created_at >= $1 ${byOrg} GROUP BY day`,
      params,
    );
    const added = new Map(rows.map((r) => [r.day, r]));
    let stored = Number(before.bytes);
    let count = Number(before.n);
    const points: StoragePoint[] = [];
    for (let i = 0; i < days; i++) {
      const date = new Date(first.getTime() + i * DAY_MS).toISOString().slice(0, 10);
      const day = added.get(date);
      stored += day ? Number(day.bytes) : 0;
      count += day ? Number(day.n) : 0;
      points.push({ date, storedBytes: stored, addedBytes: day ? Number(day.bytes) : 0, snapshotCount: count });
    }
    return points;
  }
}

function startOfDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}
