/**
 * What a restore did — or, for a dry run, what it would do: per snapshot the target project,
 * the refs pushed (skipped, rejected, left alone), the wiki, LFS objects and metadata, and every
 * problem. NEW_PROJECT/ORIGINAL runs say what was done in typed fields (`detail`).
 */
import type { RestoreRunDetailsFragment } from '../../graphql/generated/graphql';
import { formatBytes, humanize, metadataTypeName } from '../../ui/format';
import { Notice } from '../../ui/States';
import { Reason } from '../../ui/Reason';

type Report = NonNullable<RestoreRunDetailsFragment['report']>;
type SnapshotReport = Report['snapshots'][number];

type Detail = NonNullable<SnapshotReport['detail']>;

export function RestoreReport({ run }: { run: RestoreRunDetailsFragment }) {
  const report = run.report;
  if (!report) return null;
  const dry = run.isDryRun;
  return (
    <div className="restore-report">
      {run.target === 'DOWNLOAD' ? (
        <p>
          {dry ? 'The archive would hold' : 'The archive holds'} <strong>{report.files}</strong> files,{' '}
          <strong>{formatBytes(report.bytes)}</strong>
          {report.lfsObjects > 0 ? `, with ${report.lfsObjects} LFS objects` : ''}.
        </p>
      ) : null}
      {report.snapshots.map((snapshot) => (
        <SnapshotOutcome key={snapshot.snapshotId} snapshot={snapshot} target={run.target} dry={dry} />
      ))}
    </div>
  );
}

function SnapshotOutcome({ snapshot, target, dry }: { snapshot: SnapshotReport; target: string; dry: boolean }) {
  const detail = snapshot.detail ?? null;
  const heading =
    snapshot.targetPath && snapshot.targetPath !== snapshot.path
      ? `${snapshot.path} → ${snapshot.targetPath}`
      : snapshot.path;
  return (
    <section className="card restore-outcome" aria-label={`Result for ${snapshot.path}`}>
      <h3>{heading}</h3>
      <p className="muted">
        {humanize(snapshot.copyType)} snapshot
        {/* A snapshot the worker could not start on has no chain read (0): it was not restored. */}
        {snapshot.chainLength > 0
          ? `, chain of ${snapshot.chainLength} ${snapshot.chainLength === 1 ? 'snapshot' : 'snapshots'}`
          : ' · not restored'}
        {snapshot.verified === true ? ' · verified' : snapshot.verified === false ? ' · failed verification' : ''}
      </p>
      {target === 'NEW_PROJECT' && detail ? <ProjectLine snapshot={snapshot} detail={detail} dry={dry} /> : null}
      {target === 'ORIGINAL' && snapshot.targetPath ? (
        <p>
          Into{' '}
          {snapshot.targetUrl ? (
            <a href={snapshot.targetUrl}>{snapshot.targetPath}</a>
          ) : (
            <strong>{snapshot.targetPath}</strong>
          )}
        </p>
      ) : null}
      {detail ? <RefsOutcome detail={detail} dry={dry} /> : null}
      {detail?.metadata ? <MetadataOutcome metadata={detail.metadata} dry={dry} /> : null}
      {snapshot.problems.length > 0 ? (
        <div className="notice notice-warning">
          <strong>Problems</strong>
          <ul>
            {snapshot.problems.map((problem) => (
              <li key={problem}>
                <Reason message={problem} />
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

function ProjectLine({ snapshot, detail, dry }: { snapshot: SnapshotReport; detail: Detail; dry: boolean }) {
  const name = snapshot.targetUrl ? (
    <a href={snapshot.targetUrl}>{snapshot.targetPath}</a>
  ) : (
    <strong>{snapshot.targetPath}</strong>
  );
  if (dry) {
    return snapshot.targetUrl ? (
      <p>The project {name} already exists: refs it lacks would be added to it.</p>
    ) : (
      <p>Would create the project {name}.</p>
    );
  }
  return detail.created ? <p>Created the project {name}.</p> : <p>Restored into the existing project {name}.</p>;
}

function RefsOutcome({ detail, dry }: { detail: Detail; dry: boolean }) {
  const pushed = detail.refsPushed;
  const skipped = detail.refsSkipped;
  const rejected = detail.refsRejected;
  const extra = detail.refsExtra;
  return (
    <div>
      <ul className="restore-counts">
        <li>
          <strong>{pushed.length}</strong> {dry ? 'refs would be pushed' : 'refs pushed'}
        </li>
        {skipped.length > 0 ? (
          <li>
            <strong>{skipped.length}</strong> {dry ? 'would be skipped' : 'skipped'}
          </li>
        ) : null}
        {rejected.length > 0 ? (
          <li>
            <strong>{rejected.length}</strong> {dry ? 'would be refused' : 'refused'}
          </li>
        ) : null}
        {detail.wikiRefsPushed ? (
          <li>
            <strong>{detail.wikiRefsPushed}</strong> wiki {dry ? 'refs would be pushed' : 'refs pushed'}
          </li>
        ) : null}
        {detail.lfs ? (
          <li>
            {dry ? (
              'LFS objects would be uploaded'
            ) : (
              <>
                <strong>{detail.lfs.uploaded}</strong> LFS objects uploaded, {detail.lfs.present} already there
                {detail.lfs.failed ? `, ${detail.lfs.failed} failed` : ''}
              </>
            )}
          </li>
        ) : null}
      </ul>
      {pushed.length > 0 ? (
        <details>
          <summary>{dry ? 'Refs that would be pushed' : 'Refs pushed'}</summary>
          <ul className="ref-list">
            {pushed.map((ref) => (
              <li key={ref}>
                <code>{ref}</code>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {skipped.length + rejected.length > 0 ? (
        <ul className="ref-list">
          {[...skipped, ...rejected].map((r) => (
            <li key={r.ref}>
              <code>{r.ref}</code> — {r.reason}
            </li>
          ))}
        </ul>
      ) : null}
      {extra.length > 0 ? (
        <Notice kind="info">
          {extra.length === 1 ? '1 ref exists' : `${extra.length} refs exist`} in the project but not in the snapshot;{' '}
          {extra.length === 1 ? 'it is' : 'they are'} left as {extra.length === 1 ? 'it is' : 'they are'}:{' '}
          {extra.join(', ')}
        </Notice>
      ) : null}
    </div>
  );
}

function MetadataOutcome({ metadata, dry }: { metadata: NonNullable<Detail['metadata']>; dry: boolean }) {
  const rows = metadata.filter((s) => s.created + s.skipped + s.failed.length > 0);
  if (rows.length === 0) return null;
  return (
    <div className="table-wrap">
      <table>
        <caption className="muted">Metadata</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col" className="num">
              {dry ? 'Would create' : 'Created'}
            </th>
            <th scope="col" className="num">
              Already there
            </th>
            <th scope="col" className="num">
              Failed
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <tr key={s.type}>
              <th scope="row">{metadataTypeName(s.type)}</th>
              <td className="num">{s.created}</td>
              <td className="num">{s.skipped}</td>
              <td className="num">{s.failed.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
