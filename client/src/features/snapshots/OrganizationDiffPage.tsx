/**
 * `/organizations/:id/changes?from=<day>&to=<day>`: what changed in an organization between two
 * days. Each side is the organization as its snapshots stood at the end of that day (today: now);
 * every repository and group whose snapshot differs is listed with counts, force-moved refs in
 * plain words, and a link to the comparison of its two snapshots.
 */
import { useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { problemOf } from '../../api/errors';
import { Link, useRouter } from '../../app/router';
import { OrganizationDiffDocument, type OrganizationDiffQuery } from '../../graphql/generated/graphql';
import { Field } from '../../ui/Field';
import { formatDateTime } from '../../ui/format';
import { Empty, ErrorNotice, Loading } from '../../ui/States';
import { countsSentence, forcedSentence } from './refs';

type Entry = OrganizationDiffQuery['organizationDiff']['entries'][number];

/** `YYYY-MM-DD` of a local date. */
const dayOf = (date: Date) =>
  `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;

/** The end of a local day as an instant; today's end is `now` (nothing is known past it). */
function endOf(day: string, now: number): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return null;
  const end = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59, 999);
  if (Number.isNaN(end.getTime())) return null;
  return new Date(Math.min(end.getTime(), now)).toISOString();
}

export function OrganizationDiffPage({ organizationId }: { organizationId: string }) {
  const { search, navigate } = useRouter();
  const today = dayOf(new Date());
  const yesterday = dayOf(new Date(Date.now() - 86_400_000));
  const fromDay = search.get('from') ?? yesterday;
  const toDay = search.get('to') ?? today;
  const [draft, setDraft] = useState({ from: fromDay, to: toDay });
  const [formError, setFormError] = useState<string | null>(null);
  // Fixed while the page shows one answer (a new clock reading per render would be a new query each time).
  const [now, setNow] = useState(() => Date.now());
  const from = endOf(fromDay, now);
  const to = endOf(toDay, now);
  const isValid = from !== null && to !== null && fromDay < toDay;
  const [result] = useQuery({
    query: OrganizationDiffDocument,
    variables: { organizationId, from: from ?? '', to: to ?? '' },
    pause: !isValid,
  });
  const problem = problemOf(result.error);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!endOf(draft.from, now) || !endOf(draft.to, now)) return setFormError('Enter both days.');
    if (draft.from >= draft.to) return setFormError('Pick a later day than the first one.');
    if (draft.from > today) return setFormError('Pick a day that has passed.');
    setFormError(null);
    setNow(Date.now());
    navigate(`/organizations/${organizationId}/changes?from=${draft.from}&to=${draft.to}`, { replace: true });
  };

  const name = result.data?.organization.name;
  return (
    <section aria-labelledby="organization-diff-title">
      <p className="breadcrumbs">
        <Link to="/organizations">Organizations</Link> /{' '}
        <Link to={`/organizations/${organizationId}`}>{name ?? 'Organization'}</Link>
      </p>
      <div className="page-header">
        <h1 id="organization-diff-title">What changed{name ? ` in ${name}` : ''}</h1>
      </div>
      <form className="card organization-diff-form" onSubmit={submit} noValidate>
        <p className="muted">
          Compares each repository and group as its snapshots stood at the end of the first day with how they stood at
          the end of the second (today: now).
        </p>
        <div className="compare-choices">
          <Field label="From the end of" error={null}>
            <input
              type="date"
              value={draft.from}
              max={today}
              onChange={(e) => setDraft({ ...draft, from: e.target.value })}
            />
          </Field>
          <Field label="to the end of" error={formError ?? problem.fields.to ?? null}>
            <input
              type="date"
              value={draft.to}
              max={today}
              onChange={(e) => setDraft({ ...draft, to: e.target.value })}
            />
          </Field>
        </div>
        <button type="submit" className="button-primary">
          Show changes
        </button>
      </form>
      {!isValid ? null : result.fetching && !result.data ? (
        <Loading label="Comparing snapshots…" />
      ) : !result.data ? (
        <ErrorNotice error={result.error} />
      ) : (
        <Changes diff={result.data.organizationDiff} />
      )}
    </section>
  );
}

function Changes({ diff }: { diff: OrganizationDiffQuery['organizationDiff'] }) {
  const summary = `${diff.compared} repositories and groups had a snapshot at the end of the period; ${diff.unchanged} of them did not change.`;
  if (diff.entries.length === 0) {
    return (
      <Empty title="Nothing changed in this period.">
        {diff.compared === 0 ? 'No repository or group had a snapshot at the end of the period.' : summary}
      </Empty>
    );
  }
  return (
    <>
      <p role="status">
        {diff.entries.length} changed. <span className="muted">{summary}</span>
      </p>
      <ul className="organization-diff" aria-label="Repositories and groups that changed">
        {diff.entries.map((entry) => (
          <EntryCard key={entry.repositoryId ?? entry.groupId ?? entry.path} entry={entry} />
        ))}
      </ul>
    </>
  );
}

function EntryCard({ entry }: { entry: Entry }) {
  const kind = entry.repositoryId ? 'Repository' : 'Group';
  return (
    <li className="card organization-diff-entry">
      <h2 className="card-title">
        <span className="muted">{kind}</span> {entry.path}
      </h2>
      {entry.forcedRefs.length > 0 ? (
        <ul className="notice notice-warning diff-forced-list">
          {entry.forcedRefs.map((ref) => (
            <li key={ref}>{forcedSentence(ref)}</li>
          ))}
        </ul>
      ) : null}
      {entry.deletedUpstreamAt ? (
        <p className="notice notice-warning">Deleted in GitLab on {formatDateTime(entry.deletedUpstreamAt)}.</p>
      ) : null}
      {entry.fromSnapshotId ? (
        entry.problem ? (
          <p>Could not be compared: {entry.problem}</p>
        ) : (
          <p>
            Branches and tags:{' '}
            {countsSentence({ added: entry.refsAdded, removed: entry.refsRemoved, moved: entry.refsMoved })}. Metadata
            records:{' '}
            {countsSentence({
              added: entry.recordsAdded,
              removed: entry.recordsRemoved,
              changed: entry.recordsChanged,
            })}
            .
          </p>
        )
      ) : (
        <p>First backed up in this period: there is no earlier snapshot to compare with.</p>
      )}
      <p className="row">
        {entry.fromSnapshotId ? (
          <Link
            to={`/snapshots/compare?from=${entry.fromSnapshotId}&to=${entry.toSnapshotId}`}
            aria-label={`See what changed in ${entry.path}`}
          >
            See what changed
          </Link>
        ) : null}
        {entry.repositoryId ? (
          <Link to={`/repositories/${entry.repositoryId}/snapshots`}>All its snapshots</Link>
        ) : null}
      </p>
    </li>
  );
}
