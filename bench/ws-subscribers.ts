/**
 * The subscribers of `npm run bench -- --subscribers N`, in their own process: N graphql-ws
 * subscriptions (10 per socket, as tabs and clients share sockets in practice), each recording
 * for every event the time from its cause (the event's `at`, stamped by the publisher) to its
 * receipt here. Sends "ready" when every subscription is acknowledged and "done" with the
 * percentiles once each subscriber has received every event.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

interface Options {
  url: string;
  token: string | null;
  query: string;
  variables: Record<string, unknown>;
  count: number;
  events: number;
}

const PER_SOCKET = 10;

process.once('message', (options: Options) => {
  const latencies: number[] = [];
  const clients: Client[] = [];
  let received = 0;
  const expected = options.count * options.events;
  let connected = 0;
  const sockets = Math.ceil(options.count / PER_SOCKET);
  const finish = () => {
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    process.send!({
      type: 'done',
      result: { received, expected, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: latencies[latencies.length - 1] ?? NaN },
    });
    void Promise.all(clients.map(async (c) => c.dispose())).then(() => process.exit(0));
  };
  for (let s = 0; s < sockets; s++) {
    const client = createClient({
      url: options.url,
      webSocketImpl: WebSocket,
      connectionParams: options.token ? { authorization: `Bearer ${options.token}` } : {},
      retryAttempts: 0,
      lazy: false,
      on: {
        connected: () => {
          if (++connected === sockets) process.send!({ type: 'ready' });
        },
      },
    });
    clients.push(client);
    for (let i = 0; i < PER_SOCKET && s * PER_SOCKET + i < options.count; i++) {
      client.subscribe<{ backupProgress: { at: string } }>(
        { query: options.query, variables: options.variables },
        {
          next: (result) => {
            const cause = Date.parse(result.data!.backupProgress.at);
            latencies.push(performance.timeOrigin + performance.now() - cause);
            if (++received === expected) finish();
          },
          error: (error) => {
            console.error('subscription failed', error);
            process.exit(1);
          },
          complete: () => undefined,
        },
      );
    }
  }
});
