/**
 * StorageRoots over local directories (LocalStorage, each opened once) and named storages
 * (`storage:<id>`, opened by `named`, which the storages room provides: it knows their settings
 * and secrets).
 */
import { join, resolve } from 'node:path';
import { LocalStorage } from './local-storage.js';
import type { StorageBackend, StorageRoots } from './storage.port.js';

export const NAMED_ROOT = 'storage:';

export function createStorageRoots(
  dataDir: string,
  named: (id: string) => Promise<StorageBackend> = async (id) => {
    throw new Error(`no named storages in this process (storage ${id})`);
  },
): StorageRoots {
  const open = new Map<string, Promise<StorageBackend>>();
  return {
    rootFor: (policy) =>
      policy.storage.storageId
        ? `${NAMED_ROOT}${policy.storage.storageId}`
        : resolve(policy.storage.path ?? join(dataDir, 'backups')),
    at(root) {
      if (root.startsWith(NAMED_ROOT)) return named(root.slice(NAMED_ROOT.length));
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
