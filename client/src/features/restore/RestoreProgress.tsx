/**
 * The live part of a restore run: its phases as steps, a progress bar over its snapshots and a
 * status line that screen readers announce (aria-live), then the terminal outcome.
 */
import { humanize } from '../../ui/format';
import { Notice } from '../../ui/States';
import { ProgressBar } from '../../ui/ProgressBar';
import type { LiveRestoreRun } from './useLiveRestoreRun';

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

export function RestorePhases({ target, phase }: { target: string; phase: string | null }) {
  const phases = PHASES[target] ?? PHASES.NEW_PROJECT;
  const current = Math.max(0, phases.indexOf(phase ?? 'QUEUED'));
  return (
    <ol className="phases" aria-label="Phases">
      {phases.map((p, i) => {
        const state = i < current || (p === 'DONE' && phase === 'DONE') ? 'done' : i === current ? 'current' : 'todo';
        return (
          <li key={p} className={`phase phase-${state}`} aria-current={state === 'current' ? 'step' : undefined}>
            <span className="visually-hidden">
              {state === 'done' ? 'Done: ' : state === 'current' ? 'Current: ' : 'Next: '}
            </span>
            {phaseLabel(p)}
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
        {phaseLabel(live.phase)} — {live.done} of {live.total} {noun}
        {message && !live.terminal ? <span className="muted"> · {message}</span> : null}
      </p>
    </div>
  );
}

export function RestoreOutcome({ live }: { live: LiveRestoreRun }) {
  const run = live.run;
  if (!run || !live.terminal) return null;
  const verb = run.isDryRun ? 'Dry run' : 'Restore';
  if (run.status === 'SUCCEEDED') return <Notice kind="success">{verb} succeeded.</Notice>;
  if (run.status === 'PARTIAL')
    return (
      <Notice kind="warning">
        {verb} finished with problems{run.errorMessage ? `: ${run.errorMessage}` : '.'}
      </Notice>
    );
  return (
    <Notice kind="error">
      {verb} failed{run.errorMessage ? `: ${run.errorMessage}` : '.'}
    </Notice>
  );
}
