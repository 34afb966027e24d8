/**
 * The dashboard's "Needs attention": each current problem the server lists (a run that did not
 * succeed, a stale repository, a connection's token, a failed drill, storage, an anomaly) in plain
 * words, with what to do and a link to where it can be fixed. The reason, which may quote GitLab
 * or storage, is one click away.
 */
import { Link } from '../../app/router';
import type { DashboardQuery } from '../../graphql/generated/graphql';
import { formatDateTime, formatRelative } from '../../ui/format';

export type AttentionItem = DashboardQuery['needsAttention'][number];

const LABELS: Record<AttentionItem['kind'], string> = {
  RUN_FAILED: 'Backup failed',
  RUN_PARTIAL: 'Backup partly failed',
  REPOSITORY_STALE: 'No recent backup',
  CONNECTION_EXPIRED: 'Token expired',
  CONNECTION_EXPIRING: 'Token expiring',
  CONNECTION_ERROR: 'Connection problem',
  DRILL_FAILED: 'Restore drill failed',
  STORAGE_ERROR: 'Storage problem',
  ANOMALY: 'Unusual change',
};

const SEVERE = new Set<AttentionItem['kind']>(['RUN_FAILED', 'CONNECTION_EXPIRED', 'CONNECTION_ERROR', 'DRILL_FAILED']);

/** Where the problem can be fixed, and how the link says so. */
function destination(item: AttentionItem): { to: string; label: string } | null {
  if (item.runId) return { to: `/runs/${item.runId}`, label: 'Open the run' };
  if (item.connectionId) return { to: '/connections', label: 'Open Connections' };
  if (item.repositoryId) return { to: `/repositories/${item.repositoryId}/snapshots`, label: 'Open its snapshots' };
  if (item.organizationId) return { to: `/organizations/${item.organizationId}`, label: 'Open the organization' };
  return null;
}

export function NeedsAttention({ items }: { items: AttentionItem[] }) {
  if (items.length === 0) return null;
  return (
    <section aria-labelledby="needs-attention-title" className="card card-attention">
      <h2 id="needs-attention-title">Needs attention</h2>
      <ul className="plain-list attention-list">
        {items.map((item, index) => {
          const to = destination(item);
          return (
            <li
              key={`${item.kind}-${item.runId ?? item.repositoryId ?? item.connectionId ?? item.snapshotId ?? index}`}
            >
              <div className="row">
                <span className={`badge badge-${SEVERE.has(item.kind) ? 'bad' : 'warn'}`}>{LABELS[item.kind]}</span>
                <time className="muted" dateTime={item.at} title={formatDateTime(item.at)}>
                  {formatRelative(item.at)}
                </time>
              </div>
              <p className="attention-title">{item.title}</p>
              {item.detail ? (
                <details>
                  <summary>Why</summary>
                  <p className="muted">{item.detail}</p>
                </details>
              ) : null}
              <p>
                <strong>What to do:</strong> {item.action}
              </p>
              {to ? <Link to={to.to}>{to.label}</Link> : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
