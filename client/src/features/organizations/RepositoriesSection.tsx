/**
 * An organization's repositories, a page at a time (the `repositories(first, after, search)`
 * connection): protection (one switch per row, or bulk on the selected rows), the last backup
 * (status of the latest run's item, time and size of the newest snapshot, and whether it holds a wiki
 * or LFS objects) and GitLab's size.
 */
import { useEffect, useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { useRefetchAfter } from '../../api/refetch';
import { Link } from '../../app/router';
import {
  LatestBackupRunDocument,
  OrganizationDetailDocument,
  SetRepositoriesProtectedDocument,
  type LatestBackupRunQuery,
  type OrganizationDetailQuery,
} from '../../graphql/generated/graphql';
import { formatBytes, formatDateTime, formatRelative } from '../../ui/format';
import { Empty, ErrorNotice, Loading } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { Reason } from '../../ui/Reason';

const PAGE_SIZE = 25;
type RepositoryRow = OrganizationDetailQuery['organization']['repositories']['nodes'][number];
type RunItem = NonNullable<LatestBackupRunQuery['backupRuns']['nodes'][number]>['items'][number];

export function RepositoriesSection({
  organizationId,
  refreshKey,
  onProtectionChanged,
}: {
  organizationId: string;
  refreshKey: number;
  onProtectionChanged: () => void;
}) {
  const [searchText, setSearchText] = useState('');
  const [search, setSearch] = useState('');
  // Cursors of the pages before the current one; the last entry is the current page's `after`.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const after = cursors[cursors.length - 1] ?? null;
  const [result, refetch] = useQuery({
    query: OrganizationDetailDocument,
    variables: { id: organizationId, first: PAGE_SIZE, after, search: search || null },
  });
  const [latest, refetchLatest] = useQuery({ query: LatestBackupRunDocument, variables: { organizationId } });
  const [protecting, setProtected] = useMutation(SetRepositoriesProtectedDocument);
  const searchId = useId();

  const rereadList = useRefetchAfter(result.fetching, refetch);
  const rereadLatest = useRefetchAfter(latest.fetching, refetchLatest);
  useEffect(() => {
    if (refreshKey === 0) return;
    rereadList();
    rereadLatest();
  }, [refreshKey, rereadList, rereadLatest]);

  const page = result.data?.organization.repositories;
  const rows = page?.nodes ?? [];
  const itemsByRepository = new Map<string, RunItem>();
  for (const item of latest.data?.backupRuns.nodes[0]?.items ?? [])
    if (item.repositoryId) itemsByRepository.set(item.repositoryId, item);
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));

  const protect = async (repositoryIds: string[], isProtected: boolean) => {
    const done = await setProtected({ input: { organizationId, repositoryIds, isProtected } });
    if (!done.error) {
      setSelected(new Set());
      refetch({ requestPolicy: 'network-only' });
      onProtectionChanged();
    }
  };

  return (
    <section aria-labelledby="repositories-title">
      <h2 id="repositories-title">Repositories {page ? <span className="muted">({page.totalCount})</span> : null}</h2>
      <form
        role="search"
        className="row search-row"
        onSubmit={(event) => {
          event.preventDefault();
          setSearch(searchText.trim());
          setCursors([null]);
          setSelected(new Set());
        }}
      >
        <label htmlFor={searchId} className="visually-hidden">
          Search repositories
        </label>
        <input
          id={searchId}
          type="search"
          placeholder="Search by name or path"
          value={searchText}
          onChange={(e) => setSearchText(e.target.value)}
        />
        <button type="submit">Search</button>
        {search ? (
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setSearchText('');
              setSearch('');
              setCursors([null]);
            }}
          >
            Clear search
          </button>
        ) : null}
      </form>

      <div className="row bulk-bar" aria-live="polite">
        <span className="muted">{selected.size} selected</span>
        <button
          type="button"
          disabled={selected.size === 0 || protecting.fetching}
          onClick={() => void protect([...selected], true)}
        >
          Protect selected
        </button>
        <button
          type="button"
          disabled={selected.size === 0 || protecting.fetching}
          onClick={() => void protect([...selected], false)}
        >
          Stop protecting selected
        </button>
      </div>
      <ErrorNotice error={protecting.error ?? result.error} />

      {result.fetching && !result.data ? <Loading label="Loading repositories…" /> : null}
      {result.data && result.fetching && search ? <Loading label={`Searching for “${search}”…`} /> : null}
      {page && rows.length === 0 ? (
        <Empty title={search ? `No repository matches “${search}”.` : 'No repository discovered yet.'}>
          {search ? null : 'Sync now asks GitLab for the organization’s projects.'}
        </Empty>
      ) : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Repositories">
            <thead>
              <tr>
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label="Select every repository on this page"
                    checked={allSelected}
                    onChange={(e) => setSelected(e.target.checked ? new Set(rows.map((r) => r.id)) : new Set())}
                  />
                </th>
                <th scope="col">Repository</th>
                <th scope="col">Protection</th>
                <th scope="col">Last backup</th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col">Snapshots</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((repo) => (
                <RepositoryTableRow
                  key={repo.id}
                  repo={repo}
                  item={itemsByRepository.get(repo.id)}
                  isSelected={selected.has(repo.id)}
                  onSelect={(on) =>
                    setSelected((prev) => {
                      const next = new Set(prev);
                      if (on) next.add(repo.id);
                      else next.delete(repo.id);
                      return next;
                    })
                  }
                  busy={protecting.fetching}
                  onToggle={() => void protect([repo.id], !repo.isProtected)}
                />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {page && (cursors.length > 1 || page.pageInfo.hasNextPage) ? (
        <nav className="row pager" aria-label="Repository pages">
          <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </button>
          <span className="muted">Page {cursors.length}</span>
          <button
            type="button"
            disabled={!page.pageInfo.hasNextPage}
            onClick={() => setCursors((c) => [...c, page.pageInfo.endCursor ?? null])}
          >
            Next page
          </button>
        </nav>
      ) : null}
    </section>
  );
}

function RepositoryTableRow({
  repo,
  item,
  isSelected,
  onSelect,
  busy,
  onToggle,
}: {
  repo: RepositoryRow;
  item: RunItem | undefined;
  isSelected: boolean;
  onSelect: (on: boolean) => void;
  busy: boolean;
  onToggle: () => void;
}) {
  const latest = repo.latestSnapshot;
  return (
    <tr data-testid="repository-row">
      <td>
        <input
          type="checkbox"
          aria-label={`Select ${repo.pathWithNamespace}`}
          checked={isSelected}
          onChange={(e) => onSelect(e.target.checked)}
        />
      </td>
      <td>
        <a href={repo.webUrl} target="_blank" rel="noreferrer">
          {repo.pathWithNamespace}
        </a>
        <div className="muted small">
          {repo.visibility}
          {repo.isArchived ? ' · archived' : ''}
          {repo.isEmpty ? ' · empty' : ''}
          {latest?.holdsWiki ? ' · wiki' : ''}
          {latest?.holdsLfsObjects ? ' · LFS' : ''}
          {repo.lastActivityAt ? ` · active ${formatRelative(repo.lastActivityAt)}` : ''}
        </div>
        {repo.deletedUpstreamAt ? (
          <span className="badge badge-warn">Deleted upstream {formatRelative(repo.deletedUpstreamAt)}</span>
        ) : null}
      </td>
      <td>
        <button
          type="button"
          role="switch"
          aria-checked={repo.isProtected}
          aria-label={`Protect ${repo.pathWithNamespace}`}
          className={`switch${repo.isProtected ? ' switch-on' : ''}`}
          disabled={busy}
          onClick={onToggle}
        >
          <span aria-hidden="true" className="switch-knob" />
          {repo.isProtected ? 'Protected' : 'Not protected'}
        </button>
      </td>
      <td>
        {item ? <StatusBadge status={item.status} /> : null}{' '}
        {latest ? (
          <span title={formatDateTime(latest.createdAt)}>
            {formatRelative(latest.createdAt)} <span className="muted small">({latest.copyType.toLowerCase()})</span>
          </span>
        ) : item ? null : (
          <span className="muted">never</span>
        )}
        {item?.errorMessage ? (
          <div className="field-error small">
            <Reason message={item.errorMessage} />
          </div>
        ) : null}
      </td>
      <td className="num">
        <div title="Repository size reported by GitLab">{formatBytes(repo.repositorySize)}</div>
        {latest ? (
          <div className="muted small" title="Size of the newest snapshot">
            snapshot {formatBytes(latest.sizeBytes)}
          </div>
        ) : null}
      </td>
      <td>
        <Link to={`/repositories/${repo.id}/snapshots`} aria-label={`Snapshots of ${repo.pathWithNamespace}`}>
          Snapshots
        </Link>
      </td>
    </tr>
  );
}
