/**
 * Restores one project's metadata (as a snapshot stores it: GitLab's own JSON, issues with their
 * `notes`, merge requests with `notes` and `versions`) into a target project through a
 * GitLabMetadataWriter.
 *
 * Order: labels, milestones, issues, merge requests, then — once every new number is known — the
 * issues' and merge requests' descriptions are rewritten and their notes created, then releases
 * and snippets.
 *
 * Cross-references (two passes, chosen over "create in iid order"): iids cannot be chosen in
 * general (GitLab accepts `iid` on issues from administrators only, never on merge requests, and
 * a target project may already hold issues), so issues and merge requests are first created with
 * their text as written; when all of them exist, each description that holds a reference is
 * rewritten with one PUT, and notes — which the API cannot edit cheaply — are only created in
 * that second pass, already rewritten. The second pass needs the records again: a source given as
 * a function (`() => AsyncIterable`, e.g. one that reopens the snapshot's file) is read twice and
 * only numbers are kept in between; a plain AsyncIterable is held in memory between the passes.
 *
 * What the API cannot set is kept in the text: every description and note starts with
 * `*Originally by @alice on 2026-01-02 (restored by Labkeeper from #12)*`. `created_at` is also
 * sent (GitLab honours it on issues and notes for administrators and owners). System notes are
 * not restored: GitLab writes its own for what the restore does.
 *
 * Authors: with `asAuthors` (the connection is an administrator whose token has the `sudo`
 * scope), issues, merge requests, notes and snippets are written as their original author through
 * GitLab's `Sudo` header when a user of the same username exists on the target; the header then
 * reads `*Created on 2026-01-02 (restored by Labkeeper from #12)*`. An author GitLab refuses to act
 * as (no access to the project: 403/404) is written by the connection's user with the "Originally
 * by" header, and the report says so. (GitLab honours `created_at` only for administrators and
 * owners, so a record written as its author carries its date in the header alone.)
 *
 * People and milestones: assignees and reviewers are mapped by username to the target's users;
 * one without a user there, or one GitLab drops because they cannot read the project, is named in
 * the type's `notes`. A milestone is found by title: a project milestone among the project's, a
 * group milestone among those of the project's groups (`include_ancestors`).
 *
 * A merge request whose source or target branch does not exist in the target becomes an issue
 * titled `[merge request !3] <title>` whose header says so; `!3` references then point to it.
 * Merged and closed merge requests are restored closed (the API cannot merge history).
 *
 * Idempotency: every record is looked up in `mappings` before it is created and stored right
 * after. Labels and milestones also match an existing one by name/title (GitLab refuses
 * duplicates), issues, merge requests and snippets by the marker in their header (`restored by
 * Labkeeper from #12`, `!3`, `$7`), notes by their exact text, so a crash between a create and its
 * mapping creates no duplicate either; releases answer 409 for an existing tag.
 *
 * An issue's link to its epic is written back through `linkToEpic` (the epics themselves are
 * restored with the group, before the projects); a link that cannot be made is named in the
 * issues' notes.
 *
 * Failures are per record: the record is reported as failed with GitLab's reason and the restore
 * goes on (children of a failed issue fail with it). Only an invalid token stops it.
 */
import { isDomainError } from '../shared/errors.js';
import type { MetadataRecord } from '../gitlab/metadata.port.js';
import type { GitLabMetadataWriter } from '../gitlab/metadata.writer.js';
import type { RestoreKind, RestoreMappings } from './metadata-mappings.js';
import {
  originHeader,
  hasQualifiedReferences,
  originMarker,
  rewriteReferences,
  withHeader,
  type ReferenceResolver,
} from './metadata-references.js';
import type { DeferredText } from './project-references.js';

export { InMemoryRestoreMappings, RESTORE_KINDS, type RestoreKind, type RestoreMappings } from './metadata-mappings.js';

/** The metadata types a project restore reads from a snapshot. */
export const RESTORABLE_TYPES = ['labels', 'milestones', 'issues', 'merge_requests', 'releases', 'snippets'] as const;
export type RestorableType = (typeof RESTORABLE_TYPES)[number];

/** Report sections: the restorable types plus `notes` (of issues and merge requests). */
export type RestoreReportType = RestorableType | 'notes';

export interface RestoreFailure {
  sourceId: string;
  reason: string;
}

export interface TypeRestoreReport {
  created: number;
  /** Already in the target (a mapping, or the same name/title/marker). */
  skipped: number;
  failed: RestoreFailure[];
  /** Restored records that lost something on the way (an assignee, a milestone, the author…), said per record. */
  notes?: string[];
}

export type MetadataRestoreReport = Record<RestoreReportType, TypeRestoreReport>;

export interface RestoreProgressEvent {
  type: RestoreReportType;
  sourceId: string;
  outcome: 'created' | 'skipped' | 'failed';
}

export interface RestoreProjectMetadataInput {
  writer: GitLabMetadataWriter;
  targetProjectId: number;
  /**
   * Each type's records, as the snapshot holds them; a missing type restores nothing. A function
   * is called once per pass (issues and merge requests are read twice), which keeps memory flat.
   */
  source: Partial<Record<RestorableType, RecordSource>>;
  mappings: RestoreMappings;
  /** Report what would be created or skipped; reads the target, writes nothing. */
  dryRun?: boolean;
  /** Write records as their original authors (GitLab's `Sudo`; the connection is an administrator with the sudo scope). */
  asAuthors?: boolean;
  /**
   * Puts the target issue (global id) in the restored counterpart of the source issue's `epic`;
   * answers null when it is there, else why not. Without it, the links are noted as not restored.
   */
  linkToEpic?: (epic: MetadataRecord, issueId: number) => Promise<string | null>;
  onProgress?: (event: RestoreProgressEvent) => void;
  /**
   * Where issue and merge request descriptions that name other projects (`other#5`, `acme/other!3`)
   * are kept, to be written once the run's projects are placed (epic-restore.ts
   * rewriteProjectReferences); without it they are written with those references as they were.
   */
  projectReferences?: { sourceProjectPath: string; targetProjectPath: string; texts: DeferredText[] };
}

export type RecordSource = AsyncIterable<MetadataRecord> | (() => AsyncIterable<MetadataRecord>);

function open(source: RecordSource): AsyncIterable<MetadataRecord> {
  return typeof source === 'function' ? source() : source;
}

interface Pending {
  /** The source record; null between the passes when the source can be read again. */
  record: MetadataRecord | null;
  /** Source iid. */
  sourceIid: number;
  /** Where it landed: an issue or a merge request of the target, or null (failed / dry run). */
  target: { kind: 'issue' | 'merge_request'; iid: number } | null;
  /** The header written before the body (kept out of reference rewriting). */
  header: string;
  /** `#12` or `!3`: the source record as GitLab references it. */
  from: string;
}

export async function restoreProjectMetadata(input: RestoreProjectMetadataInput): Promise<MetadataRestoreReport> {
  return new MetadataRestore(input).run();
}

function emptyReport(): MetadataRestoreReport {
  const section = (): TypeRestoreReport => ({ created: 0, skipped: 0, failed: [] });
  return {
    labels: section(),
    milestones: section(),
    issues: section(),
    merge_requests: section(),
    notes: section(),
    releases: section(),
    snippets: section(),
  };
}

class MetadataRestore {
  private readonly report = emptyReport();
  private readonly writer: GitLabMetadataWriter;
  private readonly project: number;
  private readonly mappings: RestoreMappings;
  private readonly dryRun: boolean;
  /** Source label id → target label id; source milestone iid → target iid; project milestone title → target id. */
  private readonly labelIds = new Map<number, number>();
  private readonly milestoneIids = new Map<number, number>();
  private readonly milestoneByTitle = new Map<string, number>();
  /** Group milestone title → id, among the target project's groups (read once, when first needed). */
  private groupMilestones: Map<string, number> | null = null;
  /** Target users by username (null: none there). */
  private readonly users = new Map<string, { id: number; username: string } | null>();
  private existingIssues: MetadataRecord[] | null = null;
  private existingMergeRequests: MetadataRecord[] | null = null;

  constructor(private readonly input: RestoreProjectMetadataInput) {
    this.writer = input.writer;
    this.project = input.targetProjectId;
    this.mappings = input.mappings;
    this.dryRun = input.dryRun ?? false;
  }

  async run(): Promise<MetadataRestoreReport> {
    const { source } = this.input;
    if (source.labels) await this.labels(open(source.labels));
    if (source.milestones) await this.milestones(open(source.milestones));
    const issues = source.issues ? await this.issues(open(source.issues), typeof source.issues === 'function') : [];
    const mergeRequests = source.merge_requests
      ? await this.mergeRequests(open(source.merge_requests), typeof source.merge_requests === 'function')
      : [];
    for (const { from, sourceIid, target } of [...issues, ...mergeRequests]) {
      if (target === null) continue;
      const reference = `${target.kind === 'issue' ? '#' : '!'}${target.iid}`;
      (from.startsWith('#') ? this.issueTargets : this.mergeRequestTargets).set(sourceIid, reference);
    }
    for await (const pending of this.again('issues', issues)) await this.secondPass(pending);
    for await (const pending of this.again('merge_requests', mergeRequests)) await this.secondPass(pending);
    if (source.releases) await this.releases(open(source.releases));
    if (source.snippets) await this.snippets(open(source.snippets));
    return this.report;
  }

  /** The first pass's items with their records: held ones, or read again from the source. */
  private async *again(
    type: 'issues' | 'merge_requests',
    pending: Pending[],
  ): AsyncGenerator<Pending & { record: MetadataRecord }> {
    const source = this.input.source[type];
    if (typeof source !== 'function') {
      for (const item of pending) if (item.record !== null) yield { ...item, record: item.record };
      return;
    }
    const byIid = new Map(pending.map((item) => [item.sourceIid, item]));
    for await (const record of source()) {
      const item = typeof record.iid === 'number' ? byIid.get(record.iid) : undefined;
      if (item) {
        byIid.delete(record.iid as number);
        yield { ...item, record };
      }
    }
  }

  // ---- bookkeeping --------------------------------------------------------------------------

  private outcome(type: RestoreReportType, sourceId: string, outcome: 'created' | 'skipped'): void {
    this.report[type][outcome] += 1;
    this.input.onProgress?.({ type, sourceId, outcome });
  }

  private fail(type: RestoreReportType, sourceId: string, error: unknown): void {
    // Nothing else will work with a rejected token: stop instead of failing every record.
    if (isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    this.report[type].failed.push({ sourceId, reason });
    this.input.onProgress?.({ type, sourceId, outcome: 'failed' });
  }

  /**
   * Runs one record's restore and reports what `create` says happened; a rejection is the record's
   * failure. (A description rewrite that fails in the second pass adds a failure to a record
   * already counted as created: it exists, but its references still carry the old numbers.)
   */
  private async attempt(
    type: RestoreReportType,
    sourceId: string,
    create: () => Promise<'created' | 'skipped'>,
  ): Promise<void> {
    try {
      this.outcome(type, sourceId, await create());
    } catch (error) {
      this.fail(type, sourceId, error);
    }
  }

  private async mapped(kind: RestoreKind, sourceId: string): Promise<string | null> {
    return this.mappings.get(kind, sourceId);
  }

  private async remember(kind: RestoreKind, sourceId: string, targetId: string): Promise<void> {
    if (!this.dryRun) await this.mappings.set(kind, sourceId, targetId);
  }

  // ---- labels and milestones ----------------------------------------------------------------

  private async labels(records: AsyncIterable<MetadataRecord>): Promise<void> {
    const existing = new Map<string, number>();
    for (const label of await this.writer.listLabels(this.project)) {
      if (typeof label.name === 'string' && typeof label.id === 'number') existing.set(label.name, label.id);
    }
    for await (const record of records) {
      const sourceId = String(record.id);
      await this.attempt('labels', sourceId, async () => {
        const name = requireString(record, 'name');
        const known = await this.mapped('label', sourceId);
        const found = known ?? (existing.has(name) ? String(existing.get(name)) : null);
        if (found !== null) {
          this.labelIds.set(Number(record.id), Number(found));
          if (known === null) await this.remember('label', sourceId, found);
          return 'skipped';
        }
        if (this.dryRun) return 'created';
        const created = await this.writer.createLabel(this.project, {
          name,
          color: stringOr(record.color, '#6699cc'),
          description: stringOr(record.description, null),
          priority: typeof record.priority === 'number' ? record.priority : null,
        });
        existing.set(name, created.id);
        this.labelIds.set(Number(record.id), created.id);
        await this.remember('label', sourceId, String(created.id));
        return 'created';
      });
    }
  }

  private async milestones(records: AsyncIterable<MetadataRecord>): Promise<void> {
    const existing = new Map<string, { id: number; iid: number; closed: boolean }>();
    const byId = new Map<number, { id: number; iid: number; closed: boolean }>();
    for (const milestone of await this.writer.listMilestones(this.project)) {
      if (
        typeof milestone.title === 'string' &&
        typeof milestone.id === 'number' &&
        typeof milestone.iid === 'number'
      ) {
        const found = { id: milestone.id, iid: milestone.iid, closed: milestone.state === 'closed' };
        existing.set(milestone.title, found);
        byId.set(milestone.id, found);
      }
    }
    for await (const record of records) {
      const sourceId = String(record.id);
      await this.attempt('milestones', sourceId, async () => {
        const title = requireString(record, 'title');
        const sourceIid = typeof record.iid === 'number' ? record.iid : null;
        const place = async (id: number, iid: number | undefined, closed: boolean) => {
          this.milestoneByTitle.set(title, id);
          if (sourceIid !== null && iid !== undefined) this.milestoneIids.set(sourceIid, iid);
          // Milestones are created active; a closed one is closed afterwards (also when an
          // earlier run created it and stopped before closing it).
          if (record.state === 'closed' && !closed && !this.dryRun)
            await this.writer.updateMilestone(this.project, id, { stateEvent: 'close' });
        };
        const known = await this.mapped('milestone', sourceId);
        if (known !== null) {
          const found = byId.get(Number(known));
          await place(Number(known), found?.iid, found?.closed ?? true);
          return 'skipped';
        }
        const same = existing.get(title);
        if (same) {
          await place(same.id, same.iid, same.closed);
          await this.remember('milestone', sourceId, String(same.id));
          return 'skipped';
        }
        if (this.dryRun) {
          this.milestoneByTitle.set(title, 0); // would exist
          return 'created';
        }
        const created = await this.writer.createMilestone(this.project, {
          title,
          description: stringOr(record.description, null),
          dueDate: stringOr(record.due_date, null),
          startDate: stringOr(record.start_date, null),
        });
        existing.set(title, { id: created.id, iid: created.iid, closed: false });
        await this.remember('milestone', sourceId, String(created.id));
        await place(created.id, created.iid, false);
        return 'created';
      });
    }
  }

  // ---- issues and merge requests: first pass ------------------------------------------------

  /** An issue (or merge request) of the target whose header names `from`: a create whose mapping was never stored. */
  private async orphan(from: string, kind: 'issue' | 'merge_request', closed: boolean): Promise<number | null> {
    let existing: MetadataRecord[];
    if (kind === 'issue') existing = this.existingIssues ??= await this.writer.listIssues(this.project);
    else existing = this.existingMergeRequests ??= await this.writer.listMergeRequests(this.project);
    const marker = originMarker(from);
    const found = existing.find((record) => typeof record.description === 'string' && marker.test(record.description));
    if (!found || typeof found.iid !== 'number') return null;
    // The crash may have come between the create and the close (the mapping is stored after both).
    if (closed && found.state === 'opened' && !this.dryRun) {
      if (kind === 'issue') await this.writer.updateIssue(this.project, found.iid, { stateEvent: 'close' });
      else await this.writer.updateMergeRequest(this.project, found.iid, { stateEvent: 'close' });
    }
    return found.iid;
  }

  private async issueFields(record: MetadataRecord, type: 'issues' | 'merge_requests', from: string) {
    const labels = Array.isArray(record.labels) ? record.labels.filter((l): l is string => typeof l === 'string') : [];
    return { labels, milestoneId: await this.milestoneOf(record, type, from) };
  }

  /** The target milestone of an issue or merge request, by title: the project's own, or one of its groups'. */
  private async milestoneOf(record: MetadataRecord, type: RestoreReportType, from: string): Promise<number | null> {
    const milestone =
      record.milestone !== null && typeof record.milestone === 'object' ? (record.milestone as MetadataRecord) : null;
    if (!milestone || typeof milestone.title !== 'string') return null;
    const title = milestone.title;
    const isGroup = typeof milestone.group_id === 'number';
    let id = isGroup ? undefined : this.milestoneByTitle.get(title);
    if (id === undefined && isGroup) {
      if (this.groupMilestones === null) {
        this.groupMilestones = new Map();
        for (const m of await this.writer.listAvailableMilestones(this.project))
          if (typeof m.group_id === 'number' && typeof m.title === 'string' && typeof m.id === 'number')
            this.groupMilestones.set(m.title, m.id);
      }
      id = this.groupMilestones.get(title);
      // A dry run against a project that does not exist yet cannot see its groups' milestones.
      if (id === undefined && this.dryRun) return null;
    }
    if (id === undefined) {
      this.note(type, `${from}: milestone "${title}" is not on the target${isGroup ? ' (group milestone)' : ''}`);
      return null;
    }
    return id > 0 ? id : null;
  }

  private note(type: RestoreReportType, text: string): void {
    (this.report[type].notes ??= []).push(text);
  }

  private async targetUser(username: string): Promise<{ id: number; username: string } | null> {
    if (!this.users.has(username)) this.users.set(username, await this.writer.findUser(username));
    return this.users.get(username)!;
  }

  /** The target users for a record's assignees or reviewers (by username); one missing there is noted. */
  private async people(
    record: MetadataRecord,
    field: 'assignees' | 'reviewers',
    type: RestoreReportType,
    from: string,
  ): Promise<number[]> {
    const listed = Array.isArray(record[field])
      ? (record[field] as unknown[])
      : field === 'assignees' && record.assignee
        ? [record.assignee]
        : [];
    const ids: number[] = [];
    for (const person of listed) {
      const username = person !== null && typeof person === 'object' ? (person as MetadataRecord).username : undefined;
      if (typeof username !== 'string') continue;
      const found = await this.targetUser(username);
      if (found) ids.push(found.id);
      else this.note(type, `${from}: ${field.slice(0, -1)} @${username} has no user on the target`);
    }
    return ids;
  }

  /** Names the people GitLab did not keep (it drops, without an error, users who cannot read the project). */
  private dropped(asked: number[], kept: number[] | undefined, what: string, type: RestoreReportType, from: string) {
    if (kept === undefined) return;
    for (const id of asked) {
      if (kept.includes(id)) continue;
      const user = [...this.users.values()].find((u) => u?.id === id);
      this.note(
        type,
        `${from}: GitLab did not keep ${what} @${user?.username ?? id} (no access to the target project?)`,
      );
    }
  }

  /**
   * Writes a record as its author (Sudo) when that is allowed and the author exists on the
   * target; otherwise, or when GitLab refuses to act as them (403/404: no access), as the
   * connection's user. `kept` says which happened.
   */
  private async asAuthor<T>(
    record: MetadataRecord,
    type: RestoreReportType,
    from: string,
    write: (sudo: string | null) => Promise<T>,
  ): Promise<{ value: T; kept: boolean }> {
    const username = authorUsername(record);
    const author = this.input.asAuthors && username ? await this.targetUser(username) : null;
    if (author) {
      try {
        return { value: await write(author.username), kept: true };
      } catch (error) {
        const status = isDomainError(error) ? error.details?.status : undefined;
        if (status !== 403 && status !== 404) throw error;
        this.note(type, `${from}: written by the connection's user: GitLab refused to act as @${author.username}`);
      }
    } else if (this.input.asAuthors && username) {
      this.note(type, `${from}: author @${username} has no user on the target; "originally by" kept in the text`);
    }
    return { value: await write(null), kept: false };
  }

  private async issues(records: AsyncIterable<MetadataRecord>, readAgain: boolean): Promise<Pending[]> {
    const pending: Pending[] = [];
    for await (const record of records) {
      const sourceIid = typeof record.iid === 'number' ? record.iid : null;
      if (sourceIid === null) {
        this.fail('issues', String(record.id), new Error('the record has no numeric iid'));
        continue;
      }
      const header = originHeader(record, `#${sourceIid}`);
      const item: Pending = { record, sourceIid, target: null, header, from: `#${sourceIid}` };
      pending.push(item);

      await this.attempt('issues', String(sourceIid), async () => {
        const known = (await this.mapped('issue', String(sourceIid))) ?? null;
        if (known !== null) {
          item.target = { kind: 'issue', iid: Number(known) };
          return 'skipped';
        }
        const orphan = await this.orphan(`#${sourceIid}`, 'issue', record.state === 'closed');
        if (orphan !== null) {
          item.target = { kind: 'issue', iid: orphan };
          await this.remember('issue', String(sourceIid), String(orphan));
          return 'skipped';
        }
        const from = `#${sourceIid}`;
        const { labels, milestoneId } = await this.issueFields(record, 'issues', from);
        const assigneeIds = await this.people(record, 'assignees', 'issues', from);
        if (this.dryRun) return 'created';
        const { value: created, kept } = await this.asAuthor(record, 'issues', from, (sudo) =>
          this.writer.createIssue(this.project, {
            title: requireString(record, 'title'),
            description: withHeader(
              sudo ? originHeader(record, from, '', true) : header,
              stringOr(record.description, ''),
            ),
            labels,
            milestoneId,
            confidential: record.confidential === true,
            dueDate: stringOr(record.due_date, null),
            createdAt: stringOr(record.created_at, null),
            assigneeIds,
            sudo,
          }),
        );
        if (kept) item.header = originHeader(record, from, '', true);
        this.dropped(assigneeIds, created.assigneeIds, 'assignee', 'issues', from);
        if (record.state === 'closed')
          await this.writer.updateIssue(this.project, created.iid, { stateEvent: 'close' });
        item.target = { kind: 'issue', iid: created.iid };
        this.issueIds.set(created.iid, created.id);
        await this.remember('issue', String(sourceIid), String(created.iid));
        return 'created';
      });
      await this.epicLink(record, item);
      if (readAgain) item.record = null;
    }
    return pending;
  }

  /** Target issue iid → global id, for the issues created this run. */
  private readonly issueIds = new Map<number, number>();

  /**
   * Puts a restored issue back in its epic (`linkToEpic`); without a linker, or when the link
   * cannot be made, the issue's notes say so. A dry run predicts the link.
   */
  private async epicLink(record: MetadataRecord, item: Pending): Promise<void> {
    const epic = record.epic !== null && typeof record.epic === 'object' ? (record.epic as MetadataRecord) : null;
    if (!epic || typeof epic.iid !== 'number') return;
    const { linkToEpic } = this.input;
    const lost = (reason: string) =>
      this.note('issues', `${item.from}: its link to epic &${String(epic.iid)} was not restored (${reason})`);
    if (!linkToEpic) return lost('links between issues and epics are not written back by this restore');
    if (this.dryRun || item.target === null || item.target.kind !== 'issue') return;
    const iid = item.target.iid;
    let id = this.issueIds.get(iid);
    if (id === undefined) {
      this.existingIssues ??= await this.writer.listIssues(this.project);
      const found = this.existingIssues.find((i) => i.iid === iid);
      id = typeof found?.id === 'number' ? found.id : undefined;
    }
    try {
      const reason = id === undefined ? 'the restored issue was not found on the target' : await linkToEpic(epic, id);
      if (reason) lost(reason);
    } catch (error) {
      if (isDomainError(error, 'GITLAB_UNAUTHORIZED')) throw error;
      lost(error instanceof Error ? error.message : String(error));
    }
  }

  private async mergeRequests(records: AsyncIterable<MetadataRecord>, readAgain: boolean): Promise<Pending[]> {
    const pending: Pending[] = [];
    for await (const record of records) {
      const sourceIid = typeof record.iid === 'number' ? record.iid : null;
      if (sourceIid === null) {
        this.fail('merge_requests', String(record.id), new Error('the record has no numeric iid'));
        continue;
      }
      const merged = record.state === 'merged' ? `, merged${onDay(record.merged_at)}` : '';
      const item: Pending = {
        record,
        sourceIid,
        target: null,
        header: originHeader(record, `!${sourceIid}`, merged),
        from: `!${sourceIid}`,
      };
      pending.push(item);
      await this.attempt('merge_requests', String(sourceIid), async () => {
        const known = await this.mapped('merge_request', String(sourceIid));
        if (known !== null) {
          item.target = known.startsWith('issue:')
            ? { kind: 'issue', iid: Number(known.slice(6)) }
            : { kind: 'merge_request', iid: Number(known) };
          if (item.target.kind === 'issue') item.header = this.fallbackHeader(record, sourceIid, merged);
          return 'skipped';
        }
        const open = record.state === 'opened' || record.state === 'locked';
        const orphanMr = await this.orphan(`!${sourceIid}`, 'merge_request', !open);
        if (orphanMr !== null) {
          item.target = { kind: 'merge_request', iid: orphanMr };
          await this.remember('merge_request', String(sourceIid), String(orphanMr));
          return 'skipped';
        }
        const orphan = await this.orphan(`!${sourceIid}`, 'issue', !open);
        if (orphan !== null) {
          item.target = { kind: 'issue', iid: orphan };
          item.header = this.fallbackHeader(record, sourceIid, merged);
          await this.remember('merge_request', String(sourceIid), `issue:${orphan}`);
          return 'skipped';
        }
        const from = `!${sourceIid}`;
        const { labels, milestoneId } = await this.issueFields(record, 'merge_requests', from);
        const assigneeIds = await this.people(record, 'assignees', 'merge_requests', from);
        const reviewerIds = await this.people(record, 'reviewers', 'merge_requests', from);
        if (this.dryRun) return 'created';
        const title = requireString(record, 'title');
        const body = stringOr(record.description, '');
        const authored = originHeader(record, from, merged, true);
        const { value: created, kept } = await this.asAuthor(record, 'merge_requests', from, (sudo) =>
          this.writer.createMergeRequest(this.project, {
            title,
            description: withHeader(sudo ? authored : item.header, body),
            labels,
            milestoneId,
            sourceBranch: requireString(record, 'source_branch'),
            targetBranch: requireString(record, 'target_branch'),
            squash: record.squash === true ? true : undefined,
            assigneeIds,
            reviewerIds,
            sudo,
          }),
        );
        if (kept && !('missingBranch' in created)) item.header = authored;
        if ('missingBranch' in created) {
          item.header = this.fallbackHeader(record, sourceIid, merged, created.missingBranch);
          const issue = await this.writer.createIssue(this.project, {
            title: `[merge request !${sourceIid}] ${title}`,
            description: withHeader(item.header, body),
            labels,
            milestoneId,
            createdAt: stringOr(record.created_at, null),
            assigneeIds,
          });
          this.dropped(assigneeIds, issue.assigneeIds, 'assignee', 'merge_requests', from);
          if (reviewerIds.length) this.note('merge_requests', `${from}: restored as an issue, which has no reviewers`);
          if (!open) await this.writer.updateIssue(this.project, issue.iid, { stateEvent: 'close' });
          item.target = { kind: 'issue', iid: issue.iid };
          await this.remember('merge_request', String(sourceIid), `issue:${issue.iid}`);
          return 'created';
        }
        this.dropped(assigneeIds, created.assigneeIds, 'assignee', 'merge_requests', from);
        this.dropped(reviewerIds, created.reviewerIds, 'reviewer', 'merge_requests', from);
        if (!open) await this.writer.updateMergeRequest(this.project, created.iid, { stateEvent: 'close' });
        item.target = { kind: 'merge_request', iid: created.iid };
        await this.remember('merge_request', String(sourceIid), String(created.iid));
        return 'created';
      });
      if (readAgain) item.record = null;
    }
    return pending;
  }

  private fallbackHeader(record: MetadataRecord, sourceIid: number, merged: string, missingBranch?: string): string {
    const branches = `${stringOr(record.source_branch, '?')} into ${stringOr(record.target_branch, '?')}`;
    const why = missingBranch ? `: branch ${missingBranch} does not exist here` : '';
    return originHeader(record, `!${sourceIid} as an issue${why}`, `${merged}, a merge request of ${branches}`);
  }

  // ---- second pass: rewritten descriptions, notes -------------------------------------------

  private readonly resolved = new Map<string, string | null>();
  /** Source iid → the new reference (`#7`, `!2`), for every issue and merge request placed this run. */
  private readonly issueTargets = new Map<number, string>();
  private readonly mergeRequestTargets = new Map<number, string>();

  private readonly resolve: ReferenceResolver = async (sigil, number) => {
    const key = `${sigil}${number}`;
    if (this.resolved.has(key)) return this.resolved.get(key)!;
    let value: string | null;
    if (sigil === '#' || sigil === '!') {
      // Where this run put it (first pass), else where an earlier run did.
      const placed = (sigil === '#' ? this.issueTargets : this.mergeRequestTargets).get(number);
      if (placed) value = placed;
      else {
        const target = await this.mappings.get(sigil === '#' ? 'issue' : 'merge_request', String(number));
        value = target === null ? null : target.startsWith('issue:') ? `#${target.slice(6)}` : `${sigil}${target}`;
      }
    } else if (sigil === '&') {
      value = null; // an epic of the project's group: the group's restore places epics, not this one
    } else if (sigil === '%') {
      const iid = this.milestoneIids.get(number);
      value = iid !== undefined ? `%${iid}` : null;
    } else {
      const id = this.labelIds.get(number);
      value = id !== undefined ? `~${id}` : null;
    }
    this.resolved.set(key, value);
    return value;
  };

  private async secondPass(item: Pending & { record: MetadataRecord }): Promise<void> {
    const { record, target } = item;
    if (target !== null && !this.dryRun) {
      const type = item.from.startsWith('!') ? 'merge_requests' : 'issues';
      try {
        const body = stringOr(record.description, '');
        const rewritten = await rewriteReferences(body, this.resolve);
        const deferred = this.input.projectReferences;
        if (deferred && hasQualifiedReferences(rewritten)) {
          // Written once, with its references to other projects too, after the run's projects.
          const { writer, project } = this;
          const namespaceOf = (path: string) => path.slice(0, path.lastIndexOf('/'));
          deferred.texts.push({
            owner: deferred.sourceProjectPath,
            from: item.from,
            sourceNamespacePath: namespaceOf(deferred.sourceProjectPath),
            targetNamespacePath: namespaceOf(deferred.targetProjectPath),
            header: item.header,
            body: rewritten,
            current: withHeader(item.header, body),
            write: (description) =>
              target.kind === 'issue'
                ? writer.updateIssue(project, target.iid, { description })
                : writer.updateMergeRequest(project, target.iid, { description }),
          });
        } else if (rewritten !== body) {
          const change = { description: withHeader(item.header, rewritten) };
          if (target.kind === 'issue') await this.writer.updateIssue(this.project, target.iid, change);
          else await this.writer.updateMergeRequest(this.project, target.iid, change);
        }
      } catch (error) {
        this.fail(type, String(item.sourceIid), error);
      }
    }
    const notes = Array.isArray(record.notes) ? (record.notes as unknown[]) : [];
    // The target's notes with their ids, fetched once when a note has no mapping: a note created
    // just before a crash (mapping never stored) is found again by its exact text. Each existing
    // note matches once, so two identical source notes still give two notes.
    let existing: MetadataRecord[] | null = null;
    for (const note of notes) {
      if (note === null || typeof note !== 'object') continue;
      const n = note as MetadataRecord;
      if (n.system === true) continue;
      const sourceId = String(n.id);
      await this.attempt('notes', sourceId, async () => {
        if ((await this.mapped('note', sourceId)) !== null) return 'skipped';
        if (target === null) {
          if (this.dryRun) return 'created';
          throw new Error(`${item.from} was not restored`);
        }
        const text = await rewriteReferences(stringOr(n.body, ''), this.resolve);
        const body = withHeader(originHeader(n, null), text);
        const authored = withHeader(originHeader(n, null, '', true), text);
        existing ??= await this.writer.listNotes(this.project, target);
        const same = existing.findIndex((e) => e.system !== true && (e.body === body || e.body === authored));
        if (same >= 0) {
          const [found] = existing.splice(same, 1);
          await this.remember('note', sourceId, String(found.id));
          return 'skipped';
        }
        if (this.dryRun) return 'created';
        const { value: created } = await this.asAuthor(n, 'notes', `note ${sourceId}`, (sudo) => {
          const fields = {
            body: sudo ? authored : body,
            internal: n.internal === true || n.confidential === true,
            createdAt: stringOr(n.created_at, null),
            sudo,
          };
          return target.kind === 'issue'
            ? this.writer.createIssueNote(this.project, target.iid, fields)
            : this.writer.createMergeRequestNote(this.project, target.iid, fields);
        });
        await this.remember('note', sourceId, String(created.id));
        return 'created';
      });
    }
  }

  // ---- releases and snippets ----------------------------------------------------------------

  private async releases(records: AsyncIterable<MetadataRecord>): Promise<void> {
    for await (const record of records) {
      const tagName = typeof record.tag_name === 'string' ? record.tag_name : null;
      if (tagName === null) {
        this.fail('releases', '?', new Error('the record has no tag_name'));
        continue;
      }
      await this.attempt('releases', tagName, async () => {
        if ((await this.mapped('release', tagName)) !== null) return 'skipped';
        if (this.dryRun) return 'created';
        const milestones = Array.isArray(record.milestones)
          ? record.milestones
              .map((m) => (m !== null && typeof m === 'object' ? (m as MetadataRecord).title : null))
              .filter((t): t is string => typeof t === 'string')
          : [];
        const assets =
          record.assets !== null && typeof record.assets === 'object' ? (record.assets as MetadataRecord) : {};
        const links = Array.isArray(assets.links)
          ? (assets.links as MetadataRecord[]).map((l) => ({
              name: requireString(l, 'name'),
              url: requireString(l, 'url'),
              directAssetPath: directAssetPath(l),
              linkType: stringOr(l.link_type, null),
            }))
          : [];
        const description = withHeader(
          originHeader(record, null),
          await rewriteReferences(stringOr(record.description, ''), this.resolve),
        );
        try {
          await this.writer.createRelease(this.project, {
            tagName,
            name: stringOr(record.name, null),
            description,
            milestones,
            releasedAt: stringOr(record.released_at, null),
            links,
          });
        } catch (error) {
          // Releases::CreateService: 409 "Release already exists" — one restored before the mapping was stored.
          if (isDomainError(error) && error.details?.status === 409) {
            await this.remember('release', tagName, tagName);
            return 'skipped';
          }
          throw error;
        }
        await this.remember('release', tagName, tagName);
        return 'created';
      });
    }
  }

  private async snippets(records: AsyncIterable<MetadataRecord>): Promise<void> {
    let existing: MetadataRecord[] | null = null;
    for await (const record of records) {
      const sourceId = String(record.id);
      await this.attempt('snippets', sourceId, async () => {
        if ((await this.mapped('snippet', sourceId)) !== null) return 'skipped';
        // `$12` is GitLab's reference to snippet 12; the header names it to find the snippet again.
        existing ??= await this.writer.listSnippets(this.project);
        const marker = originMarker(`$${sourceId}`);
        const same = existing.find((s) => typeof s.description === 'string' && marker.test(s.description));
        if (same && typeof same.id === 'number') {
          await this.remember('snippet', sourceId, String(same.id));
          return 'skipped';
        }
        const from = `$${sourceId}`;
        // The dry run predicts the same outcome: a snippet without any captured file fails.
        const files = snippetFiles(record);
        if (files.written.length === 0) throw new Error('none of its files were captured by the backup');
        if (files.missing.length > 0)
          this.note(
            'snippets',
            `${from}: ${files.missing.length} of its files were not captured by the backup (${files.missing.join(', ')}); the others were restored`,
          );
        if (this.dryRun) return 'created';
        const text = await rewriteReferences(stringOr(record.description, ''), this.resolve);
        const { value: created } = await this.asAuthor(record, 'snippets', from, (sudo) =>
          this.writer.createSnippet(this.project, {
            title: requireString(record, 'title'),
            fileName: files.written[0].filePath,
            content: files.written[0].content,
            files: files.written,
            description: withHeader(originHeader(record, from, '', !!sudo), text),
            visibility: stringOr(record.visibility, 'private'),
            sudo,
          }),
        );
        await this.remember('snippet', sourceId, String(created.id));
        return 'created';
      });
    }
  }
}

function authorUsername(record: MetadataRecord): string | null {
  const author = record.author;
  const username =
    author !== null && typeof author === 'object' ? (author as Record<string, unknown>).username : undefined;
  return typeof username === 'string' && username ? username : null;
}

/**
 * A snippet's files as the restore writes them: every file captured with its content (`files`,
 * each with `content`). A snapshot of the older kind, or one whose file reads failed, holds fewer:
 * the first file's `content` stands for it when no file has its own, and `missing` names the
 * listed files the snapshot has no content for.
 */
function snippetFiles(record: MetadataRecord): {
  written: { filePath: string; content: string }[];
  missing: string[];
} {
  const listed = Array.isArray(record.files)
    ? (record.files as unknown[]).filter(
        (f): f is MetadataRecord =>
          f !== null && typeof f === 'object' && typeof (f as MetadataRecord).path === 'string',
      )
    : [];
  const whole = listed.filter((f) => typeof f.content === 'string');
  if (whole.length > 0)
    return {
      written: whole.map((f) => ({ filePath: f.path as string, content: f.content as string })),
      missing: listed.filter((f) => typeof f.content !== 'string').map((f) => f.path as string),
    };
  if (typeof record.content !== 'string') return { written: [], missing: listed.map((f) => f.path as string) };
  const first = stringOr(record.file_name, listed[0] ? (listed[0].path as string) : 'snippet.txt');
  return {
    written: [{ filePath: first, content: record.content }],
    missing: listed.map((f) => f.path as string).filter((path) => path !== first),
  };
}

function onDay(value: unknown): string {
  return typeof value === 'string' && value.length >= 10 ? ` on ${value.slice(0, 10)}` : '';
}

/** GitLab returns direct_asset_url (full URL); the API takes the path after `/-/releases/<tag>/downloads`. */
function directAssetPath(link: MetadataRecord): string | null {
  const url = stringOr(link.direct_asset_url, null);
  const match = url ? /\/-\/releases\/[^/]+\/downloads(\/.*)$/.exec(url) : null;
  return match ? match[1] : null;
}

function stringOr<T extends string | null>(value: unknown, fallback: T): string | T {
  return typeof value === 'string' ? value : fallback;
}

function requireString(record: MetadataRecord, name: string): string {
  const value = record[name];
  if (typeof value !== 'string' || value === '') throw new Error(`the record has no ${name}`);
  return value;
}
