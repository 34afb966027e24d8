/**
 * A StorageBackend in a Map, for unit tests of the backup engine (after restic's `mem` backend).
 * It passes the same conformance suite as LocalStorage: a put becomes visible whole when its
 * source ends, and a stream opened earlier keeps reading the bytes it was opened on.
 */
import type { Readable } from 'node:stream';
import { systemClock, type Clock } from '../shared/clock.js';
import { validationError } from '../shared/errors.js';
import { bufferStream, discardSource, drainSource } from './put-source.js';
import { isBelow, parseKey, parsePrefix } from './storage-key.js';
import { artifactExists, artifactNotFound } from './storage.errors.js';
import type { ObjectInfo, PutOptions, PutResult, StorageBackend } from './storage.port.js';

interface StoredBytes {
  bytes: Buffer;
  modifiedAt: Date;
}

export class InMemoryStorage implements StorageBackend {
  readonly location = 'memory';
  private readonly objects = new Map<string, StoredBytes>();

  constructor(private readonly clock: Clock = systemClock) {}

  async put(key: string, source: Readable | Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    try {
      parseKey(key);
      if (!options.overwrite && this.objects.has(key)) throw artifactExists(key);
    } catch (error) {
      discardSource(source);
      throw error;
    }
    const chunks: Buffer[] = [];
    const result = await drainSource(source, (chunk) => {
      chunks.push(Buffer.from(chunk)); // a copy: the caller may reuse its buffers
    });
    // Checked again at commit: another put may have finished while this one was reading.
    if (!options.overwrite && this.objects.has(key)) throw artifactExists(key);
    this.objects.set(key, { bytes: Buffer.concat(chunks), modifiedAt: this.clock.now() });
    return result;
  }

  async open(key: string): Promise<Readable> {
    parseKey(key);
    const stored = this.objects.get(key);
    if (!stored) throw artifactNotFound(key);
    return bufferStream(stored.bytes);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    parseKey(key);
    const stored = this.objects.get(key);
    return stored ? { size: stored.bytes.length, modifiedAt: stored.modifiedAt } : null;
  }

  async *list(prefix: string): AsyncIterable<string> {
    const segments = parsePrefix(prefix);
    const keys = [...this.objects.keys()].filter((key) => isBelow(key, segments)).sort();
    for (const key of keys) yield key;
  }

  async delete(key: string): Promise<void> {
    parseKey(key);
    this.objects.delete(key);
  }

  async deletePrefix(prefix: string): Promise<void> {
    const segments = parsePrefix(prefix);
    if (segments.length === 0) throw validationError({ prefix: 'must not be empty' });
    for (const key of [...this.objects.keys()]) if (isBelow(key, segments)) this.objects.delete(key);
  }

  /**
   * Test helper: replaces the stored bytes of `key` in place, bypassing write-once, to simulate
   * bit rot or tampering (e.g. `tamper(key, (b) => { b[10] ^= 1; return b; })`).
   */
  tamper(key: string, change: (bytes: Buffer) => Buffer): void {
    const stored = this.objects.get(key);
    if (!stored) throw artifactNotFound(key);
    this.objects.set(key, { ...stored, bytes: change(Buffer.from(stored.bytes)) });
  }
}
