/**
 * Anomaly rules, evaluated on every new repository (or group) snapshot against the one before it
 * of the same repository (group) (snapshot-diff.ts):
 * - FORCE_PUSH_DEFAULT_BRANCH    the default branch moved to a commit that does not contain its old tip
 * - FORCE_PUSH_PROTECTED_BRANCH  the same for another branch matching a protected-branch rule
 * - BRANCH_PROTECTION_REMOVED    a protected-branch rule disappeared
 * - MASS_REF_DELETION            more than `maxDeletedRefs` branches/tags disappeared at once
 * - MASS_RECORD_DELETION         issues, merge requests or labels — of a group: its labels, milestones
 *                                or epics —: more than `maxDeletedRecords`
 *                                deleted, or more than `maxDeletedRecordsPercent` % of at least
 *                                `minRecordsForPercent` (only types captured OK on both sides count)
 * - REPOSITORY_EMPTIED           the repository had refs and now has none
 * - SIZE_DROP                    the repository (objects reachable from its refs) shrank by more than
 *                                `maxSizeDropPercent` %
 * - SUBGROUP_DELETED             (a group's snapshot) a subgroup listed before is gone
 * Each anomaly is recorded (once per snapshot and kind) and pins the previous snapshot — the last
 * good state — so retention keeps it until a person unpins it. `onAnomaly` raises the alert
 * (services.ts wires it to the notification channels' ANOMALY rule).
 *
 * And one that no snapshot shows, evaluated after each run and each repository sync:
 * - REPOSITORY_DELETED_UPSTREAM  the project was destroyed (a system hook's project_destroy, once
 *                                the immediate backup attempt it triggered has run) or a sync no
 *                                longer finds it in the organization (deleted, or moved out). It is
 *                                recorded once per deletion, on the repository's last snapshot,
 *                                which is pinned. The repository itself stays, still protected and
 *                                listed with `deletedUpstreamAt`; runs skip it (nothing to read).
 */
import { LessThan, type DataSource, type EntityManager } from 'typeorm';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import { organizationDiff, type OrganizationDiff } from './organization-diff.js';
import { deletedUpstream, markDestroyedAfterAttempt } from './upstream-deletion.js';
import { snapshotDiff, type SnapshotDiff, type SnapshotDiffDeps } from './snapshot-diff.js';
import { SnapshotAnomalyEntity, SnapshotPinEntity, type AnomalyKind } from './webhook.entity.js';

export interface AnomalyRules {
  /** More deleted refs than this in one snapshot is an anomaly. */
  maxDeletedRefs: number;
  /** More deleted issues, merge requests or labels (each type on its own) than this is an anomaly... */
  maxDeletedRecords: number;
  /** ...and so is more than this percentage of a type's records, when it had at least `minRecordsForPercent`. */
  maxDeletedRecordsPercent: number;
  minRecordsForPercent: number;
  /** A repository that shrinks by more than this percentage is an anomaly. */
  maxSizeDropPercent: number;
}

export const DEFAULT_ANOMALY_RULES: AnomalyRules = {
  maxDeletedRefs: 10,
  maxDeletedRecords: 10,
  maxDeletedRecordsPercent: 50,
  minRecordsForPercent: 4,
  maxSizeDropPercent: 50,
};

/** Metadata types whose mass deletion is an anomaly. */
export const WATCHED_RECORD_TYPES = [
  'issues',
  'merge_requests',
  'labels',
  'group_labels',
  'group_milestones',
  'epics',
] as const;

type Finding = { kind: AnomalyKind; message: string; details: Record<string, unknown> };

/** How long an evaluation holds its run; a process that stopped mid-way is taken over after it. */
const EVALUATION_LEASE_MS = 10 * 60_000;
/** A try in which some snapshot could not be evaluated is tried again this much later... */
const RETRY_AFTER_MS = 60_000;
/** ...up to this many tries in all; then the run counts as evaluated (each failure logged). */
const MAX_EVALUATION_ATTEMPTS = 5;

export class AnomalyService {
  /** Evaluations of runs under way in this process, by run. */
  private readonly evaluating = new Map<string, Promise<SnapshotAnomalyEntity[]>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly diffDeps: SnapshotDiffDeps,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly rules: AnomalyRules = DEFAULT_ANOMALY_RULES,
    /** The seam for alerts (notification channels): called once per recorded anomaly. */
    private readonly onAnomaly: (anomaly: SnapshotAnomalyEntity) => Promise<void> = async () => undefined,
  ) {}

  diff(fromSnapshotId: string, toSnapshotId: string): Promise<SnapshotDiff> {
    return snapshotDiff(this.diffDeps, fromSnapshotId, toSnapshotId);
  }

  /** What changed in every repository and group of an organization between two points in time. */
  organizationDiff(organizationId: string, range: { from: Date; to: Date }): Promise<OrganizationDiff> {
    return organizationDiff(
      { dataSource: this.dataSource, logger: this.logger, diff: (f, t) => this.diff(f, t) },
      organizationId,
      range,
    );
  }

  /**
   * Evaluates every repository snapshot a finished run wrote, then the repositories it found
   * destroyed upstream. Called when a run finishes; safe to call again and from any process:
   * - the run is claimed first (a lease in its row): a call that finds it evaluated, or held by
   *   another evaluation that is still within its lease, returns [] (in this process it joins that
   *   evaluation instead and returns its result);
   * - what is found is recorded once (per snapshot and kind) with its pin, in one transaction;
   * - a try in which a snapshot could not be evaluated is tried again a minute later, up to
   *   MAX_EVALUATION_ATTEMPTS tries in all; a process that stopped mid-way leaves the lease, and
   *   `evaluatePending` takes the run over when it ends.
   */
  evaluateRun(runId: string): Promise<SnapshotAnomalyEntity[]> {
    const running = this.evaluating.get(runId);
    if (running) return running;
    const evaluation = this.evaluateClaimed(runId).finally(() => this.evaluating.delete(runId));
    this.evaluating.set(runId, evaluation);
    return evaluation;
  }

  /**
   * The `anomalies.evaluate` job (every minute) and retention's first step: every finished run
   * (of one organization, or all) whose evaluation never ended — its process stopped, or a try
   * failed. Returns how many anomalies were recorded.
   */
  async evaluatePending(organizationId?: string): Promise<number> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM backup_runs
        WHERE anomalies_evaluated_at IS NULL AND finished_at IS NOT NULL
          AND (anomalies_lease_until IS NULL OR anomalies_lease_until < now())
          ${organizationId ? 'AND organization_id = $1' : ''}
        ORDER BY finished_at`,
      organizationId ? [organizationId] : [],
    );
    let recorded = 0;
    for (const { id } of rows) recorded += (await this.evaluateRun(id)).length;
    return recorded;
  }

  /**
   * For retention, before it forgets anything of an organization: evaluates its finished runs that
   * wait for the anomaly rules (and waits for those being evaluated in this process). True when
   * none waits any more; false while one is held by another process or failed a try (retention
   * then keeps everything of the organization for this pass: a pin may still be on its way).
   */
  async settledFor(organizationId: string): Promise<boolean> {
    try {
      await this.evaluatePending(organizationId);
      await Promise.all([...this.evaluating.values()]);
    } catch (error) {
      this.logger.warn({ err: error, organizationId }, 'anomaly rules could not be evaluated');
      return false;
    }
    const [{ waiting }]: { waiting: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS waiting FROM backup_runs
        WHERE organization_id = $1 AND anomalies_evaluated_at IS NULL AND finished_at IS NOT NULL`,
      [organizationId],
    );
    return waiting === 0;
  }

  private async evaluateClaimed(runId: string): Promise<SnapshotAnomalyEntity[]> {
    // UPDATE … RETURNING answers [rows, count] through TypeORM.
    const [claimed]: [{ organization_id: string; anomaly_attempts: number }[], number] = await this.dataSource.query(
      `UPDATE backup_runs SET anomaly_attempts = anomaly_attempts + 1,
              anomalies_lease_until = now() + ($2::int * interval '1 millisecond')
        WHERE id = $1 AND finished_at IS NOT NULL AND anomalies_evaluated_at IS NULL
          AND (anomalies_lease_until IS NULL OR anomalies_lease_until < now())
        RETURNING organization_id, anomaly_attempts`,
      [runId, EVALUATION_LEASE_MS],
    );
    const run = claimed[0];
    if (!run) return [];
    const rows: { snapshot_id: string }[] = await this.dataSource.query(
      `SELECT snapshot_id FROM backup_run_items WHERE run_id = $1 AND snapshot_id IS NOT NULL`,
      [runId],
    );
    const found: SnapshotAnomalyEntity[] = [];
    let failed = 0;
    for (const row of rows) {
      try {
        found.push(...(await this.evaluate(row.snapshot_id)));
      } catch (error) {
        failed += 1;
        this.logger.warn({ err: error, runId, snapshotId: row.snapshot_id }, 'anomaly rules could not be evaluated');
      }
    }
    await markDestroyedAfterAttempt(this.dataSource, runId);
    found.push(...(await this.recordDeletions(run.organization_id)));
    if (failed === 0 || run.anomaly_attempts >= MAX_EVALUATION_ATTEMPTS) {
      if (failed > 0)
        this.logger.error(
          { runId, snapshots: failed, attempts: run.anomaly_attempts },
          'anomaly rules could not be evaluated on some snapshots of this run; giving up on them',
        );
      await this.dataSource.query(
        `UPDATE backup_runs SET anomalies_evaluated_at = now(), anomalies_lease_until = NULL WHERE id = $1`,
        [runId],
      );
    } else {
      await this.dataSource.query(
        `UPDATE backup_runs SET anomalies_lease_until = now() + ($2::int * interval '1 millisecond') WHERE id = $1`,
        [runId, RETRY_AFTER_MS],
      );
    }
    return found;
  }

  /**
   * Records REPOSITORY_DELETED_UPSTREAM for each repository of the organization marked deleted
   * upstream whose last snapshot has no such anomaly yet, and pins that snapshot. A repository
   * deleted before its first snapshot has nothing to keep: nothing is recorded.
   */
  async recordDeletions(organizationId: string): Promise<SnapshotAnomalyEntity[]> {
    const recorded: SnapshotAnomalyEntity[] = [];
    for (const gone of await deletedUpstream(this.dataSource, organizationId)) {
      if (!gone.lastSnapshotId) {
        // Shown in the repository list (deletedUpstreamAt); said once per pass at debug, not as a warning each time.
        this.logger.debug(
          { organizationId, repositoryId: gone.repositoryId },
          'repository deleted upstream before any snapshot: nothing to keep',
        );
        continue;
      }
      const how = gone.isDestroyed
        ? 'was deleted in GitLab (project_destroy)'
        : 'is no longer in the organization (deleted or moved out; found by a repository sync)';
      const anomaly = await this.record(
        { id: gone.lastSnapshotId, organizationId, repositoryId: gone.repositoryId, groupId: null },
        gone.lastSnapshotId,
        {
          kind: 'REPOSITORY_DELETED_UPSTREAM',
          message: `${gone.path} ${how}; its last snapshot ${gone.lastSnapshotId} is kept`,
          details: {
            path: gone.path,
            deletedUpstreamAt: gone.deletedUpstreamAt.toISOString(),
            source: gone.isDestroyed ? 'SYSTEM_HOOK' : 'SYNC',
          },
        },
      );
      if (anomaly) recorded.push(anomaly);
    }
    return recorded;
  }

  /** Compares a new snapshot with the repository's previous one; records anomalies and pins. */
  async evaluate(snapshotId: string): Promise<SnapshotAnomalyEntity[]> {
    const snapshots = this.dataSource.getRepository(SnapshotEntity);
    const snapshot = await snapshots.findOneBy({ id: snapshotId });
    if (!snapshot?.repositoryId && !snapshot?.groupId) return [];
    const owner = snapshot.repositoryId ? { repositoryId: snapshot.repositoryId } : { groupId: snapshot.groupId! };
    const previous = await snapshots.findOne({
      where: { ...owner, createdAt: LessThan(snapshot.createdAt) },
      order: { createdAt: 'DESC' },
    });
    if (!previous) return [];
    const diff = await this.diff(previous.id, snapshot.id);
    const recorded: SnapshotAnomalyEntity[] = [];
    for (const finding of this.apply(diff)) {
      const anomaly = await this.record(
        {
          id: snapshot.id,
          organizationId: snapshot.organizationId,
          repositoryId: snapshot.repositoryId,
          groupId: snapshot.repositoryId ? null : snapshot.groupId,
        },
        previous.id,
        finding,
      );
      if (anomaly) recorded.push(anomaly);
    }
    return recorded;
  }

  /**
   * Records one finding on a snapshot and pins `pinnedId`; null when the snapshot already has an
   * anomaly of that kind (an evaluation that ran twice).
   */
  private async record(
    snapshot: { id: string; organizationId: string; repositoryId: string | null; groupId: string | null },
    pinnedId: string,
    { kind, message, details }: Finding,
  ): Promise<SnapshotAnomalyEntity | null> {
    const anomaly = Object.assign(new SnapshotAnomalyEntity(), {
      id: newId(),
      organizationId: snapshot.organizationId,
      repositoryId: snapshot.repositoryId,
      groupId: snapshot.groupId,
      snapshotId: snapshot.id,
      previousSnapshotId: pinnedId,
      kind,
      message,
      details,
      createdAt: this.clock.now(),
    });
    // The anomaly and its pin together: recorded without its pin, a second evaluation would find the
    // anomaly there and pin nothing.
    const inserted = await this.dataSource.transaction(async (tx) => {
      const rows: unknown[] = await tx.query(
        `INSERT INTO snapshot_anomalies (id, organization_id, repository_id, group_id, snapshot_id, previous_snapshot_id, kind, message, details, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10) ON CONFLICT (snapshot_id, kind) DO NOTHING RETURNING id`,
        [
          anomaly.id,
          anomaly.organizationId,
          anomaly.repositoryId,
          anomaly.groupId,
          anomaly.snapshotId,
          anomaly.previousSnapshotId,
          kind,
          message,
          JSON.stringify(details),
          anomaly.createdAt,
        ],
      );
      if (rows.length > 0)
        await this.pin(pinnedId, `anomaly ${kind} in snapshot ${snapshot.id}: ${message}`, anomaly.id, tx);
      return rows.length > 0;
    });
    if (!inserted) return null;
    this.logger.warn(
      { organizationId: snapshot.organizationId, snapshotId: snapshot.id, pinned: pinnedId, kind },
      'anomaly recorded; the last good snapshot is pinned',
    );
    await this.onAnomaly(anomaly).catch((error: unknown) =>
      this.logger.warn({ err: error, anomalyId: anomaly.id }, 'anomaly alert failed'),
    );
    return anomaly;
  }

  list(organizationId: string): Promise<SnapshotAnomalyEntity[]> {
    return this.dataSource
      .getRepository(SnapshotAnomalyEntity)
      .find({ where: { organizationId }, order: { createdAt: 'DESC' }, take: 500 });
  }

  async pin(
    snapshotId: string,
    reason: string,
    anomalyId: string | null = null,
    tx: EntityManager = this.dataSource.manager,
  ): Promise<SnapshotPinEntity> {
    const snapshot = await this.requireSnapshot(snapshotId, tx);
    const pins = tx.getRepository(SnapshotPinEntity);
    // Insert-or-keep in one statement: two evaluations of the same run may pin at once.
    await pins
      .createQueryBuilder()
      .insert()
      .values({
        snapshotId,
        organizationId: snapshot.organizationId,
        reason: reason.slice(0, 1000),
        anomalyId,
        pinnedAt: this.clock.now(),
      })
      .orIgnore()
      .execute();
    return (await pins.findOneBy({ snapshotId }))!;
  }

  async unpin(snapshotId: string): Promise<void> {
    await this.requireSnapshot(snapshotId);
    await this.dataSource.getRepository(SnapshotPinEntity).delete({ snapshotId });
    this.logger.info({ snapshotId }, 'snapshot unpinned');
  }

  pinOf(snapshotId: string): Promise<SnapshotPinEntity | null> {
    return this.dataSource.getRepository(SnapshotPinEntity).findOneBy({ snapshotId });
  }

  /** For retention: which of these snapshots are pinned. */
  async pinnedAmong(snapshotIds: string[]): Promise<Set<string>> {
    if (snapshotIds.length === 0) return new Set();
    const rows: { snapshot_id: string }[] = await this.dataSource.query(
      `SELECT snapshot_id FROM snapshot_pins WHERE snapshot_id = ANY($1::uuid[])`,
      [snapshotIds],
    );
    return new Set(rows.map((r) => r.snapshot_id));
  }

  private apply(diff: SnapshotDiff): Finding[] {
    return [...this.refRules(diff), ...this.recordRules(diff), ...this.sizeRules(diff), ...this.groupRules(diff)];
  }

  /** A group's snapshot: a subgroup gone takes its projects, wikis and issues with it in GitLab. */
  private groupRules(diff: SnapshotDiff): Finding[] {
    const subgroups = diff.metadata.find((t) => t.type === 'subgroups' && t.isCompared);
    if (!subgroups || subgroups.removedCount === 0) return [];
    const names = subgroups.removed.map((r) => r.label ?? r.key);
    return [
      {
        kind: 'SUBGROUP_DELETED',
        message: `${subgroups.removedCount} subgroup(s) gone: ${names.join(', ')}`,
        details: { subgroups: names.slice(0, 100), count: subgroups.removedCount },
      },
    ];
  }

  private refRules(diff: SnapshotDiff): Finding[] {
    const out: Finding[] = [];
    for (const m of diff.moved.filter((c) => c.isForced && (c.ref === diff.defaultBranch || c.isProtected)))
      out.push({
        kind: m.ref === diff.defaultBranch ? 'FORCE_PUSH_DEFAULT_BRANCH' : 'FORCE_PUSH_PROTECTED_BRANCH',
        message: `${m.ref} was rewritten: ${m.to} does not contain ${m.from}`,
        details: { ref: m.ref, from: m.from, to: m.to },
      });
    if (diff.removed.length > this.rules.maxDeletedRefs)
      out.push({
        kind: 'MASS_REF_DELETION',
        message: `${diff.removed.length} refs deleted at once (more than ${this.rules.maxDeletedRefs})`,
        details: { refs: diff.removed.map((r) => r.ref).slice(0, 100), count: diff.removed.length },
      });
    if (diff.refCountBefore > 0 && diff.refCountAfter === 0)
      out.push({
        kind: 'REPOSITORY_EMPTIED',
        message: `the repository had ${diff.refCountBefore} refs and now has none`,
        details: { refCountBefore: diff.refCountBefore },
      });
    return out;
  }

  private recordRules(diff: SnapshotDiff): Finding[] {
    const out: Finding[] = [];
    const protections = diff.metadata.find((t) => t.type === 'protected_branches' && t.isCompared);
    if (protections && protections.removedCount > 0)
      out.push({
        kind: 'BRANCH_PROTECTION_REMOVED',
        message: `${protections.removedCount} protected-branch rule(s) removed: ${protections.removed.map((r) => r.key).join(', ')}`,
        details: { branches: protections.removed.map((r) => r.key) },
      });
    const { maxDeletedRecords, maxDeletedRecordsPercent, minRecordsForPercent } = this.rules;
    const mass = diff.metadata.filter(
      (t) =>
        t.isCompared &&
        (WATCHED_RECORD_TYPES as readonly string[]).includes(t.type) &&
        (t.removedCount > maxDeletedRecords ||
          (t.recordsBefore >= minRecordsForPercent &&
            t.removedCount * 100 > t.recordsBefore * maxDeletedRecordsPercent)),
    );
    if (mass.length > 0)
      out.push({
        kind: 'MASS_RECORD_DELETION',
        message: mass
          .map((t) => `${t.removedCount} of ${t.recordsBefore} ${t.type.replace('_', ' ')} deleted`)
          .join('; '),
        details: {
          types: Object.fromEntries(mass.map((t) => [t.type, { removed: t.removedCount, before: t.recordsBefore }])),
        },
      });
    return out;
  }

  private sizeRules(diff: SnapshotDiff): Finding[] {
    const { gitBytesBefore: before, gitBytesAfter: after } = diff;
    if (before === null || after === null || before === 0 || diff.refCountAfter === 0) return []; // emptied: its own rule
    const dropPercent = ((before - after) * 100) / before;
    if (dropPercent <= this.rules.maxSizeDropPercent) return [];
    return [
      {
        kind: 'SIZE_DROP',
        message: `the repository shrank by ${Math.round(dropPercent)} % (${before} → ${after} bytes of reachable objects)`,
        details: { bytesBefore: before, bytesAfter: after },
      },
    ];
  }

  private async requireSnapshot(id: string, tx: EntityManager = this.dataSource.manager): Promise<SnapshotEntity> {
    const snapshot = /^[0-9a-f-]{36}$/i.test(id) ? await tx.getRepository(SnapshotEntity).findOneBy({ id }) : null;
    if (!snapshot)
      throw new DomainError('SNAPSHOT_NOT_FOUND', `snapshot ${id} does not exist`, { details: { snapshotId: id } });
    return snapshot;
  }
}
