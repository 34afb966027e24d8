/**
 * One urql client per signed-in token: queries and mutations over HTTP POST /graphql, subscriptions
 * over graphql-ws on the same path, both carrying `Authorization: Bearer <token>`. A 401 (or the
 * WebSocket's 4401 close) signs the user out instead of retrying forever.
 */
import { cacheExchange, Client, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

export interface ApiClient {
  urql: Client;
  ws: WsClient;
  dispose(): void;
}

export function createApiClient(token: string, onUnauthenticated: () => void): ApiClient {
  const authorization = `Bearer ${token}`;
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const ws = createWsClient({
    url: wsUrl,
    connectionParams: { authorization },
    lazy: true,
    // Keep the socket open a little after the last subscription ends: moving from one screen to the
    // next unsubscribes the old screen's subscriptions just before the new screen subscribes, and
    // closing in between lost the new screen's subscription (its subscribe raced the close).
    lazyCloseTimeout: 3_000,
    retryAttempts: 20,
    shouldRetry: (event) =>
      !(event && typeof event === 'object' && 'code' in event && (event as CloseEvent).code === 4401),
    on: {
      closed: (event) => {
        if (event && typeof event === 'object' && 'code' in event && (event as CloseEvent).code === 4401)
          onUnauthenticated();
      },
    },
  });
  const urql = new Client({
    url: '/graphql',
    // Lists change through mutations and subscriptions; screens re-query on the events they show,
    // so the document cache is kept only for identical re-renders.
    requestPolicy: 'cache-and-network',
    // Apollo's CSRF prevention refuses simple GET requests; POST carries a JSON content type.
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization } }),
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 401) onUnauthenticated();
      return response;
    },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { urql, ws, dispose: () => void ws.dispose() };
}
