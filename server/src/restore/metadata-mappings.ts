/**
 * What a metadata restore has already created: source id → target id, per kind. The restore
 * looks a record up before creating it and stores the pair right after, so a run that crashed
 * or was cancelled can simply be started again without creating anything twice. The engine backs
 * this with a database table (one row per restore target, kind and source id); tests use
 * InMemoryRestoreMappings.
 *
 * Source ids: labels, milestones, notes and snippets by GitLab id; issues and merge requests by
 * iid; releases by tag name. Target ids: labels, milestones, notes, snippets by id; issues by iid;
 * merge requests by iid, or `issue:<iid>` when the merge request was restored as an issue; releases
 * by tag name. Epics (scope of their target group) by GitLab id → `<target id>:<target iid>`. Projects (scope `<connectionId>:projects`): `<repositoryId>><target path>` → the
 * project a NEW_PROJECT restore created there (target-namespace.ts).
 */
export const RESTORE_KINDS = [
  'label',
  'milestone',
  'issue',
  'note',
  'merge_request',
  'release',
  'snippet',
  'project',
  'epic',
] as const;
export type RestoreKind = (typeof RESTORE_KINDS)[number];

export interface RestoreMappings {
  get(kind: RestoreKind, sourceId: string): Promise<string | null>;
  set(kind: RestoreKind, sourceId: string, targetId: string): Promise<void>;
}

export class InMemoryRestoreMappings implements RestoreMappings {
  private readonly pairs = new Map<string, string>();

  async get(kind: RestoreKind, sourceId: string): Promise<string | null> {
    return this.pairs.get(`${kind}\u0000${sourceId}`) ?? null;
  }

  async set(kind: RestoreKind, sourceId: string, targetId: string): Promise<void> {
    this.pairs.set(`${kind}\u0000${sourceId}`, targetId);
  }

  /** How many pairs of one kind are stored. */
  count(kind: RestoreKind): number {
    let n = 0;
    for (const key of this.pairs.keys()) if (key.startsWith(`${kind}\u0000`)) n += 1;
    return n;
  }
}
