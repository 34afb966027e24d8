/**
 * Streaming authenticated encryption of artifacts: AES-256-GCM over fixed-size chunks, in the
 * manner of Tink's streaming AEAD and age's STREAM. docs/FORMAT-ENCRYPTION.md is the normative
 * description; this is the reference implementation.
 *
 *   header  = "LKENC1" | version 0x01 | key id (8) | salt (12) | chunk size (uint32 BE)   31 bytes
 *   fileKey = HKDF-SHA256(ikm = artifact key, salt = salt, info = "labkeeper artifact file key v1", 32)
 *   chunk i = AES-256-GCM(fileKey, nonce_i, aad = header, plaintext_i) ‖ tag (16)
 *   nonce_i = salt[0..7) | uint32 BE i | 0x01 if last chunk else 0x00
 *
 * Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds 0..chunk
 * size (0 only when the whole plaintext is empty). Why each piece:
 * - A fresh file key per artifact (from the random salt) means nonces only need to be unique
 *   within one file, which the counter guarantees; a 56-bit random prefix alone under one
 *   long-lived key would risk nonce reuse after a few million artifacts.
 * - The counter in the nonce makes reordering or dropping chunks fail authentication; the last
 *   flag makes cutting the file at a chunk boundary fail too.
 * - The header is the AAD of every chunk, so changing any header byte fails authentication.
 * - The key id (first 8 bytes of SHA-256 of the artifact key) tells "wrong key" apart from
 *   "damaged file" before any chunk is tried.
 * Decryption releases a chunk's plaintext only after its tag verifies, so it never emits forged
 * bytes. It can emit genuine leading chunks before discovering that the file was truncated, so a
 * consumer must treat the stream's error as failing the whole artifact (as storage puts do).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DomainError } from '../shared/errors.js';

export const MAGIC = Buffer.from('LKENC1', 'latin1');
export const FORMAT_VERSION = 0x01;
export const HEADER_BYTES = 31;
export const SALT_BYTES = 12;
export const NONCE_PREFIX_BYTES = 7;
export const TAG_BYTES = 16;
export const MAX_CHUNK_BYTES = 64 * 1024;
export const FILE_KEY_INFO = 'labkeeper artifact file key v1';

/** The non-secret fingerprint of an artifact key stored in each header, as 16 hex characters. */
export function keyIdOf(key: Buffer): Buffer {
  return createHash('sha256').update(key).digest().subarray(0, 8);
}

export const artifactCorrupt = (reason: string, details: Record<string, unknown> = {}) =>
  new DomainError('ARTIFACT_CORRUPT', `encrypted artifact is damaged: ${reason}`, { details });

export const encryptionKeyMismatch = (artifactKeyId: string, givenKeyId: string) =>
  new DomainError(
    'ENCRYPTION_KEY_MISMATCH',
    `the artifact was encrypted with key ${artifactKeyId}, not with the given key ${givenKeyId}`,
    { details: { artifactKeyId, givenKeyId } },
  );

function assertKey(key: Buffer): void {
  if (key.length !== 32) throw new Error(`an artifact key must be 32 bytes, not ${key.length}`);
}

function fileKeyOf(key: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, FILE_KEY_INFO, 32));
}

function nonceOf(salt: Buffer, counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  salt.copy(nonce, 0, 0, NONCE_PREFIX_BYTES);
  nonce.writeUInt32BE(counter, NONCE_PREFIX_BYTES);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** `pending` (at most one record, left over from earlier writes) followed by `chunk`. */
const append = (pending: Buffer, chunk: Buffer) => (pending.length === 0 ? chunk : Buffer.concat([pending, chunk]));

export class EncryptStream extends Transform {
  private readonly header: Buffer;
  private readonly salt = randomBytes(SALT_BYTES);
  private readonly fileKey: Buffer;
  private pending: Buffer = Buffer.alloc(0);
  private counter = 0;
  private headerSent = false;

  constructor(
    key: Buffer,
    private readonly chunkBytes = MAX_CHUNK_BYTES,
  ) {
    super();
    assertKey(key);
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
      throw new Error(`the chunk size must be 1..${MAX_CHUNK_BYTES} bytes`);
    }
    this.header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(this.header, 0);
    this.header[6] = FORMAT_VERSION;
    keyIdOf(key).copy(this.header, 7);
    this.salt.copy(this.header, 15);
    this.header.writeUInt32BE(chunkBytes, 27);
    this.fileKey = fileKeyOf(key, this.salt);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.sendHeader();
      const pending = append(this.pending, chunk);
      let offset = 0;
      // Seal a full chunk only when more bytes follow it: the last chunk is sealed in _flush.
      while (pending.length - offset > this.chunkBytes) {
        this.push(this.seal(pending.subarray(offset, offset + this.chunkBytes), false));
        offset += this.chunkBytes;
      }
      this.pending = Buffer.from(pending.subarray(offset)); // a copy: the writer may reuse its buffer
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.push(this.seal(this.pending, true));
      this.pending = Buffer.alloc(0);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.header);
  }

  private seal(plaintext: Buffer, last: boolean): Buffer {
    if (this.counter > 0xffffffff) throw new Error('artifact too large for one encrypted stream (2^32 chunks)');
    const cipher = createCipheriv('aes-256-gcm', this.fileKey, nonceOf(this.salt, this.counter++, last));
    cipher.setAAD(this.header);
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }
}

export class DecryptStream extends Transform {
  private header: Buffer | null = null;
  private salt: Buffer = Buffer.alloc(0);
  private fileKey: Buffer = Buffer.alloc(0);
  private recordBytes = 0;
  private pending: Buffer = Buffer.alloc(0);
  private counter = 0;

  constructor(private readonly key: Buffer) {
    super();
    assertKey(key);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const pending = append(this.pending, chunk);
      let offset = 0;
      if (!this.header) {
        if (pending.length < HEADER_BYTES) {
          this.pending = Buffer.from(pending);
          return callback();
        }
        this.readHeader(Buffer.from(pending.subarray(0, HEADER_BYTES)));
        offset = HEADER_BYTES;
      }
      // A record is opened as "not last" only when more bytes follow it.
      while (pending.length - offset > this.recordBytes) {
        this.push(this.open(pending.subarray(offset, offset + this.recordBytes), false));
        offset += this.recordBytes;
      }
      this.pending = Buffer.from(pending.subarray(offset));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.header)
        throw artifactCorrupt('it is shorter than the encryption header', { size: this.pending.length });
      if (this.pending.length < TAG_BYTES) {
        throw artifactCorrupt('it is truncated: the final chunk is missing', { chunk: this.counter });
      }
      this.push(this.open(this.pending, true));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private readHeader(header: Buffer): void {
    if (!header.subarray(0, MAGIC.length).equals(MAGIC))
      throw artifactCorrupt('it does not start with the LKENC1 header');
    if (header[6] !== FORMAT_VERSION)
      throw artifactCorrupt(`unknown format version ${header[6]}`, { version: header[6] });
    const fileKeyId = header.subarray(7, 15);
    const givenKeyId = keyIdOf(this.key);
    if (!fileKeyId.equals(givenKeyId))
      throw encryptionKeyMismatch(fileKeyId.toString('hex'), givenKeyId.toString('hex'));
    const chunkBytes = header.readUInt32BE(27);
    if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) throw artifactCorrupt(`impossible chunk size ${chunkBytes}`);
    this.header = header;
    this.salt = Buffer.from(header.subarray(15, 15 + SALT_BYTES));
    this.fileKey = fileKeyOf(this.key, this.salt);
    this.recordBytes = chunkBytes + TAG_BYTES;
  }

  private open(record: Buffer, last: boolean): Buffer {
    const index = this.counter++;
    const decipher = createDecipheriv('aes-256-gcm', this.fileKey, nonceOf(this.salt, index, last));
    decipher.setAAD(this.header!);
    decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_BYTES)), decipher.final()]);
    } catch (cause) {
      throw new DomainError(
        'ARTIFACT_CORRUPT',
        `encrypted artifact is damaged: chunk ${index} fails authentication (altered, reordered or truncated)`,
        { details: { chunk: index }, cause },
      );
    }
  }
}
