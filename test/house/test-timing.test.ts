import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';

/**
 * Tests wait on events, never on the clock: a per-test timeout, a short timeout on an event wait or
 * an awaited sleep passes on a quiet machine and fails on a busy one. The one safety net is
 * jest's testTimeout and test/support/timeouts.ts (EVENT_TIMEOUT_MS) for event waits.
 */
const testRoot = new URL('..', import.meta.url).pathname;

const rules: { name: string; pattern: RegExp }[] = [
  // `it('…', async () => { … }, 60_000);` and the same on hooks
  { name: 'a per-test or per-hook timeout', pattern: /^\s*\}, \d[\d_]{3,}\);$/ },
  // `sub.next(predicate, 60_000)`, `nextJob(t, 'x', 60_000)`, `runBackup(t, org, {}, 60_000)`
  { name: 'a fixed timeout on an event wait', pattern: /\b(?:next|nextJob|runBackup|waitFor)\(.*,\s*\d[\d_]{3,}\)/ },
  // Playwright: `.waitFor({ timeout: 60_000 })`, `page.waitForTimeout(…)`
  { name: 'a fixed timeout on a page wait', pattern: /\{\s*timeout:\s*\d[\d_]{3,}\s*\}|\bwaitForTimeout\(/ },
  // `await new Promise((r) => setTimeout(r, 50));`
  { name: 'an awaited sleep', pattern: /await new Promise(?:<void>)?\(\(?(\w+)\)? => setTimeout\(\1, \d/ },
];

async function testFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'fixtures') out.push(...(await testFiles(path)));
    } else if (/\.(ts|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

describe('test timing', () => {
  it('no test waits on the clock: no per-test timeouts, fixed timeouts on event waits or sleeps', async () => {
    const found: string[] = [];
    for (const file of await testFiles(testRoot)) {
      if (file === new URL(import.meta.url).pathname) continue;
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        for (const rule of rules)
          if (rule.pattern.test(line)) found.push(`${relative(testRoot, file)}:${i + 1}: ${rule.name}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it('recognises each kind it forbids', () => {
    const samples = [
      '  }, 60_000);',
      '    await sub.next((e) => e.done, 30_000);',
      "  await page.getByText('x').waitFor({ timeout: 60_000 });",
      '    await new Promise((r) => setTimeout(r, 50));',
    ];
    expect(samples.map((s) => rules.filter((r) => r.pattern.test(s)).map((r) => r.name))).toEqual([
      ['a per-test or per-hook timeout'],
      ['a fixed timeout on an event wait'],
      ['a fixed timeout on a page wait'],
      ['an awaited sleep'],
    ]);
  });
});
