/**
 * Encryption at rest for every secret Labkeeper keeps (Credentials, OAuth tokens, PKCE verifiers):
 * AES-256-GCM with a random 96-bit nonce per message, under the master key.
 * Layout of a sealed value: version (1 byte, 0x01) | nonce (12) | auth tag (16) | ciphertext.
 * `context` is bound as additional authenticated data, so a ciphertext copied into another row or
 * column does not decrypt there.
 *
 * The master key comes from LABKEEPER_MASTER_KEY or, when unset, from `<dataDir>/master.key`,
 * created with mode 0600 on the first start. Losing it makes every stored secret unreadable.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseKey } from '../config/config.js';
import { DomainError } from '../shared/errors.js';

const VERSION = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the master key must be 32 bytes');
    this.key = Buffer.from(key);
  }

  /** A short, non-secret identifier of the key (to tell keys apart in logs and errors). */
  get keyId(): string {
    return createHash('sha256').update(this.key).digest('hex').slice(0, 12);
  }

  /** A 32-byte key derived from the master key (HKDF-SHA256) for one purpose; the master key never leaves. */
  deriveKey(info: string, salt: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.from(salt, 'utf8'), Buffer.from(info, 'utf8'), 32));
  }

  seal(plaintext: string, context: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, context: string): string {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
      throw new DomainError('MASTER_KEY_MISMATCH', 'a stored secret has an unknown format');
    }
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const tag = sealed.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch (cause) {
      throw new DomainError(
        'MASTER_KEY_MISMATCH',
        'a stored secret cannot be decrypted: the master key is not the one it was saved with',
        { cause },
      );
    }
  }
}

/** Reads the master key file, creating it (0600) with a random key when it does not exist. */
export async function loadOrCreateMasterKey(file: string): Promise<{ key: Buffer; created: boolean }> {
  if (existsSync(file)) {
    const key = parseKey(await readFile(file, 'utf8'));
    if (!key) throw new Error(`${file} does not hold a 32-byte key (64 hex characters or base64)`);
    await chmod(file, 0o600);
    return { key, created: false };
  }
  await mkdir(dirname(file), { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return { key, created: true };
}
