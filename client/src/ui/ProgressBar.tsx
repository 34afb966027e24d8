/**
 * An accessible progress bar: role=progressbar with its value, and the percentage as text. The
 * label is drawn twice: dark on the empty track, and white clipped to the fill, so each part of it
 * contrasts with what lies beneath (dark text on the indigo fill was unreadable).
 */
export function ProgressBar({ value, max = 100, label }: { value: number; max?: number; label: string }) {
  const percent = max > 0 ? Math.min(100, Math.max(0, Math.round((value / max) * 100))) : 0;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-valuetext={`${percent} %`}
    >
      <div className="progress-fill" style={{ width: `${percent}%` }} />
      <span className="progress-text" aria-hidden="true">
        {percent} %
      </span>
      <span className="progress-text progress-text-on-fill" style={{ clipPath: `inset(0 ${100 - percent}% 0 0)` }}>
        {percent} %
      </span>
    </div>
  );
}
