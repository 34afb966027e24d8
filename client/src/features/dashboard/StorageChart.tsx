/**
 * Stored bytes over time as an inline SVG area chart, labelled for screen readers (<title>, <desc>)
 * and followed by the same numbers as a table (behind a disclosure) for those who prefer it.
 */
import { useId } from 'react';
import { formatBytes, formatDay } from '../../ui/format';

export interface StoragePoint {
  date: string;
  storedBytes: number;
  addedBytes: number;
  snapshotCount: number;
}

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { top: 16, right: 16, bottom: 28, left: 64 };

export function StorageChart({ points }: { points: StoragePoint[] }) {
  const id = useId();
  if (points.length === 0) return null;
  const max = Math.max(...points.map((p) => p.storedBytes), 1);
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (points.length === 1 ? innerW : (i / (points.length - 1)) * innerW);
  const y = (bytes: number) => PAD.top + innerH - (bytes / max) * innerH;
  const line = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.storedBytes).toFixed(1)}`)
    .join(' ');
  const area = `${line} L${x(points.length - 1).toFixed(1)},${PAD.top + innerH} L${x(0).toFixed(1)},${PAD.top + innerH} Z`;
  const first = points[0];
  const last = points[points.length - 1];
  const ticks = [0, 0.5, 1].map((f) => f * max);
  const labelEvery = Math.max(1, Math.ceil(points.length / 6));
  const description = `From ${formatDay(first.date, { withYear: true })} to ${formatDay(last.date, { withYear: true })}, stored bytes went from ${formatBytes(first.storedBytes)} to ${formatBytes(last.storedBytes)} (${last.snapshotCount} snapshots kept).`;

  return (
    <figure className="storage-chart">
      <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${id}-title ${id}-desc`}>
        <title id={`${id}-title`}>Storage growth</title>
        <desc id={`${id}-desc`}>{description}</desc>
        {ticks.map((t) => (
          <g key={t} aria-hidden="true">
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(t)} y2={y(t)} className="chart-grid" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" className="chart-label">
              {formatBytes(t)}
            </text>
          </g>
        ))}
        <path d={area} className="chart-area" aria-hidden="true" />
        <path d={line} className="chart-line" aria-hidden="true" />
        {points.map((p, i) =>
          p.addedBytes > 0 ? (
            <circle key={p.date} cx={x(i)} cy={y(p.storedBytes)} r={3.5} className="chart-dot" aria-hidden="true" />
          ) : null,
        )}
        {points.map((p, i) =>
          i % labelEvery === 0 || i === points.length - 1 ? (
            <text
              key={p.date}
              x={x(i)}
              y={HEIGHT - 8}
              textAnchor={i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle'}
              className="chart-label"
              aria-hidden="true"
            >
              {formatDay(p.date)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption className="muted">{description}</figcaption>
      <details>
        <summary>Show the data as a table</summary>
        <div className="table-wrap">
          <table className="data-table" aria-label="Storage by day">
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col" className="num">
                  Stored
                </th>
                <th scope="col" className="num">
                  Added
                </th>
                <th scope="col" className="num">
                  Snapshots kept
                </th>
              </tr>
            </thead>
            <tbody>
              {points.map((p) => (
                <tr key={p.date}>
                  <th scope="row">{formatDay(p.date, { withYear: true })}</th>
                  <td className="num">{formatBytes(p.storedBytes)}</td>
                  <td className="num">{p.addedBytes > 0 ? formatBytes(p.addedBytes) : '—'}</td>
                  <td className="num">{p.snapshotCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
