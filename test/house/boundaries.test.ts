import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseConfig from 'dependency-cruiser/config-utl/extract-depcruise-config';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

/**
 * The import-boundary rules of docs/DESIGN.md ("Layers"), as `.dependency-cruiser.cjs` states
 * them, run on two small trees under test/fixtures/boundaries: one where every layer imports only
 * what it may, one with one wrong import per rule. `npm run boundaries` runs the same rules on
 * the real server/src and client/src.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(repoRoot, 'test/fixtures/boundaries');

interface Violation {
  rule: string;
  from: string;
  to: string;
}

async function violationsIn(tree: 'allowed' | 'forbidden'): Promise<Violation[]> {
  const ruleSet = await extractDepcruiseConfig(path.join(repoRoot, '.dependency-cruiser.cjs'));
  const tsConfig = extractTSConfig(path.join(repoRoot, 'tsconfig.json'));
  const result = await cruise(
    ['server/src'],
    { ...ruleSet.options, ruleSet, validate: true, baseDir: path.join(fixtures, tree), outputType: 'json' },
    undefined,
    { tsConfig },
  );
  const output = (typeof result.output === 'string' ? JSON.parse(result.output) : result.output) as ICruiseResult;
  return output.summary.violations
    .map((violation) => ({ rule: violation.rule.name, from: violation.from, to: violation.to }))
    .sort((a, b) => `${a.rule}${a.from}`.localeCompare(`${b.rule}${b.from}`));
}

describe('the import-boundary check', () => {
  it('passes on a tree where edges import domains, domains import adapters and restore reads through snapshot/', async () => {
    expect(await violationsIn('allowed')).toEqual([]);
  });

  it('fails on each wrong import, naming the rule, the importing file and the imported one', async () => {
    expect(await violationsIn('forbidden')).toEqual(
      [
        {
          rule: 'adapters-import-no-domain',
          from: 'server/src/gitlab/metadata.client.ts',
          to: 'server/src/backup/policy.types.ts',
        },
        {
          rule: 'composition-root-imported-by-no-module',
          from: 'server/src/graphql/schema.ts',
          to: 'server/src/app.ts',
        },
        {
          rule: 'domain-surface-imports-no-jobs',
          from: 'server/src/backup/backup.resolver.ts',
          to: 'server/src/jobs/job-names.ts',
        },
        {
          rule: 'domains-import-no-edge',
          from: 'server/src/backup/backup.service.ts',
          to: 'server/src/graphql/pubsub.ts',
        },
        {
          rule: 'domains-import-no-edge',
          from: 'server/src/organizations/sync.service.ts',
          to: 'server/src/jobs/job-names.ts',
        },
        {
          rule: 'domains-use-no-edge-package',
          from: 'server/src/backup/backup.entity.ts',
          to: expect.stringMatching(/node_modules\/type-graphql\//) as unknown as string,
        },
        {
          rule: 'foundations-import-no-domain',
          from: 'server/src/shared/ids.ts',
          to: 'server/src/backup/backup.service.ts',
        },
        {
          rule: 'layer-unknown',
          from: 'server/src/workers/worker.service.ts',
          to: 'server/src/utils/helpers.ts',
        },
        {
          rule: 'restore-reads-through-snapshot',
          from: 'server/src/restore/drill-scheduler.ts',
          to: 'server/src/backup/backup-schedule.ts',
        },
        {
          rule: 'restore-reads-through-snapshot',
          from: 'server/src/restore/restore-plan.ts',
          to: 'server/src/backup/manifest.ts',
        },
        {
          rule: 'snapshot-below-backup-and-restore',
          from: 'server/src/snapshot/snapshot-reader.ts',
          to: 'server/src/backup/manifest.ts',
        },
      ].sort((a, b) => `${a.rule}${a.from}`.localeCompare(`${b.rule}${b.from}`)),
    );
  });
});
