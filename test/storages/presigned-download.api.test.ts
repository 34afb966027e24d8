import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, subscribe, type TestApp } from '../support/app.js';
import { runBackup } from '../support/backups.js';
import { connectOrganization } from '../support/connections.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { aUser } from '../support/gitlab-seed.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

/**
 * DOWNLOAD as a presigned S3 URL: under a policy with `storage.downloadLink: PRESIGNED` (an S3
 * primary), a DOWNLOAD restore writes its archive to the storage and hands over a presigned URL
 * that the S3 server (s3rver) itself answers with the archive's bytes, without Labkeeper in between.
 * s3rver checks a presigned URL's expiry but not its SigV4 signature (it computes v2 signatures
 * only), so the signature's correctness rests on the SDK's own signer, the one that signs every
 * request Labkeeper sends to S3; the test checks what it signs for.
 */
let s3: TestS3Server;
let sim: GitLabSimulator;
let t: TestApp;
let orgId: string;
let storageId: string;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'labkeeper-presigned-'));
  s3 = await startS3Server('backups');
  sim = await startGitLabSimulator();
  const alice = aUser(sim);
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  const project = sim.createProject({ namespaceId: group.id, path: 'api' });
  sim.pushCommit(project.id, { files: { 'readme.md': '# api\n' } });
  t = await startTestApp({ gitlab: { url: sim.url } });
  ({ organizationId: orgId } = await connectOrganization(t, sim, { userId: alice.id, namespacePath: 'acme' }));
  const created = await t.gql(`mutation($i: StorageSettingsInput!) { createStorage(input: $i) { storage { id } } }`, {
    i: {
      name: 'offsite',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'backups',
      prefix: 'lk',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'a-secret-access-key-0123456789',
    },
  });
  expect(created.errors).toBeUndefined();
  storageId = created.data.createStorage.storage.id;
});
afterAll(async () => {
  await t?.stop();
  await sim?.close();
  await s3?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('DOWNLOAD as a presigned URL', () => {
  it('is refused for a local primary, naming the field', async () => {
    const r = await setPolicyStorage({ kind: 'LOCAL', downloadLink: 'PRESIGNED' });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(r.errors![0].extensions!.fields).toEqual({
      'input.storage.downloadLink': 'can be PRESIGNED only when kind is STORAGE (an S3 primary)',
    });
  });

  it('is chosen by an ADMIN token only (a presigned URL is bound to no token)', async () => {
    expect((await setPolicyStorage({ kind: 'STORAGE', storageId })).errors).toBeUndefined();
    const operator = (
      await t.gql(`mutation { createApiToken(input: { name: "operator", role: BACKUP_OPERATOR }) { token } }`)
    ).data.createApiToken.token as string;
    const r = await setPolicyStorage({ kind: 'STORAGE', storageId, downloadLink: 'PRESIGNED' }, operator);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('hands over a presigned URL the S3 server answers with the archive', async () => {
    expect((await setPolicyStorage({ kind: 'STORAGE', storageId, downloadLink: 'PRESIGNED' })).errors).toBeUndefined();
    const policy = await t.gql(
      `query($o: ID!) { policy(organizationId: $o) { settings { storage { downloadLink } } } }`,
      {
        o: orgId,
      },
    );
    expect(policy.data.policy.settings.storage).toEqual({ downloadLink: 'PRESIGNED' });
    const backup = await runBackup(t, orgId);
    expect(backup.status).toBe('SUCCEEDED');
    const [snapshot] = await t.app.dataSource.query<{ id: string; storage_prefix: string }[]>(
      'SELECT id, storage_prefix FROM snapshots WHERE repository_id IS NOT NULL',
    );

    const restore = await downloadRestore(snapshot.id);
    expect(restore.status).toBe('SUCCEEDED');
    const url = new URL(restore.downloadUrl!);
    expect(url.origin).toBe(s3.endpoint);
    expect(url.pathname).toBe(`/backups/lk/restores/${restore.id}/archive.tar`);
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeGreaterThan(3500);

    const response = await download(url);
    expect(response.status).toBe(200);
    const archive = join(scratch, 'archive.tar');
    await writeFile(archive, response.body);
    const listed = (await tarList(archive)).split('\n');
    expect(listed).toEqual(
      expect.arrayContaining([
        `${snapshot.storage_prefix}/manifest.json`,
        `${snapshot.storage_prefix}/repository.bundle`,
      ]),
    );
    // Signed for the storage's key pair and region, with nothing but the host: a browser sends no other header.
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request$/);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});

/** `tar -tf`, its stdin closed at once (a child left with an open stdin pipe keeps jest from exiting). */
function tarList(archive: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-tf', archive], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`tar -tf: exit ${String(code)}`)),
    );
  });
}

/** A GET on its own connection (no keep-alive socket left to the server after the test). */
function download(url: URL): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    }).once('error', reject);
  });
}

async function downloadRestore(snapshotId: string) {
  const r = await t.gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, {
    i: { target: 'DOWNLOAD', snapshotIds: [snapshotId] },
  });
  expect(r.errors).toBeUndefined();
  const id = r.data.restoreSnapshot.id as string;
  const sub = subscribe<{ restoreProgress: { isTerminal: boolean } }>(
    t.ws(),
    `subscription($r: ID!) { restoreProgress(runId: $r) { isTerminal } }`,
    { r: id },
  );
  const query = `query($id: ID!) { restoreRun(id: $id) { id status downloadUrl } }`;
  const current = await t.gql(query, { id });
  if (!['SUCCEEDED', 'FAILED', 'PARTIAL'].includes(current.data.restoreRun.status))
    await sub.next((e) => e.restoreProgress.isTerminal);
  sub.dispose();
  return (await t.gql(query, { id })).data.restoreRun as { id: string; status: string; downloadUrl: string | null };
}

async function setPolicyStorage(storage: Record<string, unknown>, token = t.adminToken) {
  const SETTINGS = `scope { mode } include { repository wiki lfs metadata groupMetadata } schedule { type time { hour minute } fullDayOfMonth differentialWeekday } timeZone retention { mode fullDays differentialDays incrementalDays keepLast } compression verifyAfterBackup`;
  const current = (
    await t.gql(`query($o: ID!) { policy(organizationId: $o) { settings { ${SETTINGS} } } }`, { o: orgId })
  ).data.policy.settings;
  return t.gql(
    `mutation($o: ID!, $i: CustomizePolicyInput!) { customizePolicy(organizationId: $o, input: $i) { id } }`,
    { o: orgId, i: { ...current, schedule: { type: 'MANUAL' }, storage: { path: null, ...storage } } },
    token,
  );
}
