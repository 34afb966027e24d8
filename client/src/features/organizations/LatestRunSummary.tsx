/** The latest backup run of an organization, as a status with its time and a link to the run. */
import { useQuery } from 'urql';
import { Link } from '../../app/router';
import { LatestBackupRunDocument } from '../../graphql/generated/graphql';
import { formatDateTime, formatRelative } from '../../ui/format';
import { StatusBadge } from '../../ui/StatusBadge';

export function LatestRunSummary({ organizationId }: { organizationId: string }) {
  const [result] = useQuery({ query: LatestBackupRunDocument, variables: { organizationId } });
  const run = result.data?.backupRuns.nodes[0];
  if (result.fetching && !result.data) return <span className="muted">…</span>;
  if (result.error) return <span className="field-error">Unavailable</span>;
  if (!run) return <span className="muted">never</span>;
  const when = run.finishedAt ?? run.startedAt ?? run.createdAt;
  return (
    <Link
      to={`/runs/${run.id}`}
      title={formatDateTime(when)}
      aria-label={`Last backup: ${run.status.toLowerCase()}, ${formatRelative(when)}`}
    >
      <StatusBadge status={run.status} /> {formatRelative(when)}
    </Link>
  );
}
