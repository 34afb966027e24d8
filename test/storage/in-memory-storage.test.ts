import { describe, expect, it } from '@jest/globals';
import { InMemoryStorage } from '../../server/src/storage/in-memory-storage.js';
import { describeStorageBackend } from './storage-conformance.js';
import { expectDomainError, readAll } from './storage-support.js';

describeStorageBackend('InMemoryStorage', async () => ({ storage: new InMemoryStorage() }));

describe('InMemoryStorage', () => {
  describe('tamper', () => {
    it('changes stored bytes in place so verification tests can simulate bit rot', async () => {
      const storage = new InMemoryStorage();
      await storage.put('a/b', Buffer.from('abc'));
      storage.tamper('a/b', (bytes) => {
        bytes[1] = 0x58;
        return bytes;
      });
      expect((await readAll(await storage.open('a/b'))).toString()).toBe('aXc');
    });

    it('refuses to tamper with a missing key', async () => {
      const storage = new InMemoryStorage();
      await expectDomainError(
        Promise.resolve().then(() => storage.tamper('a/b', (b) => b)),
        'ARTIFACT_NOT_FOUND',
      );
    });
  });
});
