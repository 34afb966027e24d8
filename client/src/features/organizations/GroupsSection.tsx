/** An organization's GitLab groups and subgroups, and whether their metadata is backed up. */
import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { OrganizationGroupsDocument } from '../../graphql/generated/graphql';
import { formatRelative } from '../../ui/format';
import { Empty, ErrorNotice, Loading } from '../../ui/States';

const PAGE_SIZE = 50;

export function GroupsSection({
  organizationId,
  includeGroups,
  refreshKey,
}: {
  organizationId: string;
  includeGroups: boolean;
  refreshKey: number;
}) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [result, refetch] = useQuery({
    query: OrganizationGroupsDocument,
    variables: { id: organizationId, first: PAGE_SIZE, after },
  });
  useEffect(() => {
    if (refreshKey > 0) refetch({ requestPolicy: 'network-only' });
  }, [refreshKey, refetch]);
  const groups = result.data?.organization.groups;
  return (
    <section aria-labelledby="groups-title">
      <h2 id="groups-title">Groups {groups ? <span className="muted">({groups.totalCount})</span> : null}</h2>
      <p className="muted">
        {includeGroups
          ? 'Groups are included in the backup: their labels, milestones, members and subgroups are kept with each run.'
          : 'Groups are not included in the backup (set “include groups” for this organization to keep their metadata).'}
      </p>
      {result.fetching && !result.data ? <Loading label="Loading groups…" /> : null}
      <ErrorNotice error={result.error} />
      {groups && groups.nodes.length === 0 ? <Empty title="No group discovered yet." /> : null}
      {groups && groups.nodes.length > 0 ? (
        <ul className="plain-list" aria-label="Groups">
          {groups.nodes.map((group) => (
            <li key={group.id} className="row">
              <a href={group.webUrl} target="_blank" rel="noreferrer">
                {group.fullPath}
              </a>
              <span className="muted small">{group.visibility}</span>
              {group.deletedUpstreamAt ? (
                <span className="badge badge-warn">Deleted upstream {formatRelative(group.deletedUpstreamAt)}</span>
              ) : null}
              <span className="spacer" />
              <span className={`badge ${includeGroups ? 'badge-ok' : 'badge-idle'}`}>
                {includeGroups ? 'Included' : 'Not included'}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {groups && (cursors.length > 1 || groups.pageInfo.hasNextPage) ? (
        <nav className="row pager" aria-label="Group pages">
          <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous groups
          </button>
          <span className="muted">Page {cursors.length}</span>
          <button
            type="button"
            disabled={!groups.pageInfo.hasNextPage}
            onClick={() => setCursors((c) => [...c, groups.pageInfo.endCursor ?? null])}
          >
            Next groups
          </button>
        </nav>
      ) : null}
    </section>
  );
}
