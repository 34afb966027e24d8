import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ConnectionEntity } from '../../server/src/connections/connection.entity.js';
import { GitbeakerMetadataReaderFactory } from '../../server/src/gitlab/metadata.reader.js';
import type { MetadataRecord } from '../../server/src/gitlab/metadata.port.js';
import { GitbeakerMetadataWriterFactory, type GitLabMetadataWriter } from '../../server/src/gitlab/metadata.writer.js';
import {
  InMemoryRestoreMappings,
  restoreProjectMetadata,
  type RestorableType,
} from '../../server/src/restore/metadata-restore.js';
import { canWriteAsAuthors } from '../../server/src/restore/new-project.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

/**
 * Assignees, reviewers, milestones and authors restored into ANOTHER GitLab (a second simulator):
 * people are mapped by username, milestones by title (a group milestone onto the target project's
 * group), and records are written as their authors when the connection may use GitLab's Sudo.
 *
 * Source `src/app`: issue #1 by alice, assigned to alice and carol, on the group milestone "Q1";
 * merge request !1 by alice (assignee bob, reviewers alice and carol) on the project milestone
 * "v1.0"; a note by bob. Target: alice (a Developer of `dst`), bob (exists, but cannot read the
 * private project) and no carol; `dst` has its own "Q1".
 */
describe('restoring people, milestones and authors into another GitLab', () => {
  let source: GitLabSimulator;
  let target: GitLabSimulator;
  const readers = new GitbeakerMetadataReaderFactory({ baseDelayMs: 1, maxDelayMs: 5 });
  const writers = new GitbeakerMetadataWriterFactory({ baseDelayMs: 1, maxDelayMs: 5 });
  const records: Partial<Record<RestorableType, MetadataRecord[]>> = {};
  const tokens: Record<'owner' | 'admin' | 'adminNoSudo' | 'aliceSudo', string> = {
    owner: '',
    admin: '',
    adminNoSudo: '',
    aliceSudo: '',
  };
  let dst: { id: number };
  let q1: { id: number };
  let targets = 0;

  async function all(iterable: AsyncIterable<MetadataRecord>): Promise<MetadataRecord[]> {
    const out: MetadataRecord[] = [];
    for await (const record of iterable) out.push(record);
    return out;
  }

  const writerFor = (token: string): GitLabMetadataWriter =>
    writers.create({ instanceUrl: target.url, token, tokenType: 'personal' });

  function newTarget(): number {
    targets += 1;
    const project = target.createProject({ namespaceId: dst.id, path: `app-${targets}`, visibility: 'private' });
    target.pushCommit(project.id, { branch: 'feature', files: { 'f.txt': 'f' } });
    return project.id;
  }

  async function restore(token: string, asAuthors: boolean) {
    const projectId = newTarget();
    const report = await restoreProjectMetadata({
      writer: writerFor(token),
      targetProjectId: projectId,
      source: Object.fromEntries(Object.entries(records).map(([type, list]) => [type, () => replay(list)])),
      mappings: new InMemoryRestoreMappings(),
      asAuthors,
    });
    const reader = readers.create({ instanceUrl: target.url, token: tokens.admin, tokenType: 'personal' });
    const [issue] = await all(reader.projectRecords(projectId, 'issues'));
    const [mr] = await all(reader.projectRecords(projectId, 'merge_requests'));
    return { report, issue, mr };
  }

  async function* replay(list: MetadataRecord[]): AsyncGenerator<MetadataRecord> {
    yield* list;
  }

  const usernames = (people: unknown) => (people as { username: string }[]).map((p) => p.username).sort();

  beforeAll(async () => {
    source = await startGitLabSimulator({ rateLimit: null });
    target = await startGitLabSimulator({ rateLimit: null });
    const owner = source.createUser({ username: 'owner' });
    const alice = source.createUser({ username: 'alice' });
    const bob = source.createUser({ username: 'bob' });
    const carol = source.createUser({ username: 'carol' });
    const src = source.createGroup({ path: 'src', ownerId: owner.id });
    for (const u of [alice, bob, carol]) source.addMember('group', src.id, u.id, 30);
    const app = source.createProject({ namespaceId: src.id, path: 'app' });
    source.pushCommit(app.id, { branch: 'feature', files: { 'f.txt': 'f' } });
    const groupQ1 = source.createGroupMilestone(src.id, { title: 'Q1' });
    // a project milestone whose iid equals the group milestone's: titles, not iids, decide
    source.createMilestone(app.id, { title: 'v1.0' });
    const v1 = source.createMilestone(app.id, { title: 'Q1-project' });
    source.createIssue(app.id, {
      title: 'Plan',
      authorId: alice.id,
      assigneeIds: [alice.id, carol.id],
      milestoneId: groupQ1.id,
    });
    source.createNote(app.id, { noteableType: 'Issue', noteableIid: 1, body: 'agreed', authorId: bob.id });
    source.createMergeRequest(app.id, {
      title: 'Build',
      sourceBranch: 'feature',
      targetBranch: 'main',
      authorId: alice.id,
      assigneeIds: [bob.id],
      reviewerIds: [alice.id, carol.id],
      milestoneId: v1.id,
    });
    const sourceToken = source.createPersonalAccessToken(owner.id, { scopes: ['read_api'] }).token;
    const reader = readers.create({ instanceUrl: source.url, token: sourceToken, tokenType: 'personal' });
    for (const type of ['milestones', 'issues', 'merge_requests'] as const)
      records[type] = await all(reader.projectRecords(app.id, type));

    const root = target.createUser({ username: 'root', isAdmin: true });
    const keeper = target.createUser({ username: 'keeper' });
    const tAlice = target.createUser({ username: 'alice' });
    target.createUser({ username: 'bob' });
    dst = target.createGroup({ path: 'dst', ownerId: keeper.id, visibility: 'private' });
    target.addMember('group', dst.id, tAlice.id, 30);
    q1 = target.createGroupMilestone(dst.id, { title: 'Q1' });
    tokens.owner = target.createPersonalAccessToken(keeper.id, { scopes: ['api'] }).token;
    tokens.admin = target.createPersonalAccessToken(root.id, { scopes: ['api', 'sudo'] }).token;
    tokens.adminNoSudo = target.createPersonalAccessToken(root.id, { scopes: ['api'] }).token;
    tokens.aliceSudo = target.createPersonalAccessToken(tAlice.id, { scopes: ['api', 'sudo'] }).token;
  });

  afterAll(async () => {
    readers.close();
    writers.close();
    await source.close();
    await target.close();
  });

  it('maps assignees and reviewers by username and names every one it could not keep', async () => {
    const { report, issue, mr } = await restore(tokens.owner, false);
    expect(usernames(issue.assignees)).toEqual(['alice']);
    expect(usernames(mr.reviewers)).toEqual(['alice']);
    expect(usernames(mr.assignees)).toEqual([]);
    expect(report.issues.notes).toEqual(['#1: assignee @carol has no user on the target']);
    expect(report.merge_requests.notes).toEqual([
      '!1: reviewer @carol has no user on the target',
      // bob exists on the target, but GitLab drops an assignee who cannot read the private project
      '!1: GitLab did not keep assignee @bob (no access to the target project?)',
    ]);
    expect(issue.author).toMatchObject({ username: 'keeper' });
    expect(issue.description).toMatch(/^\*Originally by @alice on .* \(restored by Labkeeper from #1\)\*/);
  });

  it('puts a group milestone onto the target group’s milestone of that title, and a project milestone on the project’s', async () => {
    const { report, issue, mr } = await restore(tokens.owner, false);
    expect(issue.milestone).toMatchObject({ id: q1.id, title: 'Q1', group_id: dst.id });
    expect(mr.milestone).toMatchObject({ title: 'Q1-project', project_id: mr.project_id });
    expect(report.milestones.created).toBe(2);
  });

  it('says when a milestone is not on the target instead of dropping it silently', async () => {
    const saved = records.milestones;
    records.milestones = saved!.filter((m) => m.title !== 'Q1-project');
    try {
      const { report, mr } = await restore(tokens.owner, false);
      expect(mr.milestone).toBeNull();
      expect(report.merge_requests.notes).toContain('!1: milestone "Q1-project" is not on the target');
    } finally {
      records.milestones = saved;
    }
  });

  it('writes records as their authors through Sudo when the connection is an administrator with the sudo scope', async () => {
    const { report, issue, mr } = await restore(tokens.admin, true);
    expect(issue.author).toMatchObject({ username: 'alice' });
    expect(mr.author).toMatchObject({ username: 'alice' });
    expect(issue.description).toMatch(/^\*Created on .* \(restored by Labkeeper from #1\)\*/);
    const notes = (issue.notes as MetadataRecord[]).filter((n) => n.system !== true);
    // bob cannot read the private project, so GitLab refuses to act as him: written by the connection's user
    expect(notes.map((n) => [(n.author as { username: string }).username, n.body])).toEqual([
      ['root', expect.stringMatching(/^\*Originally by @bob on .*\(restored by Labkeeper\)\*\n\nagreed$/)],
    ]);
    expect(report.notes.notes).toEqual([
      expect.stringMatching(/^note \d+: written by the connection's user: GitLab refused to act as @bob$/),
    ]);
  });

  it('uses Sudo only for an administrator whose token has the sudo scope', async () => {
    const connection = (scopes: string[]) =>
      ({ method: 'PERSONAL_ACCESS_TOKEN', scopes, writeScopes: [] }) as unknown as ConnectionEntity;
    expect(await canWriteAsAuthors(connection(['api', 'sudo']), writerFor(tokens.admin))).toBe(true);
    expect(await canWriteAsAuthors(connection(['api']), writerFor(tokens.adminNoSudo))).toBe(false);
    expect(await canWriteAsAuthors(connection(['api', 'sudo']), writerFor(tokens.aliceSudo))).toBe(false);
  });

  it('the simulator answers Sudo as GitLab does (403 without the scope or for a non-administrator, 404 for an unknown user)', async () => {
    const get = async (token: string, sudo: string) => {
      const response = await fetch(`${target.url}/api/v4/user`, { headers: { 'private-token': token, sudo } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await get(tokens.admin, 'ALICE')).toMatchObject({ status: 200, body: { username: 'alice' } });
    expect(await get(tokens.adminNoSudo, 'alice')).toMatchObject({
      status: 403,
      body: { error: 'insufficient_scope', scope: 'sudo' },
    });
    expect(await get(tokens.aliceSudo, 'bob')).toEqual({
      status: 403,
      body: { message: '403 Forbidden - Must be admin to use sudo' },
    });
    expect(await get(tokens.admin, 'nobody')).toEqual({
      status: 404,
      body: { message: "404 User with ID or username 'nobody' Not Found" },
    });
  });
});
