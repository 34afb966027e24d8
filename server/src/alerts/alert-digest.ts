/**
 * A digest: when one evaluation finds many new occurrences for one channel (thirty repositories
 * gone stale, a storage outage failing every replica copy), the channel gets one message listing
 * them instead of one message each. Each listed alert keeps its own row and its delivery is marked
 * DIGESTED, so it is never sent again on its own.
 */
import { MAX_LISTED, type Occurrence } from './alert-rules.js';
import type { AlertKind, NotificationChannelEntity } from './alert.entity.js';

/** From this many new occurrences for one channel in one pass, they go out as one digest. */
export const DIGEST_AT = 5;

const NOUN: Partial<Record<AlertKind, [string, string]>> = {
  TOKEN_EXPIRING: ['token expiring', 'tokens expiring'],
  REPOSITORY_STALE: ['stale repository', 'stale repositories'],
  SYNC_FAILED: ['failed sync', 'failed syncs'],
  STORAGE_ERROR: ['storage error', 'storage errors'],
};

export function digestOccurrence(
  channel: Pick<NotificationChannelEntity, 'id' | 'organizationId'>,
  listed: { deliveryId: string; alertId: string; occurrence: Occurrence }[],
  now: Date,
  publicUrl: string,
): Occurrence {
  const counts = new Map<AlertKind, number>();
  for (const { occurrence } of listed) counts.set(occurrence.kind, (counts.get(occurrence.kind) ?? 0) + 1);
  const summary = [...counts]
    .map(([kind, n]) => `${n} ${NOUN[kind]?.[n === 1 ? 0 : 1] ?? kind.toLowerCase()}`)
    .join(', ');
  const lines = [`${listed.length} new alerts: ${summary}.`, ''];
  for (const { occurrence } of listed.slice(0, MAX_LISTED))
    lines.push(`- ${occurrence.title}${occurrence.link ? ` (${occurrence.link})` : ''}`);
  if (listed.length > MAX_LISTED)
    lines.push(`- and ${listed.length - MAX_LISTED} more (each in the channel's delivery log)`);
  lines.push('', "What to do: each alert's own text, in the delivery log, says what to do; start with the first.");
  return {
    // The first delivery's id is unique to this digest (no other call created that delivery).
    key: `digest:${channel.id}:${listed[0].deliveryId}`,
    kind: 'DIGEST',
    organizationId: channel.organizationId,
    title: `${listed.length} alerts: ${summary}`,
    message: lines.join('\n'),
    link: `${publicUrl}/`,
    details: {
      counts: Object.fromEntries(counts),
      alerts: listed.slice(0, 200).map(({ alertId, occurrence }) => ({
        alertId,
        kind: occurrence.kind,
        title: occurrence.title,
        link: occurrence.link,
        details: occurrence.details,
      })),
    },
    occurredAt: now,
  };
}
