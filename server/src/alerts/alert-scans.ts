/**
 * The rules found by scanning rows since a point in time: repository syncs that FAILED, and
 * storage errors (a replica copy that FAILED, a snapshot whose verification FAILED). Like
 * alert-rules.ts, each occurrence has a key that names it for good (`sync:<id>`,
 * `copy:<snapshot>:<storage>`, `verify:<snapshot>:<verified at>`), so repeated scans by any number
 * of processes raise it once.
 */
import type { DataSource } from 'typeorm';
import type { Occurrence } from './alert-rules.js';

const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Repository syncs that FAILED (finished at or after `since`), of one organization or all. */
export async function syncFailureOccurrences(
  db: DataSource,
  publicUrl: string,
  since: Date,
  organizationId: string | null,
): Promise<Occurrence[]> {
  const rows = await db.query<
    {
      id: string;
      organization_id: string;
      full_path: string;
      trigger: string;
      error_code: string | null;
      error_message: string | null;
      finished_at: Date;
      last_synced_at: Date | null;
    }[]
  >(
    `SELECT s.id, s.organization_id, o.full_path, s.trigger, s.error_code, s.error_message, s.finished_at, o.last_synced_at
       FROM sync_runs s JOIN organizations o ON o.id = s.organization_id
      WHERE s.status = 'FAILED' AND s.finished_at >= $1 AND ($2::uuid IS NULL OR s.organization_id = $2)
      ORDER BY s.finished_at, s.id LIMIT 1000`,
    [since, organizationId],
  );
  return rows.map((s) => ({
    key: `sync:${s.id}`,
    kind: 'SYNC_FAILED' as const,
    organizationId: s.organization_id,
    title: `Repository sync of ${s.full_path} FAILED`,
    message: [
      `The ${s.trigger.toLowerCase()} sync of organization ${s.full_path} FAILED at ${when(s.finished_at)}: ` +
        `${s.error_message ?? s.error_code ?? 'no reason recorded'}`,
      s.last_synced_at
        ? `The list of repositories was last refreshed ${when(s.last_synced_at)}; it is kept as it was, so new repositories are not backed up yet.`
        : 'The organization has never been synced: no repository is known yet.',
      '',
      "What to do: check the connection (token, scopes, the instance's reachability), then press Sync on the organization.",
    ].join('\n'),
    link: `${publicUrl}/organizations/${s.organization_id}`,
    details: {
      syncRunId: s.id,
      organization: s.full_path,
      errorCode: s.error_code,
      reason: s.error_message,
      lastSyncedAt: s.last_synced_at?.toISOString() ?? null,
    },
    occurredAt: s.finished_at,
  }));
}

/**
 * Storage errors since `since`: replica copies that FAILED (created since), and snapshots whose
 * verification FAILED (verified since), of one organization or all.
 */
export async function storageErrorOccurrences(
  db: DataSource,
  publicUrl: string,
  since: Date,
  organizationId: string | null,
): Promise<Occurrence[]> {
  const copies = await db.query<
    {
      snapshot_id: string;
      storage_id: string;
      storage: string | null;
      error: string | null;
      created_at: Date;
      organization_id: string;
      full_path: string;
      repository_id: string | null;
      repository: string | null;
    }[]
  >(
    `SELECT c.snapshot_id, c.storage_id, st.name AS storage, c.error, c.created_at, s.organization_id, o.full_path,
            s.repository_id, r.path_with_namespace AS repository
       FROM snapshot_copies c JOIN snapshots s ON s.id = c.snapshot_id JOIN organizations o ON o.id = s.organization_id
       LEFT JOIN storages st ON st.id = c.storage_id LEFT JOIN repositories r ON r.id = s.repository_id
      WHERE c.status = 'FAILED' AND c.created_at >= $1 AND ($2::uuid IS NULL OR s.organization_id = $2)
      ORDER BY c.created_at, c.snapshot_id LIMIT 1000`,
    [since, organizationId],
  );
  const verified = await db.query<
    {
      id: string;
      organization_id: string;
      full_path: string;
      repository_id: string | null;
      repository: string | null;
      verified_at: Date;
    }[]
  >(
    `SELECT s.id, s.organization_id, o.full_path, s.repository_id, r.path_with_namespace AS repository, s.verified_at
       FROM snapshots s JOIN organizations o ON o.id = s.organization_id LEFT JOIN repositories r ON r.id = s.repository_id
      WHERE s.verification_status = 'FAILED' AND s.verified_at >= $1 AND ($2::uuid IS NULL OR s.organization_id = $2)
      ORDER BY s.verified_at, s.id LIMIT 1000`,
    [since, organizationId],
  );
  const of = (repository: string | null, fullPath: string) => repository ?? `a group snapshot of ${fullPath}`;
  return [
    ...copies.map((c) => ({
      key: `copy:${c.snapshot_id}:${c.storage_id}`,
      kind: 'STORAGE_ERROR' as const,
      organizationId: c.organization_id,
      title: `Storage error: the copy of a snapshot of ${of(c.repository, c.full_path)} to ${c.storage ?? 'a replica storage'} FAILED`,
      message: [
        `The replica copy of snapshot ${c.snapshot_id} (${of(c.repository, c.full_path)}, organization ${c.full_path}) ` +
          `to storage ${c.storage ?? c.storage_id} FAILED (queued ${when(c.created_at)}): ${c.error ?? 'no reason recorded'}`,
        '',
        'What to do: test the storage (its credentials, bucket and reachability); the primary copy is intact, ' +
          "and the next backup's snapshots are copied again once the storage answers.",
      ].join('\n'),
      link: c.repository_id
        ? `${publicUrl}/repositories/${c.repository_id}/snapshots`
        : `${publicUrl}/organizations/${c.organization_id}`,
      details: {
        problem: 'REPLICA_COPY_FAILED',
        snapshotId: c.snapshot_id,
        storageId: c.storage_id,
        storage: c.storage,
        organization: c.full_path,
        repository: c.repository,
        reason: c.error,
      },
      occurredAt: c.created_at,
    })),
    ...verified.map((s) => ({
      key: `verify:${s.id}:${s.verified_at.toISOString()}`,
      kind: 'STORAGE_ERROR' as const,
      organizationId: s.organization_id,
      title: `Storage error: snapshot of ${of(s.repository, s.full_path)} failed verification`,
      message: [
        `Snapshot ${s.id} (${of(s.repository, s.full_path)}, organization ${s.full_path}) failed verification at ` +
          `${when(s.verified_at)}: what storage holds no longer matches its manifest (a missing or changed artifact).`,
        '',
        'What to do: open the snapshot and read the verification report; check the storage for damage, ' +
          'and run a FULL backup of the repository so a sound restore point exists.',
      ].join('\n'),
      link: s.repository_id
        ? `${publicUrl}/repositories/${s.repository_id}/snapshots`
        : `${publicUrl}/organizations/${s.organization_id}`,
      details: {
        problem: 'VERIFICATION_FAILED',
        snapshotId: s.id,
        organization: s.full_path,
        repository: s.repository,
      },
      occurredAt: s.verified_at,
    })),
  ];
}
