/**
 * Retention: which snapshots to keep and which to forget, with the reasons for each decision.
 * A pure function of (snapshots, retention, now), after restic's `ApplyPolicy`, so that
 * `backup.prune` only deletes what this returns, and the golden files in
 * test/fixtures/retention/ pin its behaviour.
 *
 * The decision is taken in three passes.
 * 1. The policy, for each repository on its own:
 *    - KEEP_FOREVER keeps everything.
 *    - BY_COUNT keeps the newest `keepLast` restore points. Every snapshot is a restore point
 *      (an incremental restores through its chain), so these are the newest `keepLast` snapshots.
 *    - BY_TIME keeps a snapshot while its age is at most the days given for its copy type
 *      (full / differential / incremental). A snapshot dated after `now` is kept.
 * 2. A rule no policy overrides: the newest snapshot of each repository is kept. For a repository
 *    deleted upstream it is the last copy there is, and the reason says so. For any other the
 *    rule only matters under BY_TIME when backups have failed for longer than the retention
 *    period, which is exactly when deleting the newest good copy would hurt most.
 * 3. Dependencies: a snapshot that a kept one depends on (through `parentId`, transitively) is
 *    kept, with "needed by <id>" naming each kept snapshot that depends on it directly. Parents
 *    are looked up across repositories, so even malformed input never loses a needed snapshot.
 *    A parent missing from the input is not this function's to fix; verification reports it.
 *
 * Output lists repositories in id order and snapshots newest first within each, so the result is
 * stable for golden files and readable in logs.
 */
import type { CopyType, Retention } from './policy.types.js';

export interface RetentionSnapshot {
  id: string;
  repositoryId: string;
  copyType: CopyType;
  createdAt: Date;
  /** The snapshot this one is incremental or differential against; null for a full. */
  parentId: string | null;
  repositoryDeletedUpstream: boolean;
  /** Pinned by a person or an anomaly: kept, with what it builds on, until unpinned. */
  isPinned?: boolean;
  /** Written under S3 Object Lock until then: kept (with what it builds on) until that date. */
  lockedUntil?: Date | null;
}

export interface RetentionDecision {
  id: string;
  reasons: string[];
}

export interface RetentionResult {
  keep: RetentionDecision[];
  forget: RetentionDecision[];
}

const DAY_MS = 86_400_000;

export const REASON_DELETED_UPSTREAM = 'last copy of a repository deleted upstream';
export const REASON_NEWEST = 'newest snapshot of the repository';
export const REASON_PINNED = 'pinned (kept until unpinned)';
export const lockedUntil = (date: Date) =>
  `under Object Lock until ${date.toISOString()} (retention tries again after that date)`;
export const neededBy = (id: string) => `needed by ${id}`;

/**
 * Decides, for every snapshot given, whether to keep or forget it. Snapshots must have unique ids
 * and should be complete ones (with a manifest); a failed run has no snapshot to retain.
 */
export function applyRetention(
  snapshots: readonly RetentionSnapshot[],
  retention: Retention,
  now: Date,
): RetentionResult {
  const byId = new Map<string, RetentionSnapshot>();
  for (const s of snapshots) {
    if (byId.has(s.id)) throw new Error(`retention: snapshot ${s.id} is listed twice`);
    byId.set(s.id, s);
  }

  const keepReasons = new Map<string, string[]>();
  const forgetReasons = new Map<string, string[]>();
  const keep = (id: string, reason: string) => {
    const reasons = keepReasons.get(id);
    if (reasons) reasons.push(reason);
    else keepReasons.set(id, [reason]);
  };

  const repositories = groupByRepository(snapshots);
  for (const newestFirst of repositories.values()) {
    newestFirst.forEach((snapshot, index) => {
      const verdict = policyVerdict(retention, snapshot, index, now);
      if (verdict.isKept) keep(snapshot.id, verdict.reason);
      else forgetReasons.set(snapshot.id, [verdict.reason]);
    });
    for (const s of newestFirst) if (s.isPinned) keep(s.id, REASON_PINNED);
    for (const s of newestFirst) if (s.lockedUntil && s.lockedUntil > now) keep(s.id, lockedUntil(s.lockedUntil));
    const newest = newestFirst[0];
    if (newestFirst.some((s) => s.repositoryDeletedUpstream)) keep(newest.id, REASON_DELETED_UPSTREAM);
    else if (!keepReasons.has(newest.id)) keep(newest.id, REASON_NEWEST);
  }

  // Pass 3: walk parent links from every kept snapshot; each edge is followed once.
  const dependents = new Map<string, Set<string>>();
  const pending = [...keepReasons.keys()];
  const reached = new Set(pending);
  while (pending.length > 0) {
    const child = byId.get(pending.pop()!)!;
    const parent = child.parentId === null ? undefined : byId.get(child.parentId);
    if (!parent) continue;
    dependents.set(parent.id, (dependents.get(parent.id) ?? new Set()).add(child.id));
    if (!reached.has(parent.id)) {
      reached.add(parent.id);
      pending.push(parent.id);
    }
  }
  for (const [parentId, children] of dependents) {
    for (const child of [...children].map((id) => byId.get(id)!).sort(newestFirstOrder))
      keep(parentId, neededBy(child.id));
  }

  const result: RetentionResult = { keep: [], forget: [] };
  for (const repositoryId of [...repositories.keys()].sort()) {
    for (const s of repositories.get(repositoryId)!) {
      const reasons = keepReasons.get(s.id);
      if (reasons) result.keep.push({ id: s.id, reasons: [...new Set(reasons)] });
      else result.forget.push({ id: s.id, reasons: forgetReasons.get(s.id)! });
    }
  }
  return result;
}

function policyVerdict(
  retention: Retention,
  snapshot: RetentionSnapshot,
  index: number,
  now: Date,
): { isKept: boolean; reason: string } {
  switch (retention.mode) {
    case 'KEEP_FOREVER':
      return { isKept: true, reason: 'the policy keeps every snapshot' };
    case 'BY_COUNT': {
      const n = retention.keepLast;
      return index < n
        ? { isKept: true, reason: n === 1 ? 'the last restore point' : `one of the last ${n} restore points` }
        : { isKept: false, reason: `older than the last ${n === 1 ? 'restore point' : `${n} restore points`}` };
    }
    case 'BY_TIME': {
      const days = daysFor(retention, snapshot.copyType);
      const kind = snapshot.copyType.toLowerCase();
      const ageMs = now.getTime() - snapshot.createdAt.getTime();
      return ageMs <= days * DAY_MS
        ? { isKept: true, reason: `within the ${days} days ${kind} copies are kept` }
        : { isKept: false, reason: `older than the ${days} days ${kind} copies are kept` };
    }
  }
}

function daysFor(retention: Extract<Retention, { mode: 'BY_TIME' }>, copyType: CopyType): number {
  switch (copyType) {
    case 'FULL':
      return retention.fullDays;
    case 'DIFFERENTIAL':
      return retention.differentialDays;
    case 'INCREMENTAL':
      return retention.incrementalDays;
  }
}

/** Newest first; equal times by id, so the order never depends on the input's. */
function newestFirstOrder(a: RetentionSnapshot, b: RetentionSnapshot): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function groupByRepository(snapshots: readonly RetentionSnapshot[]): Map<string, RetentionSnapshot[]> {
  const groups = new Map<string, RetentionSnapshot[]>();
  for (const s of snapshots) {
    const list = groups.get(s.repositoryId);
    if (list) list.push(s);
    else groups.set(s.repositoryId, [s]);
  }
  for (const list of groups.values()) list.sort(newestFirstOrder);
  return groups;
}
