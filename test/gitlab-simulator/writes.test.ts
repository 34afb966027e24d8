import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

describe('GitLab simulator writes', () => {
  let sim: GitLabSimulator;
  let token: string;
  let readToken: string;

  const call = (method: string, path: string, body?: unknown, pat = token) =>
    fetch(`${sim.url}/api/v4${path}`, {
      method,
      headers: { 'PRIVATE-TOKEN': pat, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  beforeAll(async () => {
    sim = await startGitLabSimulator({ now: () => new Date('2026-03-01T10:00:00Z') });
    const alice = sim.createUser({ username: 'alice' });
    token = sim.createPersonalAccessToken(alice.id, { scopes: ['api'] }).token;
    readToken = sim.createPersonalAccessToken(alice.id, { scopes: ['read_api'] }).token;
  });

  afterAll(async () => {
    await sim.close();
  });

  describe('groups and projects', () => {
    it('creates a group, a subgroup and a project inside it', async () => {
      const group = (await (await call('POST', '/groups', { name: 'Restored', path: 'restored' })).json()) as {
        id: number;
      };
      const sub = await call('POST', '/groups', { name: 'Team', path: 'team', parent_id: group.id });
      const subgroup = (await sub.json()) as { id: number; full_path: string };

      const created = await call('POST', '/projects', { name: 'App', path: 'app', namespace_id: subgroup.id });
      const project = (await created.json()) as Record<string, unknown>;

      expect(sub.status).toBe(201);
      expect(subgroup.full_path).toBe('restored/team');
      expect(created.status).toBe(201);
      expect(project).toMatchObject({
        path_with_namespace: 'restored/team/app',
        empty_repo: true,
        http_url_to_repo: `${sim.url}/restored/team/app.git`,
      });
    });

    it('refuses a write with a read_api token', async () => {
      const res = await call('POST', '/groups', { name: 'X', path: 'x' }, readToken);

      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: 'insufficient_scope', scope: 'api read_api' });
    });

    it('answers 400 when a project path is taken', async () => {
      const res = await call('POST', '/projects', {
        path: 'app',
        namespace_id: ((await (await call('GET', '/groups/restored%2Fteam')).json()) as { id: number }).id,
      });

      expect(res.status).toBe(400);
    });

    it('deletes a project with 202 and removes its repository', async () => {
      const project = (await (await call('POST', '/projects', { name: 'Doomed' })).json()) as {
        id: number;
        path_with_namespace: string;
      };
      const repo = sim.repoPath(project.id);

      const res = await call('DELETE', `/projects/${project.id}`);

      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ message: '202 Accepted' });
      expect((await call('GET', `/projects/${project.id}`)).status).toBe(404);
      expect(existsSync(repo)).toBe(false);
    });
  });

  describe('issues, notes, labels and milestones', () => {
    let projectPath: string;

    beforeAll(async () => {
      const project = (await (await call('POST', '/projects', { name: 'Tracker', path: 'tracker' })).json()) as {
        path_with_namespace: string;
      };
      projectPath = encodeURIComponent(project.path_with_namespace);
    });

    it('creates labels and a milestone and lists them', async () => {
      const label = await call('POST', `/projects/${projectPath}/labels`, { name: 'bug', color: '#d9534f' });
      const duplicate = await call('POST', `/projects/${projectPath}/labels`, { name: 'bug', color: '#d9534f' });
      const milestone = await call('POST', `/projects/${projectPath}/milestones`, {
        title: 'v1',
        due_date: '2026-06-01',
      });

      expect(label.status).toBe(201);
      expect(duplicate.status).toBe(409);
      expect(await milestone.json()).toMatchObject({
        iid: 1,
        title: 'v1',
        state: 'active',
        due_date: '2026-06-01',
        expired: false,
      });
      expect(
        ((await (await call('GET', `/projects/${projectPath}/labels`)).json()) as Array<{ name: string }>).map(
          (l) => l.name,
        ),
      ).toEqual(['bug']);
    });

    it('creates an issue keeping a historical created_at for the project owner', async () => {
      const res = await call('POST', `/projects/${projectPath}/issues`, {
        title: 'Crash on start',
        description: 'Boom',
        labels: 'bug,triage',
        created_at: '2020-01-02T03:04:05Z',
      });
      const issue = (await res.json()) as Record<string, any>;

      expect(res.status).toBe(201);
      expect(issue).toMatchObject({
        iid: 1,
        state: 'opened',
        labels: ['bug', 'triage'],
        created_at: '2020-01-02T03:04:05.000Z',
        author: { username: 'alice' },
      });
    });

    it('closes an issue through state_event and filters by state', async () => {
      await call('POST', `/projects/${projectPath}/issues`, { title: 'Second' });

      const closed = (await (
        await call('PUT', `/projects/${projectPath}/issues/1`, { state_event: 'close' })
      ).json()) as Record<string, any>;
      const open = (await (await call('GET', `/projects/${projectPath}/issues?state=opened`)).json()) as Array<{
        iid: number;
      }>;

      expect(closed).toMatchObject({ state: 'closed', closed_by: { username: 'alice' } });
      expect(open.map((i) => i.iid)).toEqual([2]);
    });

    it('adds notes to an issue and lists them newest first', async () => {
      await call('POST', `/projects/${projectPath}/issues/1/notes`, {
        body: 'first',
        created_at: '2020-01-03T00:00:00Z',
      });
      await call('POST', `/projects/${projectPath}/issues/1/notes`, {
        body: 'second',
        created_at: '2020-01-04T00:00:00Z',
      });

      const res = await call('GET', `/projects/${projectPath}/issues/1/notes`);
      const notes = (await res.json()) as Array<{ body: string; noteable_type: string }>;

      expect(notes.map((n) => n.body)).toEqual(['second', 'first']);
      expect(notes[0].noteable_type).toBe('Issue');
      expect(res.headers.get('x-total')).toBe('2');
    });

    it('answers 400 naming the missing parameter', async () => {
      const res = await call('POST', `/projects/${projectPath}/issues`, { description: 'no title' });

      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'title is missing' });
    });
  });
});
