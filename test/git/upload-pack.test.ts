import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, get, request, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bundleHeader, listRefs, syncMirror } from '../../server/src/git/mirror.js';
import { checkedPack } from '../support/checked-pack.js';
import { fetchPack, lsRefs, PktReader, ProtocolV2UnsupportedError } from '../../server/src/git/upload-pack.js';
import { prerequisiteCommits } from '../../server/src/backup/git-transfer.js';
import { startGitLabSimulator, type GitLabSimulator } from '../support/gitlab-simulator/index.js';
import { createTestCertificates, type TestCertificates } from '../gitlab/test-ca.js';

/**
 * The protocol v2 client that streams GitLab's pack straight into a bundle, against the
 * simulator's real `git http-backend`, checked with the real git CLI.
 */
const execFileAsync = promisify(execFile);
let sim: GitLabSimulator;
let work: string;
let token: string;
let projectId: number;
let url: string;
const auth = () => ({ username: 'oauth2', password: token });

async function git(args: string[], cwd = work): Promise<string> {
  const basic = Buffer.from(`oauth2:${token}`).toString('base64');
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH,
      HOME: work,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    },
  });
  return stdout;
}

/** Writes header + pack into `file` and returns the bundle's size. */
async function writeBundle(file: string, header: Buffer, pack: NodeJS.ReadableStream): Promise<number> {
  const out = createWriteStream(file);
  out.write(header);
  await pipeline(pack, out);
  return statSync(file).size;
}

const refsOf = async (repo: string) =>
  (await git(['for-each-ref', '--format=%(objectname) %(refname)'], repo)).trim().split('\n').sort();

beforeAll(async () => {
  sim = await startGitLabSimulator();
  work = mkdtempSync(join(tmpdir(), 'upload-pack-'));
  const alice = sim.createUser({ username: 'alice' });
  token = sim.createPersonalAccessToken(alice.id, { scopes: ['read_repository'] }).token;
  const group = sim.createGroup({ path: 'acme', ownerId: alice.id });
  projectId = sim.createProject({ namespaceId: group.id, path: 'app' }).id;
  sim.pushCommit(projectId, { files: { 'big.bin': randomBytes(512 * 1024).toString('base64') } });
  sim.pushCommit(projectId, { branch: 'feature', files: { 'src/a.txt': 'a\n' } });
  sim.createTag(projectId, { tag: 'v1.0.0', message: 'Release 1.0.0' });
  sim.createTag(projectId, { tag: 'light' });
  url = `${sim.url}/acme/app.git`;
});

afterAll(async () => {
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('lsRefs', () => {
  it('lists every ref as git ls-remote does, with the ref HEAD points to and annotated tags peeled', async () => {
    const remote = await lsRefs(url, { auth: auth() });

    const lsRemote = (await git(['ls-remote', url]))
      .trim()
      .split('\n')
      .map((l) => l.split('\t') as [string, string]);
    const expected = Object.fromEntries(
      lsRemote.filter(([, ref]) => ref !== 'HEAD' && !ref.endsWith('^{}')).map(([oid, ref]) => [ref, oid]),
    );
    expect(remote.refs).toEqual(expected);
    expect(Object.keys(remote.refs)).toEqual(Object.keys(expected).sort());
    expect(remote.head).toBe('refs/heads/main');
    const peeled = lsRemote.find(([, ref]) => ref === 'refs/tags/v1.0.0^{}')![0];
    expect(remote.peeled).toEqual({ 'refs/tags/v1.0.0': peeled });
  });

  it('fails with the HTTP status, retryable, when GitLab answers 503', async () => {
    sim.failNext(1, { status: 503, pathPattern: /\/acme\/app\.git\/git-upload-pack$/ });

    const error = await lsRefs(url, { auth: auth() }).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'GITLAB_UNAVAILABLE', retryable: true, message: expect.stringMatching(/503/) });
    expect(String((error as Error).message)).not.toContain(token);
  });

  it('says "not found", not retryable, for a repository GitLab does not have', async () => {
    const error = await lsRefs(`${sim.url}/acme/nothing-here.git`, { auth: auth() }).catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'GITLAB_NOT_FOUND',
      retryable: false,
      message: expect.stringMatching(/404.*not found/),
    });
  });
});

describe('fetchPack', () => {
  it('streams a FULL: the refs header plus the pack is a bundle git clones into exactly the upstream refs', async () => {
    const remote = await lsRefs(url, { auth: auth() });
    const { pack, objects } = await fetchPack(url, Object.values(remote.refs), [], { auth: auth() });
    const file = join(work, 'full.bundle');
    await writeBundle(file, bundleHeader(remote.refs, []), pack);

    expect(objects).toBeGreaterThan(5);
    await git(['init', '--bare', '-q', join(work, 'scratch.git')]);
    await git(['bundle', 'verify', file], join(work, 'scratch.git')); // git 2.39 verifies inside a repository
    await git(['clone', '--mirror', '-q', file, join(work, 'from-full.git')]);
    expect(await refsOf(join(work, 'from-full.git'))).toEqual(
      Object.entries(remote.refs)
        .map(([ref, oid]) => `${oid} ${ref}`)
        .sort(),
    );
    await git(['fsck', '--full'], join(work, 'from-full.git'));
  });

  it('streams an INCREMENTAL as a thin pack against the previous tips: small, and fetched on top of the full it gives exactly the new refs', async () => {
    const before = await lsRefs(url, { auth: auth() });
    sim.pushCommit(projectId, { files: { 'src/b.txt': 'b\n' } });
    sim.createTag(projectId, { tag: 'v1.1.0', message: 'Release 1.1.0' });
    const after = await lsRefs(url, { auth: auth() });
    const parentTips = [...new Set(Object.values(before.refs))];

    const { pack, objects } = await fetchPack(url, Object.values(after.refs), parentTips, { auth: auth() });
    const file = join(work, 'incremental.bundle');
    const size = await writeBundle(file, bundleHeader(after.refs, prerequisiteCommits(before)), pack);

    expect(objects).toBeLessThan(10);
    expect(size).toBeLessThan(statSync(join(work, 'full.bundle')).size / 20);
    const repo = join(work, 'from-full.git');
    await git(['bundle', 'verify', file], repo);
    await git(['fetch', '-q', file, '+refs/*:refs/*'], repo);
    expect(await refsOf(repo)).toEqual(
      Object.entries(after.refs)
        .map(([ref, oid]) => `${oid} ${ref}`)
        .sort(),
    );
    await git(['fsck', '--full'], repo);
  });

  it('lists commits only as prerequisites: the tips of every ref but tags (which may peel to a tree or a blob)', () => {
    const parent = {
      refs: {
        'refs/heads/main': 'c1',
        'refs/merge-requests/1/head': 'c2',
        'refs/tags/v1': 't1',
        'refs/tags/tree': 'x1',
        'refs/heads/copy': 'c1',
      },
    };

    expect(prerequisiteCommits(parent).sort()).toEqual(['c1', 'c2']);
  });

  it('fails, retryably, when the connection drops in the middle of the pack', async () => {
    const remote = await lsRefs(url, { auth: auth() });
    sim.resetNext(1, { pathPattern: /\/acme\/app\.git\/git-upload-pack$/, afterBytes: 64 * 1024 });

    // before or after the pack's header arrived, depending on how the bytes are cut into packets
    const error = await fetchPack(url, Object.values(remote.refs), [], { auth: auth() })
      .then(({ pack }) => writeBundle(join(work, 'cut.bundle'), Buffer.alloc(0), pack))
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'GITLAB_UNAVAILABLE', retryable: true });
  });

  describe('through a proxy that changes what GitLab sends', () => {
    let proxy: Server;
    let proxyUrl: string;
    let mode:
      'flip-a-pack-byte' | 'protocol-v0' | 'sha256-repository' | 'drop-last-flush' | 'redirect-to-another-host' =
      'flip-a-pack-byte';

    beforeAll(async () => {
      const target = new URL(sim.url);
      proxy = createServer((req, res) => {
        const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host };
        if (mode === 'protocol-v0') delete headers['git-protocol'];
        if (mode === 'redirect-to-another-host' && req.method === 'GET') {
          // 127.0.0.1 and localhost are different hosts to a client
          res.writeHead(301, { location: `http://localhost:${target.port}${req.url}` }).end();
          return;
        }
        const upstream = request(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
          (answer) => {
            const chunks: Buffer[] = [];
            answer.on('data', (c: Buffer) => chunks.push(c));
            answer.on('end', () => {
              let body: Buffer = Buffer.concat(chunks);
              if (mode === 'flip-a-pack-byte' && req.method === 'POST') flipInsideFirstLargePacket(body);
              if (mode === 'sha256-repository' && req.method === 'GET')
                body = addCapability(body, 'object-format=sha256');
              if (mode === 'drop-last-flush' && req.method === 'POST' && body.subarray(-4).toString() === '0000')
                body = body.subarray(0, -4);
              const { 'transfer-encoding': _chunked, ...rest } = answer.headers;
              res.writeHead(answer.statusCode ?? 500, { ...rest, 'content-length': String(body.length) });
              res.end(body);
            });
          },
        );
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const address = proxy.address() as { port: number };
      proxyUrl = `http://127.0.0.1:${address.port}/acme/app.git`;
    });

    afterAll(async () => {
      await new Promise((resolve) => proxy.close(resolve));
    });

    it('refuses a pack whose bytes do not match its checksum, retryably', async () => {
      mode = 'flip-a-pack-byte';
      const remote = await lsRefs(url, { auth: auth() });
      const { pack } = await fetchPack(proxyUrl, Object.values(remote.refs), [], { auth: auth() });

      const error = await writeBundle(join(work, 'damaged.bundle'), Buffer.alloc(0), pack).catch((e: unknown) => e);

      expect(error).toMatchObject({
        code: 'GITLAB_UNAVAILABLE',
        retryable: true,
        message: expect.stringMatching(/checksum/),
      });
    });

    it("leaves the checksum to git's check when asked (a checked FULL): the same damaged pack is refused there, retryably", async () => {
      mode = 'flip-a-pack-byte';
      const remote = await lsRefs(url, { auth: auth() });
      const { pack } = await fetchPack(proxyUrl, Object.values(remote.refs), [], { auth: auth(), checkTrailer: false });
      const checked = checkedPack(pack, { dir: join(work, 'check-damaged'), refs: remote.refs });

      const error = await writeBundle(join(work, 'damaged-checked.bundle'), Buffer.alloc(0), checked).catch(
        (e: unknown) => e,
      );

      expect(error).toMatchObject({
        code: 'GITLAB_UNAVAILABLE',
        retryable: true,
        message: expect.stringMatching(/failed git's check: git index-pack refused it/),
      });
    });

    it('says when the server does not offer protocol v2 (the backup then uses a local mirror)', async () => {
      mode = 'protocol-v0';

      const error = await lsRefs(proxyUrl, { auth: auth() }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProtocolV2UnsupportedError);
    });

    it('leaves a repository in another object format than SHA-1 to git (its packs and bundles differ)', async () => {
      mode = 'sha256-repository';

      const error = await lsRefs(proxyUrl, { auth: auth() }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProtocolV2UnsupportedError);
      expect(String((error as Error).message)).toContain('sha256');
    });

    it('takes a ref list that ends without its flush for a cut transfer, not for all the refs', async () => {
      mode = 'drop-last-flush';

      const error = await lsRefs(proxyUrl, { auth: auth() }).catch((e: unknown) => e);

      expect(error).toMatchObject({
        code: 'GITLAB_UNAVAILABLE',
        retryable: true,
        message: expect.stringMatching(/ref list/),
      });
    });

    it('sends no credentials to another host it is redirected to', async () => {
      mode = 'redirect-to-another-host';
      const before = sim.requests.length;

      const error = await lsRefs(proxyUrl, { auth: auth() }).catch((e: unknown) => e);

      const followed = sim.requests.slice(before).filter((r) => r.path.endsWith('/info/refs'));
      expect(followed.length).toBeGreaterThan(0);
      expect(followed.every((r) => r.auth === 'none')).toBe(true);
      expect(error).toMatchObject({ message: expect.stringMatching(/401/) });
    });
  });
});

describe('over HTTPS with a private certificate authority (self-managed GitLab)', () => {
  let tlsProxy: Server;
  let httpsUrl: string;
  let certificates: TestCertificates;

  beforeAll(async () => {
    certificates = createTestCertificates();
    const target = new URL(sim.url);
    tlsProxy = createHttpsServer({ key: certificates.serverKey, cert: certificates.serverCert }, (req, res) => {
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => tlsProxy.listen(0, '127.0.0.1', resolve));
    httpsUrl = `https://localhost:${(tlsProxy.address() as { port: number }).port}/acme/app.git`;
  });

  afterAll(async () => {
    await new Promise((resolve) => tlsProxy.close(resolve));
  });

  it("reaches it with the connection's CA certificate, and not without", async () => {
    const remote = await lsRefs(httpsUrl, { auth: auth(), caCertificate: certificates.caPem });
    expect(remote.refs).toEqual((await lsRefs(url, { auth: auth() })).refs);

    const error = await lsRefs(httpsUrl, { auth: auth() }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'GITLAB_UNAVAILABLE',
      retryable: false,
      message: expect.stringMatching(/CA certificate/),
    });
  });

  it('is trusted by the git command too (a mirror for LFS, a restore push), with the same CA', async () => {
    const mirror = join(work, 'tls-mirror.git');
    await syncMirror(mirror, httpsUrl, { auth: { ...auth(), caCertificate: certificates.caPem } });
    expect(await listRefs(mirror)).toEqual((await lsRefs(url, { auth: auth() })).refs);

    const refused = await syncMirror(join(work, 'tls-refused.git'), httpsUrl, { auth: auth() }).catch(
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ message: expect.stringMatching(/certificate/i) });
  });
});

/** Adds a capability line right after "version 2" in a protocol v2 advertisement. */
function addCapability(body: Buffer, capability: string): Buffer {
  const version = Buffer.from('000eversion 2\n');
  const at = body.indexOf(version);
  if (at < 0) return body;
  const line = `${capability}\n`;
  const packet = Buffer.from(`${(line.length + 4).toString(16).padStart(4, '0')}${line}`);
  return Buffer.concat([body.subarray(0, at + version.length), packet, body.subarray(at + version.length)]);
}

/** Flips one payload byte of the first side-band-1 pkt-line longer than 100 bytes (inside the pack). */
function flipInsideFirstLargePacket(body: Buffer): void {
  let at = 0;
  while (at + 4 <= body.length) {
    const length = Number.parseInt(body.toString('latin1', at, at + 4), 16);
    if (length < 4) {
      at += 4;
      continue;
    }
    if (body[at + 4] === 1 && length > 100) {
      body[at + 4 + 60] ^= 0xff;
      return;
    }
    at += length;
  }
}

describe('PktReader', () => {
  it('reads at most about a MiB ahead of its reader, then everything, intact, as the reader goes on', async () => {
    // 8 MiB of data in pkt-lines of the largest size, then a flush.
    const payloads = Array.from({ length: 128 }, () => randomBytes(65516));
    const body = Buffer.concat([
      ...payloads.map((p) => Buffer.concat([Buffer.from((p.length + 4).toString(16).padStart(4, '0')), p])),
      Buffer.from('0000'),
    ]);
    const server = createServer((_req, res) => res.end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const response = await new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/`, resolve));
      let handedOver = 0;
      const reader = new PktReader(response, 'http://127.0.0.1/');
      response.on('data', (chunk: Buffer) => (handedOver += chunk.length));

      const first = await reader.next();
      await once(response, 'pause');
      expect(first).toEqual(payloads[0]);
      expect(handedOver).toBeLessThan(2 * 1024 * 1024);

      const rest = createHash('sha256');
      for (let line = await reader.nextPieces(); line !== 'flush'; line = await reader.nextPieces()) {
        if (!Array.isArray(line)) throw new Error(`unexpected ${String(line)}`);
        for (const piece of line) rest.update(piece);
      }
      const expected = createHash('sha256');
      for (const p of payloads.slice(1)) expected.update(p);
      expect(rest.digest('hex')).toBe(expected.digest('hex'));
      expect(await reader.next()).toBeNull();
    } finally {
      server.close();
    }
  });
});
