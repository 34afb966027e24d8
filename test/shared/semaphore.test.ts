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

  it('keeps a permit for a bigger reservation instead of giving it to a smaller job that asks first', async () => {
    const slots = new Semaphore(2);
    const running = await slots.acquire(undefined, 50);
    const biggest = slots.reserve(500); // its job is still looking things up
    let smallGot = false;
    const small = slots.acquire(undefined, 10).then((release) => ((smallGot = true), release));
    await Promise.resolve();
    expect([slots.inUse, smallGot]).toEqual([1, false]); // the free permit waits for the biggest

    const releaseBiggest = await biggest.acquire();
    expect(slots.inUse).toBe(2);
    running();
    (await small)();
    releaseBiggest();
    expect(slots.inUse).toBe(0);
  });

  it("gives a cancelled reservation's permit to the next waiter, and does not keep one below its rank", async () => {
    const slots = new Semaphore(1);
    const held = await slots.acquire(undefined, 100);
    const reserved = slots.reserve(500);
    const waiting = slots.acquire(undefined, 10);
    held();
    await Promise.resolve();
    expect(slots.inUse).toBe(0); // kept for the reservation
    reserved.cancel();
    await expect(waiting).resolves.toEqual(expect.any(Function));
    expect(slots.inUse).toBe(1);

    const more = new Semaphore(2);
    more.reserve(5); // ranks behind nobody: it keeps one permit of two
    const first = await more.acquire(undefined, 1);
    let secondGot = false;
    void more.acquire(undefined, 1).then(() => (secondGot = true));
    await Promise.resolve();
    expect([more.inUse, secondGot]).toEqual([1, false]);
    first();
    await Promise.resolve();
    expect(secondGot).toBe(true);
  });
});
