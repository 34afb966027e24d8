/**
 * The Worker registry. Each worker process registers under its name (name, host, pid, version,
 * concurrency), then heartbeats; it is ONLINE while its last heartbeat is younger than three
 * heartbeat intervals and it has not stopped. Rows are never deleted: an organization's default
 * worker may be offline for a while.
 */
import { hostname } from 'node:os';
import type { DataSource, Repository } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import { isConnectionError } from '../shared/db-errors.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { WorkerChanged } from './worker.events.js';
import { WorkerEntity } from './worker.entity.js';

export type WorkerStatus = 'ONLINE' | 'OFFLINE';

export interface WorkerRegistration {
  name: string;
  concurrency: number;
  version: string;
  isInProcess: boolean;
}

export const workerNotFound = (id: string) =>
  new DomainError('WORKER_NOT_FOUND', `worker ${id} does not exist`, {
    details: { fields: { defaultWorkerId: `no worker has id ${id}` } },
  });

export class WorkerService {
  private readonly repo: Repository<WorkerEntity>;

  constructor(
    dataSource: DataSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly heartbeatIntervalMs: number,
    private readonly publish: (event: WorkerChanged) => void = () => undefined,
  ) {
    this.repo = dataSource.getRepository(WorkerEntity);
  }

  /** What was last announced of each worker this process runs: a heartbeat with the same load says nothing new. */
  private readonly announced = new Map<string, { name: string; runningJobs: number }>();

  private announce(worker: { id: string; name: string }, runningJobs: number, stopped: boolean): void {
    this.announced.set(worker.id, { name: worker.name, runningJobs });
    this.publish({ workerId: worker.id, name: worker.name, runningJobs, stopped, at: this.clock.now().toISOString() });
  }

  /** The worker as last announced here, or as stored (a worker of another process). */
  private async known(id: string): Promise<{ id: string; name: string; runningJobs: number } | null> {
    const announced = this.announced.get(id);
    if (announced) return { id, ...announced };
    const stored = await this.repo.findOneBy({ id });
    return stored ? { id, name: stored.name, runningJobs: Number.NaN } : null;
  }

  list(): Promise<WorkerEntity[]> {
    return this.repo.find({ order: { name: 'ASC' } });
  }

  async get(id: string): Promise<WorkerEntity> {
    const found = await this.repo.findOneBy({ id });
    if (!found) throw workerNotFound(id);
    return found;
  }

  async exists(id: string): Promise<void> {
    if (!/^[0-9a-f-]{36}$/i.test(id) || !(await this.repo.existsBy({ id }))) throw workerNotFound(id);
  }

  status(worker: WorkerEntity): WorkerStatus {
    const age = this.clock.now().getTime() - worker.lastHeartbeatAt.getTime();
    return !worker.stoppedAt && age <= 3 * this.heartbeatIntervalMs ? 'ONLINE' : 'OFFLINE';
  }

  /**
   * The name of an organization's default worker when it is ONLINE; null when it has none or it is
   * offline, so its work goes to any worker instead of waiting.
   */
  async defaultWorkerFor(organizationId: string): Promise<string | null> {
    const [row] = await this.repo.query<
      ({ name: string; last_heartbeat_at: Date; stopped_at: Date | null } | undefined)[]
    >(
      `SELECT w.name, w.last_heartbeat_at, w.stopped_at FROM organizations o JOIN workers w ON w.id = o.default_worker_id WHERE o.id = $1`,
      [organizationId],
    );
    if (!row) return null;
    const online =
      this.status({ lastHeartbeatAt: new Date(row.last_heartbeat_at), stoppedAt: row.stopped_at } as WorkerEntity) ===
      'ONLINE';
    return online ? row.name : null;
  }

  /** Registers (or re-registers, keeping the id) a worker by name. */
  async register(registration: WorkerRegistration): Promise<WorkerEntity> {
    const now = this.clock.now();
    const existing = await this.repo.findOneBy({ name: registration.name });
    const worker = this.repo.create({
      ...(existing ?? { id: newId() }),
      ...registration,
      host: hostname(),
      pid: process.pid,
      startedAt: now,
      lastHeartbeatAt: now,
      stoppedAt: null,
    });
    await this.repo.save(worker);
    this.logger.info({ workerId: worker.id, name: worker.name, concurrency: worker.concurrency }, 'worker registered');
    this.announce(worker, worker.runningJobs ?? 0, false);
    return worker;
  }

  /** Alive, and (when known) how many jobs it is running: its load. */
  async heartbeat(id: string, runningJobs?: number): Promise<void> {
    await this.repo.update(
      { id },
      { lastHeartbeatAt: this.clock.now(), stoppedAt: null, ...(runningJobs === undefined ? {} : { runningJobs }) },
    );
    if (runningJobs === undefined) return;
    const worker = await this.known(id);
    if (worker && worker.runningJobs !== runningJobs) this.announce(worker, runningJobs, false);
  }

  async stopped(id: string): Promise<void> {
    await this.repo.update({ id }, { stoppedAt: this.clock.now(), runningJobs: 0 });
    this.logger.info({ workerId: id }, 'worker stopped');
    const worker = await this.known(id);
    if (worker) this.announce(worker, 0, true);
  }

  /**
   * Workers that went OFFLINE without stopping (killed, crashed, cut off): each is marked stopped
   * once (by whichever live worker claims it first) and the job locks it held are released through
   * `releaseJobsOf`, so live workers take its jobs over at their next poll instead of when the
   * locks expire (`LABKEEPER_JOB_LOCK_LIFETIME_MS`, 10 minutes by default). A worker that was only
   * stalled and heartbeats again is ONLINE again; a job it was still running may then run twice,
   * which backups tolerate (a repository's backup is serialised by its lock and snapshots are
   * written once).
   */
  async releaseOfflineWorkers(releaseJobsOf: (workerName: string) => Promise<number>): Promise<void> {
    const now = this.clock.now();
    const offlineSince = new Date(now.getTime() - 3 * this.heartbeatIntervalMs);
    const [claimed] = await this.repo.query<[{ id: string; name: string }[], number]>(
      `UPDATE workers SET stopped_at = $1, running_jobs = 0 WHERE stopped_at IS NULL AND last_heartbeat_at < $2 RETURNING id, name`,
      [now, offlineSince],
    );
    for (const worker of claimed) {
      const jobs = await releaseJobsOf(worker.name);
      this.logger.warn(
        { workerId: worker.id, name: worker.name, jobs },
        'worker went offline without stopping: its jobs were released to the other workers',
      );
      this.announce(worker, 0, true);
    }
  }

  /**
   * Starts heartbeating; the returned function stops it and marks the worker stopped. With
   * `releaseJobsOf`, each beat also releases the jobs of workers that went offline without stopping.
   */
  startHeartbeat(
    id: string,
    load?: () => Promise<number>,
    releaseJobsOf?: (workerName: string) => Promise<number>,
  ): () => Promise<void> {
    // Others are judged only after this worker has itself beaten without a gap for as long as it
    // takes to call one OFFLINE: after a database outage every worker's last beat is old, and the
    // live ones need that long to be seen again (their jobs must not be released).
    let beatingSince = this.clock.now().getTime();
    const timer = setInterval(() => {
      (load ? load().then((n) => this.heartbeat(id, n)) : this.heartbeat(id))
        .then(() => {
          const steady = this.clock.now().getTime() - beatingSince > 4 * this.heartbeatIntervalMs;
          return releaseJobsOf && steady ? this.releaseOfflineWorkers(releaseJobsOf) : undefined;
        })
        .catch((error: unknown) => {
          beatingSince = this.clock.now().getTime() + this.heartbeatIntervalMs; // from the next beat that works
          // A lost database is logged once by the database watch; a heartbeat failing then says nothing new.
          if (isConnectionError(error)) this.logger.debug({ err: error, workerId: id }, 'heartbeat failed');
          else this.logger.warn({ err: error, workerId: id }, 'heartbeat failed');
        });
    }, this.heartbeatIntervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.stopped(id);
    };
  }
}
