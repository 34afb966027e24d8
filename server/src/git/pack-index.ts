/**
 * Which object ids a pack's index (`.idx`, version 2, as `git index-pack` writes it) lists, read
 * without running git. The layout (gitformat-pack): a 4-byte magic `\377tOc`, a 4-byte version
 * (2), a fan-out table of 256 big-endian counts (entry k: how many ids start with a byte ≤ k),
 * then the ids, sorted; CRCs, offsets and checksums follow and are not needed here.
 */
import { readFile } from 'node:fs/promises';

const MAGIC = Buffer.from([0xff, 0x74, 0x4f, 0x63]);

/** The ids of `oids` (hex; 40 for SHA-1, 64 for SHA-256) that the index at `idxPath` does not list. */
export async function missingFromPackIndex(idxPath: string, oids: string[]): Promise<string[]> {
  const idx = await readFile(idxPath);
  if (idx.length < 8 + 256 * 4 || !idx.subarray(0, 4).equals(MAGIC) || idx.readUInt32BE(4) !== 2)
    throw new Error(`${idxPath} is not a version 2 pack index`);
  const fanout = (byte: number) => idx.readUInt32BE(8 + byte * 4);
  const count = fanout(255);
  const names = 8 + 256 * 4;
  return oids.filter((hex) => {
    const id = Buffer.from(hex, 'hex');
    if (id.length * 2 !== hex.length || (id.length !== 20 && id.length !== 32)) return true;
    if (names + count * id.length > idx.length) return true;
    let lo = id[0] === 0 ? 0 : fanout(id[0] - 1);
    let hi = fanout(id[0]); // the ids starting with this byte are [lo, hi)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = names + mid * id.length;
      const order = idx.compare(id, 0, id.length, at, at + id.length) * -1;
      if (order === 0) return false;
      if (order < 0) hi = mid;
      else lo = mid + 1;
    }
    return true;
  });
}
