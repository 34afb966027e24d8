import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

/** The simulator's write endpoints a metadata restore calls, with GitLab's answers and refusals. */
describe('GitLab simulator endpoints for a metadata restore', () => {
  let gitlab: GitLabSimulator;
  let token: string;
  let developerToken: string;
  let project: string;
  let groupId: number;
  let carolId: number;

  const call = async (method: string, path: string, body?: unknown, pat = token) => {
    const res = await fetch(`${gitlab.url}/api/v4${path}`, {
      method,
      headers: { 'PRIVATE-TOKEN': pat, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return {
      status: res.status,
      body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
    };
  };

  beforeAll(async () => {
    gitlab = await startGitLabSimulator({ rateLimit: null });
    const ada = gitlab.createUser({ username: 'ada' });
    const dev = gitlab.createUser({ username: 'dev' });
    carolId = gitlab.createUser({ username: 'carol' }).id;
    token = gitlab.createPersonalAccessToken(ada.id, { scopes: ['api'] }).token;
    developerToken = gitlab.createPersonalAccessToken(dev.id, { scopes: ['api'] }).token;
    groupId = gitlab.createGroup({ path: 'restored', ownerId: ada.id }).id;
    const app = gitlab.createProject({ namespaceId: groupId, path: 'app' });
    gitlab.addMember('project', app.id, dev.id, 30);
    gitlab.pushCommit(app.id, { branch: 'feature', files: { 'f.txt': 'f' } });
    project = encodeURIComponent('restored/app');
  });

  afterAll(async () => {
    await gitlab.close();
  });

  describe('merge requests', () => {
    it('creates a merge request between existing branches with its first version', async () => {
      const created = await call('POST', `/projects/${project}/merge_requests`, {
        title: 'Feature',
        source_branch: 'feature',
        target_branch: 'main',
      });
      const versions = await call('GET', `/projects/${project}/merge_requests/${created.body.iid}/versions`);

      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        iid: 1,
        state: 'opened',
        source_branch: 'feature',
        target_branch: 'main',
        author: { username: 'ada' },
      });
      expect(versions.body).toEqual([
        expect.objectContaining({ head_commit_sha: created.body.sha, state: 'collected' }),
      ]);
    });

    it('refuses a source branch that does not exist with 422', async () => {
      const res = await call('POST', `/projects/${project}/merge_requests`, {
        title: 'Ghost',
        source_branch: 'ghost',
        target_branch: 'main',
      });

      expect(res).toEqual({ status: 422, body: { message: ['Source branch "ghost" does not exist'] } });
    });

    it('refuses a second open merge request for the same branches with 409', async () => {
      const res = await call('POST', `/projects/${project}/merge_requests`, {
        title: 'Again',
        source_branch: 'feature',
        target_branch: 'main',
      });

      expect(res.status).toBe(409);
    });

    it('adds a note with its historical created_at for the owner', async () => {
      const res = await call('POST', `/projects/${project}/merge_requests/1/notes`, {
        body: 'LGTM',
        created_at: '2020-01-01T00:00:00Z',
      });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        body: 'LGTM',
        noteable_type: 'MergeRequest',
        noteable_iid: 1,
        created_at: '2020-01-01T00:00:00.000Z',
      });
    });
  });

  describe('releases and snippets', () => {
    it('creates a release and its tag from a ref, with asset links', async () => {
      const res = await call('POST', `/projects/${project}/releases`, {
        tag_name: 'v1.0.0',
        ref: 'main',
        name: 'One',
        assets: { links: [{ name: 'bin', url: 'https://example.com/bin', link_type: 'package' }] },
      });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        tag_name: 'v1.0.0',
        name: 'One',
        assets: { links: [{ name: 'bin', link_type: 'package' }] },
      });
    });

    it('refuses a release for a missing tag without a ref', async () => {
      const res = await call('POST', `/projects/${project}/releases`, { tag_name: 'v9' });

      expect(res.status).toBe(422);
    });

    it('creates a snippet whose raw content reads back as text', async () => {
      const created = await call('POST', `/projects/${project}/snippets`, {
        title: 'S',
        files: [{ file_path: 'a.txt', content: 'hello\n' }],
      });
      const raw = await call('GET', `/projects/${project}/snippets/${created.body.id}/raw`);

      expect(created.status).toBe(201);
      expect(raw).toEqual({ status: 200, body: 'hello\n' });
    });
  });

  describe('settings-like types (Maintainer)', () => {
    it('creates a hook without ever echoing its token', async () => {
      const res = await call('POST', `/projects/${project}/hooks`, {
        url: 'https://ci.example.com/h',
        token: 'write-only',
        issues_events: true,
      });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ url: 'https://ci.example.com/h', issues_events: true, push_events: true });
      expect(JSON.stringify(res.body)).not.toContain('write-only');
    });

    it('creates a deploy key and refuses a malformed one', async () => {
      const ok = await call('POST', `/projects/${project}/deploy_keys`, {
        title: 'k',
        key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
        can_push: true,
      });
      const bad = await call('POST', `/projects/${project}/deploy_keys`, { title: 'bad', key: 'not a key' });

      expect(ok.status).toBe(201);
      expect(ok.body).toMatchObject({ title: 'k', can_push: true });
      expect(bad.status).toBe(400);
    });

    it('creates a variable and refuses the same key in the same scope', async () => {
      const first = await call('POST', `/projects/${project}/variables`, { key: 'TOKEN', value: 'x', masked: true });
      const again = await call('POST', `/projects/${project}/variables`, { key: 'TOKEN', value: 'y' });

      expect(first.body).toMatchObject({ key: 'TOKEN', value: 'x', masked: true, environment_scope: '*' });
      expect(again).toEqual({ status: 400, body: { message: { key: ['(TOKEN) has already been taken'] } } });
    });

    it('protects a branch and a tag, answering 409 to a second protection', async () => {
      const branch = await call('POST', `/projects/${project}/protected_branches`, {
        name: 'main',
        push_access_level: 0,
        merge_access_level: 30,
      });
      const again = await call('POST', `/projects/${project}/protected_branches`, { name: 'main' });
      const tag = await call('POST', `/projects/${project}/protected_tags`, { name: 'v*' });

      expect(branch.body).toMatchObject({
        name: 'main',
        push_access_levels: [{ access_level: 0, access_level_description: 'No one' }],
      });
      expect(again).toEqual({ status: 409, body: { message: "Protected branch 'main' already exists" } });
      expect(tag.body).toEqual({ name: 'v*', create_access_levels: [expect.objectContaining({ access_level: 40 })] });
    });

    it('refuses a Developer with 403', async () => {
      const res = await call('POST', `/projects/${project}/variables`, { key: 'NOPE', value: 'x' }, developerToken);

      expect(res).toEqual({ status: 403, body: { message: '403 Forbidden' } });
    });

    it('updates project settings', async () => {
      const res = await call('PUT', `/projects/${project}`, {
        description: 'Restored',
        issues_enabled: false,
        topics: 'a,b',
      });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ description: 'Restored', issues_enabled: false, topics: ['a', 'b'] });
    });
  });

  describe('groups and members', () => {
    it('creates group labels and milestones', async () => {
      const label = await call('POST', `/groups/${groupId}/labels`, { name: 'org', color: '#123456' });
      const milestone = await call('POST', `/groups/${groupId}/milestones`, { title: 'Q3' });

      expect(label).toMatchObject({ status: 201, body: { name: 'org', color: '#123456' } });
      expect(milestone).toMatchObject({ status: 201, body: { title: 'Q3', group_id: groupId, iid: 1 } });
    });

    it('adds members and answers 409 for an existing one', async () => {
      const added = await call('POST', `/projects/${project}/members`, {
        user_id: carolId,
        access_level: 20,
        expires_at: '2030-01-01',
      });
      const again = await call('POST', `/projects/${project}/members`, { user_id: carolId, access_level: 20 });
      const group = await call('POST', `/groups/${groupId}/members`, { user_id: carolId, access_level: 10 });

      expect(added.body).toMatchObject({
        username: 'carol',
        access_level: 20,
        expires_at: '2030-01-01',
        created_by: { username: 'ada' },
      });
      expect(again.status).toBe(409);
      expect(group.status).toBe(201);
    });

    it('answers the epics API with 403 on Free and creates epics on Premium', async () => {
      const onFree = await call('POST', `/groups/${groupId}/epics`, { title: 'E' });
      gitlab.setTier('premium');
      const onPremium = await call('POST', `/groups/${groupId}/epics`, { title: 'E' });
      gitlab.setTier('free');

      expect(onFree).toEqual({ status: 403, body: { message: '403 Forbidden' } });
      expect(onPremium).toMatchObject({ status: 201, body: { iid: 1, title: 'E', group_id: groupId } });
    });

    it('takes a top-level group’s own tier over the instance’s, for the group and its subgroups', async () => {
      const ownerId = [...gitlab.state.users.values()].find((u) => u.username === 'ada')!.id;
      const other = gitlab.createGroup({ path: 'paid', ownerId });
      const child = gitlab.createGroup({ path: 'team', parentId: other.id, ownerId });
      gitlab.setTier('paid', 'premium');
      const inPaid = await call('POST', `/groups/${child.id}/epics`, { title: 'Sub epic' });
      const inFree = await call('POST', `/groups/${groupId}/epics`, { title: 'E' });
      const plan = await call('GET', `/namespaces/${other.id}`);

      expect(inPaid.status).toBe(201);
      expect(inFree.status).toBe(403);
      expect(plan.body.plan).toBe('premium');
      expect(() => gitlab.setTier('paid/team', 'ultimate')).toThrow(/not a top-level group/);
    });

    it('links a parent epic on Ultimate only: below it the link API answers 403 and a parent_id on create answers 400 after creating the epic without it', async () => {
      gitlab.setTier('restored', 'premium');
      const parent = await call('POST', `/groups/${groupId}/epics`, { title: 'Parent' });
      const child = await call('POST', `/groups/${groupId}/epics`, { title: 'Child', parent_id: parent.body.id });
      const link = await call('POST', `/groups/${groupId}/epics/${parent.body.iid}/epics/${parent.body.id + 99}`);
      const listed = await call('GET', `/groups/${groupId}/epics?include_descendant_groups=false`);
      gitlab.setTier('restored', 'ultimate');
      const orphan = listed.body.find((e: { title: string }) => e.title === 'Child');
      const linked = await call('POST', `/groups/${groupId}/epics/${parent.body.iid}/epics/${orphan.id}`);
      const twice = await call('POST', `/groups/${groupId}/epics/${parent.body.iid}/epics/${orphan.id}`);
      const withParent = await call('POST', `/groups/${groupId}/epics`, {
        title: 'Child 2',
        parent_id: parent.body.id,
      });
      gitlab.setTier('restored', 'free');

      expect(child).toEqual({
        status: 400,
        body: { message: { base: ['No matching epic found. Make sure that you are adding a valid epic URL.'] } },
      });
      expect(link).toEqual({ status: 403, body: { message: '403 Forbidden' } });
      expect(orphan).toMatchObject({ parent_id: null });
      expect(linked).toMatchObject({ status: 201, body: { title: 'Child', parent_id: parent.body.id } });
      expect(twice.status).toBe(409);
      expect(withParent).toMatchObject({
        status: 201,
        body: { parent_id: parent.body.id, parent_iid: parent.body.iid },
      });
    });

    it('assigns an issue to an epic on Premium (409 the second time), and the issue then names its epic', async () => {
      gitlab.setTier('restored', 'premium');
      const epic = await call('POST', `/groups/${groupId}/epics`, { title: 'With issues' });
      const issue = await call('POST', `/projects/${project}/issues`, { title: 'In an epic' });
      const assigned = await call('POST', `/groups/${groupId}/epics/${epic.body.iid}/issues/${issue.body.id}`);
      const twice = await call('POST', `/groups/${groupId}/epics/${epic.body.iid}/issues/${issue.body.id}`);
      const read = await call('GET', `/projects/${project}/issues/${issue.body.iid}`);
      gitlab.setTier('restored', 'free');
      const onFree = await call('GET', `/projects/${project}/issues/${issue.body.iid}`);

      expect(assigned).toMatchObject({
        status: 201,
        body: { epic: { id: epic.body.id }, issue: { id: issue.body.id } },
      });
      expect(twice).toEqual({ status: 409, body: { message: 'Issue(s) already assigned' } });
      expect(read.body).toMatchObject({ epic_iid: epic.body.iid, epic: { id: epic.body.id, group_id: groupId } });
      expect(onFree.body).not.toHaveProperty('epic');
    });

    it('closes and reopens an epic with state_event', async () => {
      gitlab.setTier('restored', 'premium');
      const epic = await call('POST', `/groups/${groupId}/epics`, { title: 'To close', labels: 'a,b' });
      const closed = await call('PUT', `/groups/${groupId}/epics/${epic.body.iid}`, { state_event: 'close' });
      const reopened = await call('PUT', `/groups/${groupId}/epics/${epic.body.iid}`, { state_event: 'reopen' });
      gitlab.setTier('restored', 'free');

      expect(closed.body).toMatchObject({ state: 'closed', labels: ['a', 'b'] });
      expect(closed.body.closed_at).not.toBeNull();
      expect(reopened.body).toMatchObject({ state: 'opened', closed_at: null });
    });
  });
});
