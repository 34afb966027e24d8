/**
 * Restores a group snapshot's epics into the matching target group (group-restore.ts).
 *
 * Tiers: epics are GitLab Premium, multi-level epics (a parent epic) Ultimate. The target group's
 * epics are listed first: a 403 there means its tier has no epics, and the whole type is reported
 * skipped with that reason — never a failure of the restore. Below Ultimate the epics come back
 * without their hierarchy, and the report says it was flattened and why.
 *
 * Order and parents: epics are created parents first (a parent before its children, whatever the
 * snapshot's order), each without a parent, and a child is then linked to its restored parent
 * through the epic links API. Passing `parent_id` on create was rejected: below Ultimate GitLab
 * creates the epic anyway and answers 400, which would leave an epic the restore cannot account
 * for; a separate link answers a plain 403 instead. A parent in another group — GitLab allows the
 * parent's group or an ancestor of the child's — is found among the epics the run placed before
 * (`placedInRun`: group snapshots are restored parents first), and the link is made on the
 * parent's target group; a parent in a group the restore does not include is not linked, and the
 * report names it. Of GitLab's 409 answers to a link only "already assigned" means done; the
 * others (the hierarchy's rules) fail the link with GitLab's reason.
 *
 * Idempotency, as for issues (metadata-restore.ts): each epic is looked up in `mappings` (kind
 * `epic`, source id → `<target id>:<target iid>`) before it is created, then by the marker of its
 * header (`restored by Labkeeper from &3`), so a crash between a create and its mapping creates
 * no duplicate; a closed epic found open is closed; a link GitLab already has (409) counts as done.
 *
 * Authors: as for issues — through Sudo when the connection may (`asAuthors`) and the author has
 * a user of the same username on the target, else the connection's user with an "Originally by"
 * header. Labels are sent by name (the group's labels are restored before its epics).
 *
 * References: once every epic is placed, `&3` in a description (an epic of the same group) is
 * rewritten to the iid that epic got on the target, as issues' `#12` are (metadata-references.ts),
 * by a second write of the description; an epic that was not restored keeps its reference as
 * written. Bare `#12` and `!4` are left alone: on a group-level item GitLab resolves them against
 * no project (they render as plain text). Project-qualified ones (`app#12`, `acme/app!4`) name
 * projects that are restored after their group: such a description is kept (`projectReferences`)
 * and written once the run's projects are placed (rewriteEpicProjectReferences). The rewrite is
 * idempotent: a description that already reads as wanted is not written again, and one without
 * our header (not written by a restore) is never touched.
 * Issues go back into their epics with the projects' restore (issueEpicLinker, below).
 */
import { isDomainError } from '../shared/errors.js';
import type { MetadataRecord } from '../gitlab/metadata.port.js';
import type { GitLabMetadataWriter } from '../gitlab/metadata.writer.js';
import type { RestoreMappings } from './metadata-mappings.js';
import type { DeferredText } from './project-references.js';
import {
  hasQualifiedReferences,
  originHeader,
  originMarker,
  rewriteReferences,
  withHeader,
  type ReferenceResolver,
} from './metadata-references.js';

export interface EpicRestoreReport {
  created: number;
  /** Already in the target (a mapping, or the marker of an earlier run). */
  skipped: number;
  failed: { sourceId: string; reason: string }[];
  /** Why no epic could be written (the target's tier has none), or null. */
  unavailable: string | null;
  /** What restored epics lost on the way (parent links, authors). */
  notes: string[];
}

export interface RestoreEpicsInput {
  writer: GitLabMetadataWriter;
  groupId: number;
  records: AsyncIterable<MetadataRecord>;
  mappings: RestoreMappings;
  dryRun: boolean;
  asAuthors: boolean;
  /**
   * The epics this restore run placed so far, in every group, by source epic id; this group's
   * are added as they are placed. A child finds its parent in an ancestor group here.
   */
  placedInRun?: EpicPlacements;
  /**
   * Where epic descriptions that name projects (`app#12`) are kept for rewriting once the run's
   * projects are restored (rewriteEpicProjectReferences); without it they are left as written.
   */
  projectReferences?: { sourceGroupPath: string; targetGroupPath: string; texts: DeferredText[] };
}

/** Where a source epic went on the target: its group and ids there (null: it failed, or a dry run would create it). */
export type EpicPlacements = Map<number, { groupId: number; id: number; iid: number } | null>;

/** The reason a target without epics gets, in plain words. */
export const EPICS_NOT_ON_TIER =
  'not written: the target group’s GitLab tier has no epics, which need GitLab Premium or Ultimate (GitLab answered 403)';
export const HIERARCHY_FLATTENED =
  'the target group’s GitLab tier has no multi-level epics, which need GitLab Ultimate (GitLab answered 403 to the link)';

interface Placed {
  id: number;
  iid: number;
  parentId: number | null;
  state: string;
}

export async function restoreEpics(input: RestoreEpicsInput): Promise<EpicRestoreReport> {
  const report: EpicRestoreReport = { created: 0, skipped: 0, failed: [], unavailable: null, notes: [] };
  const records: MetadataRecord[] = [];
  for await (const record of input.records) records.push(record);
  if (records.length === 0) return report;

  let existing: MetadataRecord[];
  try {
    existing = await input.writer.listGroupEpics(input.groupId);
  } catch (error) {
    if (isDomainError(error, 'GITLAB_FORBIDDEN') && error.details?.status === 403) {
      report.unavailable = EPICS_NOT_ON_TIER;
      return report;
    }
    throw error;
  }
  const byTargetId = new Map<number, Placed>();
  for (const e of existing)
    if (typeof e.id === 'number' && typeof e.iid === 'number')
      byTargetId.set(e.id, {
        id: e.id,
        iid: e.iid,
        parentId: typeof e.parent_id === 'number' ? e.parent_id : null,
        state: String(e.state),
      });

  /** Source epic id → where it is on the target (null: failed, or a dry run's would-be epic). */
  const placed = new Map<number, Placed | null>();
  const users = new Map<string, { id: number; username: string } | null>();
  const targetUser = async (username: string) => {
    if (!users.has(username)) users.set(username, await input.writer.findUser(username));
    return users.get(username)!;
  };
  const flattened: string[] = [];
  let linksRefused = false;
  /** Target epic id → its description on the target, as listed or as this run wrote it. */
  const descriptions = new Map<number, string>();
  for (const e of existing)
    if (typeof e.id === 'number' && typeof e.description === 'string') descriptions.set(e.id, e.description);

  for (const record of parentsFirst(records)) {
    const sourceId = typeof record.id === 'number' ? record.id : null;
    const sourceIid = typeof record.iid === 'number' ? record.iid : null;
    if (sourceId === null || sourceIid === null) {
      report.failed.push({ sourceId: String(record.id), reason: 'the record has no numeric id and iid' });
      continue;
    }
    const from = `&${sourceIid}`;
    try {
      const { target, outcome } = await placeEpic(record, from);
      placed.set(sourceId, target);
      input.placedInRun?.set(sourceId, target && { groupId: input.groupId, id: target.id, iid: target.iid });
      report[outcome] += 1;
    } catch (error) {
      if (isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
      placed.set(sourceId, null);
      input.placedInRun?.set(sourceId, null);
      report.failed.push({ sourceId: from, reason: error instanceof Error ? error.message : String(error) });
      continue;
    }
    await linkToParent(record, from, sourceId);
  }
  if (!input.dryRun) await rewriteEpicReferences();
  if (flattened.length)
    report.notes.push(
      `the epic hierarchy was flattened: ${flattened.join(', ')} restored without ${flattened.length === 1 ? 'its parent' : 'their parents'}, because ${HIERARCHY_FLATTENED}`,
    );
  return report;

  async function placeEpic(
    record: MetadataRecord,
    from: string,
  ): Promise<{ target: Placed | null; outcome: 'created' | 'skipped' }> {
    const closed = record.state === 'closed';
    const known = await input.mappings.get('epic', String(record.id));
    const [id, iid] = (known ?? '').split(':').map(Number);
    let found = known !== null ? (byTargetId.get(id) ?? { id, iid, parentId: null, state: 'opened' }) : undefined;
    if (!found) {
      const marker = originMarker(from);
      const orphan = existing.find((e) => typeof e.description === 'string' && marker.test(e.description));
      if (orphan && typeof orphan.id === 'number') found = byTargetId.get(orphan.id);
    }
    if (found) {
      // A crash may have come between the create and the close (the mapping is stored after both).
      if (closed && found.state === 'opened' && !input.dryRun) {
        await input.writer.updateEpic(input.groupId, found.iid, { stateEvent: 'close' });
        found.state = 'closed';
      }
      if (known === null && !input.dryRun)
        await input.mappings.set('epic', String(record.id), `${found.id}:${found.iid}`);
      return { target: found, outcome: 'skipped' };
    }
    if (input.dryRun) return { target: null, outcome: 'created' };
    const title = typeof record.title === 'string' && record.title ? record.title : null;
    if (title === null) throw new Error('the record has no title');
    const body = typeof record.description === 'string' ? record.description : '';
    const fields = {
      title,
      labels: Array.isArray(record.labels) ? record.labels.filter((l): l is string => typeof l === 'string') : [],
      confidential: record.confidential === true,
      startDateFixed: record.start_date_is_fixed === true ? stringOr(record.start_date_fixed) : null,
      dueDateFixed: record.due_date_is_fixed === true ? stringOr(record.due_date_fixed) : null,
      createdAt: stringOr(record.created_at),
    };
    const author = authorOf(record);
    const user = input.asAuthors && author ? await targetUser(author) : null;
    let created: { id: number; iid: number } | null = null;
    let description = withHeader(originHeader(record, from, '', true), body);
    if (user) {
      try {
        created = await input.writer.createEpic(input.groupId, { ...fields, description, sudo: user.username });
      } catch (error) {
        const status = isDomainError(error) ? error.details?.status : undefined;
        if (status !== 403 && status !== 404) throw error;
        report.notes.push(`${from}: written by the connection's user: GitLab refused to act as @${user.username}`);
      }
    } else if (input.asAuthors && author) {
      report.notes.push(`${from}: author @${author} has no user on the target; "originally by" kept in the text`);
    }
    if (!created) {
      description = withHeader(originHeader(record, from), body);
      created = await input.writer.createEpic(input.groupId, { ...fields, description });
    }
    descriptions.set(created.id, description);
    if (closed) await input.writer.updateEpic(input.groupId, created.iid, { stateEvent: 'close' });
    await input.mappings.set('epic', String(record.id), `${created.id}:${created.iid}`);
    const target = { ...created, parentId: null, state: closed ? 'closed' : 'opened' };
    byTargetId.set(created.id, target);
    return { target, outcome: 'created' };
  }

  /** Rewrites `&<source iid>` in the placed epics' descriptions to the iids the epics got here. */
  async function rewriteEpicReferences(): Promise<void> {
    const newIids = new Map<number, number>();
    for (const r of records) {
      const target = typeof r.id === 'number' ? placed.get(r.id) : null;
      if (target && typeof r.iid === 'number') newIids.set(r.iid, target.iid);
    }
    const resolve: ReferenceResolver = async (sigil, iid) =>
      sigil === '&' && newIids.has(iid) ? `&${newIids.get(iid)}` : null;
    for (const record of records) {
      const target = typeof record.id === 'number' ? placed.get(record.id) : null;
      const body = typeof record.description === 'string' ? record.description : '';
      const current = target ? descriptions.get(target.id) : undefined;
      if (!target || !body || current === undefined) continue;
      const rewritten = await rewriteReferences(body, resolve);
      const from = `&${String(record.iid)}`;
      const [header] = current.split('\n\n', 1);
      if (!originMarker(from).test(header)) continue;
      if (input.projectReferences && hasQualifiedReferences(rewritten)) {
        // Written once, with its project references too, after the projects (rewriteEpicProjectReferences).
        const { sourceGroupPath, targetGroupPath, texts } = input.projectReferences;
        const { groupId, writer } = input;
        texts.push({
          owner: sourceGroupPath,
          from,
          sourceNamespacePath: sourceGroupPath,
          targetNamespacePath: targetGroupPath,
          header,
          body: rewritten,
          current,
          write: (description) => writer.updateEpic(groupId, target.iid, { description }),
        });
        continue;
      }
      if (rewritten === body) continue;
      const wanted = withHeader(header, rewritten);
      if (wanted === current) continue;
      try {
        await input.writer.updateEpic(input.groupId, target.iid, { description: wanted });
        descriptions.set(target.id, wanted);
      } catch (error) {
        if (isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
        report.failed.push({
          sourceId: from,
          reason: `restored, but its references were not rewritten: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
  }

  async function linkToParent(record: MetadataRecord, from: string, sourceId: number): Promise<void> {
    const parentSourceId = typeof record.parent_id === 'number' ? record.parent_id : null;
    if (parentSourceId === null) return;
    const child = placed.get(sourceId);
    // This group's epic, else one an earlier group of the run placed (an ancestor group's).
    const parent = placed.has(parentSourceId)
      ? placed.get(parentSourceId) && { groupId: input.groupId, ...placed.get(parentSourceId)! }
      : input.placedInRun?.get(parentSourceId);
    if (parent === undefined) {
      report.notes.push(
        `${from}: its parent epic is in another group, which this restore does not include; the link was not restored`,
      );
      return;
    }
    // A dry run cannot ask GitLab without writing; a failed parent or child is already reported.
    if (input.dryRun || !child || !parent || child.parentId === parent.id) return;
    if (linksRefused) {
      flattened.push(from);
      return;
    }
    try {
      await input.writer.linkChildEpic(parent.groupId, parent.iid, child.id);
      child.parentId = parent.id;
    } catch (error) {
      const status = isDomainError(error) ? error.details?.status : undefined;
      const said = isDomainError(error) ? error.details?.gitlabMessage : undefined;
      // GitLab has it already; its other 409s are the hierarchy's rules (ancestor, depth, group), reported below.
      if (status === 409 && typeof said === 'string' && /already assigned/i.test(said)) return;
      if (status === 403) {
        linksRefused = true;
        flattened.push(from);
        return;
      }
      report.failed.push({
        sourceId: from,
        reason: `restored, but not linked to its parent: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }
}

/**
 * The records in an order that puts every parent (present in the list) before its children,
 * otherwise as captured; a cycle (which GitLab does not allow) keeps the captured order.
 */
export function parentsFirst(records: MetadataRecord[]): MetadataRecord[] {
  const byId = new Map(records.filter((r) => typeof r.id === 'number').map((r) => [r.id as number, r]));
  const out: MetadataRecord[] = [];
  const done = new Set<MetadataRecord>();
  const visit = (record: MetadataRecord, depth: number) => {
    if (done.has(record)) return;
    const parent = typeof record.parent_id === 'number' ? byId.get(record.parent_id) : undefined;
    if (parent && depth < records.length) visit(parent, depth + 1);
    if (done.has(record)) return;
    done.add(record);
    out.push(record);
  };
  for (const record of records) visit(record, 0);
  return out;
}

function authorOf(record: MetadataRecord): string | null {
  const author = record.author;
  const username =
    author !== null && typeof author === 'object' ? (author as Record<string, unknown>).username : undefined;
  return typeof username === 'string' && username ? username : null;
}

function stringOr(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * Puts restored issues back in their restored epics (metadata-restore.ts `linkToEpic`). The
 * epic's group comes from its `url` (`…/groups/<path>/-/epics/<iid>`, GitLab's EpicBaseEntity),
 * the target group from the restore's path mapping, the target epic from that group's mappings
 * (group snapshots are restored before the projects). Answers null when linked (or already), else
 * why not.
 */
export function issueEpicLinker(input: {
  writer: GitLabMetadataWriter;
  /** The target group at a full path, or null when there is none. */
  findGroup: (fullPath: string) => Promise<{ id: number } | null>;
  mappingsOf: (groupId: number) => RestoreMappings;
  /** The target path of a source group. */
  targetPathOf: (sourceGroupPath: string) => string;
}): (epic: MetadataRecord, issueId: number) => Promise<string | null> {
  const groups = new Map<string, Promise<{ id: number } | null>>();
  return async (epic, issueId) => {
    const match = typeof epic.url === 'string' ? /\/groups\/(.+?)\/-\/epics\/\d+/.exec(epic.url) : null;
    if (!match) return 'the snapshot does not say which group the epic is in';
    const path = input.targetPathOf(match[1]);
    if (!groups.has(path)) groups.set(path, input.findGroup(path));
    const group = await groups.get(path)!;
    if (!group) return `the target has no group ${path}`;
    const mapped = await input.mappingsOf(group.id).get('epic', String(epic.id));
    if (mapped === null) return `the epic was not restored to ${path}`;
    try {
      await input.writer.assignIssueToEpic(group.id, Number(mapped.split(':')[1]), issueId);
    } catch (error) {
      const status = isDomainError(error) ? error.details?.status : undefined;
      if (status === 409) return null; // in the epic already
      if (status === 403) return `GitLab refused the link in ${path} (403: its tier has no epics, or no access)`;
      throw error;
    }
    return null;
  };
}
