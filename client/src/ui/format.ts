/**
 * Human-readable numbers and times, the same everywhere: every screen formats through these, with
 * Intl in the browser's locale (dates, relative times, numbers in sizes).
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // The number in the browser's locale ("1.5 KB", "1,5 KB"); the unit symbols are the same everywhere.
  const digits = value >= 10 || unit === 0 ? 0 : 1;
  const number = new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${number.format(value)} ${units[unit]}`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * A calendar day (`2026-11-26`, as the API gives days) the way the rest of the app writes dates,
 * in the browser's locale: "Nov 26" (short) or "Nov 26, 2026".
 */
export function formatDay(day: string, options: { withYear?: boolean } = {}): string {
  const date = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return day;
  return date.toLocaleDateString(undefined, {
    month: 'short',
    day: 'numeric',
    ...(options.withYear ? { year: 'numeric' } : {}),
    timeZone: 'UTC',
  });
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, 'second');
  if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return format.format(Math.round(seconds / 3600), 'hour');
  // Far dates in months and years: a token valid to 2099 "expires in 73 years", not in 26,693 days.
  if (abs < 45 * 86400) return format.format(Math.round(seconds / 86400), 'day');
  if (abs < 365 * 86400) return format.format(Math.round(seconds / (30.44 * 86400)), 'month');
  return format.format(Math.round(seconds / (365.25 * 86400)), 'year');
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

/** Metadata types whose names humanize() would mis-case ("Ci variables"). */
const METADATA_TYPE_NAMES: Record<string, string> = {
  ci_variables: 'CI/CD variables',
  lfs: 'LFS objects',
  ssh_keys: 'SSH keys',
  gpg_keys: 'GPG keys',
};

/** A metadata type as people read it: `merge_requests` → "Merge requests", `ci_variables` → "CI/CD variables". */
export function metadataTypeName(type: string): string {
  return METADATA_TYPE_NAMES[type.toLowerCase()] ?? humanize(type);
}

/**
 * A backup warning as people read it: "protected_tags: skipped (GitLab has none…)" becomes
 * "Protected tags skipped: GitLab has none…". Anything else is shown as the server wrote it.
 */
export function plainWarning(warning: string): string {
  const match = /^([a-z][a-z_]*): ([a-z][a-z ]*?)(?: \((.*)\))?$/s.exec(warning);
  if (!match) return warning;
  const [, type, what, reason] = match;
  return `${metadataTypeName(type)} ${what}${reason ? `: ${reason}` : ''}`;
}
