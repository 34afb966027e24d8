import { EVENT_TIMEOUT_MS } from './timeouts.js';

/** A promise with its resolve/reject exposed, to await events instead of sleeping (after graphql-ws). */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function createDeferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resources to release after each test, in reverse order of creation. */
export function leftovers() {
  const cleanups: (() => unknown)[] = []; // a cleanup may return a promise, which is awaited
  return {
    add<T>(cleanup: () => unknown, value?: T): T {
      cleanups.push(cleanup);
      return value as T;
    },
    async release() {
      for (const c of cleanups.splice(0).reverse()) await c();
    },
  };
}

/** Resolves when `predicate` holds for a value pushed to the returned `push`; rejects after timeoutMs. */
export function waitFor<T>(predicate: (value: T) => boolean, timeoutMs = EVENT_TIMEOUT_MS, what = 'event') {
  const seen: T[] = [];
  const deferred = createDeferred<T>();
  const timer = setTimeout(
    () => deferred.reject(new Error(`timed out waiting for ${what}; saw ${JSON.stringify(seen)}`)),
    timeoutMs,
  );
  timer.unref(); // a wait nobody awaits any more must not keep the test process alive
  return {
    seen,
    promise: deferred.promise.finally(() => clearTimeout(timer)),
    push(value: T) {
      seen.push(value);
      if (predicate(value)) deferred.resolve(value);
    },
  };
}
