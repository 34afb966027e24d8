/**
 * Metrics of the whole installation, read from PostgreSQL when Prometheus scrapes: backup runs and
 * repositories by status, bytes moved, snapshot sizes and run durations (histograms), repositories
 * by the age of their last good backup, connections and their token expiry, job queues, drills,
 * restores and storage. API and worker processes are separate and any of them may have done the
 * work, so nothing here is counted in memory: every API process answers the same numbers (take
 * `max` across instances, not `sum`), and they survive restarts. Counters (`_total`) only grow as
 * long as runs are not deleted from the database, which Labkeeper never does.
 *
 * A query that fails (database away) leaves its metric without samples for that scrape; the scrape
 * itself still answers, with `labkeeper_database_up 0`.
 */
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';

/** One queue of the job store (`<job>` or `<job>@<worker>`). */
export interface QueueStat {
  name: string;
  /** Jobs due and not taken by a worker. */
  due: number;
  /** Jobs a worker holds now. */
  running: number;
  /** Seconds the oldest due job has waited past its run time (0 when none is due). */
  lagSeconds: number;
}

export interface ClusterMetricsDeps {
  dataSource: DataSource;
  clock: Clock;
  logger: Logger;
  /** The job store's queues (jobs/agenda.ts); PostgreSQL or MongoDB alike. */
  queueStats(): Promise<QueueStat[]>;
}

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
  metricName?: string;
}
type MetricType = 'gauge' | 'counter' | 'histogram';

const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELED', 'TIMED_OUT'];
const TERMINAL_RUN_STATUSES = ['SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELED', 'TIMED_OUT'];
const TERMINAL_ITEM_STATUSES = ['SUCCEEDED', 'PARTIAL', 'UNCHANGED', 'FAILED', 'CANCELED'];
const DRILL_STATUSES = ['QUEUED', 'RUNNING', 'PASSED', 'FAILED'];
const RESTORE_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED'];
/** Ages of a protected repository's last good backup; `never` when it has none. */
export const BACKUP_AGE_BUCKETS = [
  { label: 'lt_1h', maxSeconds: 3600 },
  { label: 'lt_24h', maxSeconds: 86_400 },
  { label: 'lt_7d', maxSeconds: 7 * 86_400 },
  { label: 'ge_7d', maxSeconds: Number.POSITIVE_INFINITY },
];
const SIZE_BUCKETS = [1 << 10, 1 << 16, 1 << 20, 1 << 24, 1 << 27, 1 << 30, 2 ** 33, 2 ** 36];
const DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600];

export function registerClusterMetrics(registry: Registry, deps: ClusterMetricsDeps): void {
  const { dataSource, clock } = deps;
  const q = <T>(sql: string, params: unknown[] = []) => dataSource.query<T[]>(sql, params);
  const add = (name: string, help: string, type: MetricType, read: () => Promise<Sample[]>) =>
    registry.registerMetric(dbMetric({ name, help, type, read, logger: deps.logger }) as never);

  add('labkeeper_database_up', 'Whether PostgreSQL answered this scrape (1) or not (0)', 'gauge', async () => [
    {
      value: await q('SELECT 1').then(
        () => 1,
        () => 0,
      ),
    },
  ]);

  const runsByStatus = () =>
    countsBy(q, 'SELECT status AS key, count(*)::float8 AS n FROM backup_runs GROUP BY status');
  add('labkeeper_backup_runs', 'Backup runs by current status', 'gauge', async () =>
    samples(await runsByStatus(), RUN_STATUSES, 'status'),
  );
  add('labkeeper_backup_runs_finished_total', 'Backup runs that ended, by status', 'counter', async () =>
    samples(await runsByStatus(), TERMINAL_RUN_STATUSES, 'status'),
  );
  add(
    'labkeeper_backup_repositories_finished_total',
    'Repositories (and groups) whose backup within a run ended, by status',
    'counter',
    async () =>
      samples(
        await countsBy(q, 'SELECT status AS key, count(*)::float8 AS n FROM backup_run_items GROUP BY status'),
        TERMINAL_ITEM_STATUSES,
        'status',
      ),
  );
  add('labkeeper_backup_bytes_received_total', 'Bytes received from GitLab by backups', 'counter', async () => [
    { value: await single(q, 'SELECT coalesce(sum(bytes_received), 0)::float8 AS n FROM backup_run_items') },
  ]);
  add('labkeeper_backup_bytes_written_total', 'Bytes written to storage by backups', 'counter', async () => [
    { value: await single(q, 'SELECT coalesce(sum(bytes_written), 0)::float8 AS n FROM backup_run_items') },
  ]);
  add('labkeeper_snapshot_size_bytes', 'Sizes of the snapshots kept, by copy type', 'histogram', () =>
    histogram(q, {
      name: 'labkeeper_snapshot_size_bytes',
      from: 'snapshots',
      value: 'size_bytes::float8',
      label: 'copy_type',
      buckets: SIZE_BUCKETS,
    }),
  );
  add('labkeeper_backup_run_duration_seconds', 'Durations of finished backup runs, by status', 'histogram', () =>
    histogram(q, {
      name: 'labkeeper_backup_run_duration_seconds',
      from: `backup_runs WHERE started_at IS NOT NULL AND finished_at IS NOT NULL`,
      value: 'extract(epoch FROM finished_at - started_at)::float8',
      label: 'status',
      buckets: DURATION_BUCKETS,
    }),
  );
  add(
    'labkeeper_repositories_by_last_backup_age',
    'Protected repositories by the age of their last successful backup (never: none yet)',
    'gauge',
    async () => {
      const rows = await q<{ age: number | null }>(
        `SELECT extract(epoch FROM $1::timestamptz - max(i.finished_at))::float8 AS age
           FROM repositories r
           LEFT JOIN backup_run_items i
             ON i.repository_id = r.id AND i.status IN ('SUCCEEDED', 'PARTIAL', 'UNCHANGED')
          WHERE r.is_protected AND r.deleted_upstream_at IS NULL
          GROUP BY r.id`,
        [clock.now()],
      );
      const counts = new Map<string, number>([...BACKUP_AGE_BUCKETS.map((b) => [b.label, 0] as const), ['never', 0]]);
      for (const { age } of rows) {
        const label = age === null ? 'never' : BACKUP_AGE_BUCKETS.find((b) => age < b.maxSeconds)!.label;
        counts.set(label, counts.get(label)! + 1);
      }
      return [...counts].map(([age, value]) => ({ labels: { age }, value }));
    },
  );
  add('labkeeper_connections', 'Connections by status', 'gauge', async () =>
    (await countsBy(q, 'SELECT status AS key, count(*)::float8 AS n FROM connections GROUP BY status')).map(
      ([status, value]) => ({ labels: { status }, value }),
    ),
  );
  add(
    'labkeeper_connection_token_expiry_timestamp_seconds',
    "When each connection's GitLab token expires (Unix seconds); OAuth tokens are refreshed before, PATs are not",
    'gauge',
    async () =>
      (
        await q<{ id: string; method: string; instance_url: string; status: string; at: number }>(
          `SELECT id, method, instance_url, status, extract(epoch FROM token_expires_at)::float8 AS at
             FROM connections WHERE token_expires_at IS NOT NULL`,
        )
      ).map((r) => ({
        labels: { connection_id: r.id, method: r.method, instance_url: r.instance_url, status: r.status },
        value: r.at,
      })),
  );
  const queues = () => deps.queueStats().then((all) => all.map((s) => ({ ...s, ...jobLabels(s.name) })));
  add(
    'labkeeper_job_queue_depth',
    'Jobs due and waiting for a worker, by job name and worker ("any")',
    'gauge',
    async () => (await queues()).map((s) => ({ labels: { job: s.job, worker: s.worker }, value: s.due })),
  );
  add('labkeeper_job_queue_lag_seconds', 'How long the oldest due job of a queue has waited', 'gauge', async () =>
    (await queues()).map((s) => ({ labels: { job: s.job, worker: s.worker }, value: s.lagSeconds })),
  );
  add('labkeeper_jobs_running', 'Jobs held by a worker now, by job name', 'gauge', async () =>
    (await queues()).map((s) => ({ labels: { job: s.job, worker: s.worker }, value: s.running })),
  );
  const drillsByStatus = () =>
    countsBy(q, 'SELECT status AS key, count(*)::float8 AS n FROM drill_runs GROUP BY status');
  add('labkeeper_drill_runs', 'Restore drills by current status', 'gauge', async () =>
    samples(await drillsByStatus(), DRILL_STATUSES, 'status'),
  );
  add('labkeeper_drill_runs_finished_total', 'Restore drills that ended, by result', 'counter', async () =>
    samples(await drillsByStatus(), ['PASSED', 'FAILED'], 'status'),
  );
  add('labkeeper_restore_runs', 'Restore runs by status and target (dry runs included)', 'gauge', async () => {
    const rows = await q<{ status: string; target: string; n: number }>(
      'SELECT status, target, count(*)::float8 AS n FROM restore_runs GROUP BY status, target',
    );
    return rows.map((r) => ({ labels: { status: r.status, target: r.target }, value: r.n }));
  });
  add('labkeeper_restore_runs_finished_total', 'Restore runs that ended, by status', 'counter', async () =>
    samples(
      await countsBy(q, 'SELECT status AS key, count(*)::float8 AS n FROM restore_runs GROUP BY status'),
      RESTORE_STATUSES.filter((s) => !['QUEUED', 'RUNNING'].includes(s)),
      'status',
    ),
  );
  add('labkeeper_storage_bytes', 'Bytes of the snapshots kept, per storage', 'gauge', async () =>
    (
      await q<{ storage: string; n: number }>(
        'SELECT storage_root AS storage, coalesce(sum(size_bytes), 0)::float8 AS n FROM snapshots GROUP BY storage_root',
      )
    ).map((r) => ({ labels: { storage: r.storage }, value: r.n })),
  );
}

/** `backup.repository@worker-1` → job `backup.repository`, worker `worker-1`; no `@` → worker `any`. */
function jobLabels(queue: string): { job: string; worker: string } {
  const at = queue.indexOf('@');
  return at < 0 ? { job: queue, worker: 'any' } : { job: queue.slice(0, at), worker: queue.slice(at + 1) };
}

type Query = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

async function countsBy(q: Query, sql: string): Promise<[string, number][]> {
  return (await q<{ key: string; n: number }>(sql)).map((r) => [r.key, r.n]);
}

async function single(q: Query, sql: string): Promise<number> {
  return (await q<{ n: number }>(sql))[0]?.n ?? 0;
}

/** One sample per known key (0 when absent), so every series exists from the first scrape. */
function samples(counts: [string, number][], keys: string[], label: string): Sample[] {
  const byKey = new Map(counts);
  return keys.map((key) => ({ labels: { [label]: key }, value: byKey.get(key) ?? 0 }));
}

/** A Prometheus histogram computed by PostgreSQL: cumulative bucket counts, sum and count per label value. */
async function histogram(
  q: Query,
  h: { name: string; from: string; value: string; label: string; buckets: number[] },
): Promise<Sample[]> {
  const bucketColumns = h.buckets.map((le, i) => `count(*) FILTER (WHERE ${h.value} <= ${le})::float8 AS b${i}`);
  const rows = await q<Record<string, number | string>>(
    `SELECT ${h.label} AS key, ${bucketColumns.join(', ')}, count(*)::float8 AS n,
            coalesce(sum(${h.value}), 0)::float8 AS s
       FROM ${h.from} GROUP BY ${h.label}`,
  );
  return rows.flatMap((row) => {
    const labels = { [h.label]: String(row.key) };
    return [
      ...h.buckets.map((le, i) => ({
        metricName: `${h.name}_bucket`,
        labels: { ...labels, le: String(le) },
        value: Number(row[`b${i}`]),
      })),
      { metricName: `${h.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: Number(row.n) },
      { metricName: `${h.name}_sum`, labels, value: Number(row.s) },
      { metricName: `${h.name}_count`, labels, value: Number(row.n) },
    ];
  });
}

/** A metric prom-client's registry can render, whose samples are read when scraped. */
function dbMetric(m: { name: string; help: string; type: MetricType; read: () => Promise<Sample[]>; logger: Logger }) {
  const { name, help, type } = m;
  return {
    name,
    help,
    type,
    aggregator: 'max',
    async get() {
      const values = await m.read().catch((error: unknown) => {
        m.logger.debug({ err: error, metric: name }, 'metric not read from the database');
        return [];
      });
      return { name, help, type, aggregator: 'max', values };
    },
  };
}
