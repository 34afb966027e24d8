/**
 * `npm run bench -- --restore`: where users wait for a restore, against raw git and tar in the same run.
 *
 * After one raw `git clone --mirror` of every repository (kept as the push source) and one FULL backup
 * of the organization, three rounds alternate:
 *   - raw: for every repository, at the worker's concurrency, biggest first: create an empty project
 *     through the REST API, then `git push --mirror` from the raw clone into it;
 *   - Labkeeper: `restoreSnapshot(target: NEW_PROJECT, organizationId)` into a fresh group through a
 *     second connection with the `api` scope, until the run is terminal.
 * Then DOWNLOAD against its baseline, alternating five times: `restoreSnapshot(target: DOWNLOAD)` until
 * the archive link is ready, then the archive read to the last byte into a file by curl (a client of
 * its own, as a user's is); against `tar -cf` of the same snapshot folders (reading the bundles and
 * writing a tar). Each DOWNLOAD prints when each phase's progress event arrived, and the CPU seconds
 * of Labkeeper's process and of curl. `--download-only` skips the NEW_PROJECT rounds.
 *
 * The restore's per-phase timings come from its log lines (`stepsMs`, per snapshot), summed.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { RunningApp } from '../server/src/app.js';
import { mib, pool, processCpu, run, secs } from './measure.js';
import type { SimHost } from './sim-host.js';

interface Repo {
  name: string;
  sizeBytes: number;
}

export interface RestoreBenchContext {
  app: RunningApp;
  sim: SimHost;
  simUrl: string;
  gql: <T = any>(query: string, variables?: Record<string, unknown>) => Promise<T>;
  organizationId: string;
  repos: Repo[];
  concurrency: number;
  /** Raw mirrors of every repository (`<name>.git`), the raw push's source. */
  rawDir: string;
  dataDir: string;
  work: string;
  logFile: string;
  log: (line: string) => void;
  /** Skip the NEW_PROJECT rounds: DOWNLOAD against tar only (`--download-only`). */
  downloadOnly?: boolean;
}

interface Cpu {
  node: number;
  git: number;
  gitlab: number;
}

const ROUNDS = 3;
/** DOWNLOAD against tar: each pair takes about a second on the quick corpus; an odd count has a true median. */
const DOWNLOAD_ROUNDS = 5;
const TARGETS = { restoreVsPush: 1.3, downloadVsTar: 1.5 };
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

export async function restoreBench(ctx: RestoreBenchContext): Promise<void> {
  const { app, gql, log } = ctx;
  const groups = Array.from({ length: ROUNDS }, (_, k) => [`raw-push-${k}`, `restored-${k}`]).flat();
  const target = await ctx.sim.restoreTargets(groups);
  const connected = await gql(
    `mutation($i: ConnectGitLabInput!) { connectGitLab(input: $i) { connection { id status } } }`,
    {
      i: {
        method: 'PERSONAL_ACCESS_TOKEN',
        instanceUrl: ctx.simUrl,
        login: 'alice',
        personalAccessToken: target.token,
      },
    },
  );
  const targetConnectionId: string = connected.connectGitLab.connection.id;
  const pushEnv = {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`alice:${target.token}`).toString('base64')}`,
  };
  const bySize = [...ctx.repos].sort((a, b) => b.sizeBytes - a.sizeBytes);

  const terminal = new Map<string, () => void>();
  /** When each run's phases were first seen (this process receives the progress events as any API process does). */
  const phasesSeen = new Map<string, Map<string, number>>();
  const iterator = app.pubSub.subscribe('RESTORE_PROGRESS')[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      const next = await iterator.next().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) return;
      const seen = phasesSeen.get(next.value.runId) ?? new Map<string, number>();
      phasesSeen.set(next.value.runId, seen);
      if (!seen.has(next.value.phase)) seen.set(next.value.phase, performance.now());
      if (next.value.isTerminal) terminal.get(next.value.runId)?.();
    }
  })();
  const untilTerminal = (runId: string) =>
    new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        terminal.delete(runId);
        resolve();
      };
      terminal.set(runId, finish);
      void (async () => {
        const deadline = Date.now() + 60 * 60_000;
        while (!done) {
          // The row, not the API: a poll over HTTP would compete with the measured work for sockets.
          const { status } = await app.services.restores.get(runId);
          if (['SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELED'].includes(status)) return finish();
          if (Date.now() > deadline) return reject(new Error(`restore ${runId} did not finish within an hour`));
          await new Promise((r) => setTimeout(r, 1000)); // a fallback only: the progress event ends the wait
        }
      })().catch(reject);
    });
  const startRestore = async (input: Record<string, unknown>) => {
    const r = await gql(`mutation($i: RestoreSnapshotInput!) { restoreSnapshot(input: $i) { id } }`, { i: input });
    return r.restoreSnapshot.id as string;
  };
  const runOutcome = async (runId: string) =>
    (
      await gql(
        `query($id: ID!) { restoreRun(id: $id) { status errorMessage downloadUrl report { snapshots { targetPath problems } } } }`,
        { id: runId },
      )
    ).restoreRun as {
      status: string;
      errorMessage: string | null;
      downloadUrl: string | null;
      report: { snapshots: { targetPath: string | null; problems: string[] }[] } | null;
    };

  /**
   * CPU seconds spent while `work` ran: this process (Labkeeper's API and worker run in it), the git
   * processes it started (the raw pushes' and Labkeeper's), the simulator with its http-backends.
   */
  const cpuOf = async <T>(work: () => Promise<T>): Promise<[T, Cpu]> => {
    const self0 = processCpu();
    const sim0 = processCpu(ctx.sim.pid);
    const result = await work();
    const self1 = processCpu();
    const sim1 = processCpu(ctx.sim.pid);
    return [
      result,
      {
        node: self1.ownS - self0.ownS,
        git: self1.childrenS - self0.childrenS,
        gitlab: sim1.ownS + sim1.childrenS - sim0.ownS - sim0.childrenS,
      },
    ];
  };
  const cpuText = (c: Cpu) =>
    `cpu node ${c.node.toFixed(1)} s, git ${c.git.toFixed(1)} s, simulator ${c.gitlab.toFixed(1)} s`;

  const rawPush = async (group: string) => {
    const started = performance.now();
    await pool(bySize, ctx.concurrency, async (r) => {
      const created = await fetch(`${ctx.simUrl}/api/v4/projects`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'private-token': target.token },
        body: JSON.stringify({ path: r.name, namespace_id: target.groupIds[group] }),
      });
      if (created.status !== 201) throw new Error(`raw push: creating ${group}/${r.name} answered ${created.status}`);
      await run('git', ['push', '--mirror', '--quiet', `${ctx.simUrl}/${group}/${r.name}.git`], {
        cwd: join(ctx.rawDir, `${r.name}.git`),
        env: pushEnv,
      });
    });
    return performance.now() - started;
  };
  const logOffset = () => statSync(ctx.logFile).size;
  /** Sums the `stepsMs` of the restore log lines written since `from` (pino writes asynchronously: read after the run). */
  const stepsSince = (from: number) => {
    const steps: Record<string, number> = {};
    for (const line of readFileSync(ctx.logFile).subarray(from).toString('utf8').split('\n')) {
      if (!line.includes('"stepsMs"')) continue;
      const { stepsMs } = JSON.parse(line) as { stepsMs: Record<string, number> };
      for (const [k, v] of Object.entries(stepsMs)) steps[k] = (steps[k] ?? 0) + v;
    }
    return steps;
  };
  const labkeeperRestore = async (group: string) => {
    const from = logOffset();
    const started = performance.now();
    const runId = await startRestore({
      target: 'NEW_PROJECT',
      organizationId: ctx.organizationId,
      namespacePath: group,
      targetConnectionId,
    });
    await untilTerminal(runId);
    const ms = performance.now() - started;
    const outcome = await runOutcome(runId);
    const problems = (outcome.report?.snapshots ?? []).flatMap((s) => s.problems);
    if (outcome.status !== 'SUCCEEDED')
      log(`  ! restore ${outcome.status}: ${outcome.errorMessage ?? ''} ${problems.slice(0, 3).join('; ')}`);
    const paths = (outcome.report?.snapshots ?? []).flatMap((s) => (s.targetPath ? [s.targetPath] : []));
    return { ms, status: outcome.status, snapshots: outcome.report?.snapshots.length ?? 0, from, paths };
  };

  const raws: number[] = [];
  const restores: { ms: number; status: string; snapshots: number; from: number; paths: string[] }[] = [];
  if (!ctx.downloadOnly) {
    log(`\nrestore: raw create + git push --mirror vs NEW_PROJECT restore, alternating ×${ROUNDS} …`);
    for (let k = 0; k < ROUNDS; k++) {
      const [rawMs, rawCpu] = await cpuOf(() => rawPush(`raw-push-${k}`));
      raws.push(rawMs);
      const [restore, restoreCpu] = await cpuOf(() => labkeeperRestore(`restored-${k}`));
      restores.push(restore);
      log(
        `  raw ${secs(raws[k])}, restore ${secs(restores[k].ms)} ${restores[k].status} (${restores[k].snapshots} snapshots) = ${(restores[k].ms / raws[k]).toFixed(2)}×`,
      );
      log(`    raw: ${cpuText(rawCpu)}; restore: ${cpuText(restoreCpu)}`);
    }
    // Fidelity, outside the timings: every restored repository's refs and HEAD against the raw
    // push's (GitLab's internal refs aside: a restore never pushes them, a raw --mirror push does).
    const remoteOf = async (path: string) => {
      const lines = (await run('git', ['ls-remote', '--symref', `${ctx.simUrl}/${path}.git`], { env: pushEnv })).stdout
        .split('\n')
        .filter((l) => l && !/\trefs\/(merge-requests|pipelines|environments|keep-around|tmp)\//.test(l));
      return {
        refs: lines
          .filter((l) => /\trefs\//.test(l) && !l.startsWith('ref:'))
          .sort()
          .join('\n'),
        head: lines.find((l) => l.startsWith('ref:')) ?? '',
      };
    };
    const differing: string[] = [];
    let sameHead = 0;
    for (let k = 0; k < ROUNDS; k++) {
      for (const r of bySize) {
        // the restore keeps the organization's subgroups; the raw push puts every project in the group
        const path = restores[k].paths.find((p) => p.split('/').at(-1) === r.name) ?? `restored-${k}/${r.name}`;
        const [raw, restored] = await Promise.all([remoteOf(`raw-push-${k}/${r.name}`), remoteOf(path)]);
        if (raw.refs !== restored.refs) differing.push(path);
        if (raw.head === restored.head) sameHead++;
      }
    }
    const restoredCount = ROUNDS * bySize.length;
    log(
      `  refs identical to the raw push's in ${restoredCount - differing.length}/${restoredCount} restored repositories${differing.length ? ` (differ: ${differing.slice(0, 5).join(', ')})` : ''}; HEAD the same in ${sameHead}/${restoredCount}`,
    );
    await new Promise((r) => setTimeout(r, 500)); // let pino's asynchronous destination write the last lines
  }
  const steps = restores.length ? stepsSince(restores[0].from) : {};

  log(
    `DOWNLOAD: archive read to the last byte vs tar -cf of the same snapshot folders, alternating ×${DOWNLOAD_ROUNDS} …`,
  );
  // Other jobs that ran in this process during a pass (the scheduled ones: syncs, alerts…) are printed with it.
  const jobsStarted: string[] = [];
  // Garbage collection in this process during a pass, major (mark-compact) and the others.
  const gc = { major: 0, majorMs: 0, minorMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.major++;
        gc.majorMs += entry.duration;
      } else gc.minorMs += entry.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const onJobStart = (job: { attrs: { name: string } }) => jobsStarted.push(job.attrs.name);
  app.jobStore.agenda.on('start', onJobStart);
  const tars: number[] = [];
  const downloads: { ms: number; bytes: number; status: string; marks: Record<string, number> }[] = [];
  const archive = join(ctx.work, 'download.tar');
  for (let k = 0; k < DOWNLOAD_ROUNDS; k++) {
    // Each side writes a new file: the previous pass's archive is removed before the clock starts
    // (tar truncating curl's 300 MiB inside its own time measured that clean-up, not the archive).
    rmSync(archive, { force: true });
    const [tarMs, tarCpu] = await cpuOf(async () => {
      const tarStarted = performance.now();
      await run('tar', ['-cf', archive, '-C', join(ctx.dataDir, 'backups'), '.']);
      return performance.now() - tarStarted;
    });
    tars.push(tarMs);
    const tarBytes = statSync(archive).size;
    rmSync(archive, { force: true });
    jobsStarted.length = 0;
    Object.assign(gc, { major: 0, majorMs: 0, minorMs: 0 });
    const [download, downloadCpu] = await cpuOf(async () => {
      // Moments since the mutation was sent: each phase as its progress event arrived, the link, the bytes.
      const started = performance.now();
      const marks: Record<string, number> = {};
      const runId = await startRestore({ target: 'DOWNLOAD', organizationId: ctx.organizationId });
      marks.queued = performance.now() - started;
      await untilTerminal(runId);
      const outcome = await runOutcome(runId);
      marks.link = performance.now() - started;
      if (!outcome.downloadUrl) throw new Error(`DOWNLOAD ${outcome.status}: ${outcome.errorMessage}`);
      // Read by curl, as a user's client would: a reader in this process would share the server's event loop.
      const curlStarted = performance.now() - started;
      const { stdout } = await run('curl', [
        '--silent',
        '--show-error',
        '--fail',
        '--output',
        archive,
        '--write-out',
        '%{time_starttransfer}',
        outcome.downloadUrl,
      ]);
      const ms = performance.now() - started;
      marks.headers = curlStarted + Number(stdout) * 1000;
      for (const [phase, at] of phasesSeen.get(runId) ?? []) marks[phase] = at - started;
      phasesSeen.delete(runId);
      return { ms, bytes: statSync(archive).size, status: outcome.status, marks };
    });
    downloads.push(download);
    rmSync(archive, { force: true });
    const m = download.marks;
    const at = (name: string) => (m[name] === undefined ? '—' : `${Math.round(m[name])}`);
    log(
      `  tar ${secs(tarMs)} (${mib(tarBytes)}), DOWNLOAD ${secs(download.ms)} (${mib(download.bytes)}) = ${(download.ms / tarMs).toFixed(2)}×`,
    );
    log(
      `    ms from the mutation: queued ${at('queued')}, PLANNING ${at('PLANNING')}, VERIFYING ${at('VERIFYING')}, PREPARING ${at('PREPARING')}, DONE ${at('DONE')}, link ${at('link')}, headers ${at('headers')}, last byte ${Math.round(download.ms)}`,
    );
    log(
      `    cpu: tar ${tarCpu.git.toFixed(2)} s; DOWNLOAD: Labkeeper ${downloadCpu.node.toFixed(2)} s, curl ${downloadCpu.git.toFixed(2)} s; gc ${gc.major} major ${Math.round(gc.majorMs)} ms, others ${Math.round(gc.minorMs)} ms; jobs started: ${jobsStarted.join(', ')}`,
    );
  }
  app.jobStore.agenda.off('start', onJobStart);
  gcObserver.disconnect();
  await iterator.return?.();

  const tarMs = median(tars);
  const downloadMs = median(downloads.map((d) => d.ms));
  const verdict = (v: number, t: number) => (v <= t ? 'PASS' : 'MISS');
  log(`\nLabkeeper restore benchmark — ${ctx.repos.length} repositories; worker concurrency ${ctx.concurrency}`);
  if (restores.length) {
    const rawMs = median(raws);
    const restoreMs = median(restores.map((r) => r.ms));
    log(
      `  NEW_PROJECT restore vs raw create + push --mirror: ${secs(restoreMs)} vs ${secs(rawMs)} = ${(restoreMs / rawMs).toFixed(2)}× (≤ ${TARGETS.restoreVsPush}× ${verdict(restoreMs / rawMs, TARGETS.restoreVsPush)}; pairs ${restores.map((r, k) => (r.ms / raws[k]).toFixed(2)).join(', ')})`,
    );
  }
  log(
    `  DOWNLOAD vs tar -cf of the snapshot folders: ${secs(downloadMs)} vs ${secs(tarMs)} = ${(downloadMs / tarMs).toFixed(2)}× (≤ ${TARGETS.downloadVsTar}× ${verdict(downloadMs / tarMs, TARGETS.downloadVsTar)}; pairs ${downloads.map((d, k) => (d.ms / tars[k]).toFixed(2)).join(', ')})`,
  );
  if (!restores.length) return;
  delete steps.total; // the sum of the others
  const total = Object.values(steps).reduce((a, b) => a + b, 0);
  log(`  restore phases, summed over snapshots and the ${ROUNDS} rounds (worker-seconds):`);
  for (const [name, ms] of Object.entries(steps).sort((a, b) => b[1] - a[1]))
    log(`    ${name.padEnd(40)} ${secs(ms).padStart(8)}  ${((ms / total) * 100).toFixed(0).padStart(3)} %`);
}
