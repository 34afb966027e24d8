/**
 * A git smart-HTTP client for the push side (gitprotocol-pack(5) "Pushing Data To a Server",
 * gitprotocol-http(5)): the ref advertisement of `git-receive-pack`, then one POST of ref update
 * commands followed by a pack, answered by report-status (side-band-64k multiplexed when the
 * server offers it). It sends a pack it is given, as it is: a restore into an empty project pushes
 * a FULL snapshot's stored pack without building a repository and re-packing it (restore/
 * stored-pack-push.ts). Only ref creations are sent (the old value all zeros).
 *
 * HTTP goes through the one GitLab transport by the request upload-pack.ts makes too (smart-http.ts):
 * the connection's private CA, credentials in the Authorization header only (never in a URL),
 * errors mapped through gitlab.errors.ts (a 429 keeps Retry-After for the caller's retry). Renewal
 * on 401 and retries are the caller's: a pack body is a stream, so a new attempt opens it again.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { GitError, redact } from './git.js';
import { gitAgent, openSmartHttp, redactUrl, type SmartHttpOptions } from './smart-http.js';
import { expectOk, FLUSH, pkt, PktReader, truncated } from './upload-pack.js';

export interface ReceivePackOptions extends SmartHttpOptions {
  /** Push options (`git push -o`), sent when the server offers `push-options`; refused otherwise. */
  pushOptions?: readonly string[];
}

export interface ReceivePackService {
  /** What the caller asked for (…/project.git): credentials only go to its origin. */
  url: string;
  /** The refs the repository has (an empty repository advertises none). */
  refs: Record<string, string>;
  /** The server's capabilities (`report-status`, `side-band-64k`, `ofs-delta`, `object-format=sha1`, …). */
  capabilities: Set<string>;
}

/** What the server did with one POST: `unpack` is "ok" or git's error; each ref ok, or ng with its reason. */
export interface ReceivePackReport {
  unpack: string;
  refs: Map<string, { ok: true } | { ok: false; reason: string }>;
}

const ZERO_OID = '0'.repeat(40);
/** What every request of this client shares (smart-http.ts adds credentials and the transport). */
const RECEIVE_PACK = { service: 'git-receive-pack', operation: 'git push' } as const;

/** GET info/refs?service=git-receive-pack: the repository's refs and the server's capabilities. */
export async function discoverReceivePack(url: string, options: ReceivePackOptions = {}): Promise<ReceivePackService> {
  const base = url.replace(/\/+$/, '');
  const response = await openSmartHttp(
    { ...RECEIVE_PACK, method: 'GET', target: `${base}/info/refs?service=git-receive-pack`, originalUrl: url },
    options,
  );
  await expectOk(response, base, 'info/refs');
  const reader = new PktReader(response, base);
  const service: ReceivePackService = { url: base, refs: {}, capabilities: new Set() };
  try {
    let line = await reader.next();
    if (line instanceof Buffer && line.toString('utf8').startsWith('# service=')) {
      await reader.next(); // its flush
      line = await reader.next();
    }
    for (let first = true; line instanceof Buffer; line = await reader.next(), first = false) {
      let text = line.toString('utf8').replace(/\n$/, '');
      if (first) {
        const nul = text.indexOf('\0');
        if (nul < 0) throw new GitError('GITLAB_BAD_RESPONSE', `${redactUrl(base)} advertised no capabilities`);
        for (const capability of text.slice(nul + 1).split(' ')) if (capability) service.capabilities.add(capability);
        text = text.slice(0, nul);
      }
      const [oid, name] = text.split(' ');
      // An empty repository advertises `0{40} capabilities^{}` only to carry the capabilities.
      if (oid && name && name !== 'capabilities^{}' && name.startsWith('refs/')) service.refs[name] = oid;
    }
    if (line !== 'flush') throw truncated(base, 'in the ref advertisement');
  } catch (error) {
    response.destroy();
    throw error;
  }
  response.resume();
  return service;
}

/**
 * POSTs the creation of `updates` (ref → object id) followed by `pack` (a whole pack: signature to
 * trailer), and reads the server's report. A source that fails midway stops the request, so the
 * server never takes a cut pack (it would refuse one anyway: its trailer would not match).
 */
export async function sendPack(
  service: ReceivePackService,
  updates: readonly { ref: string; oid: string }[],
  pack: Readable | Buffer,
  options: ReceivePackOptions = {},
): Promise<ReceivePackReport> {
  const { url: base, capabilities } = service;
  if (!capabilities.has('report-status'))
    throw new GitError('GIT_FAILED', `${redactUrl(base)} does not offer report-status`);
  const sideBand = capabilities.has('side-band-64k');
  const pushOptions = options.pushOptions ?? [];
  if (pushOptions.length > 0 && !capabilities.has('push-options'))
    throw new GitError('GIT_FAILED', `${redactUrl(base)} does not offer push options`);
  const asked = [
    'report-status',
    ...(sideBand ? ['side-band-64k'] : []),
    ...(capabilities.has('quiet') ? ['quiet'] : []),
    ...(pushOptions.length > 0 ? ['push-options'] : []),
  ];
  const commands = updates.map(({ ref, oid }, i) =>
    pkt(`${ZERO_OID} ${oid} ${ref}${i === 0 ? `\0${asked.join(' ')} agent=${gitAgent(options)}` : ''}\n`),
  );
  // gitprotocol-pack: the command list, its flush, then (with push-options) the options and a flush.
  const optionLines = pushOptions.length > 0 ? [...pushOptions.map((o) => pkt(`${o}\n`)), FLUSH] : [];
  const head = Buffer.concat([...commands, FLUSH, ...optionLines]);
  // The pack source's own error names the cause better than the request's (set while streaming).
  const failed: { error?: Error } = {};
  const sourceError = (): Error | undefined => failed.error;
  const body = Buffer.isBuffer(pack)
    ? Buffer.concat([head, pack])
    : (async function* () {
        yield head;
        try {
          for await (const chunk of pack) yield chunk as Buffer;
        } catch (error) {
          failed.error = error as Error;
          throw error;
        }
      })();
  let response: IncomingMessage;
  try {
    response = await openSmartHttp(
      { ...RECEIVE_PACK, method: 'POST', target: `${base}/git-receive-pack`, originalUrl: base, body },
      options,
    );
  } catch (error) {
    throw sourceError() ?? (error as Error);
  }
  const early = sourceError();
  if (early) {
    response.destroy();
    throw early;
  }
  await expectOk(response, base, 'git-receive-pack');
  try {
    const lines = sideBand
      ? demultiplex(new PktReader(response, base), base)
      : plainLines(new PktReader(response, base));
    const report: ReceivePackReport = { unpack: '', refs: new Map() };
    for await (const line of lines) {
      const text = line.replace(/\n$/, '');
      if (text.startsWith('unpack ')) report.unpack = text.slice('unpack '.length);
      else if (text.startsWith('ok ')) report.refs.set(text.slice(3), { ok: true });
      else if (text.startsWith('ng ')) {
        const [ref, ...reason] = text.slice(3).split(' ');
        report.refs.set(ref, { ok: false, reason: redact(reason.join(' ')) || 'refused' });
      }
    }
    if (!report.unpack) throw truncated(base, 'before its report');
    const late = sourceError();
    if (late) throw late;
    return report;
  } catch (error) {
    response.destroy();
    throw sourceError() ?? (error as Error);
  }
}

/** A pack of no objects: what git sends when the server has every object the updates name. */
export function emptyPack(): Buffer {
  const header = Buffer.from([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2, 0, 0, 0, 0]);
  return Buffer.concat([header, createHash('sha1').update(header).digest()]);
}

/** report-status lines sent as they are (no side band), up to the flush. */
async function* plainLines(reader: PktReader): AsyncGenerator<string> {
  for (;;) {
    const line = await reader.next();
    if (line === null || line === 'flush') return;
    if (line instanceof Buffer) yield line.toString('utf8');
  }
}

/** report-status carried in side band 1 (its own pkt-lines); band 2 is progress, band 3 a fatal error. */
async function* demultiplex(reader: PktReader, base: string): AsyncGenerator<string> {
  let inner = Buffer.alloc(0);
  for (;;) {
    const line = await reader.next();
    if (line === null || line === 'flush') return;
    if (!(line instanceof Buffer)) continue;
    const band = line[0];
    if (band === 3)
      throw new GitError(
        'GITLAB_BAD_RESPONSE',
        `push to ${redactUrl(base)} failed: ${redact(line.subarray(1).toString('utf8').trim())}`,
      );
    if (band !== 1) continue;
    inner = Buffer.concat([inner, line.subarray(1)]);
    while (inner.length >= 4) {
      const length = Number.parseInt(inner.subarray(0, 4).toString('latin1'), 16);
      if (Number.isNaN(length)) throw new GitError('GITLAB_BAD_RESPONSE', `malformed report from ${redactUrl(base)}`);
      if (length < 4) {
        inner = inner.subarray(4);
        if (length === 0) return;
        continue;
      }
      if (inner.length < length) break;
      yield inner.subarray(4, length).toString('utf8');
      inner = inner.subarray(length);
    }
  }
}
