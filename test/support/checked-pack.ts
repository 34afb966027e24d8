import { Readable } from 'node:stream';
import { packCheck, type PackCheck, type PackCheckOptions } from '../../server/src/git/pack-check.js';

/**
 * `pack`'s bytes, unchanged, ending only after git has checked every object and the refs'
 * connectivity (server/src/git/pack-check.ts); an error (naming what git found) when the check
 * fails. The transfer calls the check itself; tests check a stream they have with this.
 */
export function checkedPack(pack: Readable, options: PackCheckOptions): Readable {
  return checkedBy(pack, packCheck(options));
}

/** The same with a check the caller started (a pool's, PackChecks.start). */
export function checkedBy(pack: Readable, check: PackCheck): Readable {
  return Readable.from(checking(pack, check), { objectMode: false, highWaterMark: 1024 * 1024 });
}

async function* checking(pack: Readable, check: PackCheck): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of pack) {
      await check.write(chunk as Buffer);
      yield chunk as Buffer;
    }
    await check.end();
  } finally {
    check.close();
  }
}
