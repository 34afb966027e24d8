/**
 * The setup of a NEW_PROJECT restore test: a source GitLab whose `acme` group is backed up once,
 * and a target GitLab whose administrator `root` is connected with a personal access token, with
 * empty groups to restore into. `acme` holds two repositories whose heads differ on purpose:
 *
 * - `acme/app`: head `main` (the branch a new project's HEAD names), a `feature` branch one commit
 *   ahead, and a tag `v1.0.0`;
 * - `acme/legacy`: head `develop`, and a `main` branch one commit ahead of it.
 *
 * `beforeBackup` adds what a test needs besides (more refs, a merge request, a wiki page).
 */
import { expect } from '@jest/globals';
import { nextJob, startTestApp, type TestApp } from './app.js';
import { runBackup } from './backups.js';
import { connectOrganization } from './connections.js';
import { startGitLabSimulator, type GitLabSimulator } from './gitlab-simulator/index.js';
import { aUser, PASSWORD } from './gitlab-seed.js';

export interface NewProjectRestoreSetup {
  source: GitLabSimulator;
  target: GitLabSimulator;
  t: TestApp;
  organizationId: string;
  targetConnectionId: string;
  /** root's token on the target (scope api). */
  targetToken: string;
  /** Project ids of acme/app and acme/legacy on the source. */
  appId: number;
  legacyId: number;
  /** Restores the organization's latest snapshots into new projects under `namespacePath`: "STATUS[: error]". */
  restoreOrganization(namespacePath: string): Promise<string>;
  /** A project of the target, as its REST API shows it to root. */
  project(path: string): Promise<{ id: number; default_branch: string }>;
  /** Stops the app and both simulators. */
  stop(): Promise<void>;
}

export async function aBackedUpOrganizationWithATarget(options: {
  /** Groups on the target to restore into (each an empty group owned by root). */
  targetGroups: string[];
  beforeBackup?: (source: GitLabSimulator, ids: { appId: number; aliceId: number }) => void;
}): Promise<NewProjectRestoreSetup> {
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const resource of started.reverse()) await resource.stop();
  };
  try {
    const source = await startGitLabSimulator({ rateLimit: null });
    started.push({ stop: () => source.close() });
    const target = await startGitLabSimulator({ rateLimit: null });
    started.push({ stop: () => target.close() });

    const alice = aUser(source);
    const acme = source.createGroup({ path: 'acme', name: 'ACME', ownerId: alice.id });
    const appId = source.createProject({ namespaceId: acme.id, path: 'app', name: 'App' }).id;
    source.createBranch(appId, { branch: 'feature' });
    source.pushCommit(appId, { branch: 'feature', files: { 'feature.txt': 'x\n' } });
    source.createTag(appId, { tag: 'v1.0.0' });
    const legacyId = source.createProject({
      namespaceId: acme.id,
      path: 'legacy',
      name: 'Legacy',
      defaultBranch: 'develop',
    }).id;
    source.createBranch(legacyId, { branch: 'main', ref: 'refs/heads/develop' });
    source.pushCommit(legacyId, { branch: 'main', files: { 'main.txt': 'y\n' } });
    options.beforeBackup?.(source, { appId, aliceId: alice.id });

    aUser(target); // the group's member, mapped by username
    const root = target.createUser({ username: 'root', email: 'root@example.com', password: PASSWORD, isAdmin: true });
    for (const path of options.targetGroups)
      target.createGroup({ path, name: path[0].toUpperCase() + path.slice(1), ownerId: root.id });
    const targetToken = target.createPersonalAccessToken(root.id, { scopes: ['api'] }).token;

    const t = await startTestApp({ gitlab: { url: source.url } });
    started.push(t);
    const { organizationId } = await connectOrganization(t, source, { userId: alice.id, namespacePath: 'acme' });
    const connected = await t.gql(
      `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id } } }`,
      {
        i: {
          method: 'PERSONAL_ACCESS_TOKEN',
          instanceUrl: target.url,
          login: 'root',
          personalAccessToken: targetToken,
        },
      },
    );
    const targetConnectionId = connected.data.connectGitLab.connection.id as string;
    expect((await runBackup(t, organizationId)).status).toBe('SUCCEEDED');

    return {
      source,
      target,
      t,
      organizationId,
      targetConnectionId,
      targetToken,
      appId,
      legacyId,
      async restoreOrganization(namespacePath) {
        const done = nextJob(t, 'restore.run');
        const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
          i: { target: 'NEW_PROJECT', organizationId, targetConnectionId, namespacePath },
        });
        expect(r.errors).toBeUndefined();
        await done;
        const run = (
          await t.gql(`query($id: ID!) { restoreRun(id: $id) { status errorMessage } }`, {
            id: r.data.restoreSnapshot.id,
          })
        ).data.restoreRun;
        return `${run.status}${run.errorMessage ? `: ${run.errorMessage}` : ''}`;
      },
      async project(path) {
        const response = await fetch(`${target.url}/api/v4/projects/${encodeURIComponent(path)}`, {
          headers: { 'private-token': targetToken },
        });
        return (await response.json()) as { id: number; default_branch: string };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
