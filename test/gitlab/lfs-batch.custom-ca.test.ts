import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { downloadLfsObjects } from '../../server/src/backup/lfs.js';
import { GitLabHttp } from '../../server/src/gitlab/gitlab-http.js';
import { uploadLfsObjects } from '../../server/src/restore/lfs-upload.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { createTestCertificates, type TestCertificates } from './test-ca.js';

/** Git LFS through the one GitLab transport: a self-managed instance behind a private certificate authority. */
describe('LFS objects from and to a GitLab behind a private certificate authority', () => {
  let certificates: TestCertificates;
  let sim: GitLabSimulator;
  let http: GitLabHttp;
  let pat: string;
  let sourceId: number;
  let targetId: number;
  const content = 'a large file behind a private CA\n';
  const oid = createHash('sha256').update(content).digest('hex');
  const object = { oid, size: Buffer.byteLength(content) };

  beforeAll(async () => {
    certificates = createTestCertificates();
    sim = await startGitLabSimulator({ tls: { key: certificates.serverKey, cert: certificates.serverCert } });
    http = new GitLabHttp({ maxAttempts: 1 });
    const alice = sim.createUser({ username: 'alice' });
    pat = sim.createPersonalAccessToken(alice.id, { scopes: ['api'] }).token;
    const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
    sourceId = sim.createProject({ namespaceId: group.id, path: 'media' }).id;
    targetId = sim.createProject({ namespaceId: group.id, path: 'restored' }).id;
    sim.addLfsObject(sourceId, content);
  });

  afterAll(async () => {
    http?.close();
    await sim?.close();
  });

  const collect = () => {
    const stored = new Map<string, string>();
    const sink = async (id: string, _size: number, body: Readable) => {
      let text = '';
      for await (const chunk of body) text += (chunk as Buffer).toString('utf8');
      stored.set(id, text);
    };
    return { stored, sink };
  };

  it('downloads when the connection carries the CA certificate', async () => {
    const { stored, sink } = collect();

    const result = await downloadLfsObjects({
      repoHttpUrl: `${sim.url}/acme/media.git`,
      auth: { username: 'alice', password: pat },
      caCertificate: certificates.caPem,
      http,
      objects: [object],
      sink,
    });

    expect(result).toMatchObject({ downloaded: 1, missing: [], failed: [] });
    expect(stored.get(oid)).toBe(content);
  });

  it('uploads when the connection carries the CA certificate', async () => {
    const result = await uploadLfsObjects({
      repoHttpUrl: `${sim.url}/acme/restored.git`,
      auth: { username: 'alice', password: pat },
      caCertificate: certificates.caPem,
      http,
      objects: [object],
      open: async () => Readable.from([Buffer.from(content)]),
    });

    expect(result).toMatchObject({ uploaded: [oid], failed: [] });
    expect(sim.lfsObjects(targetId).map((o) => o.oid)).toContain(oid);
  });

  it('is refused without the CA certificate, as a GITLAB_UNAVAILABLE that retrying cannot fix', async () => {
    const { sink } = collect();

    const error = await downloadLfsObjects({
      repoHttpUrl: `${sim.url}/acme/media.git`,
      auth: { username: 'alice', password: pat },
      http,
      objects: [object],
      sink,
    }).catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'GITLAB_UNAVAILABLE',
      retryable: false,
      details: { tlsError: expect.any(String) },
    });
    expect((error as Error).message).toMatch(/CA certificate/);
  });
});
