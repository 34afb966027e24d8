/**
 * What one process counts itself, in memory: its GitLab exchanges (every attempt, by method and
 * status; retries and the waits GitLab's 429s asked for), the duration of each step of the
 * repository backups it ran, and Node's default process metrics. These are per process by nature:
 * an API process and each worker expose their own, and Prometheus sums them across instances
 * (`sum by (status) (rate(labkeeper_gitlab_requests_total[5m]))`). What describes the whole
 * installation (runs, snapshots, queues, connections) is read from PostgreSQL at scrape time
 * instead (cluster-metrics.ts), so it is right whichever process did the work.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { GitLabHttpObserver } from '../gitlab/gitlab-http.js';

/** Seconds: a no-change fetch takes tens of ms, a first clone of a big repository many minutes. */
const STEP_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export class ProcessMetrics {
  readonly registry = new Registry();
  private readonly gitlabRequests: Counter<'method' | 'status'>;
  private readonly gitlabRetries: Counter<'reason'>;
  private readonly gitlabRetryWait: Counter<'reason'>;
  private readonly backupSteps: Histogram<'step'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.gitlabRequests = new Counter({
      name: 'labkeeper_gitlab_requests_total',
      help: 'HTTP attempts to GitLab by this process (REST, OAuth, LFS, git), by method and status ("none": no answer)',
      labelNames: ['method', 'status'],
      registers,
    });
    this.gitlabRetries = new Counter({
      name: 'labkeeper_gitlab_retries_total',
      help: 'Retries of GitLab exchanges by this process, by reason (rate_limited: a 429)',
      labelNames: ['reason'],
      registers,
    });
    this.gitlabRetryWait = new Counter({
      name: 'labkeeper_gitlab_retry_wait_seconds_total',
      help: 'Seconds this process waited before retrying GitLab (Retry-After of 429s, or backoff), by reason',
      labelNames: ['reason'],
      registers,
    });
    this.backupSteps = new Histogram({
      name: 'labkeeper_backup_step_duration_seconds',
      help: 'Duration of each step of the repository backups this process ran (lock, lookups, prepare, slot, fetch, bundle, other, commit, verify, total)',
      labelNames: ['step'],
      buckets: STEP_BUCKETS,
      registers,
    });
    for (const reason of ['rate_limited', 'unavailable']) {
      this.gitlabRetries.labels(reason).inc(0);
      this.gitlabRetryWait.labels(reason).inc(0);
    }
  }

  /** The GitLab transport's observer (gitlab-http.ts). */
  readonly gitlab: GitLabHttpObserver = {
    answered: ({ method, status }) => this.gitlabRequests.labels(method.toUpperCase(), String(status ?? 'none')).inc(),
    retried: ({ reason, delayMs }) => {
      this.gitlabRetries.labels(reason).inc();
      this.gitlabRetryWait.labels(reason).inc(delayMs / 1000);
    },
  };

  /** A repository backup's step durations (RepositoryBackup's onStepsTimed). */
  readonly stepsTimed = (stepsMs: Record<string, number>): void => {
    for (const [step, ms] of Object.entries(stepsMs)) this.backupSteps.labels(step).observe(ms / 1000);
  };
}
