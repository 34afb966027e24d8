/**
 * What changed between two snapshots of one repository (or group), as a page section: force-moved
 * refs first and in plain words, then branches and tags added, removed and moved, the repository's
 * size when it may have shrunk, and per metadata type the records added, removed and changed (by
 * title or id, with the names of the fields that changed — never their values). Lists, not
 * tables, so nothing is wider than a phone.
 */
import type { ReactNode } from 'react';
import type {
  SnapshotDiffQuery,
  SnapshotDiffRecordFragment,
  SnapshotDiffRefFragment,
} from '../../graphql/generated/graphql';
import { formatBytes, metadataTypeName } from '../../ui/format';
import { Notice } from '../../ui/States';
import { countsSentence, forcedSentence, metadataTypeInSentence, refKind, refName, shortCommit } from './refs';

type Diff = SnapshotDiffQuery['snapshotDiff'];
type TypeDiff = Diff['metadata'][number];

const hasChanges = (m: TypeDiff) => m.addedCount + m.removedCount + m.changedCount > 0;

/** No ref moved and no compared metadata type changed (types not compared are listed apart). */
export function isEmptyDiff(diff: Diff): boolean {
  return (
    diff.added.length + diff.removed.length + diff.moved.length === 0 &&
    diff.metadata.every((m) => !m.isCompared || !hasChanges(m))
  );
}

/** "not captured in the later snapshot (FAILED)" → "not captured in the later snapshot: failed". */
const plainReason = (reason: string | null | undefined) =>
  (reason ?? 'not captured in both snapshots').replace(
    / \(([A-Z_]+)\)$/,
    (_m, status: string) => `: ${status.toLowerCase()}`,
  );

export function SnapshotDiffView({ diff }: { diff: Diff }) {
  const forced = diff.moved.filter((m) => m.isForced);
  const notCompared = diff.metadata.filter((m) => !m.isCompared);
  if (isEmptyDiff(diff)) {
    return (
      <>
        <Notice kind="success">
          Nothing changed between these two snapshots:{' '}
          {diff.repositoryId
            ? 'the same branches and tags at the same commits, and the same metadata.'
            : 'the same metadata.'}
        </Notice>
        {notCompared.length > 0 ? (
          <p className="muted">
            Not compared:{' '}
            {notCompared.map((m) => `${metadataTypeInSentence(m.type)} (${plainReason(m.reason)})`).join('; ')}.
          </p>
        ) : null}
      </>
    );
  }
  return (
    <div className="snapshot-diff">
      {forced.length > 0 ? (
        <div className="notice notice-warning diff-forced" role="alert">
          <p className="notice-strong">History was rewritten (a force-push):</p>
          <ul>
            {forced.map((m) => (
              <li key={m.ref}>
                {forcedSentence(m.ref, { isProtected: m.isProtected, isDefault: m.ref === diff.defaultBranch })}
              </li>
            ))}
          </ul>
          <p>The earlier snapshot still holds the old commits; restore it to get them back.</p>
        </div>
      ) : null}
      {diff.repositoryId ? <RefsSection diff={diff} /> : null}
      <MetadataSection metadata={diff.metadata} />
    </div>
  );
}

function RefsSection({ diff }: { diff: Diff }) {
  const total = diff.added.length + diff.removed.length + diff.moved.length;
  return (
    <section className="card" aria-labelledby="diff-refs">
      <h2 id="diff-refs" className="card-title">
        Branches and tags
      </h2>
      <p>
        {total === 0
          ? 'No branch or tag changed'
          : countsSentence({ added: diff.added.length, removed: diff.removed.length, moved: diff.moved.length })}{' '}
        <span className="muted">
          ({diff.refCountBefore} before, {diff.refCountAfter} after)
        </span>
      </p>
      <RefList title="Added" refs={diff.added} render={(r) => <>at {commit(r.to)}</>} />
      <RefList title="Removed" refs={diff.removed} render={(r) => <>was at {commit(r.from)}</>} />
      <RefList
        title="Moved"
        refs={diff.moved}
        render={(r) => (
          <>
            {commit(r.from)} → {commit(r.to)}
            {r.isForced ? (
              <strong className="diff-flag"> rewritten</strong>
            ) : (
              <span className="muted"> new commits</span>
            )}
          </>
        )}
      />
      {diff.gitBytesBefore !== null && diff.gitBytesBefore !== undefined ? (
        <p>
          Repository size: {formatBytes(diff.gitBytesBefore)} before, {formatBytes(diff.gitBytesAfter)} after.
        </p>
      ) : null}
    </section>
  );
}

const commit = (sha: string | null | undefined) => <code>{shortCommit(sha)}</code>;

function RefList({
  title,
  refs,
  render,
}: {
  title: string;
  refs: SnapshotDiffRefFragment[];
  render: (ref: SnapshotDiffRefFragment) => ReactNode;
}) {
  if (refs.length === 0) return null;
  return (
    <>
      <h3 className="diff-list-title">{title}</h3>
      <ul className="diff-list" aria-label={`${title} branches and tags`}>
        {refs.map((r) => (
          <li key={r.ref}>
            <strong>{refName(r.ref)}</strong>{' '}
            <span className="muted">
              {refKind(r.ref) === 'branch' ? (r.isProtected ? '(protected branch)' : '(branch)') : ''}
            </span>{' '}
            {render(r)}
          </li>
        ))}
      </ul>
    </>
  );
}

function MetadataSection({ metadata }: { metadata: TypeDiff[] }) {
  const changed = metadata.filter((m) => m.isCompared && hasChanges(m));
  const notCompared = metadata.filter((m) => !m.isCompared);
  const same = metadata.filter((m) => m.isCompared && !hasChanges(m));
  return (
    <section className="card" aria-labelledby="diff-metadata">
      <h2 id="diff-metadata" className="card-title">
        Metadata
      </h2>
      {changed.length === 0 ? <p>No metadata record was added, removed or changed.</p> : null}
      {changed.map((m) => (
        <MetadataType key={m.type} diff={m} />
      ))}
      {notCompared.length > 0 ? (
        <>
          <h3 className="diff-list-title">Not compared</h3>
          <ul className="diff-list">
            {notCompared.map((m) => (
              <li key={m.type}>
                {metadataTypeName(m.type)}: {plainReason(m.reason)}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {same.length > 0 && changed.length > 0 ? (
        <p className="muted">Unchanged: {same.map((m) => metadataTypeInSentence(m.type)).join(', ')}.</p>
      ) : null}
    </section>
  );
}

function MetadataType({ diff }: { diff: TypeDiff }) {
  const headingId = `diff-type-${diff.type}`;
  return (
    <section className="diff-type" aria-labelledby={headingId}>
      <h3 id={headingId} className="diff-list-title">
        {metadataTypeName(diff.type)}:{' '}
        {countsSentence({ added: diff.addedCount, removed: diff.removedCount, changed: diff.changedCount })}{' '}
        <span className="muted">
          ({diff.recordsBefore} before, {diff.recordsAfter} after)
        </span>
      </h3>
      <RecordList title="Added" records={diff.added} count={diff.addedCount} />
      <RecordList title="Removed" records={diff.removed} count={diff.removedCount} />
      <RecordList title="Changed" records={diff.changed} count={diff.changedCount} />
    </section>
  );
}

function RecordList({
  title,
  records,
  count,
}: {
  title: string;
  records: SnapshotDiffRecordFragment[];
  count: number;
}) {
  if (count === 0) return null;
  return (
    <ul className="diff-list" aria-label={title}>
      {records.map((r) => (
        <li key={r.key}>
          <span className="muted">{title}:</span> {r.label ?? `id ${r.key}`}
          {r.label && r.label !== r.key ? <span className="muted"> (id {r.key})</span> : null}
          {r.fields.length > 0 ? (
            <>
              {' '}
              — changed{' '}
              {r.fields.map((f, i) => (
                <span key={f}>
                  {i > 0 ? ', ' : ''}
                  <code>{f}</code>
                </span>
              ))}
            </>
          ) : null}
        </li>
      ))}
      {count > records.length ? (
        <li className="muted">
          and {count - records.length} more {title.toLowerCase()}
        </li>
      ) : null}
    </ul>
  );
}
