/**
 * What changed in a snapshot's metadata, per type: records added, removed and changed, each
 * record named by its GitLab id (or, for types without one, its key: a CI/CD variable's `key`,
 * a protected branch's `name`), a changed record with the names of its top-level fields that
 * differ. Field values never leave: only names and ids (CI/CD variable values are secrets).
 *
 * Only types captured OK on both sides are compared; a type FAILED or SKIPPED on either side is
 * listed as not compared, so a failed listing is never mistaken for records deleted upstream.
 * The `from` side is reduced to one short hash per field of each record, then the `to` side is
 * streamed against it, so a type is never held in memory as parsed records twice.
 *
 * Volatile fields (VOLATILE_FIELDS) are left out of the comparison: GitLab changes them on every
 * push or page view, so they would mark the record changed in every diff and hide real changes.
 */
import { createHash } from 'node:crypto';
import type { Manifest, ManifestArtifact } from '../snapshot/manifest.js';
import type { SnapshotEntity } from '../snapshot/snapshot.entity.js';
import type { ArtifactKeyFor } from '../snapshot/snapshot.ports.js';
import type { SnapshotReader } from '../snapshot/snapshot-reader.js';

/** Per list, at most this many record keys are returned (the counts are always complete). */
export const MAX_LISTED_RECORDS = 200;

/**
 * Per metadata type, the top-level fields a diff ignores because GitLab moves them by itself:
 * project_settings is `GET /projects/:id`, whose activity time, update time, statistics (sizes,
 * commit count) and counters change with every push, issue or star. A real settings change still
 * shows in the field that was changed; a record that differs only in these is not changed.
 */
export const VOLATILE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  project_settings: ['last_activity_at', 'updated_at', 'statistics', 'open_issues_count', 'forks_count', 'star_count'],
};

export interface RecordChange {
  /** The record's GitLab id (or key, see the module comment), as text. */
  key: string;
  /** A human name for it where the record has one (title, name, key, username). */
  label: string | null;
  /** Changed records only: the top-level fields whose values differ. */
  fields: string[];
}

export interface MetadataTypeDiff {
  type: string;
  /** False when the type was not captured OK on both sides; `reason` says which side and why. */
  isCompared: boolean;
  reason: string | null;
  recordsBefore: number;
  recordsAfter: number;
  addedCount: number;
  removedCount: number;
  changedCount: number;
  added: RecordChange[];
  removed: RecordChange[];
  changed: RecordChange[];
}

export interface MetadataSide {
  snapshot: SnapshotEntity;
  manifest: Manifest;
}

export interface MetadataDiffDeps {
  reader: Pick<SnapshotReader, 'records'>;
  keyFor: ArtifactKeyFor;
}

/** The key a record is matched by across snapshots. */
export function recordKey(type: string, record: Record<string, unknown>): string {
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));
  if (type === 'ci_variables') return `${text(record.key)}@${text(record.environment_scope ?? '*')}`;
  if ((type === 'protected_branches' || type === 'protected_tags') && typeof record.name === 'string')
    return record.name;
  const id = record.id ?? record.key ?? record.name ?? record.iid;
  return id === undefined || id === null ? hash(record) : text(id);
}

function recordLabel(record: Record<string, unknown>): string | null {
  for (const field of ['title', 'name', 'key', 'username', 'tag_name']) {
    const value = record[field];
    if (typeof value === 'string' && value.length > 0) return value.slice(0, 200);
  }
  return null;
}

const hash = (value: unknown) => createHash('sha1').update(JSON.stringify(value)).digest('base64').slice(0, 16);

export async function metadataDiff(deps: MetadataDiffDeps, from: MetadataSide, to: MetadataSide) {
  const types = [...new Set([...Object.keys(from.manifest.metadata), ...Object.keys(to.manifest.metadata)])].sort();
  const out: MetadataTypeDiff[] = [];
  for (const type of types) out.push(await typeDiff(deps, type, from, to));
  return out;
}

async function typeDiff(
  deps: MetadataDiffDeps,
  type: string,
  from: MetadataSide,
  to: MetadataSide,
): Promise<MetadataTypeDiff> {
  const before = from.manifest.metadata[type];
  const after = to.manifest.metadata[type];
  const base = {
    type,
    recordsBefore: before?.records ?? 0,
    recordsAfter: after?.records ?? 0,
    addedCount: 0,
    removedCount: 0,
    changedCount: 0,
    added: [],
    removed: [],
    changed: [],
  };
  const notCompared = (reason: string): MetadataTypeDiff => ({ ...base, isCompared: false, reason });
  if (before?.status !== 'OK')
    return notCompared(
      before ? `not captured in the earlier snapshot (${before.status})` : 'not in the earlier snapshot',
    );
  if (after?.status !== 'OK')
    return notCompared(after ? `not captured in the later snapshot (${after.status})` : 'not in the later snapshot');
  const volatile = new Set(VOLATILE_FIELDS[type] ?? []);
  const old = new Map<string, { label: string | null; fields: Map<string, string> }>();
  for await (const record of records(deps, from, type))
    old.set(recordKey(type, record), {
      label: recordLabel(record),
      fields: new Map(
        Object.entries(record)
          .filter(([k]) => !volatile.has(k))
          .map(([k, v]) => [k, hash(v)]),
      ),
    });
  const diff: MetadataTypeDiff = { ...base, isCompared: true, reason: null };
  const list = (into: RecordChange[], change: RecordChange) => {
    if (into.length < MAX_LISTED_RECORDS) into.push(change);
  };
  for await (const record of records(deps, to, type)) {
    const key = recordKey(type, record);
    const previous = old.get(key);
    old.delete(key);
    if (!previous) {
      diff.addedCount++;
      list(diff.added, { key, label: recordLabel(record), fields: [] });
      continue;
    }
    const fields = new Set([...previous.fields.keys(), ...Object.keys(record).filter((f) => !volatile.has(f))]);
    const differing = [...fields].filter((f) => previous.fields.get(f) !== (f in record ? hash(record[f]) : undefined));
    if (differing.length > 0) {
      diff.changedCount++;
      list(diff.changed, { key, label: recordLabel(record), fields: differing.sort() });
    }
  }
  for (const [key, { label }] of old) {
    diff.removedCount++;
    list(diff.removed, { key, label, fields: [] });
  }
  return diff;
}

async function* records(deps: MetadataDiffDeps, side: MetadataSide, type: string) {
  const artifact: ManifestArtifact | undefined = side.manifest.artifacts.find(
    (a) => a.kind === 'METADATA' && a.metadataType === type,
  );
  if (!artifact) return; // an OK type with no records has no artifact
  const key = artifact.encrypted ? await deps.keyFor(side.snapshot, side.manifest, artifact) : null;
  yield* deps.reader.records(side.snapshot, artifact, key);
}
