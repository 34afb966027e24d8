import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { expectDomainError } from '../storage/storage-support.js';
import {
  type ArtifactCodecOptions,
  type ArtifactCompression,
  artifactKeyId,
  decodeArtifact,
  deriveArtifactKey,
  encodeArtifact,
} from '../../server/src/snapshot/artifact-codec.js';
import { HEADER_BYTES, TAG_BYTES } from '../../server/src/snapshot/codec-aead.js';

const ORG = '0b6f3a52-7c1e-4c3b-9d64-1f2e3a4b5c6d';
const SECRET = 'correct horse battery staple';
const key = deriveArtifactKey(SECRET, ORG);
const KiB = 1024;

/** Runs `bytes` through `transform` in writes of `writeBytes`: what came out, and the error if any. */
async function capture(transform: Transform, bytes: Buffer, writeBytes = 16 * KiB) {
  const out: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += writeBytes) chunks.push(bytes.subarray(i, i + writeBytes));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  const error = await pipeline(Readable.from(chunks), transform, sink).then(
    () => null,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  return { output: Buffer.concat(out), error };
}

async function run(transform: Transform, bytes: Buffer, writeBytes?: number): Promise<Buffer> {
  const { output, error } = await capture(transform, bytes, writeBytes);
  if (error) throw error;
  return output;
}
const encode = (bytes: Buffer, options: ArtifactCodecOptions) => run(encodeArtifact(options), bytes);
const decode = (bytes: Buffer, options: ArtifactCodecOptions, writeBytes?: number) =>
  run(decodeArtifact(options), bytes, writeBytes);

const flip = (bytes: Buffer, at: number) => {
  const copy = Buffer.from(bytes);
  copy[at] ^= 0x01;
  return copy;
};

describe('artifact codec', () => {
  describe('round trips', () => {
    const compressions: ArtifactCompression[] = ['NONE', 'GZIP', 'BROTLI'];
    const cases = compressions.flatMap((compression) => [
      { compression, encrypted: false },
      { compression, encrypted: true },
    ]);

    it.each(cases)(
      'returns the original bytes with $compression compression (encrypted: $encrypted)',
      async ({ compression, encrypted }) => {
        const options = { compression, key: encrypted ? key : null };
        const text = Buffer.from('{"iid":1,"title":"issue"}\n'.repeat(5000));
        for (const original of [Buffer.alloc(0), Buffer.from('x'), randomBytes(700 * KiB + 3), text]) {
          const stored = await encode(original, options);
          expect((await decode(stored, options)).equals(original)).toBe(true);
        }
      },
    );

    it('compresses before encrypting, so compressible artifacts shrink', async () => {
      const text = Buffer.from('{"iid":1,"title":"issue"}\n'.repeat(5000));
      const stored = await encode(text, { compression: 'GZIP', key });
      expect(stored.length).toBeLessThan(text.length / 10);
    });

    it('decodes whatever the sizes of the writes it receives', async () => {
      const original = randomBytes(5 * KiB);
      const stored = await encode(original, { compression: 'NONE', key, chunkBytes: KiB });
      const decoded = await decode(stored, { compression: 'NONE', key }, 1);
      expect(decoded.equals(original)).toBe(true);
    });
  });

  describe('chunking', () => {
    const sizeOf = (plaintext: number, chunks: number) => HEADER_BYTES + chunks * TAG_BYTES + plaintext;

    it.each([
      ['an empty artifact into one empty final chunk', 0, 1],
      ['exactly one chunk of data into one full final chunk', 64 * KiB, 1],
      ['one chunk plus one byte into a full chunk and a one-byte final chunk', 64 * KiB + 1, 2],
      ['three and a half chunks into four chunks', 3.5 * 64 * KiB, 4],
    ])('seals %s', async (_name, size, chunks) => {
      const original = randomBytes(size);
      const stored = await encode(original, { compression: 'NONE', key });
      expect(stored.length).toBe(sizeOf(size, chunks));
      expect((await decode(stored, { compression: 'NONE', key })).equals(original)).toBe(true);
    });

    it('writes the key id, a fresh salt and the chunk size into the header', async () => {
      const [a, b] = [
        await encode(Buffer.from('same'), { compression: 'NONE', key }),
        await encode(Buffer.from('same'), { compression: 'NONE', key }),
      ];
      expect(a.subarray(0, 7).toString('latin1')).toBe('LKENC1\x01');
      expect(a.subarray(7, 15).toString('hex')).toBe(artifactKeyId(key));
      expect(a.readUInt32BE(27)).toBe(64 * KiB);
      expect(a.subarray(15, 27).equals(b.subarray(15, 27))).toBe(false);
      expect(a.equals(b)).toBe(false);
    });
  });

  describe('damage', () => {
    const chunkBytes = KiB;
    const record = chunkBytes + TAG_BYTES;
    const options = { compression: 'NONE' as const, key };
    const original = randomBytes(3.5 * KiB); // chunks of 1024, 1024, 1024 and 512 bytes
    let stored: Buffer;
    beforeAll(async () => {
      stored = await encode(original, { ...options, chunkBytes });
    });
    const chunk = (i: number) => stored.subarray(HEADER_BYTES + i * record, HEADER_BYTES + (i + 1) * record);

    it.each([
      ['a flipped byte in a chunk', () => flip(stored, HEADER_BYTES + record + 10)],
      ['a flipped byte in a tag', () => flip(stored, HEADER_BYTES + record - 1)],
      ['a flipped byte in the salt', () => flip(stored, 20)],
      ['a changed chunk size', () => flip(stored, 29)],
      ['a changed version', () => flip(stored, 6)],
      [
        'two chunks swapped',
        () => Buffer.concat([stored.subarray(0, HEADER_BYTES), chunk(1), chunk(0), chunk(2), chunk(3)]),
      ],
      [
        'a chunk repeated',
        () => Buffer.concat([stored.subarray(0, HEADER_BYTES), chunk(0), chunk(0), chunk(1), chunk(2), chunk(3)]),
      ],
      ['the final chunk dropped (cut at a chunk boundary)', () => stored.subarray(0, HEADER_BYTES + 3 * record)],
      ['everything after the header dropped', () => stored.subarray(0, HEADER_BYTES)],
      ['a cut inside a chunk', () => stored.subarray(0, stored.length - 100)],
      ['a cut inside the header', () => stored.subarray(0, 20)],
      ['bytes appended', () => Buffer.concat([stored, Buffer.from('tail')])],
      ['no encryption header at all', () => original],
    ])('fails with ARTIFACT_CORRUPT for %s', async (_name, damage) => {
      await expectDomainError(decode(damage(), options), 'ARTIFACT_CORRUPT');
    });

    it('fails with ENCRYPTION_KEY_MISMATCH for another secret or another organization', async () => {
      await expectDomainError(
        decode(stored, { ...options, key: deriveArtifactKey('another secret', ORG) }),
        'ENCRYPTION_KEY_MISMATCH',
      );
      await expectDomainError(
        decode(stored, { ...options, key: deriveArtifactKey(SECRET, 'another-org') }),
        'ENCRYPTION_KEY_MISMATCH',
      );
    });

    it('emits only chunks that authenticated before failing on a damaged one', async () => {
      const { output, error } = await capture(decodeArtifact(options), flip(stored, HEADER_BYTES + 2 * record + 5));
      expect(error).toMatchObject({ code: 'ARTIFACT_CORRUPT', details: { chunk: 2 } });
      expect(output.length).toBeLessThanOrEqual(2 * chunkBytes);
      expect(output.equals(original.subarray(0, output.length))).toBe(true);
    });

    it('fails with ARTIFACT_CORRUPT for damaged or cut gzip without encryption', async () => {
      const gz = await encode(randomBytes(50 * KiB), { compression: 'GZIP' });
      await expectDomainError(decode(flip(gz, gz.length - 6), { compression: 'GZIP' }), 'ARTIFACT_CORRUPT');
      await expectDomainError(decode(gz.subarray(0, gz.length - 100), { compression: 'GZIP' }), 'ARTIFACT_CORRUPT');
      const br = await encode(randomBytes(50 * KiB), { compression: 'BROTLI' });
      await expectDomainError(decode(br.subarray(0, br.length - 100), { compression: 'BROTLI' }), 'ARTIFACT_CORRUPT');
    });
  });

  describe('keys', () => {
    it('derives the artifact key with HKDF-SHA256 as documented (checked against Python cryptography)', () => {
      expect(key.toString('hex')).toBe('46462e3783a92f31ed1306b4107cb35a23dfac7aaf508cc567f307584d174cf1');
      expect(artifactKeyId(key)).toBe('7aa1fbb2dd0204ae');
    });

    it('derives different keys for different organizations from one secret', () => {
      expect(deriveArtifactKey(SECRET, 'org-a').equals(deriveArtifactKey(SECRET, 'org-b'))).toBe(false);
    });

    it('refuses an empty secret', () => {
      expect(() => deriveArtifactKey('', ORG)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    });
  });

  /** The scripts of docs/FORMAT-ENCRYPTION.md, run as a user would; Python only where it has `cryptography`. */
  const pythonReady = spawnSync('python3', ['-c', 'import cryptography'], { stdio: 'ignore' }).status === 0;
  describe.each([
    {
      language: 'Node',
      fence: 'js',
      marker: '// decrypt-artifact.mjs',
      file: 'decrypt-artifact.mjs',
      command: process.execPath,
      available: true,
    },
    {
      language: 'Python',
      fence: 'python',
      marker: '# decrypt_artifact.py',
      file: 'decrypt_artifact.py',
      command: 'python3',
      available: pythonReady,
    },
  ])('the $language decrypt script in docs/FORMAT-ENCRYPTION.md', ({ fence, marker, file, command, available }) => {
    let dir: string;
    let script: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'labkeeper-decrypt-'));
      const doc = await readFile(new URL('../../docs/FORMAT-ENCRYPTION.md', import.meta.url), 'utf8');
      const code = doc
        .split('```' + fence + '\n')
        .find((block) => block.startsWith(marker))
        ?.split('```')[0];
      if (!code) throw new Error(`no ${file} block in docs/FORMAT-ENCRYPTION.md`);
      script = join(dir, file);
      await writeFile(script, code);
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));
    const when = available ? it : it.skip;

    const decrypt = (organizationId: string, input: string, output: string, secret = SECRET) =>
      promisify(execFile)(command, [script, organizationId, input, output], {
        env: { ...process.env, LABKEEPER_SECRET: secret },
      });

    when('decrypts a multi-chunk gzip artifact that gunzip then restores', async () => {
      const original = randomBytes(300 * KiB);
      await writeFile(join(dir, 'bundle.enc'), await encode(original, { compression: 'GZIP', key }));
      await decrypt(ORG, join(dir, 'bundle.enc'), join(dir, 'bundle.gz'));
      expect(gunzipSync(await readFile(join(dir, 'bundle.gz'))).equals(original)).toBe(true);
    });

    when('decrypts an empty artifact', async () => {
      await writeFile(join(dir, 'empty.enc'), await encode(Buffer.alloc(0), { compression: 'NONE', key }));
      await decrypt(ORG, join(dir, 'empty.enc'), join(dir, 'empty'));
      expect(await readFile(join(dir, 'empty'))).toHaveLength(0);
    });

    when('says so and exits 1 for a wrong secret or a file cut at a chunk boundary', async () => {
      await writeFile(join(dir, 'small.enc'), await encode(randomBytes(100 * KiB), { compression: 'NONE', key }));
      await expect(decrypt(ORG, join(dir, 'small.enc'), join(dir, 'out'), 'wrong')).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('wrong secret or organization id'),
      });
      await writeFile(
        join(dir, 'cut.enc'),
        (await readFile(join(dir, 'small.enc'))).subarray(0, HEADER_BYTES + 65_552),
      );
      await expect(decrypt(ORG, join(dir, 'cut.enc'), join(dir, 'out'))).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('chunk 0 is damaged'),
      });
    });
  });
});
