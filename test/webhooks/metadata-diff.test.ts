/**
 * metadataDiff on hand-built snapshots: volatile fields GitLab moves by itself (a project's
 * last_activity_at, statistics…) do not make a record "changed"; real changes still do.
 */
import { describe, expect, it } from '@jest/globals';
import type { Manifest, ManifestArtifact } from '../../server/src/snapshot/manifest.js';
import type { SnapshotEntity } from '../../server/src/snapshot/snapshot.entity.js';
import { metadataDiff, VOLATILE_FIELDS, type MetadataSide } from '../../server/src/webhooks/metadata-diff.js';

type Row = Record<string, unknown>;

/** A snapshot whose only metadata is one OK type holding `rows`; the reader hands them back. */
function aSide(id: string, type: string, rows: Row[]): MetadataSide & { rows: Row[] } {
  const artifact: ManifestArtifact = {
    path: `metadata/${type}.jsonl.gz`,
    kind: 'METADATA',
    size: 1,
    sha256: '0'.repeat(64),
    compression: 'GZIP',
    encrypted: false,
    metadataType: type,
    records: rows.length,
  };
  const manifest = {
    snapshotId: id,
    artifacts: [artifact],
    metadata: { [type]: { status: 'OK', records: rows.length } },
  } as unknown as Manifest;
  return { snapshot: { id } as SnapshotEntity, manifest, rows };
}

async function diffOf(type: string, before: Row[], after: Row[]) {
  const from = aSide('from', type, before);
  const to = aSide('to', type, after);
  const sides = new Map([
    ['from', from.rows],
    ['to', to.rows],
  ]);
  const deps = {
    reader: {
      async *records(snapshot: SnapshotEntity) {
        yield* sides.get(snapshot.id)!;
      },
    },
    keyFor: async () => Buffer.alloc(32),
  };
  const [diff] = await metadataDiff(deps, from, to);
  return diff;
}

const project = {
  id: 7,
  name: 'app',
  visibility: 'private',
  merge_method: 'merge',
  last_activity_at: '2026-12-01T10:00:00.000Z',
  updated_at: '2026-12-01T10:00:00.000Z',
  open_issues_count: 1,
  statistics: { commit_count: 3, repository_size: 1000 },
};
const afterAPush = {
  ...project,
  last_activity_at: '2026-12-02T10:00:00.000Z',
  updated_at: '2026-12-02T10:00:00.000Z',
  open_issues_count: 2,
  statistics: { commit_count: 4, repository_size: 1200 },
};

describe('metadataDiff', () => {
  describe('volatile fields', () => {
    it('documents the project fields GitLab changes by itself', () => {
      expect(VOLATILE_FIELDS.project_settings).toEqual(
        expect.arrayContaining(['last_activity_at', 'statistics', 'updated_at']),
      );
    });

    it('does not count project settings as changed when only activity time and statistics moved', async () => {
      const diff = await diffOf('project_settings', [project], [afterAPush]);
      expect(diff).toMatchObject({ isCompared: true, changedCount: 0, changed: [] });
    });

    it('still reports a real settings change, naming only the field that changed', async () => {
      const diff = await diffOf('project_settings', [project], [{ ...afterAPush, merge_method: 'ff' }]);
      expect(diff.changed).toEqual([{ key: '7', label: 'app', fields: ['merge_method'] }]);
    });

    it('ignores a volatile field that appears or disappears (statistics need Reporter access)', async () => {
      const { statistics: _dropped, ...withoutStatistics } = afterAPush;
      const diff = await diffOf('project_settings', [project], [withoutStatistics]);
      expect(diff.changedCount).toBe(0);
    });

    it('keeps comparing the same field names on other types (an issue whose updated_at moved is changed)', async () => {
      const issue = { id: 1, iid: 1, title: 'bug', updated_at: '2026-12-01T10:00:00.000Z' };
      const diff = await diffOf('issues', [issue], [{ ...issue, updated_at: '2026-12-02T10:00:00.000Z' }]);
      expect(diff.changed).toEqual([{ key: '1', label: 'bug', fields: ['updated_at'] }]);
    });
  });
});
