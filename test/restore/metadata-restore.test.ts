import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GitbeakerMetadataReaderFactory } from '../../server/src/gitlab/metadata.reader.js';
import type { GitLabMetadataReader, MetadataRecord } from '../../server/src/gitlab/metadata.port.js';
import { GitbeakerMetadataWriterFactory, type GitLabMetadataWriter } from '../../server/src/gitlab/metadata.writer.js';
import {
  InMemoryRestoreMappings,
  restoreProjectMetadata,
  type MetadataRestoreReport,
  type RestorableType,
  type RestoreMappings,
} from '../../server/src/restore/metadata-restore.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

/**
 * Restoring a project's metadata into a new project of the same simulator. The source `acme/app`
 * has labels, milestones, issues #3–#5 (so the restored ones get other numbers) with notes and
 * cross-references, two merge requests (!1 from `feature`, which the targets have; !2 from
 * `hotfix`, merged, which they lack), a release and a snippet.
 */
describe('restoreProjectMetadata against the GitLab simulator', () => {
  let gitlab: GitLabSimulator;
  let token: string;
  let acme: { id: number };
  let bugLabelId: number;
  const readers = new GitbeakerMetadataReaderFactory({ baseDelayMs: 1, maxDelayMs: 5 });
  const writers = new GitbeakerMetadataWriterFactory({ baseDelayMs: 1, maxDelayMs: 5 });
  let reader: GitLabMetadataReader;
  let writer: GitLabMetadataWriter;
  const snapshot: Partial<Record<RestorableType, MetadataRecord[]>> = {};
  const types: RestorableType[] = ['labels', 'milestones', 'issues', 'merge_requests', 'releases', 'snippets'];
  let targets = 0;

  async function all(records: AsyncIterable<MetadataRecord>): Promise<MetadataRecord[]> {
    const out: MetadataRecord[] = [];
    for await (const record of records) out.push(record);
    return out;
  }

  async function* replay(records: MetadataRecord[]): AsyncGenerator<MetadataRecord> {
    yield* records;
  }

  function source(only: RestorableType[] = types, edit: (r: MetadataRecord) => MetadataRecord = (r) => r) {
    return Object.fromEntries(only.map((type) => [type, replay((snapshot[type] ?? []).map(edit))]));
  }

  /** The same records as functions that replay them on every call, as a snapshot file reopened per pass. */
  function rereadable(only: RestorableType[] = types) {
    return Object.fromEntries(only.map((type) => [type, () => replay(snapshot[type] ?? [])]));
  }

  /** An empty project with the repository restored: branch `feature` and tag v1.0.0, no `hotfix`. */
  function newTarget(): number {
    targets += 1;
    const project = gitlab.createProject({ namespaceId: acme.id, path: `restored-${targets}` });
    gitlab.pushCommit(project.id, { branch: 'feature', files: { 'f.txt': 'f' } });
    gitlab.createTag(project.id, { tag: 'v1.0.0' });
    return project.id;
  }

  async function contents(projectId: number) {
    const read = async (type: RestorableType) => all(reader.projectRecords(projectId, type));
    const issues = await read('issues');
    const mergeRequests = await read('merge_requests');
    const userNotes = (records: MetadataRecord[]) =>
      records.flatMap((r) => (r.notes as MetadataRecord[]).filter((n) => n.system !== true));
    return {
      labels: await read('labels'),
      milestones: await read('milestones'),
      issues,
      mergeRequests,
      releases: await read('releases'),
      snippets: await read('snippets'),
      notes: [...userNotes(issues), ...userNotes(mergeRequests)],
    };
  }

  function counts(c: Awaited<ReturnType<typeof contents>>) {
    return {
      labels: c.labels.length,
      milestones: c.milestones.length,
      issues: c.issues.length,
      mergeRequests: c.mergeRequests.length,
      notes: c.notes.length,
      releases: c.releases.length,
      snippets: c.snippets.length,
    };
  }

  function issueTitled(issues: MetadataRecord[], title: string): MetadataRecord {
    const issue = issues.find((i) => i.title === title);
    if (!issue) throw new Error(`no issue titled ${title}`);
    return issue;
  }

  function failures(report: MetadataRestoreReport) {
    return Object.values(report).flatMap((section) => section.failed);
  }

  /** A writer that creates `limit` records and then fails every create, as a crash would. */
  function crashingAfter(limit: number): GitLabMetadataWriter {
    let creations = 0;
    return new Proxy(writer, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (String(name).startsWith('create')) {
            creations += 1;
            if (creations > limit) return Promise.reject(new Error('the worker crashed'));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  beforeAll(async () => {
    gitlab = await startGitLabSimulator({ rateLimit: null, now: () => new Date('2026-03-01T10:00:00Z') });
    const ada = gitlab.createUser({ username: 'ada', name: 'Ada Lovelace' });
    const alice = gitlab.createUser({ username: 'alice' });
    const bob = gitlab.createUser({ username: 'bob' });
    token = gitlab.createPersonalAccessToken(ada.id, { scopes: ['api'] }).token;
    acme = gitlab.createGroup({ path: 'acme', ownerId: ada.id });
    const app = gitlab.createProject({ namespaceId: acme.id, path: 'app' });
    gitlab.pushCommit(app.id, { branch: 'feature', files: { 'f.txt': 'f' } });
    gitlab.pushCommit(app.id, { branch: 'hotfix', files: { 'h.txt': 'h' } });
    gitlab.createTag(app.id, { tag: 'v1.0.0' });

    bugLabelId = gitlab.createLabel(app.id, { name: 'bug', color: '#ff0000', description: 'broken' }).id;
    gitlab.createLabel(app.id, { name: 'triage', color: '#00ff00' });
    const v1 = gitlab.createMilestone(app.id, { title: 'v1.0', dueDate: '2026-02-01' });
    gitlab.createMilestone(app.id, { title: 'v2.0' });

    const day = (d: string) => new Date(`${d}T09:00:00Z`);
    gitlab.createIssue(app.id, {
      iid: 3,
      title: 'Crash on start',
      authorId: alice.id,
      createdAt: day('2026-01-02'),
      labels: ['bug'],
      milestoneId: v1.id,
      description: `Crashes. See #4, fixed by !1; the hotfix !2 helped. Labelled ~${bugLabelId}. Not \`#4\` in code, nor other/project#4.`,
    });
    gitlab.createIssue(app.id, {
      iid: 4,
      title: 'Follow-up',
      authorId: bob.id,
      createdAt: day('2026-01-03'),
      state: 'closed',
      description: 'Follow-up of #3',
    });
    gitlab.createIssue(app.id, {
      iid: 5,
      title: 'Secret',
      authorId: alice.id,
      createdAt: day('2026-01-04'),
      confidential: true,
    });
    gitlab.createNote(app.id, {
      noteableType: 'Issue',
      noteableIid: 3,
      body: 'I can reproduce it, like #4',
      authorId: bob.id,
      createdAt: day('2026-01-05'),
    });
    gitlab.createNote(app.id, { noteableType: 'Issue', noteableIid: 3, body: 'changed the description', system: true });
    gitlab.createNote(app.id, { noteableType: 'Issue', noteableIid: 4, body: 'done', authorId: alice.id });

    gitlab.createMergeRequest(app.id, {
      title: 'Fix crash',
      sourceBranch: 'feature',
      targetBranch: 'main',
      authorId: alice.id,
      description: 'Closes #3',
    });
    gitlab.createMergeRequest(app.id, {
      title: 'Hotfix',
      sourceBranch: 'hotfix',
      targetBranch: 'main',
      authorId: bob.id,
      state: 'merged',
      description: 'Urgent, see #5',
    });
    gitlab.createNote(app.id, {
      noteableType: 'MergeRequest',
      noteableIid: 1,
      body: 'LGTM',
      authorId: bob.id,
      createdAt: day('2026-01-06'),
    });
    gitlab.createNote(app.id, {
      noteableType: 'MergeRequest',
      noteableIid: 2,
      body: 'Merging now',
      authorId: alice.id,
    });

    gitlab.createRelease(app.id, {
      tagName: 'v1.0.0',
      name: 'First',
      description: 'Includes !1 and #3',
      milestones: ['v1.0'],
      authorId: alice.id,
    });
    gitlab.createSnippet(app.id, {
      title: 'Repro',
      files: [
        { path: 'repro.sh', content: 'echo crash\n' },
        { path: 'data/input.json', content: '{"size": 3}\n' },
      ],
      description: 'For #3',
      authorId: alice.id,
    });

    reader = readers.create({ instanceUrl: gitlab.url, token, tokenType: 'personal' });
    writer = writers.create({ instanceUrl: gitlab.url, token, tokenType: 'personal' });
    for (const type of types) snapshot[type] = await all(reader.projectRecords(app.id, type));
  });

  afterAll(async () => {
    readers.close();
    writers.close();
    await gitlab.close();
  });

  it('restores every record, keeping authors and dates in the text and pointing references at the new numbers', async () => {
    const target = newTarget();
    const report = await restoreProjectMetadata({
      writer,
      targetProjectId: target,
      source: source(),
      mappings: new InMemoryRestoreMappings(),
    });

    expect(failures(report)).toEqual([]);
    expect(report.issues.created).toBe(3);
    expect(report.merge_requests.created).toBe(2);
    expect(report.notes.created).toBe(4);
    const restored = await contents(target);
    // !2's branch is gone: it came back as an issue, so the target has one issue more and one MR less.
    expect(counts(restored)).toEqual({
      labels: 2,
      milestones: 2,
      issues: 4,
      mergeRequests: 1,
      notes: 4,
      releases: 1,
      snippets: 1,
    });

    const crash = issueTitled(restored.issues, 'Crash on start');
    const followUp = issueTitled(restored.issues, 'Follow-up');
    const hotfix = issueTitled(restored.issues, '[merge request !2] Hotfix');
    const fix = restored.mergeRequests[0];
    expect([crash.iid, followUp.iid]).toEqual([1, 2]);
    const newBug = restored.labels.find((l) => l.name === 'bug')!.id;
    expect(crash.description).toBe(
      '*Originally by @alice on 2026-01-02 (restored by Labkeeper from #3)*\n\n' +
        `Crashes. See #2, fixed by !${String(fix.iid)}; the hotfix #${String(hotfix.iid)} helped. Labelled ~${String(newBug)}. Not \`#4\` in code, nor other/project#4.`,
    );
    expect(crash.labels).toEqual(['bug']);
    expect((crash.milestone as MetadataRecord).title).toBe('v1.0');
    expect(crash.created_at).toBe('2026-01-02T09:00:00.000Z');
    expect(followUp.state).toBe('closed');
    expect(followUp.description).toContain('Follow-up of #1');
    expect(issueTitled(restored.issues, 'Secret').confidential).toBe(true);

    expect(hotfix.state).toBe('closed');
    expect(hotfix.description).toMatch(
      /^\*Originally by @bob on 2026-03-01, merged on 2026-03-01, a merge request of hotfix into main \(restored by Labkeeper from !2 as an issue: branch hotfix does not exist here\)\*\n\nUrgent, see #3$/,
    );
    expect(fix.description).toBe('*Originally by @alice on 2026-03-01 (restored by Labkeeper from !1)*\n\nCloses #1');

    const notes = restored.notes.map((n) => n.body);
    expect(notes).toContain(
      '*Originally by @bob on 2026-01-05 (restored by Labkeeper)*\n\nI can reproduce it, like #2',
    );
    expect(notes).toContain('*Originally by @bob on 2026-01-06 (restored by Labkeeper)*\n\nLGTM');
    expect(notes).toContain('*Originally by @alice on 2026-03-01 (restored by Labkeeper)*\n\nMerging now');
    expect(restored.releases[0].description).toBe(
      `*Originally by @alice on 2026-03-01 (restored by Labkeeper)*\n\nIncludes !${String(fix.iid)} and #1`,
    );
    expect(restored.snippets[0].content).toBe('echo crash\n');
    expect(restored.snippets[0].files).toEqual([
      expect.objectContaining({ path: 'repro.sh', content: 'echo crash\n' }),
      expect.objectContaining({ path: 'data/input.json', content: '{"size": 3}\n' }),
    ]);
  });

  it('restores the snippet files a snapshot holds and names the ones it lacks', async () => {
    const target = newTarget();
    // as a snapshot made before every file was kept: only the first file's content, at the top
    const olderKind = (r: MetadataRecord) => ({
      ...r,
      files: (r.files as MetadataRecord[]).map(({ path, raw_url }) => ({ path, raw_url })),
    });

    const report = await restoreProjectMetadata({
      writer,
      targetProjectId: target,
      source: source(['snippets'], olderKind),
      mappings: new InMemoryRestoreMappings(),
    });

    expect(report.snippets).toMatchObject({ created: 1, failed: [] });
    expect(report.snippets.notes).toEqual([
      expect.stringMatching(/^\$\d+: 1 of its files were not captured by the backup \(data\/input\.json\)/),
    ]);
    const [restored] = (await contents(target)).snippets;
    expect(restored.files).toEqual([expect.objectContaining({ path: 'repro.sh', content: 'echo crash\n' })]);
  });

  it('creates nothing the second time it runs with the same mappings', async () => {
    const target = newTarget();
    const mappings = new InMemoryRestoreMappings();
    await restoreProjectMetadata({ writer, targetProjectId: target, source: source(), mappings });
    const first = counts(await contents(target));

    const again = await restoreProjectMetadata({ writer, targetProjectId: target, source: source(), mappings });

    expect(failures(again)).toEqual([]);
    for (const section of Object.values(again)) expect(section.created).toBe(0);
    expect(again.issues.skipped).toBe(3);
    expect(again.notes.skipped).toBe(4);
    expect(counts(await contents(target))).toEqual(first);
  });

  it('finishes a restore that crashed after five creations without creating anything twice', async () => {
    const target = newTarget();
    const mappings = new InMemoryRestoreMappings();
    const crashed = await restoreProjectMetadata({
      writer: crashingAfter(5),
      targetProjectId: target,
      source: rereadable(),
      mappings,
    });
    expect(failures(crashed).length).toBeGreaterThan(0);

    const resumed = await restoreProjectMetadata({ writer, targetProjectId: target, source: rereadable(), mappings });

    expect(failures(resumed)).toEqual([]);
    expect(counts(await contents(target))).toEqual({
      labels: 2,
      milestones: 2,
      issues: 4,
      mergeRequests: 1,
      notes: 4,
      releases: 1,
      snippets: 1,
    });
    const restored = await contents(target);
    expect(issueTitled(restored.issues, 'Crash on start').description).toContain(
      'See #2, fixed by !1; the hotfix #4 helped.',
    );
    expect(restored.notes.map((n) => n.body)).toContain(
      '*Originally by @bob on 2026-01-05 (restored by Labkeeper)*\n\nI can reproduce it, like #2',
    );
  });

  it('finds every record again by name, title, header or text when the mappings were lost', async () => {
    const target = newTarget();
    const lost: RestoreMappings = { get: async () => null, set: async () => undefined };
    await restoreProjectMetadata({ writer, targetProjectId: target, source: source(), mappings: lost });
    const first = counts(await contents(target));

    const again = await restoreProjectMetadata({
      writer,
      targetProjectId: target,
      source: source(),
      mappings: new InMemoryRestoreMappings(),
    });

    expect(failures(again)).toEqual([]);
    expect(
      Object.fromEntries(Object.entries(again).map(([type, section]) => [type, [section.created, section.skipped]])),
    ).toEqual({
      labels: [0, 2],
      milestones: [0, 2],
      issues: [0, 3],
      merge_requests: [0, 2],
      notes: [0, 4],
      releases: [0, 1],
      snippets: [0, 1],
    });
    expect(counts(await contents(target))).toEqual(first);
  });

  it('reports what a dry run would create and writes nothing', async () => {
    const target = newTarget();
    const mappings = new InMemoryRestoreMappings();

    const report = await restoreProjectMetadata({
      writer,
      targetProjectId: target,
      source: source(),
      mappings,
      dryRun: true,
    });

    expect(failures(report)).toEqual([]);
    expect(Object.fromEntries(Object.entries(report).map(([type, section]) => [type, section.created]))).toEqual({
      labels: 2,
      milestones: 2,
      issues: 3,
      merge_requests: 2,
      notes: 4,
      releases: 1,
      snippets: 1,
    });
    expect(counts(await contents(target))).toEqual({
      labels: 0,
      milestones: 0,
      issues: 0,
      mergeRequests: 0,
      notes: 0,
      releases: 0,
      snippets: 0,
    });
    expect(mappings.count('issue')).toBe(0);
  });

  it('waits what a rate-limited create asks for and creates the record once', async () => {
    const target = newTarget();
    const waits: number[] = [];
    const patient = new GitbeakerMetadataWriterFactory({
      baseDelayMs: 1,
      maxDelayMs: 5,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    gitlab.rateLimitNext(1, { retryAfterSeconds: 7, pathPattern: new RegExp(`/projects/${target}/issues$`) });

    const report = await restoreProjectMetadata({
      writer: patient.create({ instanceUrl: gitlab.url, token, tokenType: 'personal' }),
      targetProjectId: target,
      source: source(['labels', 'milestones', 'issues']),
      mappings: new InMemoryRestoreMappings(),
    });
    patient.close();

    expect(failures(report)).toEqual([]);
    expect(waits).toEqual([7000]);
    expect((await contents(target)).issues).toHaveLength(3);
  });

  it('reports a create that GitLab failed with a 502 without retrying it, and a re-run completes the restore', async () => {
    const target = newTarget();
    const mappings = new InMemoryRestoreMappings();
    gitlab.failNext(1, { status: 502, pathPattern: new RegExp(`/projects/${target}/releases$`) });

    const first = await restoreProjectMetadata({ writer, targetProjectId: target, source: source(), mappings });

    expect(failures(first)).toEqual([{ sourceId: expect.any(String), reason: expect.stringContaining('502') }]);
    const again = await restoreProjectMetadata({ writer, targetProjectId: target, source: source(), mappings });
    expect(failures(again)).toEqual([]);
    expect(again.releases.created).toBe(1);
    expect(counts(await contents(target))).toEqual({
      labels: 2,
      milestones: 2,
      issues: 4,
      mergeRequests: 1,
      notes: 4,
      releases: 1,
      snippets: 1,
    });
  });

  it('closes a milestone that was closed in the source, also when an earlier run stopped before closing it', async () => {
    const target = newTarget();
    const closes: number[] = [];
    // The simulator has no PUT /milestones/:id: this writer records the close instead of sending it.
    const recording = new Proxy(writer, {
      get: (w, name, receiver) =>
        name === 'updateMilestone'
          ? async (_project: number, id: number) => {
              closes.push(id);
            }
          : (Reflect.get(w, name, receiver) as (...a: unknown[]) => unknown).bind(w),
    });
    const closedV1 = (r: MetadataRecord) => (r.title === 'v1.0' ? { ...r, state: 'closed' } : r);
    const mappings = new InMemoryRestoreMappings();

    await restoreProjectMetadata({
      writer: recording,
      targetProjectId: target,
      source: source(['milestones'], closedV1),
      mappings,
    });
    await restoreProjectMetadata({
      writer: recording,
      targetProjectId: target,
      source: source(['milestones'], closedV1),
      mappings,
    });

    const v1 = (await contents(target)).milestones.find((m) => m.title === 'v1.0')!;
    // Twice: the recording writer never closed it, so the second run closes it again.
    expect(closes).toEqual([v1.id, v1.id]);
  });

  it('closes an issue on the next run when the first one stopped between creating and closing it', async () => {
    const target = newTarget();
    const mappings = new InMemoryRestoreMappings();
    const cannotClose = new Proxy(writer, {
      get: (w, name, receiver) =>
        name === 'updateIssue'
          ? async (project: number, iid: number, change: { description?: string; stateEvent?: 'close' | 'reopen' }) => {
              if (change.stateEvent === 'close') throw new Error('the worker crashed');
              await w.updateIssue(project, iid, change);
            }
          : (Reflect.get(w, name, receiver) as (...a: unknown[]) => unknown).bind(w),
    });
    const first = await restoreProjectMetadata({
      writer: cannotClose,
      targetProjectId: target,
      source: source(['labels', 'milestones', 'issues']),
      mappings,
    });
    expect(first.issues.failed).toEqual([{ sourceId: '4', reason: 'the worker crashed' }]);

    const again = await restoreProjectMetadata({
      writer,
      targetProjectId: target,
      source: source(['labels', 'milestones', 'issues']),
      mappings,
    });

    expect([again.issues.created, again.issues.skipped, again.issues.failed]).toEqual([0, 3, []]);
    const issues = (await contents(target)).issues;
    expect(issues).toHaveLength(3);
    expect(issueTitled(issues, 'Follow-up').state).toBe('closed');
  });

  it('stops at once when GitLab rejects the token instead of failing every record', async () => {
    const target = newTarget();
    const rejected = writers.create({ instanceUrl: gitlab.url, token: 'glpat-not-a-token', tokenType: 'personal' });

    await expect(
      restoreProjectMetadata({
        writer: rejected,
        targetProjectId: target,
        source: source(),
        mappings: new InMemoryRestoreMappings(),
      }),
    ).rejects.toMatchObject({ code: 'GITLAB_UNAUTHORIZED' });
  });

  it('records a release whose tag is missing in the target as failed, with the reason', async () => {
    const project = gitlab.createProject({ namespaceId: acme.id, path: 'no-tags' });

    const report = await restoreProjectMetadata({
      writer,
      targetProjectId: project.id,
      source: source(['releases']),
      mappings: new InMemoryRestoreMappings(),
    });

    expect(report.releases.failed).toEqual([
      { sourceId: 'v1.0.0', reason: expect.stringContaining('tag v1.0.0 does not exist') },
    ]);
  });
});
