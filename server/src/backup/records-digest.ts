/**
 * What a metadata type holds, independent of the order GitLab listed it in: sha256 over the
 * sorted sha256 of each record's JSON line (as stored, secrets already removed). Two listings
 * with the same digest hold the same records, byte for byte; a group's unchanged type is then
 * kept by reference to the artifact that already holds them (group-backup.ts, group-unchanged.ts).
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export class RecordsDigest {
  private readonly hashes: string[] = [];

  /** One record's JSON line, without its newline. */
  add(line: string): void {
    this.hashes.push(createHash('sha256').update(line).digest('hex'));
  }

  get size(): number {
    return this.hashes.length;
  }

  digest(): string {
    const all = createHash('sha256');
    for (const hash of [...this.hashes].sort()) all.update(`${hash}\n`);
    return all.digest('hex');
  }
}

/** The digest of a decoded JSON Lines stream (a stored artifact, read back). */
export async function digestOfLines(decoded: Readable): Promise<string> {
  const digest = new RecordsDigest();
  for await (const line of createInterface({ input: decoded, crlfDelay: Infinity })) if (line.trim()) digest.add(line);
  return digest.digest();
}
