import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { PhaseRow } from '../../server/src/backup/phase-row.js';
import type { ItemPhase } from '../../server/src/backup/backup.entity.js';

let written: ItemPhase[];
let row: PhaseRow;
beforeEach(() => {
  jest.useFakeTimers();
  written = [];
  row = new PhaseRow('FETCHING', async (phase) => void written.push(phase), 1000);
});
afterEach(() => {
  jest.useRealTimers();
});

describe("an item's phase on its row", () => {
  it('is written once a phase has lasted a second, the latest one only', async () => {
    row.set('BUNDLING');
    row.set('WRITING'); // milliseconds later
    row.set('VERIFYING');
    await jest.advanceTimersByTimeAsync(999);
    expect(written).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(written).toEqual(['VERIFYING']);
  });

  it('is not written again for the phase the row shows', async () => {
    row.set('BUNDLING');
    row.set('FETCHING');
    await jest.advanceTimersByTimeAsync(5000);
    expect(written).toEqual([]);
  });

  it('writes nothing more once settled for the final update (DONE), not even a pending or late phase', async () => {
    row.set('VERIFYING');
    await row.settle();
    row.set('WRITING'); // a progress report that arrives after the item ended
    await jest.advanceTimersByTimeAsync(5000);
    expect(written).toEqual([]);
  });

  it('lets a write on its way finish before the final update', async () => {
    let finish!: () => void;
    const slow = new PhaseRow(
      'FETCHING',
      (phase) => new Promise<void>((r) => (finish = () => r(void written.push(phase)))),
      1000,
    );
    slow.set('VERIFYING');
    await jest.advanceTimersByTimeAsync(1000);
    let settled = false;
    const settling = slow.settle().then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    finish();
    await settling;
    expect(written).toEqual(['VERIFYING']);
  });
});
