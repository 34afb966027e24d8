/**
 * Starts a seeded GitLab simulator for humans and browser tests and prints how to reach it.
 *
 *   node --import @swc-node/register/esm-register test/support/gitlab-simulator/cli.ts [--port N]
 *
 * Seed: user `alice` (password `password123`) owning group `acme` with subgroup `acme/platform`,
 * a few projects (one public, one empty, one archived), issues, and an OAuth application whose
 * redirect URI is taken from LABKEEPER_OAUTH_REDIRECT_URI (default http://localhost:4000/oauth/callback).
 * Ctrl-C stops it and removes its data directory.
 */
import { AccessLevel, startGitLabSimulator } from './index.js';

const portArg = process.argv.indexOf('--port');
const redirectUri = process.env.LABKEEPER_OAUTH_REDIRECT_URI ?? 'http://localhost:4000/oauth/callback';

const sim = await startGitLabSimulator({ port: portArg >= 0 ? Number(process.argv[portArg + 1]) : undefined });
const alice = sim.createUser({ username: 'alice', name: 'Alice Admin', password: 'password123' });
const bob = sim.createUser({ username: 'bob', name: 'Bob Builder', password: 'password123' });
const pat = sim.createPersonalAccessToken(alice.id, {
  name: 'cli',
  scopes: ['api', 'read_repository', 'write_repository'],
});
const acme = sim.createGroup({ path: 'acme', name: 'ACME', ownerId: alice.id });
const platform = sim.createGroup({ path: 'platform', name: 'Platform', parentId: acme.id });
sim.addMember('group', platform.id, bob.id, AccessLevel.DEVELOPER);
const api = sim.createProject({ namespaceId: platform.id, path: 'api', name: 'API', description: 'The public API' });
sim.pushCommit(api.id, { files: { 'src/index.ts': 'export {};\n' }, message: 'Add entry point' });
sim.createBranch(api.id, { branch: 'develop' });
sim.createTag(api.id, { tag: 'v1.0.0', message: 'First release' });
sim.pushWikiPage(api.id, { title: 'Home', content: '# API wiki\n' });
sim.createProject({ namespaceId: platform.id, path: 'web', name: 'Web' });
sim.createProject({ namespaceId: acme.id, path: 'handbook', name: 'Handbook', visibility: 'public' });
sim.createProject({ namespaceId: acme.id, path: 'legacy', name: 'Legacy', archived: true });
sim.createProject({ namespaceId: acme.id, path: 'empty', name: 'Empty', withCommit: false });
sim.createProject({ namespaceId: sim.userNamespaceId(alice.id), path: 'dotfiles', name: 'dotfiles' });
const app = sim.createOAuthApplication({
  name: 'Labkeeper',
  redirectUri,
  scopes: ['api', 'read_api', 'read_user', 'read_repository', 'write_repository'],
});

console.log(`GitLab simulator listening on ${sim.url}`);
console.log(`  user:                alice / password123 (owner of acme)`);
console.log(`  personal token:      ${pat.token}`);
console.log(`  OAuth client_id:     ${app.clientId}`);
console.log(`  OAuth client_secret: ${app.clientSecret}`);
console.log(`  OAuth redirect_uri:  ${redirectUri}`);
console.log(`  try: curl -H "PRIVATE-TOKEN: ${pat.token}" ${sim.url}/api/v4/projects`);
console.log(`       git clone ${sim.url.replace('://', `://alice:${pat.token}@`)}/acme/platform/api.git`);

const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
