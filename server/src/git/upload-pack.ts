/**
 * A git smart-HTTP client for protocol v2 (gitprotocol-v2(5), gitprotocol-http(5)), upload side
 * only: `ls-refs` for a repository's refs, and `fetch` for the pack of objects reachable from some
 * tips but not from others. The pack arrives as bytes and is handed on as they come, without a
 * local repository: a FULL snapshot's bundle is the refs header followed by exactly this pack, and
 * an INCREMENTAL one is a thin pack against the previous snapshot's tips, as `git bundle create`
 * writes them (see docs/FORMAT.md). `git clone --mirror` would also index every object (inflate,
 * hash, resolve deltas) and write a second copy of the pack; a backup does neither.
 *
 * Integrity on the way in: the pack's signature and version are checked and its SHA-1 trailer is
 * compared with the SHA-1 of the bytes received, so a cut or damaged transfer fails (and is retried)
 * instead of being stored — unless the caller hands every byte to `git index-pack` and refuses the
 * stream when git does (`checkTrailer: false`, pack-check.ts): git hashes the same bytes to check the
 * same trailer, and a second SHA-1 here cost about 0.4 CPU-seconds per 300 MiB on the event loop.
 * Objects themselves are checked by verification (`verifySnapshot`, verify-after-backup — in the
 * stream, pack-check.ts — and restore drills), which indexes the bundle chain with git.
 *
 * HTTP goes through the one GitLab transport (gitlab/gitlab-http.ts) by the request receive-pack.ts
 * makes too (smart-http.ts): the connection's private CA is trusted, failures map through
 * gitlab.errors.ts (a 429 keeps GitLab's Retry-After for the caller's retry, which uses the same
 * policy), and a 401 renews an OAuth token once. Credentials travel in the Authorization header
 * only (never in URLs); error messages carry the HTTP status and GitLab's text, never the header.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { finished, Readable } from 'node:stream';
import { fromTransferFailure } from '../gitlab/gitlab.errors.js';
import { withRenewal, type GitAuth } from '../gitlab/gitlab-http.js';
import { GitError, redact, type GitProgress } from './git.js';
import type { PackCheck } from './pack-check.js';
import { gitAgent, openSmartHttp, redactUrl, transportError, type SmartHttpOptions } from './smart-http.js';

export interface RemoteRefs {
  /** Every ref (HEAD excluded) with its object id. */
  refs: Record<string, string>;
  /** The ref HEAD points to. */
  head: string | null;
  /** Annotated tags: ref → the object the tag finally points to. */
  peeled: Record<string, string>;
}

export interface UploadPackOptions extends SmartHttpOptions {
  /** Basic credentials; renewed once (OAuth refresh) when GitLab answers 401 and they can be. */
  auth?: GitAuth | null;
}

/** Thrown when the server does not speak protocol v2; the caller falls back to the git command. */
export class ProtocolV2UnsupportedError extends GitError {
  constructor(url: string, why = 'it does not offer git protocol version 2') {
    super('GIT_FAILED', `${redactUrl(url)} is not read by Labkeeper's own git client: ${why}`);
  }
}

export const FLUSH = Buffer.from('0000');
const DELIM = Buffer.from('0001');
const MAX_REDIRECTS = 5;

/**
 * A repository's upload-pack endpoint as info/refs found it (redirects followed, v2 offered):
 * discovered once, then used for ls-refs and fetch.
 */
export interface UploadPackService {
  /** What the caller asked for (…/project.git): credentials only go to its origin. */
  url: string;
  /** Where the requests go after redirects. */
  base: string;
}

/** GET info/refs with `Git-Protocol: version=2` (see `discover`). */
export async function discoverUploadPack(url: string, options: UploadPackOptions = {}): Promise<UploadPackService> {
  return { url, base: await withRenewal(options.auth, () => discover(url, options)) };
}

const serviceOf = async (target: string | UploadPackService, options: UploadPackOptions) =>
  typeof target === 'string' ? discoverUploadPack(target, options) : target;

/** Every ref of the repository at `target` (…/project.git), its HEAD and the peeled value of its tags. */
export async function lsRefs(target: string | UploadPackService, options: UploadPackOptions = {}): Promise<RemoteRefs> {
  const { url, base } = await serviceOf(target, options);
  const body = Buffer.concat([
    pkt('command=ls-refs\n'),
    pkt(`agent=${gitAgent(options)}\n`),
    DELIM,
    pkt('symrefs\n'),
    pkt('peel\n'),
    FLUSH,
  ]);
  const response = await post(base, body, options, url);
  const reader = new PktReader(response, base);
  const result: RemoteRefs = { refs: {}, head: null, peeled: {} };
  try {
    for (;;) {
      const line = await reader.next();
      if (line === null) throw truncated(base, 'in the ref list'); // git requires the flush: a cut list is not all refs
      if (line === 'flush') break;
      if (line === 'delim' || line === 'end') continue;
      const text = line.toString('utf8').replace(/\n$/, '');
      if (text.startsWith('ERR '))
        throw new GitError('GITLAB_BAD_RESPONSE', `ls-refs failed: ${redact(text.slice(4))}`);
      const [oid, name, ...attributes] = text.split(' ');
      if (!oid || !name) continue;
      const symref = attributes.find((a) => a.startsWith('symref-target:'))?.slice('symref-target:'.length) ?? null;
      const peeled = attributes.find((a) => a.startsWith('peeled:'))?.slice('peeled:'.length) ?? null;
      if (name === 'HEAD') {
        result.head = symref;
        continue;
      }
      result.refs[name] = oid;
      if (peeled) result.peeled[name] = peeled;
    }
  } catch (error) {
    response.destroy();
    throw error;
  }
  response.resume(); // the rest (nothing after the flush) is drained, so the socket can be reused
  // Sorted by name, as `git for-each-ref` and packed-refs list them (bundle headers follow it).
  result.refs = Object.fromEntries(Object.entries(result.refs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return result;
}

export interface FetchPackOptions extends UploadPackOptions {
  onProgress?: (progress: GitProgress) => void;
  /**
   * Compare the pack's SHA-1 trailer with the bytes received (default true). Off only when every
   * byte of the stream goes to `git index-pack` and the stream is refused unless git accepted
   * exactly those bytes (pack-check.ts): git then makes the same check, and this one is a second
   * SHA-1 over the whole pack. A thin pack (INCREMENTAL) or an unchecked FULL keeps it on.
   */
  checkTrailer?: boolean;
  /**
   * Every byte of the pack goes to this check before it is read on, and the stream ends only once
   * the check passed (pack-check.ts): the pack is checked on its way without a stream of its own.
   */
  check?: PackCheck;
}

export interface PackStream {
  /** The pack's bytes (signature to trailer); errors when the transfer breaks or the trailer is wrong. */
  pack: Readable;
  /** Objects in the pack (from its header). */
  objects: number;
}

/**
 * The pack of every object reachable from `wants` and not from `haves` (a thin pack when there
 * are haves: deltas may use objects reachable from them as bases). Resolves once the pack's
 * header has arrived.
 */
export async function fetchPack(
  target: string | UploadPackService,
  wants: string[],
  haves: string[],
  options: FetchPackOptions = {},
): Promise<PackStream> {
  const { url, base } = await serviceOf(target, options);
  const lines = [
    pkt('command=fetch\n'),
    pkt(`agent=${gitAgent(options)}\n`),
    DELIM,
    pkt('ofs-delta\n'),
    pkt('no-progress\n'),
  ];
  if (haves.length > 0) lines.push(pkt('thin-pack\n'));
  for (const oid of new Set(wants)) lines.push(pkt(`want ${oid}\n`));
  for (const oid of new Set(haves)) lines.push(pkt(`have ${oid}\n`));
  lines.push(pkt('done\n'), FLUSH);
  const response = await post(base, Buffer.concat(lines), options, url);
  try {
    return await receivePack(response, base, options);
  } catch (error) {
    response.destroy();
    throw error;
  }
}

/** The fetch reply: sections up to "packfile", then its side-band-multiplexed pack. */
async function receivePack(response: IncomingMessage, base: string, options: FetchPackOptions): Promise<PackStream> {
  const reader = new PktReader(response, base);

  // Sections before the pack (none are asked for, but a server may send them); then "packfile".
  for (;;) {
    const line = await reader.next();
    if (line === null) throw truncated(base, 'before the pack');
    if (line === 'flush' || line === 'delim' || line === 'end') continue;
    const text = line.toString('utf8').replace(/\n$/, '');
    if (text === 'packfile') break;
    if (text.startsWith('ERR ')) throw new GitError('GITLAB_BAD_RESPONSE', `fetch failed: ${redact(text.slice(4))}`);
    // acknowledgments / shallow-info / wanted-refs: skip to the section's end
  }

  const checkTrailer = options.checkTrailer ?? true;
  const check = options.check;
  const sha1 = createHash('sha1');
  let tail = Buffer.alloc(0);
  let received = 0;
  let objects = 0;
  let lastProgress = 0;
  const progress = (final: boolean) => {
    const now = Date.now();
    if (!options.onProgress || (!final && now - lastProgress < 250)) return;
    lastProgress = now;
    options.onProgress({
      phase: 'Receiving objects',
      percent: final ? 100 : null,
      objects: final ? objects : null,
      totalObjects: objects,
      bytes: received,
    });
  };
  /**
   * A packet's pack data (side band 1), [] for a packet without any (progress, band 2, is ignored),
   * 'flush' at the pack's end; an error (band 3, ERR) fails the transfer.
   */
  const demux = (packet: Buffer[] | 'flush' | 'delim' | 'end' | null): Buffer[] | 'flush' => {
    if (packet === null) throw truncated(base, `after ${received} bytes of the pack`);
    if (packet === 'flush') return 'flush';
    if (packet === 'delim' || packet === 'end' || packet.length === 0) return [];
    const band = packet[0][0];
    if (band === 1) {
      // The payload as it lies in the received chunks (no copy to join a packet that spans two of
      // them: that was a copy of nearly every byte, and garbage to collect).
      packet[0] = packet[0].subarray(1);
      return packet[0].length > 0 ? packet : packet.slice(1);
    }
    const line = Buffer.concat(packet);
    if (line.subarray(0, 4).toString('latin1') === 'ERR ')
      throw new GitError('GITLAB_BAD_RESPONSE', `fetch failed: ${redact(line.subarray(4).toString('utf8').trim())}`);
    if (band === 3)
      throw new GitError('GITLAB_BAD_RESPONSE', `fetch failed: ${redact(line.subarray(1).toString('utf8').trim())}`);
    return [];
  };
  /** The next packet's pack data: at once when the packet is buffered whole, else once it is. */
  const nextData = async () => demux(reader.tryNextPieces() ?? (await reader.nextPieces()));

  // The pack's 12-byte header: signature, version, object count.
  let headerBytes = Buffer.alloc(0);
  while (headerBytes.length < 12) {
    const data = await nextData();
    if (data === 'flush') throw truncated(base, 'in the pack header');
    headerBytes = Buffer.concat([headerBytes, ...data]);
  }
  const header = headerBytes.subarray(0, 12);
  if (header.toString('latin1', 0, 4) !== 'PACK' || ![2, 3].includes(header.readUInt32BE(4))) {
    throw new GitError(
      'GITLAB_BAD_RESPONSE',
      `fetch from ${redactUrl(base)} returned something that is not a git pack`,
    );
  }
  objects = header.readUInt32BE(8);

  const account = (chunk: Buffer) => {
    received += chunk.length;
    // Hash everything but the last 20 bytes seen (the trailer, once the pack ends).
    if (!checkTrailer) {
      // git index-pack checks the trailer (see FetchPackOptions.checkTrailer)
    } else if (chunk.length >= 20) {
      if (tail.length > 0) sha1.update(tail);
      sha1.update(chunk.subarray(0, chunk.length - 20));
      tail = Buffer.from(chunk.subarray(chunk.length - 20));
    } else {
      const joined = Buffer.concat([tail, chunk]);
      const cut = Math.max(0, joined.length - 20);
      if (cut > 0) sha1.update(joined.subarray(0, cut));
      tail = Buffer.from(joined.subarray(cut));
    }
    progress(false);
  };
  /** After the flush: the trailer and git's check, then the end of the stream. */
  const end = async () => {
    response.resume(); // drain the rest so the response ends cleanly (and the socket is reused)
    if (checkTrailer && (tail.length !== 20 || !sha1.digest().equals(tail))) {
      throw new GitError(
        'GITLAB_UNAVAILABLE',
        `the pack from ${redactUrl(base)} is damaged (its checksum does not match the ${received} bytes received)`,
        { retryable: true },
      );
    }
    if (check) await check.end();
    progress(true);
    check?.close();
    pack.push(null);
  };
  // The packets are read, handed to the check and pushed as they come, without a promise per
  // chunk where none is needed (an async generator per stage made a dozen per packet: a tenth of
  // the worker's young-generation garbage in a pass). It runs while the stream wants more, waits
  // only for bytes that have not arrived and for git's full pipe, and stops when the stream's
  // buffer is full until it is read again.
  let first: Buffer[] | null = [headerBytes];
  let pumping = false;
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const data = first ?? (await nextData());
        first = null;
        if (pack.destroyed) return;
        if (data === 'flush') return await end();
        let more = true;
        for (const chunk of data) {
          account(chunk);
          const taking = check?.write(chunk);
          if (taking) await taking;
          if (pack.destroyed) return;
          more = pack.push(chunk);
        }
        if (!more) return;
      }
    } catch (error) {
      pack.destroy(error as Error);
    } finally {
      pumping = false;
    }
  };
  const pack = new Readable({
    highWaterMark: 1024 * 1024,
    read: () => void pump(),
    destroy(error, callback) {
      check?.close();
      if (!response.complete) response.destroy(); // given up early (error, cancel): drop the connection
      callback(error);
    },
  });
  return { pack, objects };
}

// ---- HTTP --------------------------------------------------------------------------------------

/** What every request of this client shares (smart-http.ts adds credentials and the transport). */
const UPLOAD_PACK_V2 = {
  service: 'git-upload-pack',
  headers: { 'Git-Protocol': 'version=2' },
  operation: 'git transfer',
} as const;

/** GET info/refs with `Git-Protocol: version=2`: follows redirects (like git's http.followRedirects=initial) and checks that v2 is offered. */
async function discover(url: string, options: UploadPackOptions): Promise<string> {
  let base = url.replace(/\/+$/, '');
  for (let hop = 0; ; hop++) {
    const response = await openSmartHttp(
      { ...UPLOAD_PACK_V2, method: 'GET', target: `${base}/info/refs?service=git-upload-pack`, originalUrl: url },
      options,
    );
    const location = response.headers.location;
    if (
      response.statusCode &&
      response.statusCode >= 300 &&
      response.statusCode < 400 &&
      location &&
      hop < MAX_REDIRECTS
    ) {
      response.resume();
      const target = new URL(location, `${base}/info/refs`);
      base = `${target.origin}${target.pathname.replace(/\/info\/refs$/, '')}`;
      continue;
    }
    await expectOk(response, base, 'info/refs');
    const reader = new PktReader(response, base);
    let first = await reader.next();
    if (first instanceof Buffer && first.toString('utf8').startsWith('# service=')) {
      await reader.next(); // its flush
      first = await reader.next();
    }
    const version = first instanceof Buffer ? first.toString('utf8').trim() : '';
    if (version !== 'version 2') {
      response.destroy();
      throw new ProtocolV2UnsupportedError(base);
    }
    // Capabilities: a repository in another object format than SHA-1 (sha256) is left to git.
    for (let line = await reader.next(); line instanceof Buffer; line = await reader.next()) {
      const format = /^object-format=(\S+)/.exec(line.toString('utf8').trim())?.[1];
      if (format && format !== 'sha1') {
        response.destroy();
        throw new ProtocolV2UnsupportedError(base, `its object format is ${format}`);
      }
    }
    response.resume();
    return base;
  }
}

function post(base: string, body: Buffer, options: UploadPackOptions, url: string): Promise<IncomingMessage> {
  return withRenewal(options.auth, async () => {
    const response = await openSmartHttp(
      { ...UPLOAD_PACK_V2, method: 'POST', target: `${base}/git-upload-pack`, originalUrl: url, body },
      options,
    );
    await expectOk(response, base, 'git-upload-pack');
    return response;
  });
}

export async function expectOk(response: IncomingMessage, base: string, what: string): Promise<void> {
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) {
    response.on('error', () => undefined); // read errors surface through the reader
    return;
  }
  const text = await readSome(response);
  const headers = Object.fromEntries(
    Object.entries(response.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]),
  );
  const notFound = status === 404 ? ' — repository not found' : '';
  throw fromTransferFailure(
    { status, headers, body: text, text },
    `git ${what} at ${redactUrl(base)}: The requested URL returned error: ${status}${notFound}`,
  );
}

async function readSome(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (size < 2048) chunks.push(chunk);
      size += chunk.length;
    }
  } catch {
    // the body is only decoration for the message
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, 300).replace(/\s+/g, ' ').trim();
}

export function truncated(base: string, where: string): GitError {
  return new GitError('GITLAB_UNAVAILABLE', `git transfer from ${redactUrl(base)} ended early ${where} (early EOF)`, {
    retryable: true,
  });
}

// ---- pkt-line ----------------------------------------------------------------------------------

/** What a PktReader holds at most before it pauses the response. */
const READ_AHEAD_BYTES = 1024 * 1024;

export function pkt(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0'), 'latin1'), payload]);
}

/**
 * Reads pkt-lines from a response: a Buffer per data line (without its length), 'flush' (0000),
 * 'delim' (0001), 'end' (0002, response-end), or null at the end of the body.
 *
 * The response's chunks are taken as its 'data' events hand them over, each as it came from the
 * socket. (Its async iterator reads whatever is buffered as one Buffer: whenever the reader was
 * slower than the socket, every byte of those chunks was copied into a new one, to be collected.)
 * Backpressure: the response is paused while READ_AHEAD_BYTES wait here, and resumed once less
 * than half of that is left.
 */
export class PktReader {
  private buffered: Buffer[] = [];
  private size = 0;
  private ended = false;
  private failure: unknown = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly response: IncomingMessage,
    private readonly base: string,
  ) {
    response.on('data', (chunk: Buffer) => {
      this.buffered.push(chunk);
      this.size += chunk.length;
      if (this.size >= READ_AHEAD_BYTES) response.pause();
      this.woken();
    });
    finished(response, { writable: false }, (error) => {
      if (error) this.failure = error;
      this.ended = true;
      this.woken();
    });
  }

  async next(): Promise<Buffer | 'flush' | 'delim' | 'end' | null> {
    const length = await this.header();
    if (typeof length !== 'number') return length;
    return this.take(length).subarray(4);
  }

  /**
   * As `next`, but a data line's payload as the parts of the received chunks it lies in
   * (non-empty Buffers, none for an empty line; never copied).
   */
  async nextPieces(): Promise<Buffer[] | 'flush' | 'delim' | 'end' | null> {
    const length = await this.header();
    if (typeof length !== 'number') return length;
    return this.piecesOf(length);
  }

  /** As `nextPieces` when the next pkt-line is buffered whole: at once, without a promise; else undefined. */
  tryNextPieces(): Buffer[] | 'flush' | 'delim' | 'end' | undefined {
    if (this.size < 4) return undefined;
    const length = this.lengthAhead();
    if (length < 4) return this.special(length);
    return this.size < length ? undefined : this.piecesOf(length);
  }

  /** The buffered pkt-line of `length` bytes (header included), consumed, as its payload's pieces. */
  private piecesOf(length: number): Buffer[] {
    this.take(4);
    const pieces: Buffer[] = [];
    for (let n = length - 4; n > 0;) {
      const first = this.buffered[0];
      if (first.length <= n) {
        pieces.push(first);
        this.buffered.shift();
        this.size -= first.length;
        n -= first.length;
      } else {
        pieces.push(first.subarray(0, n));
        this.buffered[0] = first.subarray(n);
        this.size -= n;
        n = 0;
      }
    }
    this.consumed();
    return pieces;
  }

  /**
   * The next pkt-line's header: a special packet (consumed), null at the end of the reply, or a data
   * line's whole length (header included), with that many bytes buffered and nothing consumed.
   */
  private async header(): Promise<number | 'flush' | 'delim' | 'end' | null> {
    if (!(await this.fill(4))) return null;
    const length = this.lengthAhead();
    if (length < 4) return this.special(length);
    if (!(await this.fill(length))) throw truncated(this.base, 'inside a pkt-line');
    return length;
  }

  /** The length in the buffered pkt-line header (4 bytes buffered). */
  private lengthAhead(): number {
    const length = Number.parseInt(this.peek(4).toString('latin1'), 16);
    if (Number.isNaN(length))
      throw new GitError('GITLAB_BAD_RESPONSE', `malformed reply from ${redactUrl(this.base)} (not a pkt-line)`);
    return length;
  }

  /** A special packet (length 0, 1 or 2), consumed. */
  private special(length: number): 'flush' | 'delim' | 'end' {
    this.take(4);
    return length === 0 ? 'flush' : length === 1 ? 'delim' : 'end';
  }

  private async fill(n: number): Promise<boolean> {
    while (this.size < n) {
      if (this.failure) throw transportError(this.failure, this.base);
      if (this.ended) return false;
      this.response.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return true;
  }

  private woken(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Bytes were taken: the response flows again once less than half the read-ahead is left. */
  private consumed(): void {
    if (this.size < READ_AHEAD_BYTES / 2 && this.response.isPaused() && !this.ended) this.response.resume();
  }

  private peek(n: number): Buffer {
    if (this.buffered[0].length < n) this.buffered = [Buffer.concat(this.buffered)];
    return this.buffered[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.buffered[0].length < n) this.buffered = [Buffer.concat(this.buffered)];
    const first = this.buffered[0];
    const out = first.subarray(0, n);
    if (first.length === n) this.buffered.shift();
    else this.buffered[0] = first.subarray(n);
    this.size -= n;
    this.consumed();
    return out;
  }
}
