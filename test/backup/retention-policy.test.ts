/**
 * Retention tests, in two parts.
 *
 * Golden files (after restic's policy tests): each test/fixtures/retention/<name>.json holds a
 * `description`, `now`, the `retention` and the `snapshots`; <name>.expected.json holds the
 * keep/forget decisions with their reasons. The test runs applyRetention on the first and
 * compares with the second. After a deliberate change of behaviour, rewrite the expectations with
 *
 *   UPDATE_GOLDEN=1 node --experimental-vm-modules node_modules/jest/bin/jest.js test/backup/retention-policy.test.ts
 *
 * and review the diff of the *.expected.json files as carefully as the code: they are the spec.
 * Every golden case is also checked against the invariants (each snapshot decided once; nothing a
 * kept snapshot depends on is forgotten).
 *
 * Focused unit tests below name one rule each.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Retention } from '../../server/src/backup/policy.types.js';
import {
  applyRetention,
  type RetentionResult,
  type RetentionSnapshot,
} from '../../server/src/backup/retention-policy.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/retention/', import.meta.url));
const isUpdating = process.env.UPDATE_GOLDEN === '1';

interface Fixture {
  description: string;
  now: string;
  retention: Retention;
  snapshots: (Omit<RetentionSnapshot, 'createdAt'> & { createdAt: string })[];
}

/** One decision per line, so a changed reason shows as a one-line diff. */
function formatGolden(result: RetentionResult): string {
  const list = (decisions: RetentionResult['keep']) =>
    decisions.length === 0 ? '[]' : `[\n${decisions.map((d) => `    ${JSON.stringify(d)}`).join(',\n')}\n  ]`;
  return `{\n  "keep": ${list(result.keep)},\n  "forget": ${list(result.forget)}\n}\n`;
}

function expectInvariants(snapshots: RetentionSnapshot[], result: RetentionResult): void {
  const decided = [...result.keep, ...result.forget].map((d) => d.id).sort();
  expect(decided).toEqual(snapshots.map((s) => s.id).sort());
  const forgotten = new Set(result.forget.map((d) => d.id));
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  for (const { id } of result.keep) {
    const parentId = byId.get(id)!.parentId;
    if (parentId !== null)
      expect({ kept: id, forgottenParent: forgotten.has(parentId) }).toEqual({ kept: id, forgottenParent: false });
  }
  for (const decision of [...result.keep, ...result.forget]) expect(decision.reasons.length).toBeGreaterThan(0);
}

describe('applyRetention', () => {
  describe('on the golden files', () => {
    const names = readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();

    it('has golden files to check', () => {
      expect(names.length).toBeGreaterThan(0);
    });

    it.each(names)('decides %s as recorded', (name) => {
      const fixture = JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as Fixture;
      const snapshots = fixture.snapshots.map((s) => ({ ...s, createdAt: new Date(s.createdAt) }));
      const result = applyRetention(snapshots, fixture.retention, new Date(fixture.now));
      expectInvariants(snapshots, result);

      const expectedPath = `${FIXTURES}${name}.expected.json`;
      if (isUpdating) writeFileSync(expectedPath, formatGolden(result));
      let expected: unknown;
      try {
        expected = JSON.parse(readFileSync(expectedPath, 'utf8'));
      } catch {
        throw new Error(`${name}.expected.json is missing or unreadable; run with UPDATE_GOLDEN=1 and review it`);
      }
      expect(result).toEqual(expected);
    });
  });

  const NOW = new Date('2026-04-15T12:00:00Z');
  const DAY = 86_400_000;
  const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);
  const aSnapshot = (s: Partial<RetentionSnapshot> & { id: string }): RetentionSnapshot => ({
    repositoryId: 'repo',
    copyType: 'INCREMENTAL',
    createdAt: NOW,
    parentId: null,
    repositoryDeletedUpstream: false,
    ...s,
  });
  const keepLast = (n: number): Retention => ({ mode: 'BY_COUNT', keepLast: n });
  const byTime = (fullDays: number, differentialDays: number, incrementalDays: number): Retention => ({
    mode: 'BY_TIME',
    fullDays,
    differentialDays,
    incrementalDays,
  });
  const keptIds = (r: RetentionResult) => r.keep.map((d) => d.id);
  const forgottenIds = (r: RetentionResult) => r.forget.map((d) => d.id);
  const reasonsOf = (r: RetentionResult, id: string) => [...r.keep, ...r.forget].find((d) => d.id === id)?.reasons;

  /** full ← inc1 ← inc2, a day apart, plus an older full nobody needs. */
  const chain = [
    aSnapshot({ id: 'old-full', copyType: 'FULL', createdAt: daysAgo(40) }),
    aSnapshot({ id: 'full', copyType: 'FULL', createdAt: daysAgo(3) }),
    aSnapshot({ id: 'inc1', createdAt: daysAgo(2), parentId: 'full' }),
    aSnapshot({ id: 'inc2', createdAt: daysAgo(1), parentId: 'inc1' }),
  ];

  describe('dependencies', () => {
    it('keeps the full a kept incremental depends on', () => {
      const snapshots = [
        aSnapshot({ id: 'full', copyType: 'FULL', createdAt: daysAgo(2) }),
        aSnapshot({ id: 'inc', createdAt: daysAgo(1), parentId: 'full' }),
      ];
      const result = applyRetention(snapshots, keepLast(1), NOW);
      expect(keptIds(result)).toEqual(['inc', 'full']);
      expect(reasonsOf(result, 'full')).toEqual(['needed by inc']);
    });

    it('keeps the whole chain of a kept incremental, each link naming the snapshot that needs it', () => {
      const result = applyRetention(chain, keepLast(1), NOW);
      expect(keptIds(result)).toEqual(['inc2', 'inc1', 'full']);
      expect(reasonsOf(result, 'inc1')).toEqual(['needed by inc2']);
      expect(reasonsOf(result, 'full')).toEqual(['needed by inc1']);
    });

    it('forgets a snapshot no kept snapshot depends on', () => {
      expect(forgottenIds(applyRetention(chain, keepLast(3), NOW))).toEqual(['old-full']);
    });

    it('lists every kept snapshot that depends on a full, newest first', () => {
      const snapshots = [
        aSnapshot({ id: 'full', copyType: 'FULL', createdAt: daysAgo(9) }),
        aSnapshot({ id: 'diff1', copyType: 'DIFFERENTIAL', createdAt: daysAgo(8), parentId: 'full' }),
        aSnapshot({ id: 'diff2', copyType: 'DIFFERENTIAL', createdAt: daysAgo(1), parentId: 'full' }),
      ];
      expect(reasonsOf(applyRetention(snapshots, keepLast(2), NOW), 'full')).toEqual([
        'needed by diff2',
        'needed by diff1',
      ]);
    });

    it('keeps a parent even when malformed input files it under another repository', () => {
      const snapshots = [
        aSnapshot({ id: 'full', repositoryId: 'other', copyType: 'FULL', createdAt: daysAgo(400) }),
        aSnapshot({ id: 'inc', parentId: 'full' }),
      ];
      expect(keptIds(applyRetention(snapshots, byTime(30, 30, 30), NOW))).toContain('full');
    });

    it('ignores a parent missing from the input', () => {
      const result = applyRetention([aSnapshot({ id: 'inc', parentId: 'gone' })], keepLast(1), NOW);
      expect(result).toEqual({ keep: [{ id: 'inc', reasons: ['the last restore point'] }], forget: [] });
    });

    it('stops on a cycle of parents instead of looping', () => {
      const snapshots = [
        aSnapshot({ id: 'x', parentId: 'y', createdAt: daysAgo(1) }),
        aSnapshot({ id: 'y', parentId: 'x', createdAt: daysAgo(2) }),
      ];
      expect(keptIds(applyRetention(snapshots, keepLast(1), NOW))).toEqual(['x', 'y']);
    });
  });

  describe('with BY_COUNT', () => {
    it('keeps the newest N restore points of each repository on its own', () => {
      const snapshots = ['a', 'b'].flatMap((repositoryId) =>
        [3, 2, 1].map((age) =>
          aSnapshot({ id: `${repositoryId}${age}`, repositoryId, copyType: 'FULL', createdAt: daysAgo(age) }),
        ),
      );
      const result = applyRetention(snapshots, keepLast(2), NOW);
      expect(keptIds(result)).toEqual(['a1', 'a2', 'b1', 'b2']);
      expect(result.forget).toEqual([
        { id: 'a3', reasons: ['older than the last 2 restore points'] },
        { id: 'b3', reasons: ['older than the last 2 restore points'] },
      ]);
    });

    it('does not depend on the order of the input', () => {
      expect(applyRetention([...chain].reverse(), keepLast(2), NOW)).toEqual(applyRetention(chain, keepLast(2), NOW));
    });
  });

  describe('with BY_TIME', () => {
    it('keeps each copy type for its own number of days', () => {
      const snapshots = [
        aSnapshot({ id: 'full', copyType: 'FULL', createdAt: daysAgo(20) }),
        aSnapshot({ id: 'diff', copyType: 'DIFFERENTIAL', createdAt: daysAgo(20) }),
        aSnapshot({ id: 'inc', copyType: 'INCREMENTAL', createdAt: daysAgo(20) }),
        aSnapshot({ id: 'newest', copyType: 'FULL', createdAt: daysAgo(0) }),
      ];
      const result = applyRetention(snapshots, byTime(30, 20, 10), NOW);
      expect(reasonsOf(result, 'full')).toEqual(['within the 30 days full copies are kept']);
      expect(reasonsOf(result, 'diff')).toEqual(['within the 20 days differential copies are kept']);
      expect(result.forget).toEqual([{ id: 'inc', reasons: ['older than the 10 days incremental copies are kept'] }]);
    });

    it('keeps a snapshot exactly the given days old and forgets one a millisecond older', () => {
      const snapshots = [
        aSnapshot({ id: 'on-the-day', copyType: 'FULL', createdAt: daysAgo(7) }),
        aSnapshot({ id: 'just-older', copyType: 'FULL', createdAt: new Date(daysAgo(7).getTime() - 1) }),
      ];
      const result = applyRetention(snapshots, byTime(7, 7, 7), NOW);
      expect([keptIds(result), forgottenIds(result)]).toEqual([['on-the-day'], ['just-older']]);
    });

    it('keeps a snapshot dated after now', () => {
      const snapshots = [
        aSnapshot({ id: 'future', createdAt: new Date(NOW.getTime() + DAY) }),
        aSnapshot({ id: 'now' }),
      ];
      expect(keptIds(applyRetention(snapshots, byTime(1, 1, 1), NOW))).toEqual(['future', 'now']);
    });
  });

  describe('with KEEP_FOREVER', () => {
    it('keeps every snapshot', () => {
      expect(forgottenIds(applyRetention(chain, { mode: 'KEEP_FOREVER' }, NOW))).toEqual([]);
    });
  });

  describe('rules no policy overrides', () => {
    it('keeps the newest snapshot of a repository deleted upstream, with its chain', () => {
      const deleted = chain.map((s) => ({
        ...s,
        createdAt: new Date(s.createdAt.getTime() - 365 * DAY),
        repositoryDeletedUpstream: true,
      }));
      const result = applyRetention(deleted, byTime(30, 30, 30), NOW);
      expect(result.keep).toEqual([
        { id: 'inc2', reasons: ['last copy of a repository deleted upstream'] },
        { id: 'inc1', reasons: ['needed by inc2'] },
        { id: 'full', reasons: ['needed by inc1'] },
      ]);
      expect(forgottenIds(result)).toEqual(['old-full']);
    });

    it('says a repository deleted upstream keeps its last copy even when the policy keeps it anyway', () => {
      const result = applyRetention([aSnapshot({ id: 'only', repositoryDeletedUpstream: true })], keepLast(1), NOW);
      expect(reasonsOf(result, 'only')).toEqual([
        'the last restore point',
        'last copy of a repository deleted upstream',
      ]);
    });

    it('never leaves a repository without its newest snapshot when backups have stalled', () => {
      const stalled = chain.map((s) => ({ ...s, createdAt: new Date(s.createdAt.getTime() - 365 * DAY) }));
      const result = applyRetention(stalled, byTime(30, 30, 30), NOW);
      expect(result.keep).toEqual([
        { id: 'inc2', reasons: ['newest snapshot of the repository'] },
        { id: 'inc1', reasons: ['needed by inc2'] },
        { id: 'full', reasons: ['needed by inc1'] },
      ]);
    });
  });

  it('refuses input listing one snapshot twice', () => {
    expect(() => applyRetention([aSnapshot({ id: 'x' }), aSnapshot({ id: 'x' })], keepLast(1), NOW)).toThrow(
      'snapshot x is listed twice',
    );
  });
});
