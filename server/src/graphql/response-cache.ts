/**
 * The HTTP response cache: a query asked again with the same token, text and variables is answered
 * from memory as long as the database has not changed since the stored answer was computed and the
 * answer is at most `maxAgeSeconds` old.
 *
 * Exact, not "fresh enough": the key carries the database's version (db/data-version.ts), read
 * before the query runs. Any committed write changes the version, so an answer computed while a
 * write landed is stored under a key nobody asks for again, and the next request computes anew —
 * a client that saw its mutation's answer never reads an older state, whichever API process it asks.
 * The age bound (on our clock) covers what depends on time alone (an expiring token's warning, a
 * worker that stopped beating). What does not come from the database (GitLab's namespaces, a
 * storage's manifest, a freshly signed link) is marked by its resolver with `@UseMiddleware(NotCached)`
 * and that answer is never stored.
 *
 * Identical requests that miss together are computed once: the first computes, the others wait for
 * its answer (without this, every change of version sent all concurrent requests to the database
 * at once, and under load the cache made the API slower than none — why this is not Apollo's
 * response-cache plugin, which has no such coalescing and keys freshness on cache hints).
 *
 * Only queries over HTTP are cached (never mutations, never subscriptions), answers with errors
 * are not stored, each token has its own entries, and the memory is bounded (LRU by size).
 */
import { createHash } from 'node:crypto';
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { OperationTypeNode } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import type { Clock } from '../shared/clock.js';
import type { GraphQLContext } from './context.js';

export interface ResponseCacheOptions {
  /** The longest an answer is served again (0: no cache). */
  maxAgeSeconds: number;
  /** The database's current version (db/data-version.ts). */
  dataVersion: () => Promise<string>;
  clock: Clock;
  /** Memory for stored answers (default 32 MiB). */
  maxBytes?: number;
}

/** Marks the answer of the operation that resolves this field as not to be stored. */
export const NotCached: MiddlewareFn<GraphQLContext> = ({ context }, next) => {
  context.notCached = true;
  return next();
};

interface Entry {
  json: string;
  storedAt: number;
}

/** The plugin, or none when the cache is off (`maxAgeSeconds` 0). */
export function responseCachePlugins(options: ResponseCacheOptions): ApolloServerPlugin<GraphQLContext>[] {
  if (options.maxAgeSeconds <= 0) return [];
  const maxAgeMs = options.maxAgeSeconds * 1000;
  const stored = new InMemoryLRUCache<Entry>({
    maxSize: options.maxBytes ?? 32 * 1024 * 1024,
    sizeCalculation: (entry: Entry) => entry.json.length + 200,
  });
  /** Key → the answer being computed for it (resolves true once stored). */
  const computing = new Map<string, Promise<boolean>>();

  const fresh = async (key: string) => {
    const entry = await stored.get(key);
    return entry && options.clock.now().getTime() - entry.storedAt < maxAgeMs ? entry : undefined;
  };
  const answer = (entry: Entry): GraphQLResponse => ({
    body: { kind: 'single', singleResult: { data: JSON.parse(entry.json) as Record<string, unknown> } },
    http: { status: undefined, headers: new HeaderMap() },
  });

  return [
    {
      async requestDidStart() {
        let key: string | null = null;
        let finish: ((storedIt: boolean) => void) | null = null;
        return {
          async responseForOperation({ operation, contextValue, source, operationName, request }) {
            if (operation.operation !== OperationTypeNode.QUERY) return null;
            // Read before the operation runs: an answer is stored under the state it started from.
            const version = await options.dataVersion();
            const { tokenId, role } = contextValue.principal;
            key = createHash('sha256')
              .update(JSON.stringify([tokenId, role, version, source, operationName ?? null, request.variables ?? {}]))
              .digest('base64url');
            const hit = await fresh(key);
            if (hit) return answer(hit);
            const leader = computing.get(key);
            if (leader) {
              // The same answer is being computed: wait for it (if it is not stored, compute our own).
              const storedIt = await leader;
              const shared = storedIt ? await fresh(key) : undefined;
              if (shared) return answer(shared);
              key = null;
              return null;
            }
            computing.set(key, new Promise<boolean>((resolve) => (finish = resolve)));
            return null;
          },
          async willSendResponse({ response, contextValue }) {
            if (!key || !finish) return;
            const done = finish;
            computing.delete(key);
            finish = null;
            const result = response.body.kind === 'single' ? response.body.singleResult : null;
            const storable = result && result.data && !result.errors && !contextValue.notCached;
            if (storable) {
              // No expiry of the LRU's own: age is judged on our clock when read, and entries of an
              // older version, never asked for again, leave as the size bound needs room.
              await stored.set(key, { json: JSON.stringify(result.data), storedAt: options.clock.now().getTime() });
            }
            done(Boolean(storable));
          },
        };
      },
    },
  ];
}
