import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';

/**
 * With verify-after-backup on (the default policy), a FULL's pack is checked by git as it streams
 * in from GitLab. A repository on GitLab's side with a damaged object (a loose object file holding
 * another object's content: every byte of the transfer is intact, the pack's checksum matches, but
 * a tree names a blob the pack does not hold) is never stored as a snapshot: the transfer fails
 * with git's finding. Without the check, the pack was stored and only the verification after it
 * found the damage (a snapshot that failed verification, the item PARTIAL).
 */
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;

const objectFile = (repo: string, oid: string) => join(repo, 'objects', oid.slice(0, 2), oid.slice(2));

beforeAll(async () => {
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const sound = sim.createProject({ namespaceId: group.id, path: 'sound' });
  sim.pushCommit(sound.id, { files: { 'a.txt': 'aaa\n' } });
  const damaged = sim.createProject({ namespaceId: group.id, path: 'damaged' });
  sim.pushCommit(damaged.id, { files: { 'a.txt': 'aaa\n', 'b.txt': 'bbb\n' } });
  const repo = sim.repoPath(damaged.id);
  const blob = (path: string) =>
    execFileSync('git', ['rev-parse', `HEAD:${path}`], { cwd: repo })
      .toString()
      .trim();
  const [a, b] = [blob('a.txt'), blob('b.txt')];
  chmodSync(objectFile(repo, a), 0o644);
  copyFileSync(objectFile(repo, b), objectFile(repo, a)); // "a" now holds b's content
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
});

afterAll(async () => {
  await t?.stop();
  await sim?.close();
});

it("fails the damaged repository with git's finding and stores no snapshot of it, while the sound one is verified", async () => {
  const run = await runBackup(t, orgId);
  expect(run.status).toBe('PARTIAL');
  const items: { path: string; status: string; error: string | null; snapshot_id: string | null }[] =
    await t.app.dataSource.query(
      `SELECT path_with_namespace AS path, status, error_message AS error, snapshot_id FROM backup_run_items
        WHERE run_id = $1 AND repository_id IS NOT NULL ORDER BY path_with_namespace`,
      [run.runId],
    );
  expect(items.map(({ path, status }) => ({ path, status }))).toEqual([
    { path: 'acme/damaged', status: 'FAILED' },
    { path: 'acme/sound', status: 'SUCCEEDED' },
  ]);
  expect(items[0].error).toMatch(/failed git's check: history is incomplete/);
  const snapshots: { path: string; verification_status: string }[] = await t.app.dataSource.query(
    `SELECT r.path_with_namespace AS path, s.verification_status FROM snapshots s
       JOIN repositories r ON r.id = s.repository_id WHERE s.organization_id = $1`,
    [orgId],
  );
  expect(snapshots).toEqual([{ path: 'acme/sound', verification_status: 'VERIFIED' }]);
});

it('takes a bundle the storage read back as it wrote it for proven right after the backup, while a verification asked for later re-reads it', async () => {
  const [{ id, prefix }]: { id: string; prefix: string }[] = await t.app.dataSource.query(
    `SELECT s.id, s.storage_prefix AS prefix FROM snapshots s JOIN repositories r ON r.id = s.repository_id
      WHERE s.organization_id = $1 AND r.path_with_namespace = 'acme/sound'`,
    [orgId],
  );
  // The stored bundle changes after the backup (a byte of its pack, past the header).
  const bundle = join(t.app.config.dataDir, 'backups', prefix, 'repository.bundle');
  const bytes = readFileSync(bundle);
  bytes[bytes.length - 30] ^= 0xff;
  chmodSync(bundle, 0o600);
  writeFileSync(bundle, bytes);

  // Right after the backup, the bundle read back as written (and checked by git as it streamed) is not read again …
  const afterBackup = await t.app.services.verifier.verify(id, {
    readBackAtWrite: ['repository.bundle'],
    checkedInStream: ['repository.bundle'],
  });
  expect(afterBackup.result).toEqual({ ok: true, problems: [] });
  // … but any later verification reads and hashes every stored byte again, and finds the change.
  const later = await t.app.services.snapshots.verify(id);
  expect(later.snapshot.verificationStatus).toBe('FAILED');
  expect(later.result.problems).toContainEqual(expect.stringMatching(/repository\.bundle: sha256 mismatch/));
});
