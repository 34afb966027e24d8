/** A notification channel's input, checked before anything is saved: every bad field named at once. */
import { caCertificateProblem } from '../shared/ca-certificate.js';
import { validationError } from '../shared/errors.js';
import { canonicalTimeZone } from '../shared/zoned-time.js';
import {
  CHANNEL_KINDS,
  EMAIL_SECURITY,
  SUMMARY_CADENCES,
  type AlertRules,
  type SummaryCadence,
  type ChannelKind,
  type ChannelSettings,
  type EmailSecurity,
  type NotificationChannelEntity,
} from './alert.entity.js';

export interface ChannelInput {
  name: string;
  kind: string;
  /** null: every organization. */
  organizationId?: string | null;
  isEnabled?: boolean | null;
  rules?: Partial<Record<keyof AlertRules, boolean | number | string | null>> | null;
  /** WEBHOOK: the receiver's URL. */
  url?: string | null;
  /** SLACK: the incoming webhook URL; HEARTBEAT: the ping URL. Capabilities: kept in the Password Manager. */
  secretUrl?: string | null;
  /** WEBHOOK: the HMAC-SHA256 signing secret. */
  signingSecret?: string | null;
  /** WEBHOOK, SLACK, HEARTBEAT: PEM of the CA that signed the receiver's HTTPS certificate. */
  caCertificate?: string | null;
  /** A PASSWORD credential holding the secret instead of typing it. */
  secretCredentialId?: string | null;
  email?: {
    host: string;
    port?: number | null;
    security?: string | null;
    username?: string | null;
    password?: string | null;
    from: string;
    to: string[];
    caCertificate?: string | null;
  } | null;
}

export const DEFAULT_RULES: Required<AlertRules> = {
  runFailed: true,
  runPartial: true,
  runSucceeded: false,
  drillFailed: true,
  anomalies: true,
  tokenExpiringWithinDays: 14,
  staleAfterHours: 48,
  syncFailed: true,
  storageErrors: true,
  summary: null,
  summaryHour: 0,
  summaryTimeZone: 'UTC',
};

/** A channel's rules with the defaults of rules added after it was saved. */
export const rulesOf = (rules: AlertRules): Required<AlertRules> => ({ ...DEFAULT_RULES, ...rules });

const EMAIL = /^[^\s@<>",;]+@[^\s@<>",;]+$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$/;
const DEFAULT_PORT: Record<EmailSecurity, number> = { NONE: 25, STARTTLS: 587, TLS: 465 };

/** The input field holding a kind's secret (null: the kind has none). */
export function secretField(kind: string): 'signingSecret' | 'secretUrl' | 'email.password' | null {
  switch (kind) {
    case 'WEBHOOK':
      return 'signingSecret';
    case 'SLACK':
    case 'HEARTBEAT':
      return 'secretUrl';
    case 'EMAIL':
      return 'email.password';
    default:
      return null;
  }
}

function httpUrl(value: string, fields: Record<string, string>, field: string): string | null {
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fields[field] = 'must be an http(s) URL';
    else if (url.username || url.password) fields[field] = 'must not contain a user or password';
    else return url.toString();
  } catch {
    fields[field] = 'must be an http(s) URL';
  }
  return null;
}

export function checkChannel(
  input: ChannelInput,
  current: NotificationChannelEntity | null,
): Pick<NotificationChannelEntity, 'name' | 'kind' | 'organizationId' | 'isEnabled' | 'rules' | 'settings'> {
  const fields: Record<string, string> = {};
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (!name) fields.name = 'must not be empty';
  else if (name.length > 200) fields.name = 'must be at most 200 characters';
  const kind = input.kind as ChannelKind;
  if (!(CHANNEL_KINDS as readonly string[]).includes(kind)) {
    fields.kind = `must be one of ${CHANNEL_KINDS.join(', ')}`;
    throw validationError(fields);
  }
  const sameKind = current?.kind === kind && current.secretCredentialId !== null;
  const hasSecret = (typed: string | null | undefined) => typed != null || !!input.secretCredentialId || sameKind;
  if (input.secretCredentialId && secretField(kind) && readTyped(input, kind) != null)
    fields.secretCredentialId = `give ${secretField(kind)} or secretCredentialId, not both`;

  const settings: ChannelSettings = { url: null, email: null };
  const only = (field: keyof ChannelInput, kinds: ChannelKind[]) => {
    if (input[field] != null && !kinds.includes(kind)) fields[field] = `is only for ${kinds.join(' and ')} channels`;
  };
  only('url', ['WEBHOOK']);
  only('secretUrl', ['SLACK', 'HEARTBEAT']);
  only('signingSecret', ['WEBHOOK']);
  only('email', ['EMAIL']);
  only('caCertificate', ['WEBHOOK', 'SLACK', 'HEARTBEAT']);
  // Left out on an update of the same kind: the current one is kept (a form that does not show it
  // must not drop it); null removes it.
  const caCertificate =
    input.caCertificate === undefined && current?.kind === kind
      ? (current.settings.caCertificate ?? null)
      : input.caCertificate?.trim() || null;
  if (caCertificate && kind !== 'EMAIL') {
    const problem = caCertificateProblem(caCertificate);
    if (problem) fields.caCertificate = problem;
    else if (kind === 'WEBHOOK' && input.url?.trim().toLowerCase().startsWith('http://'))
      fields.caCertificate = 'is only used with an https URL';
    else settings.caCertificate = caCertificate;
  }

  if (kind === 'WEBHOOK') {
    if (!input.url) fields.url = 'is required: the receiver URL (http or https)';
    else settings.url = httpUrl(input.url, fields, 'url');
    if (input.signingSecret != null && input.signingSecret.trim().length < 16)
      fields.signingSecret = 'must be at least 16 characters';
    else if (!hasSecret(input.signingSecret))
      fields.signingSecret = 'is required (or secretCredentialId naming a PASSWORD credential)';
  }
  if (kind === 'SLACK' || kind === 'HEARTBEAT') {
    if (input.secretUrl != null) httpUrl(input.secretUrl, fields, 'secretUrl');
    else if (!hasSecret(input.secretUrl))
      fields.secretUrl = `is required: the ${kind === 'SLACK' ? 'incoming webhook' : 'ping'} URL (or secretCredentialId)`;
  }
  if (kind === 'EMAIL') {
    const email = input.email;
    if (!email) fields.email = 'is required for EMAIL channels: the SMTP server, sender and recipients';
    else {
      const host = typeof email.host === 'string' ? email.host.trim() : '';
      if (!HOST.test(host)) fields['email.host'] = 'must be a host name or IP address';
      const security = (email.security ?? 'STARTTLS') as EmailSecurity;
      if (!(EMAIL_SECURITY as readonly string[]).includes(security))
        fields['email.security'] = `must be one of ${EMAIL_SECURITY.join(', ')}`;
      const port = email.port ?? DEFAULT_PORT[security] ?? 587;
      if (!Number.isInteger(port) || port < 1 || port > 65535) fields['email.port'] = 'must be between 1 and 65535';
      const from = typeof email.from === 'string' ? email.from.trim() : '';
      if (!EMAIL.test(from)) fields['email.from'] = 'must be an e-mail address';
      const to = Array.isArray(email.to) ? email.to.map((t) => (typeof t === 'string' ? t.trim() : '')) : [];
      if (to.length === 0) fields['email.to'] = 'must name at least one recipient';
      else if (to.length > 50) fields['email.to'] = 'must name at most 50 recipients';
      else {
        const bad = to.find((t) => !EMAIL.test(t));
        if (bad !== undefined) fields['email.to'] = `must be e-mail addresses; "${bad.slice(0, 100)}" is not`;
      }
      const username = email.username?.trim() || null;
      if (email.password != null && !username) fields['email.username'] = 'is required with a password';
      else if (email.password != null && email.password === '') fields['email.password'] = 'must not be empty';
      else if (username && !hasSecret(email.password))
        fields['email.password'] = 'is required with a username (or secretCredentialId)';
      const caCertificate = email.caCertificate?.trim() || null;
      if (caCertificate && security === 'NONE')
        fields['email.caCertificate'] = 'is only used with STARTTLS or TLS security';
      else if (caCertificate) {
        const problem = caCertificateProblem(caCertificate);
        if (problem) fields['email.caCertificate'] = problem;
      }
      settings.email = { host, port, security, username, from, to, caCertificate };
    }
  }

  const rules = { ...DEFAULT_RULES, ...(current?.kind === kind ? current.rules : {}) };
  for (const [key, value] of Object.entries(input.rules ?? {})) {
    if (!(key in DEFAULT_RULES) || value === undefined) continue;
    const rule = key as keyof AlertRules;
    if (rule === 'summary') {
      if (value === null || (SUMMARY_CADENCES as readonly unknown[]).includes(value))
        rules.summary = value as SummaryCadence | null;
      else fields['rules.summary'] = `must be one of ${SUMMARY_CADENCES.join(', ')}, or null for none`;
    } else if (rule === 'summaryHour') {
      if (value === null) rules.summaryHour = DEFAULT_RULES.summaryHour;
      else if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 23)
        fields['rules.summaryHour'] = 'must be a whole hour from 0 to 23';
      else rules.summaryHour = value as number;
    } else if (rule === 'summaryTimeZone') {
      const zone = value === null ? DEFAULT_RULES.summaryTimeZone : canonicalTimeZone(String(value));
      if (zone) rules.summaryTimeZone = zone;
      else fields['rules.summaryTimeZone'] = 'must be a time zone such as Europe/Warsaw, America/New_York or UTC';
    } else if (rule === 'tokenExpiringWithinDays' || rule === 'staleAfterHours') {
      const max = rule === 'tokenExpiringWithinDays' ? 365 : 8760;
      if (value === null) rules[rule] = null;
      else if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max)
        fields[`rules.${rule}`] = `must be between 1 and ${max}, or null for off`;
      else rules[rule] = value as number;
    } else if (typeof value === 'boolean') rules[rule] = value;
  }
  if (Object.keys(fields).length > 0) throw validationError(fields);
  return {
    name,
    kind,
    organizationId: input.organizationId ?? null,
    isEnabled: input.isEnabled ?? current?.isEnabled ?? true,
    rules,
    settings,
  };
}

function readTyped(input: ChannelInput, kind: ChannelKind): string | null | undefined {
  if (kind === 'EMAIL') return input.email?.password;
  if (kind === 'WEBHOOK') return input.signingSecret;
  return input.secretUrl;
}
