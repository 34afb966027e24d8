/**
 * A NEW_PROJECT restore's fast path: a chain of one FULL snapshot pushed into the empty project
 * it just created straight from storage. A FULL bundle is a header plus a self-contained pack
 * (docs/FORMAT.md), which is exactly what a push into an empty repository sends; so its pack goes
 * to GitLab's receive-pack as stored (git/receive-pack.ts), with the manifest's refs as ref
 * creations. No scratch repository is built (no local index-pack), nothing is re-packed (no
 * `git push`, whose pack-objects reads every object again).
 *
 * The refs and the default branch come out as the materialising path makes them
 * (git-restore.ts `pushRestoredRefs`, mode NEW): GitLab's internal refs are skipped, the rest is
 * created; when the snapshot's head is not the branch the new project's HEAD already names, it is
 * created first, on its own (with the pack), and the rest follows with an empty pack, so that
 * GitLab makes it the default branch.
 *
 * Anything else — an incremental chain (thin packs: joining them needs a new pack without
 * duplicates), a target that is not empty, a server without report-status or ofs-delta, another
 * object format — resolves null and the caller materialises as before. Retries and a 401's
 * renewal go through the GitLab transport like a `git push`; an attempt that finds some of its
 * refs already created (an earlier attempt got through before its answer was lost) sends the
 * rest, and one that finds anything else upstream gives the repository back to the slow path.
 */
import { Readable } from 'node:stream';
import { readBundlePack } from '../git/bundle-pack.js';
import { redact } from '../git/git.js';
import { discoverReceivePack, emptyPack, sendPack } from '../git/receive-pack.js';
import { defaultGitLabHttp, withRenewal, type GitAuth, type GitLabHttp } from '../gitlab/gitlab-http.js';
import { DomainError } from '../shared/errors.js';
import { gitlabReadOnlyReason, RESTORE_PUSH_OPTIONS, type PushReport, type Refs } from './git-restore.js';

export interface StoredPackPush {
  /** Opens the FULL bundle, decoded (decrypted, decompressed); called once per attempt. */
  openBundle: () => Promise<Readable>;
  /** The target's git HTTP URL, without credentials. */
  remoteUrl: string;
  auth: GitAuth & { caCertificate?: string | null };
  /** The snapshot's refs (its manifest's). */
  refs: Refs;
  /** The snapshot's HEAD ref. */
  head: string | null;
  /** The ref the new project's HEAD names already (its default_branch). */
  targetHead: string | null;
  signal?: AbortSignal;
  http?: GitLabHttp;
}

const REF_NAME = /^refs\/[^\s\0~^:?*[\\]+$/;
const SHA1 = /^[0-9a-f]{40}$/;

/** Pushes the stored pack and the refs; null when this path does not apply (see above). */
export async function pushStoredPack(options: StoredPackPush): Promise<PushReport | null> {
  const { remoteUrl, auth, refs, signal } = options;
  const report: PushReport = { pushed: [], skipped: [], rejected: [], extra: [] };
  const planned: { ref: string; oid: string }[] = [];
  for (const ref of Object.keys(refs).sort()) {
    const oid = refs[ref];
    if (!REF_NAME.test(ref) || ref.includes('..') || !SHA1.test(oid)) return null; // the slow path names it
    const readOnly = gitlabReadOnlyReason(ref);
    if (readOnly) report.skipped.push({ ref, reason: readOnly });
    else planned.push({ ref, oid });
  }
  if (planned.length === 0) return report;
  const http = options.http ?? defaultGitLabHttp();
  const transfer = { auth, caCertificate: auth.caCertificate ?? null, signal, http };

  const attempt = async (): Promise<Map<string, string | null> | null> => {
    const service = await discoverReceivePack(remoteUrl, transfer);
    const caps = service.capabilities;
    const format = [...caps].find((c) => c.startsWith('object-format='));
    if (
      !caps.has('report-status') ||
      !caps.has('ofs-delta') ||
      !caps.has('push-options') ||
      (format && format !== 'object-format=sha1')
    )
      return null;
    // Refs an earlier attempt created count as pushed; anything else upstream is not ours to create.
    const done = new Map<string, string | null>();
    for (const [ref, oid] of Object.entries(service.refs)) {
      if (planned.some((p) => p.ref === ref && p.oid === oid)) done.set(ref, null);
      else return null;
    }
    const remaining = planned.filter((p) => !done.has(p.ref));
    if (remaining.length === 0) return done;
    const bundle = await readBundlePack(await options.openBundle());
    if (bundle.prerequisites.length > 0 || bundle.capabilities.some((c) => c !== 'object-format=sha1')) {
      bundle.close();
      return null;
    }
    const pack = Readable.from(bundle.pack, { objectMode: false });
    pack.once('close', () => bundle.close());
    const first =
      options.head && options.head !== options.targetHead ? remaining.findIndex((p) => p.ref === options.head) : -1;
    const batches = first >= 0 ? [[remaining[first]], remaining.filter((_, i) => i !== first)] : [remaining];
    for (const [i, batch] of batches.entries()) {
      if (batch.length === 0) continue;
      // The stored pack goes with the first request; the next one's refs name objects it brought.
      const answer = await sendPack(service, batch, i === 0 ? pack : emptyPack(), {
        ...transfer,
        pushOptions: RESTORE_PUSH_OPTIONS,
      }).finally(() => {
        if (i === 0) pack.destroy();
      });
      // A pack GitLab could not take (damaged in storage since its verification, or cut short)
      // fails the repository, as a bundle git refuses does on the materialising path.
      if (answer.unpack !== 'ok')
        throw new DomainError('GIT_FAILED', `GitLab refused the stored pack: unpack ${redact(answer.unpack)}`);
      for (const { ref } of batch) {
        const result = answer.refs.get(ref);
        if (result?.ok) done.set(ref, null);
        else done.set(ref, result ? result.reason : 'git push did not report this ref');
      }
    }
    return done;
  };

  const outcome = await http.retrying(`git push ${redact(remoteUrl)}`, () => withRenewal(auth, attempt), signal);
  if (!outcome) return null;
  for (const { ref } of planned) {
    const reason = outcome.get(ref);
    if (reason === null) report.pushed.push(ref);
    else report.rejected.push({ ref, reason: reason ?? 'git push did not report this ref' });
  }
  return report;
}
