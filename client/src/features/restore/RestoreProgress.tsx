/**
 * The live part of a restore run: its phases as steps, a progress bar over its snapshots and a
 * status line that screen readers announce (aria-live), then the terminal outcome.
 */
import type { ReactNode } from 'react';
import { humanize } from '../../ui/format';
import { Notice } from '../../ui/States';
import { ProgressBar } from '../../ui/ProgressBar';
import type { LiveRestoreRun } from './useLiveRestoreRun';
import { Reason } from '../../ui/Reason';

const PHASES: Record<string, string[]> = {
  DOWNLOAD: ['QUEUED', 'PLANNING', 'VERIFYING', 'PREPARING', 'DONE'],
  NEW_PROJECT: ['QUEUED', 'PLANNING', 'RESTORING', 'DONE'],
  ORIGINAL: ['QUEUED', 'PLANNING', 'RESTORING', 'DONE'],
};

const PHASE_LABELS: Record<string, string> = {
  QUEUED: 'Waiting for a worker',
  PLANNING: 'Planning',
  VERIFYING: 'Verifying snapshots',
  PREPARING: 'Preparing the archive',
  RESTORING: 'Restoring',
  DONE: 'Done',
};

export function phaseLabel(phase: string | null | undefined): string {
  return (phase && PHASE_LABELS[phase]) ?? humanize(phase);
}

/** The phases as steps; a FAILED run ends on a "Failed" step, never on "Done". */
export function RestorePhases({
  target,
  phase,
  status,
}: {
  target: string;
  phase: string | null;
  status?: string | null;
}) {
  const failed = status === 'FAILED';
  const phases = PHASES[target] ?? PHASES.NEW_PROJECT;
  const current = Math.max(0, phases.indexOf(phase ?? 'QUEUED'));
  return (
    <ol className="phases" aria-label="Phases">
      {phases.map((p, i) => {
        const last = p === 'DONE';
        const state =
          failed && last
            ? 'failed'
            : i < current || (last && phase === 'DONE')
              ? 'done'
              : i === current
                ? 'current'
                : 'todo';
        const prefix = { done: 'Done: ', current: 'Current: ', todo: 'Next: ', failed: 'Ended: ' }[state];
        return (
          <li key={p} className={`phase phase-${state}`} aria-current={state === 'current' ? 'step' : undefined}>
            <span className="visually-hidden">{prefix}</span>
            {failed && last ? 'Failed' : phaseLabel(p)}
          </li>
        );
      })}
    </ol>
  );
}

export function RestoreLiveStatus({ live, noun = 'snapshots' }: { live: LiveRestoreRun; noun?: string }) {
  const message = live.event?.message;
  return (
    <div className="restore-live">
      <ProgressBar value={live.done} max={live.total || 1} label="Restore progress" />
      <p role="status" aria-live="polite" className="restore-live-line">
        {live.terminal && live.status === 'FAILED' ? 'Failed' : phaseLabel(live.phase)} — {live.done} of {live.total}{' '}
        {noun}
        {live.terminal ? ' restored' : ''}
        {message && !live.terminal ? <span className="muted"> · {message}</span> : null}
      </p>
    </div>
  );
}

/**
 * The end of a run in plain words. A FAILED run says why (the worker's reason) and, when `retry`
 * is given, offers a Retry that starts a new restore with the same settings.
 */
export function RestoreOutcome({ live, retry }: { live: LiveRestoreRun; retry?: ReactNode }) {
  const run = live.run;
  if (!run || !live.terminal) return null;
  const verb = run.isDryRun ? 'Dry run' : 'Restore';
  if (run.status === 'SUCCEEDED') return <Notice kind="success">{verb} succeeded.</Notice>;
  if (run.status === 'PARTIAL')
    return (
      <Notice kind="warning">
        {verb} finished with problems{run.errorMessage ? <Reason prefix=": " message={run.errorMessage} /> : '.'}
      </Notice>
    );
  return (
    <Notice kind="error">
      <p className="outcome-title">
        <strong>{verb} failed.</strong>
      </p>
      {run.errorMessage ? (
        <div>
          <Reason prefix="Reason: " message={run.errorMessage} />
        </div>
      ) : null}
      {retry}
    </Notice>
  );
}
