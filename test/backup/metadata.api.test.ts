import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { runBackup } from '../support/backups.js';
import { aUser } from '../support/gitlab-seed.js';
import { connectOrganization } from '../support/connections.js';

/** Metadata in a snapshot: every record of every type, as GitLab returned it, counted and compared. */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let projectId: number;

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'api' });
  projectId = project.id;
  sim.createBranch(projectId, { branch: 'feature' });
  sim.pushCommit(projectId, { branch: 'feature', files: { 'f.txt': 'feature\n' } });
  for (let i = 1; i <= 12; i++) {
    const issue = sim.createIssue(projectId, {
      title: `Issue ${i}`,
      description: `body ${i}`,
      labels: i % 2 ? ['bug'] : ['feature'],
    });
    for (let n = 0; n < (i % 3) + 1; n++)
      sim.createNote(projectId, { noteableType: 'Issue', noteableIid: issue.iid, body: `note ${n} on ${i}` });
  }
  const mr = sim.createMergeRequest(projectId, { title: 'Add feature', sourceBranch: 'feature', targetBranch: 'main' });
  sim.createNote(projectId, { noteableType: 'MergeRequest', noteableIid: mr.iid, body: 'LGTM' });
  sim.createMilestone(projectId, { title: 'v1' });
  sim.createMilestone(projectId, { title: 'v2', state: 'closed' });
  sim.createTag(projectId, { tag: 'v1.0.0' });
  sim.createRelease(projectId, { tagName: 'v1.0.0', name: 'First', description: 'notes' });
  sim.createVariable(projectId, { key: 'DEPLOY_TOKEN', value: 'super-secret-value-123' });
  sim.createSnippet(projectId, {
    title: 'Local setup',
    files: [
      { path: 'setup.sh', content: '#!/bin/sh\nmake\n' },
      { path: 'docker/compose.yml', content: 'services: {}\n' },
    ],
  });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

async function backup() {
  const { runId, status } = await runBackup(t, orgId);
  const items = (
    await t.gql(`query($id: ID!) { backupRun(id: $id) { items { snapshotId warnings status } } }`, { id: runId })
  ).data.backupRun.items;
  const snapshot = (
    await t.gql(`query($id: ID!) { snapshot(id: $id) { storagePrefix manifest metadataCounts verificationStatus } }`, {
      id: items[0].snapshotId,
    })
  ).data.snapshot;
  return { status, item: items[0], snapshot, manifest: JSON.parse(snapshot.manifest) };
}

const records = (snapshot: { storagePrefix: string }, path: string) =>
  gunzipSync(readFileSync(join(t.app.config.dataDir, 'backups', snapshot.storagePrefix, path)))
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('metadata in a snapshot', () => {
  let result: Awaited<ReturnType<typeof backup>>;

  beforeAll(async () => {
    result = await backup(); // the default policy: every metadata type, gzip, verify after backup
  });

  it('holds every issue with its notes, as GitLab returned them', () => {
    expect(result.status).toBe('SUCCEEDED');
    const issues = records(result.snapshot, 'metadata/issues.jsonl.gz');
    expect(issues.map((i) => i.iid).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(issues.find((i) => i.iid === 5)).toMatchObject({
      title: 'Issue 5',
      description: 'body 5',
      labels: ['bug'],
      notes: expect.any(Array),
    });
    expect(issues.reduce((n, i) => n + i.notes.length, 0)).toBe(24);
    expect(result.manifest.metadata.issues).toEqual({ status: 'OK', records: 12 });
  });

  it('holds merge requests with notes and versions, labels, milestones and releases', () => {
    const [mr] = records(result.snapshot, 'metadata/merge_requests.jsonl.gz');
    expect(mr).toMatchObject({ title: 'Add feature', source_branch: 'feature', target_branch: 'main' });
    expect(mr.notes.map((n: { body: string }) => n.body)).toContain('LGTM');
    expect(mr.versions.length).toBeGreaterThan(0);
    expect(
      records(result.snapshot, 'metadata/labels.jsonl.gz')
        .map((l) => l.name)
        .sort(),
    ).toEqual(['bug', 'feature']);
    expect(
      records(result.snapshot, 'metadata/milestones.jsonl.gz')
        .map((m) => m.title)
        .sort(),
    ).toEqual(['v1', 'v2']);
    expect(records(result.snapshot, 'metadata/releases.jsonl.gz')).toEqual([
      expect.objectContaining({ tag_name: 'v1.0.0', name: 'First' }),
    ]);
  });

  it('holds every file of a snippet with its content', () => {
    const [snippet] = records(result.snapshot, 'metadata/snippets.jsonl.gz');
    expect(snippet).toMatchObject({
      title: 'Local setup',
      content: '#!/bin/sh\nmake\n',
      files: [
        { path: 'setup.sh', content: '#!/bin/sh\nmake\n' },
        { path: 'docker/compose.yml', content: 'services: {}\n' },
      ],
    });
    expect(result.manifest.metadata.snippets).toEqual({ status: 'OK', records: 1 });
  });

  it('stores CI/CD variables encrypted, never in clear', () => {
    const artifact = result.manifest.artifacts.find(
      (a: { metadataType?: string }) => a.metadataType === 'ci_variables',
    );
    expect(artifact).toMatchObject({ encrypted: true, records: 1 });
    const raw = readFileSync(join(t.app.config.dataDir, 'backups', result.snapshot.storagePrefix, artifact.path));
    expect(raw.toString('latin1')).not.toContain('super-secret-value-123');
  });

  it('is verified after the backup, metadata decoded and counted', () => {
    expect(result.snapshot.verificationStatus).toBe('VERIFIED');
  });

  it('lists every metadata type in the manifest, a type GitLab refuses as SKIPPED with the reason', async () => {
    for (const type of [
      'issues',
      'merge_requests',
      'labels',
      'milestones',
      'releases',
      'snippets',
      'members',
      'protected_branches',
      'protected_tags',
      'webhooks',
      'deploy_keys',
      'ci_variables',
      'project_settings',
    ]) {
      expect(result.manifest.metadata[type]?.status).toMatch(/OK|SKIPPED/);
    }
    void execFileSync;
  });
});

describe('a child listing that fails', () => {
  it.each([404, 500])(
    'answering %i keeps the parent record with what was read, and the snapshot says so in a warning',
    async (status) => {
      sim.pushCommit(projectId, { branch: 'main', files: { [`change-${status}.txt`]: 'x\n' } }); // not skipped as unchanged
      // a 500 is retried first: it fails on every attempt the transport makes (5 in the tests)
      sim.failNext(status === 404 ? 1 : 5, {
        status: status as 404 | 500,
        pathPattern: new RegExp(`/api/v4/projects/${projectId}/merge_requests/1/versions$`),
      });

      const result = await backup();

      const warning = /^merge_requests !1: versions could not be read \(.+\); the record is kept with 0 of them$/;
      expect(result.manifest.metadata.merge_requests).toEqual({
        status: 'OK',
        records: 1,
        warnings: [expect.stringMatching(warning)],
      });
      expect(result.item.warnings).toEqual(expect.arrayContaining([expect.stringMatching(warning.source.slice(1))]));
      const [mr] = records(result.snapshot, 'metadata/merge_requests.jsonl.gz');
      expect(mr).toMatchObject({ iid: 1, title: 'Add feature', versions: [] });
      expect(mr.notes.map((n: { body: string }) => n.body)).toContain('LGTM');
    },
  );
});
