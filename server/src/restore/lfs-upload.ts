/**
 * Uploading Git LFS objects to a restored project through GitLab's LFS Batch API (operation
 * `upload`, basic transfer), with the client of gitlab/lfs-batch.ts on the one GitLab transport
 * (a connection's private CA is trusted; its retry policy applies, honouring Retry-After):
 *
 * - the batch endpoint is asked about at most 100 objects at a time; an object the server already
 *   has comes back without `actions.upload` and is not sent again;
 * - each body is PUT to the action's href with only the action's headers (an LFS token, not our
 *   credentials), streamed from `open(oid)` (the decoded content), re-opened on a retry;
 * - when the server offers a `verify` action, it is POSTed `{oid, size}` afterwards.
 * Per-object problems end up in `failed`; refusals that concern the whole repository (401, 403,
 * 404 from the batch endpoint) throw. URLs in errors carry no query string or credentials.
 */
import type { Readable } from 'node:stream';
import { isDomainError } from '../shared/errors.js';
import { uniqueObjects, type LfsPointer } from '../snapshot/lfs-layout.js';
import { transferCanceled } from '../gitlab/gitlab.errors.js';
import type { GitAuth, GitLabHttp } from '../gitlab/gitlab-http.js';
import { LfsBatchClient, type LfsAction, type LfsBatchEntry } from '../gitlab/lfs-batch.js';
import { bareUrl } from '../gitlab/redact.js';

export interface LfsUploadOptions {
  /** The target repository's git HTTP URL (http_url_to_repo). */
  repoHttpUrl: string;
  /** Basic-auth credentials for the batch endpoint (a user that may push); renewed on 401 when they can be. */
  auth: GitAuth | null;
  /** PEM of the connection's private CA. */
  caCertificate?: string | null;
  /** The application's GitLab transport; default the shared one. */
  http?: GitLabHttp;
  objects: LfsPointer[];
  /** The object's content, decoded (decrypted, decompressed). Called once per attempt. */
  open(oid: string): Promise<Readable>;
  signal?: AbortSignal;
  /** Objects per batch request (≤ 100). */
  batchSize?: number;
}

export interface LfsUploadResult {
  /** Oids sent to the server. */
  uploaded: string[];
  /** Oids the server already had. */
  present: string[];
  failed: { oid: string; reason: string }[];
  bytes: number;
}

export async function uploadLfsObjects(options: LfsUploadOptions): Promise<LfsUploadResult> {
  const { signal } = options;
  const client = new LfsBatchClient({
    repoHttpUrl: options.repoHttpUrl,
    auth: options.auth,
    caCertificate: options.caCertificate,
    http: options.http,
    signal,
  });
  const batchSize = Math.min(100, Math.max(1, options.batchSize ?? 100));
  const { objects, invalid } = uniqueObjects(options.objects);
  const result: LfsUploadResult = {
    uploaded: [],
    present: [],
    failed: invalid.map((oid) => ({ oid, reason: 'not a valid LFS pointer (oid or size)' })),
    bytes: 0,
  };
  for (let start = 0; start < objects.length; start += batchSize) {
    if (signal?.aborted) throw transferCanceled('LFS upload');
    const chunk = objects.slice(start, start + batchSize);
    const answers = await client.batch('upload', chunk);
    for (const object of chunk) await uploadOne(client, options, object, answers.get(object.oid), result);
  }
  return result;
}

/** One object by what the batch endpoint said about it: sent (and verified), already there, or failed. */
async function uploadOne(
  client: LfsBatchClient,
  options: LfsUploadOptions,
  object: LfsPointer,
  answer: LfsBatchEntry | undefined,
  result: LfsUploadResult,
): Promise<void> {
  if (!answer) return void result.failed.push({ oid: object.oid, reason: 'the batch API did not answer for it' });
  if ('error' in answer) {
    const { code, message } = answer.error;
    return void result.failed.push({
      oid: object.oid,
      reason: `the batch API refused it (${code}${message ? `: ${message}` : ''})`,
    });
  }
  const { upload, verify } = answer.actions;
  if (!upload) return void result.present.push(object.oid);
  try {
    await client.retrying(`PUT ${bareUrl(upload.href)}`, () => send(client, options, object, upload));
    if (verify) await client.retrying(`POST ${bareUrl(verify.href)}`, () => client.verify(verify, object));
    result.uploaded.push(object.oid);
    result.bytes += object.size;
  } catch (error) {
    if (options.signal?.aborted || isDomainError(error, 'CANCELED')) throw transferCanceled('LFS upload');
    result.failed.push({ oid: object.oid, reason: (error as Error).message });
  }
}

async function send(
  client: LfsBatchClient,
  options: LfsUploadOptions,
  object: LfsPointer,
  upload: LfsAction,
): Promise<void> {
  const body = await options.open(object.oid);
  try {
    await client.upload(upload, body, object.size);
  } finally {
    body.destroy();
  }
}
