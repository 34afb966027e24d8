/**
 * A bundle read as its two parts (gitformat-bundle(5)): the text header — format line,
 * capabilities (v3), prerequisites `-<oid>`, refs, an empty line — and the pack that follows it,
 * handed on as it streams. A FULL snapshot's bundle has no prerequisites: its pack is
 * self-contained, exactly what a push into an empty repository sends (restore/stored-pack-push.ts).
 */
import type { Readable } from 'node:stream';
import { GitError } from './git.js';

export interface BundlePack {
  /** Objects the pack assumes present (an incremental's parent tips); none for a FULL. */
  prerequisites: string[];
  /** v3 capabilities (`object-format=sha1`, `filter=…`), without their `@`; none for v2. */
  capabilities: string[];
  /** The pack's bytes, signature to trailer. */
  pack: AsyncIterable<Buffer>;
  /** Closes the bundle when its pack is not read (to its end). */
  close(): void;
}

const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** Reads the header of `bundle`; its pack is then read from `pack` (once). */
export async function readBundlePack(bundle: Readable): Promise<BundlePack> {
  const chunks = (bundle as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  for (;;) {
    const next = await chunks.next();
    if (next.done) {
      bundle.destroy();
      throw new GitError('GIT_FAILED', 'the bundle ends inside its header');
    }
    head = Buffer.concat([head, next.value]);
    const end = head.indexOf('\n\n');
    if (end < 0) {
      if (
        head.length > MAX_HEADER_BYTES ||
        (head.length >= 16 && !/^# v[23] git bundle\n/.test(head.toString('latin1', 0, 16)))
      ) {
        bundle.destroy();
        throw new GitError('GIT_FAILED', 'not a git bundle');
      }
      continue;
    }
    const lines = head.subarray(0, end).toString('utf8').split('\n');
    if (!/^# v[23] git bundle$/.test(lines[0])) {
      bundle.destroy();
      throw new GitError('GIT_FAILED', 'not a git bundle');
    }
    const rest = head.subarray(end + 2);
    return {
      prerequisites: lines.filter((l) => l.startsWith('-')).map((l) => l.slice(1).split(' ')[0]),
      capabilities: lines.filter((l) => l.startsWith('@')).map((l) => l.slice(1)),
      close: () => bundle.destroy(),
      pack: (async function* () {
        try {
          if (rest.length > 0) yield rest;
          for (;;) {
            const next = await chunks.next();
            if (next.done) return;
            yield next.value;
          }
        } finally {
          bundle.destroy();
        }
      })(),
    };
  }
}
