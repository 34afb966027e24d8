/** StorageRoots over local directories (LocalStorage), each opened once. */
import { join, resolve } from 'node:path';
import { LocalStorage } from './local-storage.js';
import type { StorageBackend, StorageRoots } from './storage.port.js';

export function createStorageRoots(dataDir: string): StorageRoots {
  const open = new Map<string, Promise<StorageBackend>>();
  return {
    rootFor: (policy) => resolve(policy.storage.path ?? join(dataDir, 'backups')),
    at(root) {
      let store = open.get(root);
      if (!store) {
        store = LocalStorage.open(root);
        open.set(root, store);
        store.catch(() => open.delete(root));
      }
      return store;
    },
  };
}
