import { describe, expect, it } from '@jest/globals';
import { Semaphore } from '../../server/src/shared/semaphore.js';

/** The worker's transfer slots: at most N jobs talk to GitLab at once, biggest waiting first. */
describe('Semaphore', () => {
  it('lets at most `permits` hold it, and the next waiter in when one releases', async () => {
    const slots = new Semaphore(2);
    const a = await slots.acquire();
    await slots.acquire();
    let third = false;
    const waiting = slots.acquire().then((release) => ((third = true), release));
    await Promise.resolve();
    expect([slots.inUse, third]).toEqual([2, false]);

    a();
    a(); // releasing twice frees one permit only
    await waiting;
    expect([slots.inUse, third]).toEqual([2, true]);
  });

  it('serves waiters by priority, first come first served among equals', async () => {
    const slots = new Semaphore(1);
    const first = await slots.acquire();
    const order: string[] = [];
    const wait = (name: string, priority: number) =>
      slots.acquire(undefined, priority).then((release) => (order.push(name), release()));
    const all = Promise.all([wait('small', 10), wait('big', 500), wait('medium-1', 100), wait('medium-2', 100)]);

    first();
    await all;
    expect(order).toEqual(['big', 'medium-1', 'medium-2', 'small']);
  });

  it('drops a waiter whose signal aborts, rejecting with its reason, and serves the next one', async () => {
    const slots = new Semaphore(1);
    const first = await slots.acquire();
    const controller = new AbortController();
    const canceled = slots.acquire(controller.signal, 100);
    const next = slots.acquire(undefined, 1);

    controller.abort(new Error('canceled by a user'));
    await expect(canceled).rejects.toThrow('canceled by a user');
    first();
    await expect(next).resolves.toEqual(expect.any(Function));
    expect(slots.inUse).toBe(1);
  });
});
