/**
 * Restore drills of one organization: the latest drill (status, when, sample, each sampled
 * repository and group with what differed), the next scheduled one, and Run drill now. Run drill now shows
 * the QUEUED drill the mutation returns; every `drillChanged` of the organization (started, a
 * repository done, ended) reads the drill again; Refresh does it by hand.
 */
import { useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { Link } from '../../app/router';
import {
  DrillChangedDocument,
  OrganizationDrillsDocument,
  RunDrillDocument,
  type DrillRunFieldsFragment,
} from '../../graphql/generated/graphql';
import { formatDateTime, formatRelative, humanize } from '../../ui/format';
import { ErrorNotice } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { Reason } from '../../ui/Reason';

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const newer = (a: DrillRunFieldsFragment, b: DrillRunFieldsFragment | null | undefined) =>
  !b || Date.parse(a.createdAt) > Date.parse(b.createdAt);

export function DrillsPanel({ organizationId }: { organizationId: string }) {
  const [result, refetch] = useQuery({ query: OrganizationDrillsDocument, variables: { id: organizationId } });
  useSubscription({ query: DrillChangedDocument, variables: { organizationId } }, (_previous, event) => {
    refetch({ requestPolicy: 'network-only' });
    return event;
  });
  const [starting, runDrill] = useMutation(RunDrillDocument);
  const [started, setStarted] = useState<DrillRunFieldsFragment | null>(null);

  const latest = result.data?.organization.latestDrill;
  // The drill Run drill now returned, until a Refresh reads it (or a newer one) back.
  const drill = started && newer(started, latest) ? started : latest;
  const nextDrillAt = result.data?.organization.nextDrillAt;
  const scheduled = result.data?.policy.settings.drill?.enabled ?? false;
  const busy = drill?.status === 'QUEUED' || drill?.status === 'RUNNING';

  return (
    <section className="panel drills-panel" aria-labelledby="drills-title">
      <div className="page-header">
        <h2 id="drills-title">Restore drills</h2>
        <button type="button" onClick={() => refetch({ requestPolicy: 'network-only' })} disabled={result.fetching}>
          {result.fetching && result.data ? 'Refreshing…' : 'Refresh'}
        </button>
        {/* Not the page's primary button: Run now (a backup) comes first, and a drill needs one. */}
        <button
          type="button"
          disabled={starting.fetching}
          onClick={async () => {
            const done = await runDrill({ organizationId });
            if (done.data) setStarted(done.data.runDrill);
          }}
        >
          {starting.fetching ? 'Starting…' : 'Run drill now'}
        </button>
      </div>
      <ErrorNotice error={starting.error} />
      <p className="muted">
        A drill restores a sample of repositories, and of groups, from their latest snapshot and checks that everything
        matches.{' '}
        {result.data ? (
          nextDrillAt ? (
            <span title={formatDateTime(nextDrillAt)}>Next scheduled drill: {formatDateTime(nextDrillAt)}.</span>
          ) : scheduled ? (
            <span>Scheduled drills are on; the next one is booked within a minute.</span>
          ) : (
            <span>
              Scheduled drills are off (
              <Link to={`/organizations/${organizationId}/policy`}>turn them on in the policy</Link>).
            </span>
          )
        ) : null}
      </p>
      <div aria-live="polite">
        {result.fetching && !result.data ? (
          <p className="muted" role="status">
            Loading the latest drill…
          </p>
        ) : result.error && !result.data ? (
          <ErrorNotice error={result.error} />
        ) : !drill ? (
          <p className="muted">No drill has run yet. Run drill now proves the latest backups restore.</p>
        ) : (
          <DrillResult drill={drill} busy={busy} />
        )}
      </div>
    </section>
  );
}

function DrillResult({ drill, busy }: { drill: DrillRunFieldsFragment; busy: boolean }) {
  const when = drill.finishedAt ?? drill.startedAt ?? drill.createdAt;
  return (
    <div className="drill-result">
      <p>
        <strong>Latest drill:</strong> <StatusBadge status={drill.status} />{' '}
        <span title={formatDateTime(when)}>
          {drill.finishedAt ? 'finished' : drill.startedAt ? 'started' : 'queued'} {formatRelative(when)}
        </span>{' '}
        · {humanize(drill.trigger)} · sample of {drill.sampleSize} ·{' '}
        {drill.target === 'LOCAL_BARE' ? 'scratch bare repository' : `group ${drill.namespacePath ?? ''}`}
      </p>
      {busy ? (
        <p className="muted">
          The drill is {drill.status === 'QUEUED' ? 'queued' : 'running'}; its result shows here when it ends.
        </p>
      ) : null}
      {drill.errorMessage ? (
        <div className="field-error">
          <Reason message={drill.errorMessage} />
        </div>
      ) : null}
      <ResultsTable
        caption="Repositories restored by the latest drill"
        subject="Repository"
        rows={drill.results.map((r) => ({
          ...r,
          key: r.repositoryId,
          checked: `${count(r.checkedRefs, 'ref')} · ${count(r.checkedLfsObjects, 'LFS object')} · ${count(r.checkedMetadataRecords, 'metadata record')}`,
        }))}
      />
      <ResultsTable
        caption="Groups restored by the latest drill"
        subject="Group"
        rows={drill.groupResults.map((g) => ({
          ...g,
          key: g.groupId,
          checked: count(g.checkedMetadataRecords, 'metadata record'),
        }))}
      />
    </div>
  );
}

interface ResultRow {
  key: string;
  path: string;
  status: string;
  differences: string[];
  /** What was checked, in words (the chain's length is added). */
  checked: string;
  chainLength: number;
}

/** The sampled repositories or groups of a drill, each with its result and, when it failed, what differed. */
function ResultsTable({ caption, subject, rows }: { caption: string; subject: string; rows: ResultRow[] }) {
  if (rows.length === 0) return null;
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{subject}</th>
            <th scope="col">Result</th>
            <th scope="col">Checked</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>{r.path}</td>
              <td>
                <StatusBadge status={r.status} />
                {r.status === 'FAILED' && r.differences.length > 0 ? (
                  <ul className="drill-differences" aria-label={`Differences in ${r.path}`}>
                    {r.differences.map((d, i) => (
                      <li key={i}>{d}</li>
                    ))}
                  </ul>
                ) : null}
              </td>
              <td className="muted">
                {r.checked} · chain of {r.chainLength}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
