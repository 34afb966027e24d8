/**
 * `/snapshots/compare?from=<snapshot>&to=<snapshot>`: what changed between two snapshots of one
 * repository or group. Reached from a repository's timeline (Compare two snapshots) and from an
 * organization's "What changed" list.
 */
import { useQuery } from 'urql';
import { Link, useRouter } from '../../app/router';
import {
  SnapshotDiffDocument,
  SnapshotDiffGroupDocument,
  SnapshotTimelineRepositoryDocument,
} from '../../graphql/generated/graphql';
import { formatDateTime } from '../../ui/format';
import { ErrorNotice, Loading } from '../../ui/States';
import { OrganizationLink } from '../organizations/OrganizationLink';
import { SnapshotDiffView } from './SnapshotDiffView';

export function SnapshotDiffPage() {
  const { search } = useRouter();
  const from = search.get('from') ?? '';
  const to = search.get('to') ?? '';
  const [result] = useQuery({ query: SnapshotDiffDocument, variables: { from, to }, pause: !from || !to });
  const diff = result.data?.snapshotDiff;
  const [repo] = useQuery({
    query: SnapshotTimelineRepositoryDocument,
    variables: { id: diff?.repositoryId ?? '' },
    pause: !diff?.repositoryId,
  });
  const repository = repo.data?.repository;
  const [groupResult] = useQuery({
    query: SnapshotDiffGroupDocument,
    variables: { id: diff?.groupId ?? '' },
    pause: !diff?.groupId,
  });
  const group = groupResult.data?.group;

  let body;
  if (!from || !to) body = <ErrorNotice message="Pick two snapshots to compare on a repository's snapshots page." />;
  else if (result.fetching && !result.data) body = <Loading label="Comparing the two snapshots…" />;
  else if (!diff || !result.data) body = <ErrorNotice error={result.error} />;
  else {
    const { fromSnapshot, toSnapshot } = result.data;
    body = (
      <>
        <p className="diff-range">
          From the {fromSnapshot.copyType} snapshot of{' '}
          <time dateTime={fromSnapshot.createdAt}>{formatDateTime(fromSnapshot.createdAt)}</time> to the{' '}
          {toSnapshot.copyType} snapshot of{' '}
          <time dateTime={toSnapshot.createdAt}>{formatDateTime(toSnapshot.createdAt)}</time>.
        </p>
        <SnapshotDiffView diff={diff} />
      </>
    );
  }

  return (
    <section aria-labelledby="snapshot-diff-title">
      {repository ? (
        <p className="breadcrumbs">
          <OrganizationLink organizationId={repository.organizationId} /> /{' '}
          <Link to={`/repositories/${repository.id}/snapshots`}>Snapshots of {repository.pathWithNamespace}</Link>
        </p>
      ) : diff?.groupId && result.data ? (
        <p className="breadcrumbs">
          <OrganizationLink organizationId={result.data.fromSnapshot.organizationId} /> /{' '}
          <Link to={`/organizations/${result.data.fromSnapshot.organizationId}/changes`}>What changed</Link>
        </p>
      ) : null}
      <div className="page-header">
        <h1 id="snapshot-diff-title">
          {repository
            ? `Changes in ${repository.name}`
            : group
              ? `Changes in the group ${group.fullPath}`
              : diff?.groupId
                ? 'Changes in a group'
                : 'Changes between snapshots'}
        </h1>
      </div>
      {body}
    </section>
  );
}
