/** Builders for GitLab content in the simulator, so tests say what they need in one line. */
import type { GitLabSimulator } from './gitlab-simulator/index.js';

export const PASSWORD = 'correct-horse-battery';

export function aUser(sim: GitLabSimulator, username = 'alice') {
  return sim.createUser({
    username,
    email: `${username}@example.com`,
    name: username[0].toUpperCase() + username.slice(1),
    password: PASSWORD,
  });
}

export function aToken(
  sim: GitLabSimulator,
  userId: number,
  scopes = ['read_api', 'read_repository'],
  extra: { expiresAt?: string | null; revoked?: boolean } = {},
) {
  return sim.createPersonalAccessToken(userId, { name: 'labkeeper', scopes, ...extra });
}

/**
 * A group `path` owned by `ownerId` with nested subgroups and `projectCount` projects spread over
 * them (more than 100 exercises pagination). Projects have no commits unless `withCommit`.
 */
export function anOrganization(
  sim: GitLabSimulator,
  ownerId: number,
  options: { path?: string; projectCount?: number; withCommit?: boolean } = {},
) {
  const path = options.path ?? 'acme';
  const root = sim.createGroup({ path, name: path.toUpperCase(), ownerId });
  const platform = sim.createGroup({ path: 'platform', parentId: root.id });
  const infra = sim.createGroup({ path: 'infra', parentId: platform.id });
  const deep = sim.createGroup({ path: 'deep', parentId: infra.id });
  const apps = sim.createGroup({ path: 'apps', parentId: root.id });
  const groups = [root, platform, infra, deep, apps];
  const projects = [];
  for (let i = 0; i < (options.projectCount ?? 130); i++) {
    const group = groups[i % groups.length];
    projects.push(
      sim.createProject({
        namespaceId: group.id,
        path: `project-${String(i).padStart(3, '0')}`,
        withCommit: options.withCommit ?? false,
      }),
    );
  }
  return { root, groups, projects };
}
