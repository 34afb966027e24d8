/**
 * Where a snapshot is kept: its primary copy, then each replica, with the copy's state and when it
 * was last verified. Storage names come from one shared query (urql caches it across cards).
 */
import { useQuery } from 'urql';
import { StorageNamesDocument } from '../../graphql/generated/graphql';
import { formatDateTime, humanize } from '../../ui/format';
import { StatusBadge } from '../../ui/StatusBadge';

interface Copy {
  storageId?: string | null;
  isPrimary: boolean;
  status: string;
  verificationStatus: string;
  verifiedAt?: string | null;
  error?: string | null;
  lockedUntil?: string | null;
}

export function SnapshotCopies({ copies, label }: { copies: Copy[]; label: string }) {
  const [names] = useQuery({ query: StorageNamesDocument });
  const nameOf = (id: string | null | undefined) =>
    id ? (names.data?.storages.find((s) => s.id === id)?.name ?? `storage ${id.slice(0, 8)}`) : 'Local directory';
  // Shown once the names are known: a copy is never named by a bare id while they load.
  if (copies.length === 0 || (names.fetching && !names.data)) return null;
  return (
    <ul className="snapshot-copies" aria-label={label}>
      {copies.map((copy) => (
        <li key={`${copy.storageId ?? 'local'}-${copy.isPrimary}`} className="row">
          <strong>{nameOf(copy.storageId)}</strong>
          <span className="muted">{copy.isPrimary ? 'primary' : 'replica'}</span>
          <StatusBadge status={copy.status} />
          <span>
            {copy.verifiedAt
              ? `${humanize(copy.verificationStatus)} ${formatDateTime(copy.verifiedAt)}`
              : 'Not verified yet'}
          </span>
          {copy.lockedUntil && new Date(copy.lockedUntil).getTime() > Date.now() ? (
            <span>Locked until {formatDateTime(copy.lockedUntil)}</span>
          ) : null}
          {copy.error ? <span className="field-error">{copy.error}</span> : null}
        </li>
      ))}
    </ul>
  );
}
