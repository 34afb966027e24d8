/**
 * The artifact codec: how a policy's compression and encryption shape an artifact's bytes on the
 * way to storage and back. Encoding compresses first (ciphertext does not compress), then
 * encrypts with the chunked AES-256-GCM format of codec-aead.ts (docs/FORMAT-ENCRYPTION.md).
 * Both directions are streaming Transforms with memory bounded by a chunk or two, so multi-GB
 * bundles never sit in memory and decoding verifies each chunk as it goes.
 *
 * Keys: a Credential of kind ENCRYPTION_KEY holds a secret string; `deriveArtifactKey` turns it
 * into the 32-byte artifact key with HKDF-SHA256, salted with the organization's id, so one
 * secret shared by several organizations still yields distinct keys. A user holding the secret
 * and the organization id (the `orgs/<id>/` directory of the store) can decrypt without
 * Labkeeper.
 *
 * Decoding fails with ARTIFACT_CORRUPT (damaged, truncated, reordered, not what the manifest
 * says) or ENCRYPTION_KEY_MISMATCH (another key, or none given for an encrypted artifact).
 */
import { hkdfSync } from 'node:crypto';
import { PassThrough, type Transform } from 'node:stream';
import { constants, createBrotliCompress, createBrotliDecompress, createGunzip, createGzip } from 'node:zlib';
import { DomainError, validationError } from '../shared/errors.js';
import { DecryptStream, EncryptStream, keyIdOf, MAX_CHUNK_BYTES } from './codec-aead.js';
import { chainTransforms } from './codec-chain.js';

export type ArtifactCompression = 'NONE' | 'GZIP' | 'BROTLI';

export interface ArtifactCodecOptions {
  compression: ArtifactCompression;
  /** The 32-byte artifact key (see deriveArtifactKey); null or absent = not encrypted. */
  key?: Buffer | null;
  /** Plaintext bytes per encrypted chunk, 1..65536. Default 65536; smaller only in tests. */
  chunkBytes?: number;
}

export const ARTIFACT_KEY_INFO = 'labkeeper artifact key v1';
const BROTLI_QUALITY = 5;

/** The artifact key of `secret` (a Credential's secret) for one organization. */
export function deriveArtifactKey(secret: string, organizationId: string): Buffer {
  if (!secret) throw validationError({ secret: 'must not be empty' });
  if (!organizationId) throw validationError({ organizationId: 'must not be empty' });
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from(organizationId, 'utf8'), ARTIFACT_KEY_INFO, 32),
  );
}

/** A key's public fingerprint (16 hex characters), as written in encrypted headers and manifests. */
export function artifactKeyId(key: Buffer): string {
  return keyIdOf(key).toString('hex');
}

/** Compresses, then encrypts when a key is given. Pipe plaintext in; store what comes out. */
export function encodeArtifact(options: ArtifactCodecOptions): Transform {
  const stages: Transform[] = [];
  const compressor = compressorFor(options.compression);
  if (compressor) stages.push(compressor);
  if (options.key) stages.push(new EncryptStream(options.key, options.chunkBytes ?? MAX_CHUNK_BYTES));
  if (stages.length === 0) return new PassThrough();
  return stages.length === 1 ? stages[0] : chainTransforms(stages);
}

/**
 * Decrypts (verifying every chunk) when a key is given, then decompresses. The options must be
 * the ones the artifact was encoded with (the manifest records them). On failure the stream
 * errors with a DomainError; whatever it emitted before must be discarded.
 */
export function decodeArtifact(options: ArtifactCodecOptions): Transform {
  const stages: Transform[] = [];
  if (options.key) stages.push(new DecryptStream(options.key));
  const decompressor = decompressorFor(options.compression);
  if (decompressor) stages.push(decompressor);
  if (stages.length === 0) return new PassThrough();
  if (stages.length === 1 && !decompressor) return stages[0];
  return chainTransforms(stages, asCorruption);
}

/** The codec as one object, for ports that take it whole (backup.ports.ts `ArtifactCodec`). */
export const artifactCodec = {
  encode: (options: ArtifactCodecOptions) => encodeArtifact(options),
  decode: (options: ArtifactCodecOptions) => decodeArtifact(options),
  keyId: artifactKeyId,
};

function compressorFor(compression: ArtifactCompression): Transform | null {
  switch (compression) {
    case 'NONE':
      return null;
    case 'GZIP':
      return createGzip();
    case 'BROTLI':
      // zlib's default quality (11) runs at about 1 MB/s, far too slow for bundles; 5 is the usual trade-off.
      return createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } });
    default:
      throw new Error(`unknown compression ${String(compression satisfies never)}`);
  }
}

function decompressorFor(compression: ArtifactCompression): Transform | null {
  switch (compression) {
    case 'NONE':
      return null;
    case 'GZIP':
      return createGunzip();
    case 'BROTLI':
      return createBrotliDecompress();
    default:
      throw new Error(`unknown compression ${String(compression satisfies never)}`);
  }
}

/** zlib's complaints about its input (bad header, bad CRC, unexpected end) mean a damaged artifact. */
function asCorruption(error: Error): Error {
  if (error instanceof DomainError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (!code.startsWith('Z_') && !code.startsWith('ERR_BROTLI') && !code.startsWith('ERR__')) return error;
  return new DomainError('ARTIFACT_CORRUPT', `compressed artifact is damaged: ${error.message}`, {
    details: { zlibCode: code },
    cause: error,
  });
}
