import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { pushRestoredRefs } from '../../server/src/restore/git-restore.js';
import { pushStoredPack } from '../../server/src/restore/stored-pack-push.js';
import { uploadLfsObjects } from '../../server/src/restore/lfs-upload.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { createTestCertificates, type TestCertificates } from '../gitlab/test-ca.js';

/**
 * A restore's git push and LFS upload go through the connection's transport: it trusts the connection's private
 * certificate authority (a self-managed GitLab behind a self-signed CA), and a token GitLab
 * rejects before its expiry is renewed once and the push goes on.
 */
let certificates: TestCertificates;
let sim: GitLabSimulator;
let groupId: number;
let userId: number;
const scratch = mkdtempSync(join(tmpdir(), 'labkeeper-push-transport-'));
const sh = (args: string[], cwd?: string) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let source: string;
let refs: Record<string, string>;

beforeAll(async () => {
  certificates = createTestCertificates();
  sim = await startGitLabSimulator({ tls: { key: certificates.serverKey, cert: certificates.serverCert } });
  userId = sim.createUser({ username: 'alice' }).id;
  groupId = sim.createGroup({ path: 'acme', ownerId: userId }).id;
  // What a restore materialized: a bare repository with one branch.
  const work = join(scratch, 'work');
  sh(['init', '-q', '-b', 'main', work]);
  sh(['-c', 'user.name=A', '-c', 'user.email=a@example.com', 'commit', '-q', '--allow-empty', '-m', 'first'], work);
  source = join(scratch, 'restored.git');
  sh(['clone', '-q', '--bare', work, source]);
  refs = { 'refs/heads/main': sh(['rev-parse', 'HEAD'], work).trim() };
});
afterAll(async () => {
  await sim?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const aTarget = (path: string) => {
  const id = sim.createProject({ namespaceId: groupId, path, withCommit: false }).id;
  return { id, remoteUrl: `${sim.url}/acme/${path}.git` };
};
const aToken = () => sim.createPersonalAccessToken(userId, { scopes: ['api', 'write_repository'] }).token;

/**
 * Credentials (with the CA) whose token GitLab rejects, as if revoked before its expiry, until
 * they are renewed once to a fresh token; `renewals` lists the tokens renewal was asked for.
 */
const aTokenGitLabRejectsUntilRenewed = (rejected: string) => {
  const fresh = aToken();
  const renewals: string[] = [];
  const auth = {
    username: 'oauth2',
    password: rejected,
    caCertificate: certificates.caPem,
    renew: async (old: string) => {
      renewals.push(old);
      auth.password = fresh;
      return fresh;
    },
  };
  return { auth, rejected, renewals };
};

describe('a restore push', () => {
  it('reaches a GitLab behind a private CA when the connection carries the CA certificate', async () => {
    const target = aTarget('with-ca');
    const report = await pushRestoredRefs({
      dir: source,
      remoteUrl: target.remoteUrl,
      auth: { username: 'oauth2', password: aToken(), caCertificate: certificates.caPem },
      mode: 'NEW',
      refs,
      head: 'refs/heads/main',
    });
    expect(report.pushed).toEqual(['refs/heads/main']);
    expect(sh(['rev-parse', 'refs/heads/main'], sim.repoPath(target.id)).trim()).toBe(refs['refs/heads/main']);
  });

  it('is refused without the CA certificate (the instance is not trusted by default)', async () => {
    const target = aTarget('without-ca');
    const failure = await pushRestoredRefs({
      dir: source,
      remoteUrl: target.remoteUrl,
      auth: { username: 'oauth2', password: aToken() },
      mode: 'NEW',
      refs,
      head: 'refs/heads/main',
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
  });

  it('renews a token GitLab rejects once, and pushes with the new one', async () => {
    const target = aTarget('renewed');
    const { auth, rejected, renewals } = aTokenGitLabRejectsUntilRenewed('glpat-a-token-gitlab-no-longer-accepts');
    const before = sim.requests.length;

    const report = await pushRestoredRefs({
      dir: source,
      remoteUrl: target.remoteUrl,
      auth,
      mode: 'NEW',
      refs,
      head: 'refs/heads/main',
    });

    expect(report.pushed).toEqual(['refs/heads/main']);
    expect(renewals).toEqual([rejected]);
    expect(sim.requests.slice(before).some((r) => r.status === 401)).toBe(true);
    expect(sh(['rev-parse', 'refs/heads/main'], sim.repoPath(target.id)).trim()).toBe(refs['refs/heads/main']);
  });

  it('sends a stored FULL bundle’s pack through the private CA, renewing a token GitLab rejects once', async () => {
    const target = aTarget('stored-pack');
    const bundle = join(scratch, 'full.bundle');
    sh(['bundle', 'create', '-q', bundle, '--all'], source);
    const { auth, rejected, renewals } = aTokenGitLabRejectsUntilRenewed(
      'glpat-yet-another-token-gitlab-no-longer-accepts',
    );

    const report = await pushStoredPack({
      openBundle: async () => createReadStream(bundle),
      remoteUrl: target.remoteUrl,
      auth,
      refs,
      head: 'refs/heads/main',
      targetHead: 'refs/heads/main',
    });

    expect(report).toEqual({ pushed: ['refs/heads/main'], skipped: [], rejected: [], extra: [] });
    expect(renewals).toEqual([rejected]);
    expect(sh(['rev-parse', 'refs/heads/main'], sim.repoPath(target.id)).trim()).toBe(refs['refs/heads/main']);
  });

  it('fails, with nothing created, when GitLab cannot take the stored pack (damaged in storage)', async () => {
    const target = aTarget('damaged-pack');
    const bundle = join(scratch, 'damaged.bundle');
    sh(['bundle', 'create', '-q', bundle, '--all'], source);
    const bytes = readFileSync(bundle);
    bytes[bytes.length - 30] ^= 0xff; // inside the pack, before its trailer
    writeFileSync(bundle, bytes);

    const failure = await pushStoredPack({
      openBundle: async () => createReadStream(bundle),
      remoteUrl: target.remoteUrl,
      auth: { username: 'oauth2', password: aToken(), caCertificate: certificates.caPem },
      refs,
      head: 'refs/heads/main',
      targetHead: 'refs/heads/main',
    }).catch((error: unknown) => error);

    expect(failure).toMatchObject({
      code: 'GIT_FAILED',
      message: expect.stringMatching(/refused the stored pack: unpack /),
    });
    expect(sh(['for-each-ref'], sim.repoPath(target.id))).toBe('');
  });

  it('uploads LFS objects through the private CA, renewing a token GitLab rejects once', async () => {
    const target = sim.createProject({ namespaceId: groupId, path: 'lfs-target', withCommit: false, lfsEnabled: true });
    const content = 'a large file behind a private CA\n';
    const oid = createHash('sha256').update(content).digest('hex');
    const { auth, rejected, renewals } = aTokenGitLabRejectsUntilRenewed(
      'glpat-another-token-gitlab-no-longer-accepts',
    );

    const result = await uploadLfsObjects({
      repoHttpUrl: `${sim.url}/acme/lfs-target.git`,
      auth,
      caCertificate: auth.caCertificate,
      objects: [{ oid, size: Buffer.byteLength(content) }],
      open: async () => Readable.from([Buffer.from(content)]),
    });

    expect(result).toMatchObject({ uploaded: [oid], failed: [] });
    expect(renewals).toEqual([rejected]);
    expect(sim.lfsObjects(target.id).map((o) => o.oid)).toContain(oid);
  });
});
