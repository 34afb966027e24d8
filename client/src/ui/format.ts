/** Human-readable numbers and times, the same everywhere. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, 'second');
  if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return format.format(Math.round(seconds / 3600), 'hour');
  return format.format(Math.round(seconds / 86400), 'day');
}

export function formatPercent(done: number, total: number | null | undefined): string {
  if (!total) return '0 %';
  return `${Math.min(100, Math.round((done / total) * 100))} %`;
}

/** SUCCEEDED → "Succeeded", DELETED_UPSTREAM → "Deleted upstream". */
export function humanize(value: string | null | undefined): string {
  if (!value) return '—';
  const words = value.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * A backup warning as people read it: "protected_tags: skipped (GitLab has none…)" becomes
 * "Protected tags skipped: GitLab has none…". Anything else is shown as the server wrote it.
 */
export function plainWarning(warning: string): string {
  const match = /^([a-z][a-z_]*): ([a-z][a-z ]*?)(?: \((.*)\))?$/s.exec(warning);
  if (!match) return warning;
  const [, type, what, reason] = match;
  return `${humanize(type)} ${what}${reason ? `: ${reason}` : ''}`;
}
