import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { GROUP_METADATA_TYPES, METADATA_TYPES } from '../../server/src/gitlab/metadata.types.js';
import { COVERAGE, notRestoredReason, renderCoverageMatrix } from '../../server/src/restore/coverage.js';
import { EPICS_NOT_ON_TIER } from '../../server/src/restore/epic-restore.js';
import { fidelityOf } from '../../server/src/restore/fidelity.js';
import { RESTORABLE_TYPES } from '../../server/src/restore/metadata-restore.js';
import type { NewProjectOutcome } from '../../server/src/restore/new-project.js';
import { SETTINGS_TYPES } from '../../server/src/restore/settings-restore.js';
import type { Manifest } from '../../server/src/snapshot/manifest.js';

/**
 * The coverage matrix (server/src/restore/coverage.ts) is the one list of what each restore target
 * does with each captured type; docs/COVERAGE.md is generated from it and the fidelity report
 * takes its reasons from it.
 */
describe('the coverage matrix', () => {
  it('has a restore decision for every type a snapshot captures', () => {
    const captured = ['repository', 'wiki', 'lfs', ...METADATA_TYPES, ...GROUP_METADATA_TYPES].sort();
    expect(Object.keys(COVERAGE).sort()).toEqual(captured);
  });

  it('says NEW_PROJECT restores exactly the project types the restore engine writes', () => {
    const written = new Set<string>([...RESTORABLE_TYPES, ...SETTINGS_TYPES]);
    for (const type of METADATA_TYPES)
      expect({ type, restored: 'restored' in COVERAGE[type].newProject }).toEqual({
        type,
        restored: written.has(type),
      });
  });

  it('is what docs/COVERAGE.md says (regenerate with server/src/restore/coverage-emit.ts)', async () => {
    const doc = await readFile(new URL('../../docs/COVERAGE.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderCoverageMatrix());
  });

  it('reports epics skipped with the plain reason when the target’s tier has none, and restored where it has them', () => {
    const manifest = {
      metadata: { epics: { status: 'OK', records: 2 }, subgroups: { status: 'OK', records: 1 } },
      artifacts: [],
    } as unknown as Manifest;
    const outcome = (epics: Partial<NonNullable<NewProjectOutcome['epics']>>) =>
      ({
        metadata: null,
        problems: [],
        lfs: null,
        git: null,
        wiki: null,
        epics: { created: 0, skipped: 0, failed: [], unavailable: null, notes: [], ...epics },
      }) as unknown as NewProjectOutcome;
    const onFree = fidelityOf(manifest, outcome({ unavailable: EPICS_NOT_ON_TIER }), { metadataLeftOut: null });
    const onPremium = fidelityOf(manifest, outcome({ created: 2, notes: ['the epic hierarchy was flattened: …'] }), {
      metadataLeftOut: null,
    });
    expect(onFree.find((t) => t.type === 'epics')).toEqual({
      type: 'epics',
      captured: 2,
      restored: 0,
      skipped: 2,
      failed: 0,
      reasons: [EPICS_NOT_ON_TIER],
    });
    expect(onPremium.find((t) => t.type === 'epics')).toEqual({
      type: 'epics',
      captured: 2,
      restored: 2,
      skipped: 0,
      failed: 0,
      reasons: ['the epic hierarchy was flattened: …'],
    });
    expect(onFree.find((t) => t.type === 'subgroups')).toMatchObject({ restored: 1, skipped: 0 });
  });

  it('has NEW_PROJECT restore every group type, epics included', () => {
    expect(GROUP_METADATA_TYPES.filter((type) => notRestoredReason(type, 'newProject') !== null)).toEqual([]);
  });
});
