import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GitbeakerMetadataReaderFactory } from '../../server/src/gitlab/metadata.reader.js';
import { metadataSkipOf } from '../../server/src/gitlab/metadata.errors.js';
import type { GitLabMetadataReader, MetadataRecord } from '../../server/src/gitlab/metadata.port.js';
import type { GitbeakerClientFactoryOptions } from '../../server/src/gitlab/gitbeaker.adapter.js';
import { DomainError } from '../../server/src/shared/errors.js';
import { AccessLevel, startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';

/**
 * The metadata reader against the GitLab simulator: `acme` (owned by ada) holds the project `app`
 * with 105 issues, two merge requests and one of every other metadata type; `acme/platform` and
 * `acme/platform/infra` below it carry records that must stay out of acme's listings.
 */
describe('GitbeakerMetadataReader against the GitLab simulator', () => {
  let gitlab: GitLabSimulator;
  const factories: GitbeakerMetadataReaderFactory[] = [];
  let token: string;
  let repositoryOnlyToken: string;
  let developerToken: string;
  let acme: { id: number };
  let platform: { id: number };
  let app: { id: number };
  let bob: { id: number };
  const issueIds: number[] = [];
  const issueCount = 105;

  function reader(personalToken = token, options: GitbeakerClientFactoryOptions = {}): GitLabMetadataReader {
    const factory = new GitbeakerMetadataReaderFactory({ baseDelayMs: 1, maxDelayMs: 5, ...options });
    factories.push(factory);
    return factory.create({ instanceUrl: gitlab.url, token: personalToken, tokenType: 'personal' });
  }

  async function all(records: AsyncIterable<MetadataRecord>): Promise<MetadataRecord[]> {
    const out: MetadataRecord[] = [];
    for await (const record of records) out.push(record);
    return out;
  }

  async function failureOf(records: AsyncIterable<MetadataRecord>): Promise<DomainError> {
    const error = await all(records).then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }

  beforeAll(async () => {
    gitlab = await startGitLabSimulator({ rateLimit: null, now: () => new Date('2026-03-01T10:00:00Z') });
    const ada = gitlab.createUser({ username: 'ada', name: 'Ada Lovelace' });
    bob = gitlab.createUser({ username: 'bob', name: 'Bob' });
    const dev = gitlab.createUser({ username: 'dev' });
    token = gitlab.createPersonalAccessToken(ada.id, { scopes: ['read_api'] }).token;
    repositoryOnlyToken = gitlab.createPersonalAccessToken(ada.id, { scopes: ['read_repository'] }).token;
    developerToken = gitlab.createPersonalAccessToken(dev.id, { scopes: ['api'] }).token;
    acme = gitlab.createGroup({ path: 'acme', ownerId: ada.id });
    platform = gitlab.createGroup({ path: 'platform', parentId: acme.id });
    const infra = gitlab.createGroup({ path: 'infra', parentId: platform.id });
    app = gitlab.createProject({ namespaceId: acme.id, path: 'app' });
    gitlab.addMember('project', app.id, bob.id, AccessLevel.DEVELOPER, { expiresAt: '2027-01-01' });
    gitlab.addMember('project', app.id, dev.id, AccessLevel.DEVELOPER);

    for (let i = 1; i <= issueCount; i += 1) {
      gitlab.advanceTime(1000);
      issueIds.push(
        gitlab.createIssue(app.id, {
          title: `Issue ${i}`,
          state: i === 2 ? 'closed' : 'opened',
          confidential: i === 3,
          labels: i === 1 ? ['bug'] : [],
        }).id,
      );
    }
    gitlab.createNote(app.id, { noteableType: 'Issue', noteableIid: 1, body: 'first look' });
    gitlab.createNote(app.id, { noteableType: 'Issue', noteableIid: 1, body: 'changed the description', system: true });
    gitlab.createNote(app.id, { noteableType: 'Issue', noteableIid: 1, body: 'fixed', authorId: bob.id });

    gitlab.pushCommit(app.id, { branch: 'feature', files: { 'f.txt': 'f' } });
    gitlab.pushCommit(app.id, { branch: 'hotfix', files: { 'h.txt': 'h' } });
    gitlab.createMergeRequest(app.id, { title: 'Add feature', sourceBranch: 'feature', targetBranch: 'main' });
    gitlab.createMergeRequest(app.id, {
      title: 'Hotfix',
      sourceBranch: 'hotfix',
      targetBranch: 'main',
      state: 'merged',
    });
    gitlab.createNote(app.id, { noteableType: 'MergeRequest', noteableIid: 1, body: 'LGTM' });

    gitlab.createLabel(app.id, { name: 'triage', color: '#ff0000', description: 'needs a look' });
    gitlab.createGroupLabel(acme.id, { name: 'org-wide', color: '#00ff00' });
    gitlab.createGroupLabel(platform.id, { name: 'platform-only', color: '#0000ff' });
    gitlab.createMilestone(app.id, { title: 'v1', dueDate: '2026-06-01' });
    gitlab.createMilestone(app.id, { title: 'v0', state: 'closed' });
    gitlab.createGroupMilestone(acme.id, { title: 'Q2' });
    gitlab.createGroupMilestone(platform.id, { title: 'platform Q2' });
    gitlab.createRelease(app.id, {
      tagName: 'v1.0.0',
      ref: 'main',
      description: 'First',
      milestones: ['v1'],
      links: [{ name: 'binary', url: 'https://example.com/app.bin', directAssetPath: '/bin/app' }],
    });
    gitlab.createRelease(app.id, { tagName: 'v1.1.0', ref: 'feature' });
    gitlab.createSnippet(app.id, { title: 'Setup', fileName: 'setup.sh', content: '#!/bin/sh\necho "hi"\n' });
    gitlab.createSnippet(app.id, {
      title: 'Two files',
      files: [
        { path: 'run.sh', content: 'make run\n' },
        { path: 'conf/app.json', content: '{ "port": 8080 }\n' },
      ],
    });
    gitlab.createHook(app.id, {
      url: 'https://ci.example.com/hook',
      token: 'hook-secret',
      events: { merge_requests_events: true },
    });
    gitlab.createDeployKey(app.id, {
      title: 'deployer',
      key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deployer',
      canPush: true,
    });
    gitlab.createVariable(app.id, { key: 'DEPLOY_TOKEN', value: 's3cr3t', masked: true, protected: true });
    gitlab.createVariable(app.id, { key: 'HIDDEN', value: 'never-shown', hidden: true });
    gitlab.protectBranch(app.id, { name: 'main', pushAccessLevel: 40, mergeAccessLevel: 30 });
    gitlab.protectTag(app.id, { name: 'v*', createAccessLevel: 40 });

    gitlab.createEpic(acme.id, { title: 'Roadmap', authorId: ada.id });
    gitlab.createEpic(infra.id, { title: 'Infra epic', authorId: ada.id });
    gitlab.addMember('group', acme.id, bob.id, AccessLevel.REPORTER);
  });

  afterAll(async () => {
    for (const factory of factories) factory.close();
    await gitlab.close();
  });

  describe('issues', () => {
    it('returns every issue across pages, in creation order, with GitLab fields', async () => {
      const issues = await all(reader().projectRecords(app.id, 'issues'));

      expect(issues.map((i) => i.id)).toEqual(issueIds);
      expect(issues[1]).toMatchObject({ iid: 2, state: 'closed', project_id: app.id, title: 'Issue 2' });
      expect(issues[2]).toMatchObject({ confidential: true });
      expect(issues[0]).toMatchObject({
        labels: ['bug'],
        author: { username: 'ada' },
        references: { full: 'acme/app#1' },
      });
    });

    it('embeds every note, system notes included, oldest first', async () => {
      const [first, second] = await all(reader().projectRecords(app.id, 'issues'));

      expect((first.notes as MetadataRecord[]).map((n) => n.body)).toEqual([
        'first look',
        'changed the description',
        'fixed',
      ]);
      expect((first.notes as MetadataRecord[])[1]).toMatchObject({
        system: true,
        noteable_type: 'Issue',
        noteable_iid: 1,
      });
      expect(second.notes).toEqual([]);
    });

    it('pages with keyset and per_page=100, following the cursor GitLab sends', async () => {
      const before = gitlab.requests.length;

      await all(reader().projectRecords(app.id, 'issues'));

      const pages = gitlab.requests.slice(before).filter((r) => r.path === `/api/v4/projects/${app.id}/issues`);
      expect(pages).toHaveLength(2);
      expect(pages[0].query).toMatchObject({
        pagination: 'keyset',
        per_page: '100',
        scope: 'all',
        state: 'all',
        order_by: 'created_at',
        sort: 'asc',
      });
      expect(pages[1].query.cursor).toEqual(expect.any(String));
    });

    it('reports progress after each record', async () => {
      const counts: number[] = [];

      await all(reader().projectRecords(app.id, 'issues', (count) => counts.push(count)));

      expect(counts).toHaveLength(issueCount);
      expect(counts.at(-1)).toBe(issueCount);
    });
  });

  describe('merge requests', () => {
    it('embeds notes and versions (diff metadata)', async () => {
      const mrs = await all(reader().projectRecords(app.id, 'merge_requests'));

      expect(mrs.map((m) => [m.iid, m.state, m.source_branch])).toEqual([
        [1, 'opened', 'feature'],
        [2, 'merged', 'hotfix'],
      ]);
      expect((mrs[0].notes as MetadataRecord[]).map((n) => [n.body, n.noteable_type])).toEqual([
        ['LGTM', 'MergeRequest'],
      ]);
      const [version] = mrs[0].versions as MetadataRecord[];
      expect(version).toMatchObject({ head_commit_sha: mrs[0].sha, state: 'collected', merge_request_id: mrs[0].id });
      expect(version.base_commit_sha).toMatch(/^[0-9a-f]{40}$/);
    });
  });

  describe('child listings that fail', () => {
    it.each([404, 500])(
      'keeps a merge request whose versions answer %i, with what was read, and names it in a warning',
      async (status) => {
        // a 500 is retried by the requester first: it fails on every one of its 3 attempts
        gitlab.failNext(status === 404 ? 1 : 3, {
          status: status as 404 | 500,
          pathPattern: new RegExp(`/projects/${app.id}/merge_requests/2/versions$`),
        });
        const warnings: string[] = [];

        const mrs = await all(
          reader(token, { maxAttempts: 3 }).projectRecords(app.id, 'merge_requests', undefined, (w) =>
            warnings.push(w),
          ),
        );

        expect(mrs.map((m) => m.iid)).toEqual([1, 2]);
        expect(mrs[1]).toMatchObject({ iid: 2, versions: [] });
        expect(warnings).toEqual([
          expect.stringMatching(
            /^merge_requests !2: versions could not be read \(.*\); the record is kept with 0 of them$/,
          ),
        ]);
      },
    );

    it('says when the records read differ from the total GitLab reported (x-total)', async () => {
      const shifting = gitlab.createProject({
        namespaceId: acme.id,
        path: 'shifting',
        withCommit: false,
        wikiEnabled: false,
      });
      for (let i = 0; i < 130; i++) gitlab.createLabel(shifting.id, { name: `label-${String(i).padStart(3, '0')}` });
      const warnings: string[] = [];

      // a label of the first page is deleted before the second page is read: offset pages shift by one
      const labels = await all(
        reader().projectRecords(
          shifting.id,
          'labels',
          (count) => {
            if (count === 100)
              gitlab.state.labels.splice(
                gitlab.state.labels.findIndex((l) => l.projectId === shifting.id),
                1,
              );
          },
          (w) => warnings.push(w),
        ),
      );

      expect(labels).toHaveLength(129);
      expect(warnings).toEqual(['labels: GitLab reported 130 (x-total), 129 read']);
    });
  });

  describe('the other project types', () => {
    it('lists project labels only, not the group labels GitLab would add by default', async () => {
      const labels = await all(reader().projectRecords(app.id, 'labels'));

      expect(labels.map((l) => l.name)).toEqual(['bug', 'triage']);
      expect(labels[1]).toMatchObject({ color: '#ff0000', description: 'needs a look', is_project_label: true });
    });

    it('lists active and closed milestones', async () => {
      const milestones = await all(reader().projectRecords(app.id, 'milestones'));

      expect(milestones.map((m) => [m.title, m.state]).sort()).toEqual([
        ['v0', 'closed'],
        ['v1', 'active'],
      ]);
    });

    it('lists releases with their asset links as returned', async () => {
      const releases = await all(reader().projectRecords(app.id, 'releases'));

      expect(releases.map((r) => r.tag_name)).toEqual(['v1.0.0', 'v1.1.0']);
      expect(releases[0]).toMatchObject({
        description: 'First',
        milestones: [{ title: 'v1' }],
        assets: {
          links: [
            {
              name: 'binary',
              url: 'https://example.com/app.bin',
              link_type: 'other',
              direct_asset_url: expect.stringContaining('/downloads/bin/app'),
            },
          ],
        },
      });
    });

    it('embeds the content of every file of each snippet, as text', async () => {
      const snippets = await all(reader().projectRecords(app.id, 'snippets'));

      expect(snippets.find((s) => s.title === 'Setup')).toMatchObject({
        file_name: 'setup.sh',
        content: '#!/bin/sh\necho "hi"\n',
        files: [{ path: 'setup.sh', content: '#!/bin/sh\necho "hi"\n' }],
      });
      // a JSON file stays the text GitLab sent, and a path with a slash is one URL segment
      expect(snippets.find((s) => s.title === 'Two files')).toMatchObject({
        file_name: 'run.sh',
        content: 'make run\n',
        files: [
          { path: 'run.sh', content: 'make run\n' },
          { path: 'conf/app.json', content: '{ "port": 8080 }\n' },
        ],
      });
    });

    it('keeps a snippet whose file cannot be read without that file’s content, and names it in a warning', async () => {
      const two = gitlab.state.snippets.find((s) => s.title === 'Two files')!;
      gitlab.failNext(1, {
        status: 404,
        pathPattern: new RegExp(`/projects/${app.id}/snippets/${two.id}/files/main/conf%2Fapp%2Ejson/raw$`),
      });
      const warnings: string[] = [];

      const snippets = await all(reader().projectRecords(app.id, 'snippets', undefined, (w) => warnings.push(w)));

      const kept = snippets.find((s) => s.title === 'Two files')!;
      expect(kept.files).toEqual([
        expect.objectContaining({ path: 'run.sh', content: 'make run\n' }),
        { path: 'conf/app.json', raw_url: expect.any(String) },
      ]);
      expect(warnings).toEqual([
        expect.stringMatching(
          new RegExp(
            `^snippets id ${two.id}: file conf/app.json could not be read \\(.*\\); the record is kept without it$`,
          ),
        ),
      ]);
    });

    it('lists direct members only, without the group’s owner', async () => {
      const members = await all(reader().projectRecords(app.id, 'members'));

      expect(members.map((m) => m.username)).toEqual(['bob', 'dev']);
      expect(members[0]).toMatchObject({ access_level: 30, expires_at: '2027-01-01', membership_state: 'active' });
    });

    it('lists protected branches and tags with their access levels', async () => {
      const branches = await all(reader().projectRecords(app.id, 'protected_branches'));
      const tags = await all(reader().projectRecords(app.id, 'protected_tags'));

      expect(branches).toEqual([
        expect.objectContaining({
          name: 'main',
          push_access_levels: [expect.objectContaining({ access_level: 40 })],
          merge_access_levels: [expect.objectContaining({ access_level: 30 })],
        }),
      ]);
      expect(tags).toEqual([
        {
          name: 'v*',
          create_access_levels: [
            expect.objectContaining({ access_level: 40, access_level_description: 'Maintainers' }),
          ],
        },
      ]);
    });

    it('lists webhooks, which never carry their secret token', async () => {
      const [hook] = await all(reader().projectRecords(app.id, 'webhooks'));

      expect(hook).toMatchObject({
        url: 'https://ci.example.com/hook',
        merge_requests_events: true,
        push_events: true,
      });
      expect(JSON.stringify(hook)).not.toContain('hook-secret');
    });

    it('lists deploy keys with their public key and write access', async () => {
      const [key] = await all(reader().projectRecords(app.id, 'deploy_keys'));

      expect(key).toMatchObject({
        title: 'deployer',
        can_push: true,
        key: expect.stringMatching(/^ssh-ed25519 /),
        fingerprint_sha256: expect.stringMatching(/^SHA256:/),
      });
    });

    it('returns CI/CD variable values as GitLab sends them (hidden ones come back null)', async () => {
      const variables = await all(reader().projectRecords(app.id, 'ci_variables'));

      expect(variables.map((v) => [v.key, v.value, v.masked])).toEqual([
        ['DEPLOY_TOKEN', 's3cr3t', true],
        ['HIDDEN', null, true],
      ]);
    });

    it('returns the project settings as one record with statistics and licence', async () => {
      const settings = await all(reader().projectRecords(app.id, 'project_settings'));

      expect(settings).toHaveLength(1);
      expect(settings[0]).toMatchObject({
        id: app.id,
        path_with_namespace: 'acme/app',
        statistics: expect.objectContaining({ repository_size: expect.any(Number) }),
      });
      expect(settings[0]).toHaveProperty('license');
    });
  });

  describe('group types', () => {
    it('lists the group’s own labels and milestones, not its subgroups’', async () => {
      const labels = await all(reader().groupRecords(acme.id, 'group_labels'));
      const milestones = await all(reader().groupRecords(acme.id, 'group_milestones'));

      expect(labels.map((l) => l.name)).toEqual(['org-wide']);
      expect(milestones.map((m) => [m.title, m.group_id])).toEqual([['Q2', acme.id]]);
    });

    it('lists direct group members', async () => {
      const members = await all(reader().groupRecords(acme.id, 'group_members'));

      expect(members.map((m) => [m.username, m.access_level])).toEqual([
        ['ada', 50],
        ['bob', 20],
      ]);
    });

    it('lists one level of subgroups', async () => {
      const subgroups = await all(reader().groupRecords(acme.id, 'subgroups'));

      expect(subgroups.map((g) => g.full_path)).toEqual(['acme/platform']);
    });

    it('lists the group’s own epics on Premium, not those of subgroups', async () => {
      gitlab.setTier('premium');
      try {
        const epics = await all(reader().groupRecords(acme.id, 'epics'));

        expect(epics.map((e) => [e.title, e.group_id])).toEqual([['Roadmap', acme.id]]);
      } finally {
        gitlab.setTier('free');
      }
    });
  });

  describe('group types over the whole tree (one listing each)', () => {
    it('lists the labels, milestones and subgroups of the group and all its descendants, each as its group listing gives it', async () => {
      const [labels, milestones, subgroups] = await Promise.all(
        (['group_labels', 'group_milestones', 'subgroups'] as const).map((type) =>
          all(reader().groupTreeRecords(acme.id, type)),
        ),
      );
      const platformLabels = await all(reader().groupRecords(platform.id, 'group_labels'));

      expect(labels.map((l) => l.name).sort()).toEqual(['org-wide', 'platform-only']);
      expect(labels.find((l) => l.name === 'platform-only')).toEqual(platformLabels[0]);
      expect(milestones.map((m) => [m.title, m.group_id]).sort()).toEqual([
        ['Q2', acme.id],
        ['platform Q2', platform.id],
      ]);
      expect(subgroups.map((g) => [g.full_path, g.parent_id])).toEqual([
        ['acme/platform', acme.id],
        ['acme/platform/infra', platform.id],
      ]);
    });

    it('lists the epics of every group of the tree on Premium, and is refused below it as the group listing is', async () => {
      const refused = await failureOf(reader().groupTreeRecords(acme.id, 'epics'));
      gitlab.setTier('premium');
      try {
        const epics = await all(reader().groupTreeRecords(acme.id, 'epics'));

        expect(epics.map((e) => e.title).sort()).toEqual(['Infra epic', 'Roadmap']);
      } finally {
        gitlab.setTier('free');
      }
      expect(refused.code).toBe('GITLAB_FORBIDDEN');
    });
  });

  describe('types that cannot be read', () => {
    it('reports epics on Free as not available on this tier', async () => {
      gitlab.setTier('free');

      const error = await failureOf(reader().groupRecords(acme.id, 'epics'));

      expect(error.code).toBe('GITLAB_FORBIDDEN');
      expect(metadataSkipOf(error)).toEqual({ kind: 'NOT_ON_TIER', reason: expect.stringContaining('Premium') });
      expect(error.details).toMatchObject({ metadataType: 'epics', status: 403 });
    });

    it('reports a token without api or read_api scope as a scope skip', async () => {
      const error = await failureOf(reader(repositoryOnlyToken).projectRecords(app.id, 'issues'));

      expect(error.code).toBe('GITLAB_FORBIDDEN');
      expect(error.details).toMatchObject({
        requiredScopes: ['api', 'read_api'],
        skipKind: 'TOKEN_SCOPE',
        skipReason: 'token lacks api or read_api scope',
      });
    });

    it('reports CI/CD variables read by a Developer as an access skip naming the role', async () => {
      const error = await failureOf(reader(developerToken).projectRecords(app.id, 'ci_variables'));

      expect(metadataSkipOf(error)).toEqual({ kind: 'ACCESS_DENIED', reason: expect.stringContaining('Maintainer') });
    });

    it('fails, without a skip, for a project that does not exist', async () => {
      const error = await failureOf(reader().projectRecords(999_999, 'labels'));

      expect(error.code).toBe('GITLAB_NOT_FOUND');
      expect(metadataSkipOf(error)).toBeNull();
    });
  });

  describe('offset pagination', () => {
    it('follows rel="next" over offset pages for a type without keyset', async () => {
      const busy = gitlab.createProject({ namespaceId: acme.id, path: 'busy', withCommit: false, wikiEnabled: false });
      const ids = Array.from(
        { length: 130 },
        (_, i) => gitlab.createLabel(busy.id, { name: `label-${String(i).padStart(3, '0')}` }).id,
      );
      const before = gitlab.requests.length;

      const labels = await all(reader().projectRecords(busy.id, 'labels'));

      expect(labels.map((l) => l.id)).toEqual(ids);
      const pages = gitlab.requests.slice(before).map((r) => r.query);
      expect(pages.map((q) => [q.page ?? '1', q.per_page])).toEqual([
        ['1', '100'],
        ['2', '100'],
      ]);
      expect(pages[1]).toMatchObject({ include_ancestor_groups: 'false', with_counts: 'false' });
    });
  });

  describe('rate limits', () => {
    it('honours the Retry-After of a 429 on a metadata page and then reads it', async () => {
      const delays: number[] = [];
      const sleep = async (ms: number) => {
        delays.push(ms);
      };
      gitlab.rateLimitNext(1, { retryAfterSeconds: 7, pathPattern: new RegExp(`/projects/${app.id}/milestones$`) });

      const milestones = await all(reader(token, { sleep }).projectRecords(app.id, 'milestones'));

      expect(delays).toEqual([7000]);
      expect(milestones).toHaveLength(2);
    });
  });
});
