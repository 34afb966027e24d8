/**
 * The fidelity report of one restored snapshot: for every type the snapshot holds — the
 * repository's refs, the wiki, LFS objects and each metadata type — how many items were captured,
 * restored (created, or already in the target), left out on purpose (with the reason) and failed
 * (with GitLab's reason). A type the backup itself could not capture is listed with that reason.
 * A restore that left out or failed anything it captured never ends SUCCEEDED (isComplete).
 */
import type { Manifest } from '../snapshot/manifest.js';
import { EXISTS_UPSTREAM, gitlabReadOnlyReason } from './git-restore.js';
import type { NewProjectOutcome } from './new-project.js';
import type { SettingsTypeReport } from './settings-restore.js';
import { notRestoredReason } from './coverage.js';
import type { EpicRestoreReport } from './epic-restore.js';

export interface TypeOutcome {
  type: string;
  captured: number;
  restored: number;
  /** Left out on purpose (not restorable, not mapped…): `reasons` say why. */
  skipped: number;
  failed: number;
  reasons: string[];
}

/** A group snapshot's types and the report section that restores each. */
const GROUP_SECTIONS: Record<string, string> = {
  group_labels: 'labels',
  group_milestones: 'milestones',
  group_members: 'members',
};

/**
 * `metadataLeftOut`: why this restore writes no metadata (includeMetadata false, or target
 * ORIGINAL, whose promise is refs, wiki and LFS only); such types are listed as skipped with it.
 */
export function fidelityOf(
  manifest: Manifest,
  outcome: NewProjectOutcome,
  options: { metadataLeftOut: string | null },
): TypeOutcome[] {
  const types: TypeOutcome[] = [];
  for (const which of ['git', 'wiki'] as const) {
    const state = manifest[which];
    if (!state || Object.keys(state.refs).length === 0) continue;
    const refs = Object.keys(state.refs);
    const readOnly = refs.filter((ref) => gitlabReadOnlyReason(ref));
    const push = outcome[which];
    const rejected = push?.rejected ?? [];
    // MISSING_ONLY restores only what the project lacks: a ref it has at another commit keeps that
    // commit, as promised, and the report names it rather than let it pass for the snapshot's
    const diverged = (push?.skipped ?? []).filter((s) => s.reason === EXISTS_UPSTREAM).map((s) => s.ref);
    const failedWhole = push === null ? outcome.problems.filter((p) => p.startsWith(`${which}:`)) : [];
    types.push({
      type: which === 'git' ? 'repository' : 'wiki',
      captured: refs.length,
      restored: push ? push.pushed.length + push.skipped.filter((s) => !gitlabReadOnlyReason(s.ref)).length : 0,
      skipped: readOnly.length,
      failed: push ? rejected.length : refs.length - readOnly.length,
      reasons: [
        ...(readOnly.length
          ? [`${readOnly.length} ref(s) GitLab keeps for itself (refs/merge-requests/*, …) are written by GitLab only`]
          : []),
        ...rejected.map((r) => `${r.ref}: ${r.reason}`),
        ...(diverged.length
          ? [
              `${diverged.length} ref(s) exist upstream at another commit and were left as they are: ${diverged.join(', ')}`,
            ]
          : []),
        ...failedWhole,
      ],
    });
  }
  if (outcome.lfs) {
    const stored = manifest.lfs
      ? manifest.lfs.objects.length - manifest.lfs.missing.length - manifest.lfs.failed.length
      : 0;
    const captured = Math.max(stored, outcome.lfs.uploaded + outcome.lfs.present + outcome.lfs.failed);
    types.push({
      type: 'lfs',
      captured,
      restored: outcome.lfs.uploaded + outcome.lfs.present,
      skipped: 0,
      failed: outcome.lfs.failed,
      reasons: outcome.problems.filter((p) => p.startsWith('lfs ')),
    });
  }
  for (const [type, entry] of Object.entries(manifest.metadata)) {
    if (entry.status !== 'OK') {
      types.push({
        type,
        captured: 0,
        restored: 0,
        skipped: 0,
        failed: 0,
        reasons: [`not captured by the backup (${entry.status.toLowerCase()}: ${entry.reason ?? 'no reason given'})`],
      });
      continue;
    }
    if (type === 'epics' && !options.metadataLeftOut) {
      types.push(epicsOutcome(entry.records, outcome.epics));
      continue;
    }
    const key = GROUP_SECTIONS[type] ?? type;
    const section =
      outcome.metadata?.[key as keyof NonNullable<NewProjectOutcome['metadata']>] ??
      outcome.settings?.[key as keyof NonNullable<NewProjectOutcome['settings']>];
    if (options.metadataLeftOut) {
      types.push({
        type,
        captured: entry.records,
        restored: 0,
        skipped: entry.records,
        failed: 0,
        reasons: [options.metadataLeftOut],
      });
      continue;
    }
    if (!section) {
      const reason =
        notRestoredReason(type, 'newProject') ??
        (type === 'subgroups' ? null : `${type} are not written back by this target`);
      if (reason === null)
        types.push({
          type,
          captured: entry.records,
          restored: entry.records,
          skipped: 0,
          failed: 0,
          reasons: ['recreated as the groups of this restore'],
        });
      else
        types.push({
          type,
          captured: entry.records,
          restored: 0,
          skipped: entry.records,
          failed: 0,
          reasons: [reason],
        });
      continue;
    }
    const extra = section as Partial<SettingsTypeReport>;
    const omitted = extra.omitted ?? [];
    const notes = extra.notes ?? [];
    types.push({
      type,
      captured: entry.records,
      restored: section.created + section.skipped,
      skipped: omitted.length,
      failed: section.failed.length,
      reasons: [
        ...omitted.map((o) => `${o.sourceId}: ${o.reason}`),
        ...section.failed.map((f) => `${f.sourceId}: ${f.reason}`),
        ...notes,
      ],
    });
  }
  return types;
}

/** A group's epics: restored, or all skipped with the reason (a target tier without epics). */
function epicsOutcome(captured: number, epics: EpicRestoreReport | undefined): TypeOutcome {
  if (!epics)
    return {
      type: 'epics',
      captured,
      restored: 0,
      skipped: captured,
      failed: 0,
      reasons: captured ? ['epics were not read back from the snapshot'] : [],
    };
  if (epics.unavailable)
    return { type: 'epics', captured, restored: 0, skipped: captured, failed: 0, reasons: [epics.unavailable] };
  return {
    type: 'epics',
    captured,
    restored: epics.created + epics.skipped,
    skipped: 0,
    failed: epics.failed.length,
    reasons: [...epics.failed.map((f) => `${f.sourceId}: ${f.reason}`), ...epics.notes],
  };
}

/** Whether every captured item came back (restored or already there). */
export function isComplete(types: readonly TypeOutcome[]): boolean {
  return types.every((t) => t.skipped === 0 && t.failed === 0 && t.restored >= t.captured);
}
