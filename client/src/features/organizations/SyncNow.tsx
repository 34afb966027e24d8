/**
 * "Sync now" and the live progress of this organization's repository syncs (ours or scheduled),
 * from the `syncProgress` subscription; a finished sync makes the page re-read its lists.
 */
import { useEffect, useRef } from 'react';
import { useMutation, useSubscription } from 'urql';
import {
  SyncProgressDocument,
  SyncRepositoriesDocument,
  type SyncProgressSubscription,
} from '../../graphql/generated/graphql';
import { humanize } from '../../ui/format';
import { ProgressBar } from '../../ui/ProgressBar';
import { ErrorNotice } from '../../ui/States';
import { Reason } from '../../ui/Reason';

type SyncEvent = SyncProgressSubscription['syncProgress'];

export function useSyncNow(organizationId: string, onSynced: () => void) {
  const [syncing, sync] = useMutation(SyncRepositoriesDocument);
  const [progress] = useSubscription<SyncProgressSubscription, SyncProgressSubscription>(
    { query: SyncProgressDocument, variables: { organizationId } },
    (_prev, event) => event,
  );
  const event = progress.data?.syncProgress ?? null;
  const isActive = event ? event.status === 'QUEUED' || event.status === 'RUNNING' : false;
  const onSyncedRef = useRef(onSynced);
  onSyncedRef.current = onSynced;
  useEffect(() => {
    if (event && (event.status === 'SUCCEEDED' || event.status === 'FAILED')) onSyncedRef.current();
  }, [event]);
  return { start: () => sync({ organizationId }), starting: syncing.fetching, error: syncing.error, event, isActive };
}

export function SyncNowButton({ sync }: { sync: ReturnType<typeof useSyncNow> }) {
  return (
    <button type="button" disabled={sync.starting || sync.isActive} onClick={() => void sync.start()}>
      {sync.isActive ? 'Syncing…' : 'Sync now'}
    </button>
  );
}

/** The sync's phase and counts, announced politely to screen readers as they change. */
export function SyncStatus({ sync }: { sync: ReturnType<typeof useSyncNow> }) {
  const event: SyncEvent | null = sync.event;
  return (
    <div className="sync-status" aria-live="polite">
      <ErrorNotice error={sync.error} />
      {event ? (
        <div
          className={`notice notice-${event.status === 'FAILED' ? 'error' : event.status === 'SUCCEEDED' ? 'success' : 'info'}`}
        >
          <strong>Repository sync: {humanize(event.status)}</strong>{' '}
          {event.phase !== event.status ? <span className="muted">({humanize(event.phase)})</span> : null}
          {sync.isActive && event.projectsTotal ? (
            <ProgressBar label="Repository sync" value={event.projectsListed} max={event.projectsTotal} />
          ) : null}
          <div className="muted">
            {event.projectsListed}
            {event.projectsTotal ? ` of ${event.projectsTotal}` : ''} projects listed · {event.groupsListed} groups ·{' '}
            {event.repositoriesAdded} added · {event.repositoriesGone} gone upstream
          </div>
          {event.errorMessage ? (
            <div className="field-error">
              <Reason message={event.errorMessage} />
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
