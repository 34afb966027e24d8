/**
 * A repository's snapshots as a timeline, newest first (paginated: "Show older snapshots"): time,
 * type and what it builds on, size, refs, metadata counts, encryption, verification with
 * "Verify", "Delete" (the API refuses while another snapshot depends on one and says why) and
 * "Restore…", which opens the restore dialog.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { problemOf } from '../../api/errors';
import { Link } from '../../app/router';
import {
  DeleteTimelineSnapshotDocument,
  SnapshotTimelineBackupProgressDocument,
  SnapshotTimelineDocument,
  SnapshotTimelineRepositoryDocument,
  VerifyTimelineSnapshotDocument,
  type SnapshotTimelineEntryFragment,
} from '../../graphql/generated/graphql';
import { SnapshotCopies } from '../storages/SnapshotCopies';
import { formatBytes, formatDateTime, formatRelative, humanize, metadataTypeName } from '../../ui/format';
import { Empty, ErrorNotice, Loading, Notice } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { RestoreDialog, type RestorableSnapshot } from '../restore/RestoreDialog';
import { OrganizationLink } from '../organizations/OrganizationLink';
import { CompareSnapshots } from './CompareSnapshots';

const PAGE_SIZE = 20;

/** Snapshots loaded so far, by id, so an entry can name the one it builds on. */
const KnownSnapshots = createContext<{
  byId: Map<string, SnapshotTimelineEntryFragment>;
  register: (nodes: SnapshotTimelineEntryFragment[]) => void;
}>({
  byId: new Map(),
  register: () => undefined,
});

export function SnapshotsPage({ repositoryId }: { repositoryId: string }) {
  const [repo] = useQuery({ query: SnapshotTimelineRepositoryDocument, variables: { id: repositoryId } });
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [restoring, setRestoring] = useState<RestorableSnapshot | null>(null);
  const [known, setKnown] = useState(() => new Map<string, SnapshotTimelineEntryFragment>());
  const register = useCallback((nodes: SnapshotTimelineEntryFragment[]) => {
    setKnown((previous) => {
      if (nodes.every((n) => previous.get(n.id) === n)) return previous;
      const next = new Map(previous);
      for (const n of nodes) next.set(n.id, n);
      return next;
    });
  }, []);
  const knownValue = useMemo(() => ({ byId: known, register }), [known, register]);
  const repository = repo.data?.repository;
  const [backups, setBackups] = useState<Record<string, { done: number; total: number }>>({});
  const [reloadKey, setReloadKey] = useState(0);
  const finishedRuns = useRef(new Set<string>());

  // A backup of the organization makes new snapshots: show that it runs, re-read the timeline when it ends.
  useSubscription(
    {
      query: SnapshotTimelineBackupProgressDocument,
      variables: { organizationId: repository?.organizationId ?? '' },
      pause: !repository,
    },
    (_prev, data) => {
      const event = data.backupProgress;
      // Events can arrive out of order (a throttled progress event after the terminal one): a run
      // that ended stays ended.
      if (event.isTerminal) finishedRuns.current.add(event.runId);
      setBackups((current) => {
        const next = { ...current };
        if (finishedRuns.current.has(event.runId)) delete next[event.runId];
        else next[event.runId] = { done: event.itemsDone, total: event.itemsTotal };
        return next;
      });
      if (event.isTerminal) setReloadKey((k) => k + 1);
      return data;
    },
  );
  const running = Object.entries(backups);

  if (repo.fetching && !repo.data) return <Loading label="Loading the repository…" />;
  if (!repository) {
    return (
      <section>
        <h1>Snapshots</h1>
        <ErrorNotice error={repo.error} message={repo.error ? null : 'There is no such repository.'} />
      </section>
    );
  }

  return (
    <section aria-labelledby="snapshots-title">
      <p className="breadcrumbs">
        <OrganizationLink organizationId={repository.organizationId} /> / {repository.pathWithNamespace}
      </p>
      <div className="page-header">
        <h1 id="snapshots-title">Snapshots of {repository.name}</h1>
        <a href={repository.webUrl} className="muted">
          {repository.pathWithNamespace} on GitLab
        </a>
      </div>
      {repository.deletedUpstreamAt ? (
        <Notice kind="warning">
          This repository was deleted upstream {formatRelative(repository.deletedUpstreamAt)}; its snapshots are kept.
        </Notice>
      ) : null}
      {running.length > 0 ? (
        <div className="notice notice-info" role="status">
          <span className="spinner" aria-hidden="true" /> A backup of this organization is running
          {running[0][1].total > 0 ? ` (${running[0][1].done} of ${running[0][1].total} repositories done)` : ''}. New
          snapshots appear here when it ends. <Link to={`/runs/${running[0][0]}`}>Watch the run</Link>
        </div>
      ) : null}
      <CompareSnapshots snapshots={known} />
      <KnownSnapshots.Provider value={knownValue}>
        <ol className="timeline snapshot-timeline" aria-label="Snapshots, newest first">
          {cursors.map((after, i) => (
            <SnapshotPage
              key={after ?? 'first'}
              repositoryId={repositoryId}
              after={after}
              isLast={i === cursors.length - 1}
              onMore={(cursor) => setCursors((c) => [...c, cursor])}
              onRestore={setRestoring}
              reloadKey={reloadKey}
            />
          ))}
        </ol>
      </KnownSnapshots.Provider>
      <RestoreDialog snapshot={restoring} repository={repository} onClose={() => setRestoring(null)} />
    </section>
  );
}

function SnapshotPage({
  repositoryId,
  after,
  isLast,
  onMore,
  onRestore,
  reloadKey,
}: {
  repositoryId: string;
  after: string | null;
  isLast: boolean;
  onMore: (cursor: string) => void;
  onRestore: (snapshot: RestorableSnapshot) => void;
  reloadKey: number;
}) {
  const [result, refetch] = useQuery({
    query: SnapshotTimelineDocument,
    variables: { repositoryId, first: PAGE_SIZE, after },
  });
  const { register } = useContext(KnownSnapshots);
  const page = result.data?.snapshots;
  useEffect(() => {
    if (page) register(page.nodes);
  }, [page, register]);
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  useEffect(() => {
    if (reloadKey > 0) reload();
  }, [reloadKey, reload]);

  if (result.fetching && !page) {
    return (
      <li className="timeline-state">
        <Loading label={after ? 'Loading older snapshots…' : 'Loading snapshots…'} />
      </li>
    );
  }
  if (!page) {
    return (
      <li className="timeline-state">
        <ErrorNotice error={result.error} />
      </li>
    );
  }
  if (!after && page.nodes.length === 0) {
    return (
      <li className="timeline-state">
        <Empty title="No snapshot of this repository yet.">
          Snapshots appear here after a backup run of its organization (Run now, or the policy's schedule).
        </Empty>
      </li>
    );
  }
  return (
    <>
      {page.nodes.map((snapshot) => (
        <SnapshotEntry key={snapshot.id} snapshot={snapshot} onChanged={reload} onRestore={onRestore} />
      ))}
      {isLast && page.pageInfo.hasNextPage && page.pageInfo.endCursor ? (
        <li className="timeline-state">
          <button type="button" onClick={() => onMore(page.pageInfo.endCursor!)}>
            Show older snapshots
          </button>{' '}
          <span className="muted">{page.totalCount} in all</span>
        </li>
      ) : null}
    </>
  );
}

const TYPE_EXPLAINED: Record<string, string> = {
  FULL: 'stands alone',
  INCREMENTAL: 'builds on the previous snapshot',
  DIFFERENTIAL: 'builds on the last full snapshot',
};

function SnapshotEntry({
  snapshot,
  onChanged,
  onRestore,
}: {
  snapshot: SnapshotTimelineEntryFragment;
  onChanged: () => void;
  onRestore: (snapshot: RestorableSnapshot) => void;
}) {
  const { byId } = useContext(KnownSnapshots);
  const [verifying, verify] = useMutation(VerifyTimelineSnapshotDocument);
  const [deleting, remove] = useMutation(DeleteTimelineSnapshotDocument);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [verifyProblems, setVerifyProblems] = useState<string[] | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const summary = snapshot.contents;
  const counts = useMemo(
    () => snapshot.metadataRecords.map(({ type, records }): [string, number] => [type, records]),
    [snapshot.metadataRecords],
  );
  const parent = snapshot.parentId ? byId.get(snapshot.parentId) : undefined;
  const when = formatDateTime(snapshot.createdAt);
  const headingId = `snapshot-${snapshot.id}`;

  return (
    <li className={`snapshot snapshot-${snapshot.copyType.toLowerCase()}`} aria-labelledby={headingId}>
      <article className="card snapshot-card">
        <div className="row">
          <h2 id={headingId} className="snapshot-time">
            <time dateTime={snapshot.createdAt}>{when}</time>
          </h2>
          <span className={`copy-type copy-type-${snapshot.copyType.toLowerCase()}`}>{snapshot.copyType}</span>
          <span className="muted">{formatRelative(snapshot.createdAt)}</span>
          <span className="spacer" />
          <StatusBadge status={snapshot.verificationStatus} />
        </div>
        <p className="muted snapshot-depends">
          {snapshot.parentId ? (
            <>
              {humanize(snapshot.copyType)}: depends on{' '}
              {parent ? (
                <a href={`#snapshot-${parent.id}`}>
                  the {parent.copyType} snapshot of {formatDateTime(parent.createdAt)}
                </a>
              ) : (
                <>
                  snapshot <code>{snapshot.parentId.slice(0, 8)}</code>
                </>
              )}
            </>
          ) : (
            <>
              {humanize(snapshot.copyType)}: {TYPE_EXPLAINED[snapshot.copyType] ?? ''}
            </>
          )}
        </p>
        <dl className="snapshot-facts">
          <div>
            <dt>Size</dt>
            <dd>{formatBytes(snapshot.sizeBytes)}</dd>
          </div>
          <div>
            <dt>Refs</dt>
            <dd>{snapshot.refCount}</dd>
          </div>
          <div>
            <dt>Artifacts</dt>
            <dd>{snapshot.artifactCount}</dd>
          </div>
          <div>
            <dt>Encryption</dt>
            <dd>{summary.encryption ? `AES-256-GCM (key ${summary.encryption.keyId.slice(0, 8)})` : 'None'}</dd>
          </div>
          {summary.hasWiki ? (
            <div>
              <dt>Wiki</dt>
              <dd>Included</dd>
            </div>
          ) : null}
          {summary.lfsObjectCount > 0 ? (
            <div>
              <dt>LFS objects</dt>
              <dd>{summary.lfsObjectCount}</dd>
            </div>
          ) : null}
        </dl>
        <SnapshotCopies copies={snapshot.copies} label={`Copies of the snapshot of ${when}`} />
        {counts.some(([, n]) => n > 0) ? (
          <p className="snapshot-metadata">
            <span className="muted">Metadata: </span>
            {counts
              .filter(([, n]) => n > 0)
              .map(([type, n]) => `${metadataTypeName(type)} ${n}`)
              .join(' · ')}
            {counts.some(([, n]) => n === 0) ? (
              <span className="muted">
                {' '}
                (none of:{' '}
                {counts
                  .filter(([, n]) => n === 0)
                  .map(([type]) => metadataTypeName(type).replace(/^[A-Z][a-z]/, (m) => m.toLowerCase()))
                  .join(', ')}
                )
              </span>
            ) : null}
          </p>
        ) : (
          <p className="snapshot-metadata muted">No metadata records in this snapshot.</p>
        )}
        {snapshot.verificationStatus === 'FAILED' && snapshot.verificationError ? (
          <Notice kind="error">Verification failed: {snapshot.verificationError}</Notice>
        ) : null}
        {snapshot.verifiedAt && snapshot.verificationStatus !== 'FAILED' ? (
          <p className="muted">Verified {formatDateTime(snapshot.verifiedAt)}</p>
        ) : null}
        {verifyProblems ? (
          verifyProblems.length === 0 ? (
            <Notice kind="success">Verified: every artifact and the bundle chain read back intact.</Notice>
          ) : (
            <Notice kind="error">
              Verification found problems:
              <ul>
                {verifyProblems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </Notice>
          )
        ) : null}
        {actionError ? <ErrorNotice message={actionError} /> : null}
        <div className="row snapshot-actions">
          <button
            type="button"
            className="button-primary"
            onClick={() => onRestore(snapshot)}
            aria-label={`Restore… the snapshot of ${when}`}
          >
            Restore…
          </button>
          <button
            type="button"
            disabled={verifying.fetching}
            aria-label={`Verify the snapshot of ${when}`}
            onClick={async () => {
              setActionError(null);
              setVerifyProblems(null);
              const result = await verify({ id: snapshot.id });
              if (result.data) setVerifyProblems(result.data.verifySnapshot.problems);
              else setActionError(problemOf(result.error).message);
            }}
          >
            {verifying.fetching ? 'Verifying…' : 'Verify'}
          </button>
          {confirmingDelete ? (
            <span className="row" role="group" aria-label="Confirm deletion">
              <span>Delete this snapshot and its artifacts?</span>
              <button
                type="button"
                className="button-danger"
                disabled={deleting.fetching}
                onClick={async () => {
                  setActionError(null);
                  const result = await remove({ id: snapshot.id });
                  setConfirmingDelete(false);
                  if (result.error) setActionError(`Not deleted: ${problemOf(result.error).message}`);
                  else onChanged();
                }}
              >
                {deleting.fetching ? 'Deleting…' : 'Yes, delete'}
              </button>
              <button type="button" onClick={() => setConfirmingDelete(false)}>
                Cancel
              </button>
            </span>
          ) : (
            <button
              type="button"
              className="button-danger"
              aria-label={`Delete the snapshot of ${when}`}
              onClick={() => setConfirmingDelete(true)}
            >
              Delete
            </button>
          )}
        </div>
      </article>
    </li>
  );
}
