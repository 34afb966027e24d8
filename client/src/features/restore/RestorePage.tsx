/**
 * A restore run, live: `restoreRun(id)` first, then the `restoreProgress(runId)` subscription
 * (no polling) — phases, counts, per-repository results and problems, the terminal status and,
 * for DOWNLOAD, the signed archive link. Below, the organization's other restore runs.
 */
import { useEffect, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { problemOf } from '../../api/errors';
import { Link, useRouter } from '../../app/router';
import {
  OrganizationRestoreRunsDocument,
  RestoreOrganizationDocument,
  RetryRestoreDocument,
} from '../../graphql/generated/graphql';
import { formatDateTime, formatRelative } from '../../ui/format';
import { Empty, ErrorNotice, Loading, Notice } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { RestoreReport } from './RestoreReport';
import { RestoreLiveStatus, RestoreOutcome, RestorePhases } from './RestoreProgress';
import { isTerminal, useLiveRestoreRun } from './useLiveRestoreRun';

export const TARGET_LABELS: Record<string, string> = {
  ORIGINAL: 'to the original project',
  NEW_PROJECT: 'to a new project',
  DOWNLOAD: 'as a download',
};

export function RestorePage({ id }: { id: string }) {
  const live = useLiveRestoreRun(id);
  const run = live.run;
  if (live.fetching && !run) return <Loading label="Loading the restore run…" />;
  if (!run) {
    return (
      <section>
        <h1>Restore</h1>
        <ErrorNotice error={live.error} message={live.error ? null : 'There is no such restore run.'} />
      </section>
    );
  }
  const title = `${run.isDryRun ? 'Dry run of a restore' : 'Restore'} ${TARGET_LABELS[run.target] ?? ''}`.trim();
  return (
    <section aria-labelledby="restore-title">
      <BackToOrganization organizationId={run.organizationId} />
      <div className="page-header">
        <h1 id="restore-title">{title}</h1>
        <StatusBadge status={live.status} />
      </div>
      <p className="muted">
        {run.snapshotIds.length} {run.snapshotIds.length === 1 ? 'snapshot' : 'snapshots'} · started{' '}
        {formatDateTime(run.createdAt)}
        {run.finishedAt ? ` · finished ${formatDateTime(run.finishedAt)}` : ''}
      </p>
      <ErrorNotice error={live.error} />

      <div className="card">
        <RestorePhases target={run.target} phase={live.phase} status={live.terminal ? run.status : null} />
        <RestoreLiveStatus live={live} noun={run.target === 'DOWNLOAD' ? 'snapshots' : 'repositories'} />
      </div>
      <RestoreOutcome live={live} retry={<RetryButton runId={run.id} />} />
      {live.terminal ? <DownloadLink run={run} /> : null}

      {run.report ? (
        <>
          <h2>{run.isDryRun ? 'Plan' : 'Per repository'}</h2>
          <RestoreReport run={run} />
        </>
      ) : live.terminal ? null : (
        <p className="muted">Per-repository results appear here as the worker reports them.</p>
      )}

      <OrganizationRestores
        organizationId={run.organizationId}
        currentId={run.id}
        refreshKey={live.terminal ? 'done' : 'running'}
      />
    </section>
  );
}

/** The way back: the organization this restore belongs to, by name. */
function BackToOrganization({ organizationId }: { organizationId: string }) {
  const [result] = useQuery({ query: RestoreOrganizationDocument, variables: { id: organizationId } });
  const name = result.data?.organization.name ?? 'the organization';
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to={`/organizations/${organizationId}`}>← Back to {name}</Link>
    </nav>
  );
}

/** Starts a new restore with this run's settings and opens it. */
function RetryButton({ runId }: { runId: string }) {
  const router = useRouter();
  const [state, retry] = useMutation(RetryRestoreDocument);
  const [problem, setProblem] = useState<string | null>(null);
  const onClick = async () => {
    setProblem(null);
    const result = await retry({ id: runId });
    const next = result.data?.retryRestore;
    if (next) router.navigate(`/restores/${next.id}`);
    else setProblem(problemOf(result.error).message);
  };
  return (
    <div className="row">
      <button type="button" className="button-primary" disabled={state.fetching} onClick={() => void onClick()}>
        Retry
      </button>
      <span className="muted">Starts a new restore with the same settings.</span>
      {problem ? <ErrorNotice message={problem} /> : null}
    </div>
  );
}

function DownloadLink({ run }: { run: NonNullable<ReturnType<typeof useLiveRestoreRun>['run']> }) {
  if (run.target !== 'DOWNLOAD' || run.isDryRun) return null;
  if (run.downloadUrl) {
    return (
      <Notice kind="success">
        <a className="button button-primary" href={run.downloadUrl} download>
          Download the archive
        </a>{' '}
        <span className="muted">
          The link is valid until {formatDateTime(run.downloadExpiresAt)}; start the restore again for a new one.
        </span>
      </Notice>
    );
  }
  if (run.status !== 'FAILED')
    return <Notice kind="info">The download link has expired. Start the restore again for a new one.</Notice>;
  return null;
}

function OrganizationRestores({
  organizationId,
  currentId,
  refreshKey,
}: {
  organizationId: string;
  currentId: string;
  refreshKey: string;
}) {
  const [result, refetch] = useQuery({ query: OrganizationRestoreRunsDocument, variables: { organizationId } });
  // The list shows this run's status too: re-read it when the run ends.
  useEffect(() => {
    if (refreshKey === 'done') refetch({ requestPolicy: 'network-only' });
  }, [refreshKey, refetch]);
  const runs = result.data?.restoreRuns ?? [];
  return (
    <section aria-labelledby="org-restores">
      <h2 id="org-restores">Restores of this organization</h2>
      {result.fetching && !result.data ? <Loading /> : null}
      <ErrorNotice error={result.error} />
      {result.data && runs.length === 0 ? <Empty title="No restore yet." /> : null}
      {runs.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Target</th>
                <th scope="col" className="num">
                  Snapshots
                </th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} aria-current={r.id === currentId ? 'page' : undefined}>
                  <td>
                    {r.id === currentId ? (
                      <strong>{formatDateTime(r.createdAt)} (this one)</strong>
                    ) : (
                      <Link to={`/restores/${r.id}`}>{formatDateTime(r.createdAt)}</Link>
                    )}{' '}
                    <span className="muted">{formatRelative(r.createdAt)}</span>
                  </td>
                  <td>
                    {r.isDryRun ? 'Dry run ' : ''}
                    {TARGET_LABELS[r.target] ?? r.target}
                  </td>
                  <td className="num">{r.snapshotIds.length}</td>
                  <td>
                    <StatusBadge status={r.status} />
                    {!isTerminal(r.status) ? <span className="muted"> {r.phase.toLowerCase()}</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
