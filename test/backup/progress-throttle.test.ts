import { describe, expect, it } from '@jest/globals';
import { ProgressThrottle } from '../../server/src/backup/progress-throttle.js';
import { createDeferred } from '../support/deferred.js';

describe('ProgressThrottle', () => {
  function setup() {
    let now = 0;
    const sent: string[] = [];
    const throttle = new ProgressThrottle<string>(
      (e) => sent.push(e),
      500,
      () => now,
    );
    return { throttle, sent, advance: (ms: number) => (now += ms) };
  }

  it('sends the first event of a key at once and holds the next ones for the interval', () => {
    const { throttle, sent, advance } = setup();
    advance(1000);
    throttle.push('item', 'a');
    throttle.push('item', 'b');
    throttle.push('item', 'c');
    expect(sent).toEqual(['a']);
    advance(500);
    throttle.push('item', 'd');
    expect(sent).toEqual(['a', 'd']);
  });

  it('never holds a forced event (phase changes, terminal events)', () => {
    const { throttle, sent, advance } = setup();
    advance(1000);
    throttle.push('item', 'fetching');
    throttle.push('item', 'bundling', true);
    throttle.push('item', 'done', true);
    expect(sent).toEqual(['fetching', 'bundling', 'done']);
  });

  it('throttles each key on its own', () => {
    const { throttle, sent, advance } = setup();
    advance(1000);
    throttle.push('a', 'a1');
    throttle.push('b', 'b1');
    throttle.push('a', 'a2');
    expect(sent).toEqual(['a1', 'b1']);
  });

  it('sends the latest held event when the interval ends, so subscribers end on current numbers', async () => {
    const sent: string[] = [];
    const second = createDeferred();
    const throttle = new ProgressThrottle<string>((e) => {
      sent.push(e);
      if (sent.length === 2) second.resolve();
    }, 20);
    throttle.push('item', '10%');
    throttle.push('item', '20%');
    throttle.push('item', '30%');
    await second.promise;
    expect(sent).toEqual(['10%', '30%']);
  });
});
