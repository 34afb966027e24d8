/**
 * Re-reading a query after a live event, so that what a page shows follows the event.
 *
 * urql drops a request for an operation that is already in flight (its answer is shared), so a
 * refetch asked while the first load is still on its way would be lost, and that load may carry
 * what the server knew before the event (a page opened right after "Proceed" kept the sync
 * "Running" and "0 protected" while the sync banner said it had succeeded). `useRefetchAfter`
 * remembers the request and sends it once the query is idle.
 */
import { useCallback, useEffect, useState } from 'react';
import type { OperationContext } from 'urql';

export function useRefetchAfter(fetching: boolean, refetch: (opts?: Partial<OperationContext>) => void): () => void {
  const [isStale, setStale] = useState(false);
  useEffect(() => {
    if (!isStale || fetching) return;
    setStale(false);
    refetch({ requestPolicy: 'network-only' });
  }, [isStale, fetching, refetch]);
  return useCallback(() => setStale(true), []);
}
