import { describe, expect, it } from '@jest/globals';
import { inLanes } from '../../server/src/shared/lanes.js';
import { createDeferred } from '../support/deferred.js';

/** How a restore runs its project snapshots: independent ones at once, those of one repository in order. */
describe('inLanes', () => {
  it('runs up to `concurrency` lanes at once, and a lane’s items one after another in their order', async () => {
    const gates = new Map(['a1', 'a2', 'b1', 'c1'].map((name) => [name, createDeferred<void>()]));
    const running = new Set<string>();
    const started: string[] = [];
    let most = 0;
    const all = inLanes(
      ['a1', 'b1', 'a2', 'c1'],
      (name) => name[0],
      2,
      async (name) => {
        started.push(name);
        running.add(name);
        most = Math.max(most, running.size);
        await gates.get(name)!.promise;
        running.delete(name);
      },
    );
    await Promise.resolve();
    expect(started).toEqual(['a1', 'b1']); // two lanes at once; a2 waits for a1, c1 for a free runner

    gates.get('b1')!.resolve();
    await until(() => started.includes('c1'));
    expect(started).not.toContain('a2');

    gates.get('a1')!.resolve();
    await until(() => started.includes('a2'));
    gates.get('a2')!.resolve();
    gates.get('c1')!.resolve();
    await all;
    expect(most).toBe(2);
  });

  it('lets every task finish when one throws, then throws the first error', async () => {
    const finished: number[] = [];
    const outcome = inLanes([1, 2, 3], String, 3, async (n) => {
      await Promise.resolve();
      if (n === 1) throw new Error('first failed');
      finished.push(n);
    });
    await expect(outcome).rejects.toThrow('first failed');
    expect(finished.sort()).toEqual([2, 3]);
  });

  it('passes each item its index in the given order', async () => {
    const seen: [string, number][] = [];
    await inLanes(
      ['x', 'y', 'x'],
      (s) => s,
      1,
      async (s, i) => void seen.push([s, i]),
    );
    expect(seen).toEqual([
      ['x', 0],
      ['x', 2],
      ['y', 1],
    ]);
  });
});

/** Lets queued microtasks and promise chains run until `condition` holds. */
async function until(condition: () => boolean) {
  while (!condition()) await new Promise<void>((r) => setImmediate(r));
}
