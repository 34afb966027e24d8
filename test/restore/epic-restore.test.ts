import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GitbeakerMetadataReaderFactory } from '../../server/src/gitlab/metadata.reader.js';
import type { MetadataRecord } from '../../server/src/gitlab/metadata.port.js';
import { GitbeakerMetadataWriterFactory, type GitLabMetadataWriter } from '../../server/src/gitlab/metadata.writer.js';
import {
  EPICS_NOT_ON_TIER,
  HIERARCHY_FLATTENED,
  issueEpicLinker,
  parentsFirst,
  restoreEpics,
  type EpicPlacements,
} from '../../server/src/restore/epic-restore.js';
import { InMemoryRestoreMappings } from '../../server/src/restore/metadata-mappings.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

/**
 * Restoring a group's epics into another top-level group of the same simulator, whose tier the
 * test chooses. The source `src` (Ultimate) holds `Child` (closed, labelled) captured before its
 * parent `Parent`, and `Grandchild` under `Child`.
 */
describe('restoreEpics against the GitLab simulator', () => {
  let gitlab: GitLabSimulator;
  let writer: GitLabMetadataWriter;
  let records: MetadataRecord[];
  let ownerId: number;
  let targets = 0;

  async function* replay(list: MetadataRecord[]): AsyncGenerator<MetadataRecord> {
    yield* list;
  }

  /** A new top-level group with the given tier. */
  function newTarget(tier: 'free' | 'premium' | 'ultimate') {
    targets += 1;
    const group = gitlab.createGroup({ path: `target-${targets}`, ownerId });
    gitlab.setTier(`target-${targets}`, tier);
    return group.id;
  }

  /** `title state [labels] ← parent` for every epic of a group. */
  function epicsOf(groupId: number): string[] {
    const epics = gitlab.state.epics.filter((e) => e.groupId === groupId);
    const title = (id: number | null) => epics.find((e) => e.id === id)?.title;
    return epics
      .map((e) => `${e.title} ${e.state} [${e.labels.join(',')}]${e.parentId ? ` ← ${title(e.parentId)}` : ''}`)
      .sort();
  }

  const restore = (groupId: number, mappings = new InMemoryRestoreMappings(), w = writer) =>
    restoreEpics({ writer: w, groupId, records: replay(records), mappings, dryRun: false, asAuthors: false });
  const restoreInput = (groupId: number, list = records) => ({
    writer,
    groupId,
    records: replay(list),
    mappings: new InMemoryRestoreMappings(),
    dryRun: false,
    asAuthors: false,
  });

  beforeAll(async () => {
    gitlab = await startGitLabSimulator({ rateLimit: null });
    const ada = gitlab.createUser({ username: 'ada' });
    ownerId = ada.id;
    const token = gitlab.createPersonalAccessToken(ada.id, { scopes: ['api'] }).token;
    const src = gitlab.createGroup({ path: 'src', ownerId });
    gitlab.setTier('src', 'ultimate');
    const child = gitlab.createEpic(src.id, { title: 'Child', authorId: ownerId, state: 'closed', labels: ['b'] });
    const parent = gitlab.createEpic(src.id, { title: 'Parent', authorId: ownerId, description: 'Why' });
    gitlab.createEpic(src.id, { title: 'Grandchild', authorId: ownerId, parentId: child.id });
    gitlab.state.epics.find((e) => e.id === child.id)!.parentId = parent.id;
    const access = { instanceUrl: gitlab.url, token, tokenType: 'personal' as const };
    const reader = new GitbeakerMetadataReaderFactory({ baseDelayMs: 1, maxDelayMs: 5 }).create(access);
    writer = new GitbeakerMetadataWriterFactory({ baseDelayMs: 1, maxDelayMs: 5 }).create(access);
    records = [];
    for await (const record of reader.groupRecords(src.id, 'epics')) records.push(record);
  });

  afterAll(async () => {
    await gitlab.close();
  });

  it('orders parents before their children, whatever the captured order', () => {
    expect(records.map((r) => r.title)).toEqual(['Child', 'Parent', 'Grandchild']);
    expect(parentsFirst(records).map((r) => r.title)).toEqual(['Parent', 'Child', 'Grandchild']);
  });

  it('restores every epic with its state, labels and hierarchy on Ultimate', async () => {
    const target = newTarget('ultimate');
    const report = await restore(target);

    expect(report).toEqual({ created: 3, skipped: 0, failed: [], unavailable: null, notes: [] });
    expect(epicsOf(target)).toEqual(['Child closed [b] ← Parent', 'Grandchild opened [] ← Child', 'Parent opened []']);
  });

  it('creates no duplicate when a run stopped between a create and its mapping is started again', async () => {
    const target = newTarget('ultimate');
    let creates = 0;
    const crashing = new Proxy(writer, {
      get(inner, name, receiver) {
        const value = Reflect.get(inner, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (name === 'createEpic' && ++creates > 1) return Promise.reject(new Error('the worker crashed'));
          return (value as (...a: unknown[]) => unknown).apply(inner, args);
        };
      },
    });
    const first = await restore(target, new InMemoryRestoreMappings(), crashing);
    // the mappings of the first run are lost too: the epic is found again by its header's marker
    const again = await restore(target);

    expect(first.created).toBe(1);
    expect(again).toMatchObject({ created: 2, skipped: 1, failed: [] });
    expect(epicsOf(target)).toEqual(['Child closed [b] ← Parent', 'Grandchild opened [] ← Child', 'Parent opened []']);
  });

  it('restores the epics without their hierarchy on Premium and says it was flattened, and why', async () => {
    const target = newTarget('premium');
    const report = await restore(target);

    expect(epicsOf(target)).toEqual(['Child closed [b]', 'Grandchild opened []', 'Parent opened []']);
    const [childIid, grandchildIid] = ['Child', 'Grandchild'].map((t) =>
      Number(records.find((r) => r.title === t)!.iid),
    );
    expect(report).toEqual({
      created: 3,
      skipped: 0,
      failed: [],
      unavailable: null,
      notes: [
        `the epic hierarchy was flattened: &${childIid}, &${grandchildIid} restored without their parents, because ${HIERARCHY_FLATTENED}`,
      ],
    });
  });

  it('links a child to its parent placed earlier in the run in another group, and reports a link GitLab refuses by the group hierarchy', async () => {
    const placedInRun: EpicPlacements = new Map();
    const upper = newTarget('ultimate');
    await restoreEpics({ ...restoreInput(upper), placedInRun });
    const parentSource = records.find((r) => r.title === 'Parent')!;
    const stray = (iid: number): MetadataRecord => ({
      id: 900_000 + iid,
      iid,
      title: `Stray ${iid}`,
      state: 'opened',
      parent_id: parentSource.id,
    });
    // a subgroup of the parent's target group: GitLab links it
    const sub = gitlab.createGroup({ path: 'sub', parentId: upper, ownerId });
    const linked = await restoreEpics({ ...restoreInput(sub.id, [stray(1)]), placedInRun });
    expect(linked).toMatchObject({ created: 1, failed: [], notes: [] });
    const parentTitle = (groupId: number) =>
      gitlab.state.epics.find((e) => e.id === gitlab.state.epics.find((c) => c.groupId === groupId)!.parentId)?.title;
    expect(parentTitle(sub.id)).toBe('Parent');
    // a group outside the parent's tree: GitLab answers 409, which is not "already linked"
    const outside = newTarget('ultimate');
    const refused = await restoreEpics({ ...restoreInput(outside, [stray(2)]), placedInRun });
    expect(refused.created).toBe(1);
    expect(refused.failed).toEqual([
      {
        sourceId: '&2',
        reason: expect.stringMatching(
          /^restored, but not linked to its parent: .*409.*An epic must belong to the same group or subgroup as its parent epic/,
        ),
      },
    ]);
    expect(parentTitle(outside)).toBeUndefined();
  });

  it('writes nothing on Free and says why', async () => {
    const target = newTarget('free');
    const report = await restore(target);

    expect(report).toEqual({ created: 0, skipped: 0, failed: [], unavailable: EPICS_NOT_ON_TIER, notes: [] });
    expect(epicsOf(target)).toEqual([]);
  });
  describe('references in the descriptions', () => {
    /** `title: description without its header` for every epic of a group. */
    const bodiesOf = (groupId: number) =>
      gitlab.state.epics
        .filter((e) => e.groupId === groupId)
        .map((e) => `${e.title}: ${(e.description ?? '').split('\n\n').slice(1).join('\n\n')}`)
        .sort();

    it('rewrites epic references to the iids the epics got, keeps #12, !4, code and unknown epics as written, and writes nothing more when run again', async () => {
      const src = gitlab.createGroup({ path: 'refs-src', ownerId });
      gitlab.setTier('refs-src', 'premium');
      const plan = gitlab.createEpic(src.id, { title: 'Plan', authorId: ownerId, description: 'Then &2.' });
      gitlab.createEpic(src.id, {
        title: 'Build',
        authorId: ownerId,
        description: 'After &1; see #12 and !4, not `&1`, nor &99.',
      });
      const reader = new GitbeakerMetadataReaderFactory({ baseDelayMs: 1, maxDelayMs: 5 }).create({
        instanceUrl: gitlab.url,
        token: gitlab.createPersonalAccessToken(ownerId, { scopes: ['api'] }).token,
        tokenType: 'personal',
      });
      const captured: MetadataRecord[] = [];
      for await (const record of reader.groupRecords(src.id, 'epics')) captured.push(record);
      expect(captured.map((r) => r.iid)).toEqual([plan.iid, plan.iid + 1]);
      // The target has an epic already, so the restored ones get other iids (2 and 3).
      const target = newTarget('premium');
      gitlab.createEpic(target, { title: 'Already there', authorId: ownerId, description: 'Mentions &1.' });
      const mappings = new InMemoryRestoreMappings();
      const run = () =>
        restoreEpics({ writer, groupId: target, records: replay(captured), mappings, dryRun: false, asAuthors: false });

      const first = await run();
      const afterFirst = bodiesOf(target);
      const again = await run();

      expect(first).toMatchObject({ created: 2, failed: [] });
      expect(afterFirst).toEqual([
        'Already there: ',
        'Build: After &2; see #12 and !4, not `&1`, nor &99.',
        'Plan: Then &3.',
      ]);
      expect(again).toMatchObject({ created: 0, skipped: 2, failed: [] });
      expect(bodiesOf(target)).toEqual(afterFirst);
    });
  });

  describe('putting restored issues back into their epics', () => {
    /** The linker for a source group `src` restored as `target-<n>`. */
    const linker = (targetPath: string, mappings: InMemoryRestoreMappings) =>
      issueEpicLinker({
        writer,
        findGroup: async (path) => gitlab.state.findNamespaceByFullPath(path) ?? null,
        mappingsOf: () => mappings,
        targetPathOf: (path) => path.replace(/^src/, targetPath),
      });
    const epicField = (title: string) => {
      const epic = records.find((r) => r.title === title)!;
      return { id: epic.id, iid: epic.iid, title, url: `${gitlab.url}/groups/src/-/epics/${String(epic.iid)}` };
    };

    it('links the issue to the restored epic, once however often it runs, and says why when it cannot', async () => {
      const target = newTarget('ultimate');
      const mappings = new InMemoryRestoreMappings();
      await restore(target, mappings);
      const project = gitlab.createProject({ namespaceId: target, path: 'app' });
      const issue = gitlab.createIssue(project.id, { title: 'Work' });
      const link = linker(`target-${targets}`, mappings);

      const first = await link(epicField('Parent'), issue.id);
      const again = await link(epicField('Parent'), issue.id);
      const unmapped = await linker(`target-${targets}`, new InMemoryRestoreMappings())(epicField('Child'), issue.id);
      const nowhere = await linker('missing', mappings)(epicField('Parent'), issue.id);

      expect([first, again]).toEqual([null, null]);
      expect(unmapped).toBe(`the epic was not restored to target-${targets}`);
      expect(nowhere).toBe('the target has no group missing');
      const restored = gitlab.state.epics.find((e) => e.groupId === target && e.title === 'Parent')!;
      expect(gitlab.state.issues.find((i) => i.id === issue.id)!.epicId).toBe(restored.id);
    });
  });
});
