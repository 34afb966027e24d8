/** A status word (CONNECTED, SUCCEEDED, FAILED…) as a coloured badge; colour is never the only cue. */
import { humanize } from './format';

const TONES: Record<string, 'ok' | 'bad' | 'busy' | 'warn' | 'idle'> = {
  CONNECTED: 'ok',
  SUCCEEDED: 'ok',
  PASSED: 'ok',
  ONLINE: 'ok',
  VERIFIED: 'ok',
  COPIED: 'ok',
  SENT: 'ok',
  FAILED: 'bad',
  ERROR: 'bad',
  EXPIRED: 'bad',
  REVOKED: 'bad',
  CORRUPT: 'bad',
  OFFLINE: 'bad',
  PARTIAL: 'warn',
  TIMED_OUT: 'warn',
  CANCELED: 'warn',
  DISCONNECTED: 'idle',
  QUEUED: 'busy',
  RUNNING: 'busy',
  PENDING: 'busy',
  COPYING: 'busy',
  SENDING: 'busy',
  AWAITING_AUTHORIZATION: 'busy',
};

export function StatusBadge({ status }: { status: string | null | undefined }) {
  const tone = (status && TONES[status]) ?? 'idle';
  return <span className={`badge badge-${tone}`}>{humanize(status)}</span>;
}
