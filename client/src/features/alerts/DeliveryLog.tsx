/**
 * A channel's recent deliveries, newest first: when, which alert, how it went, how many attempts,
 * and why the last one failed, in the server's words. A list rather than a table, so a phone shows
 * every column without scrolling sideways.
 */
import { useEffect } from 'react';
import { useQuery } from 'urql';
import { ChannelDeliveriesDocument, type ChannelDeliveriesQuery } from '../../graphql/generated/graphql';
import { ErrorNotice } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { formatDateTime } from '../../ui/format';

type Delivery = ChannelDeliveriesQuery['alertDeliveries'][number];

/** How many deliveries a channel shows; the API keeps the rest. */
export const RECENT_DELIVERIES = 5;

function outcome(d: Delivery): string {
  const attempts = `${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}`;
  switch (d.status) {
    case 'SENT':
      return `Sent after ${attempts}.`;
    case 'FAILED':
      return `Not delivered after ${attempts}; Labkeeper gave up.`;
    case 'DIGESTED':
      return 'Sent together with other alerts in one digest.';
    case 'SENDING':
      return `Being sent (${attempts} so far).`;
    default:
      return d.attempts === 0
        ? 'Waiting to be sent.'
        : `Waiting to try again${d.nextAttemptAt ? ` at ${formatDateTime(d.nextAttemptAt)}` : ''} (${attempts} so far).`;
  }
}

/** `refreshKey` changes when something may have added a delivery (a test was just sent). */
export function DeliveryLog({
  channelId,
  channelName,
  refreshKey,
}: {
  channelId: string;
  channelName: string;
  refreshKey: number;
}) {
  const [result, refetch] = useQuery({
    query: ChannelDeliveriesDocument,
    variables: { channelId, first: RECENT_DELIVERIES },
    requestPolicy: 'cache-and-network',
  });
  useEffect(() => {
    if (refreshKey > 0) refetch({ requestPolicy: 'network-only' });
  }, [refreshKey, refetch]);
  const deliveries = result.data?.alertDeliveries ?? [];
  const label = `Recent deliveries to ${channelName}`;
  return (
    <section className="delivery-log" aria-label={label}>
      <h3>Recent deliveries</h3>
      <ErrorNotice error={result.error} />
      {result.data && deliveries.length === 0 ? (
        <p className="muted">Nothing has been sent to this channel yet.</p>
      ) : null}
      {deliveries.length > 0 ? (
        <ul className="plain-list" aria-label={label}>
          {deliveries.map((d) => (
            <li key={d.id}>
              <div className="row">
                <time dateTime={d.createdAt}>{formatDateTime(d.createdAt)}</time>
                <StatusBadge status={d.status} />
              </div>
              <p>{d.title}</p>
              <p className="muted">{outcome(d)}</p>
              {d.lastError ? <p className="delivery-error">Last error: {d.lastError}.</p> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
