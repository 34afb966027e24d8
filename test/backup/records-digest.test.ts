import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { digestOfLines, RecordsDigest } from '../../server/src/backup/records-digest.js';

const digestOf = (lines: string[]) => {
  const digest = new RecordsDigest();
  for (const line of lines) digest.add(line);
  return digest.digest();
};

describe('RecordsDigest', () => {
  const a = '{"id":1,"name":"bug"}';
  const b = '{"id":2,"name":"feature"}';

  it('is the same for the same records listed in another order', () => {
    expect(digestOf([a, b])).toBe(digestOf([b, a]));
  });

  it('differs when a record changes, is added, is removed or appears twice', () => {
    const base = digestOf([a, b]);
    for (const other of [[a, '{"id":2,"name":"Feature"}'], [a, b, '{"id":3}'], [a], [a, b, b], []])
      expect(digestOf(other)).not.toBe(base);
  });

  it('reads the same digest back from stored JSON Lines', async () => {
    expect(await digestOfLines(Readable.from([`${b}\n${a}\n`]))).toBe(digestOf([a, b]));
  });
});
