/**
 * "Compare two snapshots" on a repository's timeline: two choices (Compare from, to) over the
 * snapshots loaded so far, newest first, and a link to the comparison. The older of the two is
 * always the "from" side, whichever way round they were picked. Plain selects and a link, so it
 * works with the keyboard and screen readers as the browser makes them.
 */
import { useMemo, useState } from 'react';
import { Link } from '../../app/router';
import type { SnapshotTimelineEntryFragment } from '../../graphql/generated/graphql';
import { Field } from '../../ui/Field';

const optionLabel = (s: SnapshotTimelineEntryFragment, newestId: string) =>
  `${new Date(s.createdAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })} · ${s.copyType}${
    s.id === newestId ? ' (newest)' : ''
  }`;

export function CompareSnapshots({ snapshots }: { snapshots: ReadonlyMap<string, SnapshotTimelineEntryFragment> }) {
  const sorted = useMemo(
    () => [...snapshots.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)),
    [snapshots],
  );
  const [fromId, setFromId] = useState<string | null>(null);
  const [toId, setToId] = useState<string | null>(null);
  if (sorted.length < 2) return null;
  const newestId = sorted[0].id;
  const has = (id: string | null) => id !== null && sorted.some((s) => s.id === id);
  const from = has(fromId) ? fromId! : sorted[1].id;
  const to = has(toId) ? toId! : sorted[0].id;
  const same = from === to;
  const [older, newer] = [from, to]
    .map((id) => sorted.find((s) => s.id === id)!)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const options = sorted.map((s) => (
    <option key={s.id} value={s.id}>
      {optionLabel(s, newestId)}
    </option>
  ));

  return (
    <section className="card compare-snapshots" aria-labelledby="compare-snapshots-title">
      <h2 id="compare-snapshots-title" className="card-title">
        Compare two snapshots
      </h2>
      <div className="compare-choices">
        <Field label="Compare from">
          <select value={from} onChange={(e) => setFromId(e.target.value)}>
            {options}
          </select>
        </Field>
        <Field
          label={
            <>
              <span className="visually-hidden">Compare </span>to
            </>
          }
        >
          <select value={to} onChange={(e) => setToId(e.target.value)}>
            {options}
          </select>
        </Field>
      </div>
      {same ? (
        <p className="field-hint" role="status">
          Pick two different snapshots to compare.
        </p>
      ) : (
        <Link to={`/snapshots/compare?from=${older.id}&to=${newer.id}`} className="button button-primary">
          Show what changed
        </Link>
      )}
    </section>
  );
}
