/**
 * Adding or changing a notification channel: its kind (e-mail, webhook, Slack, heartbeat), where
 * it sends, whether it is limited to one organization, and its rules (what it is told about,
 * including the daily or weekly summary). Secrets (SMTP password, signing secret, secret URL) go
 * to the Password Manager; on a change, a secret left empty is kept. A mail server or an HTTPS
 * receiver whose certificate comes from the user's own certificate authority is trusted through
 * that authority's certificate (PEM, not a secret: shown again on a change; emptied, none). The
 * API's field errors show beside the inputs.
 */
import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { problemOf } from '../../api/errors';
import {
  CreateNotificationChannelDocument,
  UpdateNotificationChannelDocument,
  type EmailSecurity,
  type NotificationChannelFieldsFragment,
  type NotificationChannelInput,
  type NotificationChannelKind,
} from '../../graphql/generated/graphql';
import { Field } from '../../ui/Field';
import { ErrorNotice } from '../../ui/States';
import { RulesFieldset, rulesDraftOf, rulesInputOf, type RulesDraft } from './RulesFieldset';

export const CHANNEL_KINDS: { value: NotificationChannelKind; label: string; hint: string }[] = [
  { value: 'EMAIL', label: 'E-mail', hint: 'sent through your mail server (SMTP)' },
  { value: 'WEBHOOK', label: 'Webhook', hint: 'a signed message to a web address of yours' },
  { value: 'SLACK', label: 'Slack or Mattermost', hint: 'a message in a channel, through an incoming webhook' },
  { value: 'HEARTBEAT', label: 'Heartbeat', hint: 'a monitoring service pinged after every run' },
];

export const kindLabel = (kind: string) => CHANNEL_KINDS.find((k) => k.value === kind)?.label ?? kind;

interface Draft {
  kind: NotificationChannelKind;
  name: string;
  organizationId: string;
  isEnabled: boolean;
  url: string;
  secret: string;
  host: string;
  port: string;
  security: EmailSecurity;
  username: string;
  from: string;
  to: string;
  /** PEM of the CA trusted for the SMTP server's or the HTTPS receiver's certificate; empty: none. */
  caCertificate: string;
  rules: RulesDraft;
}

function draftOf(channel: NotificationChannelFieldsFragment | null): Draft {
  return {
    kind: channel?.kind ?? 'EMAIL',
    name: channel?.name ?? '',
    organizationId: channel?.organizationId ?? '',
    isEnabled: channel?.isEnabled ?? true,
    url: channel?.url ?? '',
    secret: '',
    host: channel?.email?.host ?? '',
    port: channel?.email ? String(channel.email.port) : '',
    security: channel?.email?.security ?? 'STARTTLS',
    username: channel?.email?.username ?? '',
    from: channel?.email?.from ?? '',
    to: channel?.email?.to.join(', ') ?? '',
    caCertificate: (channel?.email ? channel.email.caCertificate : channel?.caCertificate) ?? '',
    rules: rulesDraftOf(channel?.rules ?? null),
  };
}

function inputOf(d: Draft): NotificationChannelInput {
  const secret = d.secret.trim() || null;
  const caCertificate = d.caCertificate.trim() || null;
  const input: NotificationChannelInput = {
    kind: d.kind,
    name: d.name.trim(),
    organizationId: d.organizationId || null,
    isEnabled: d.isEnabled,
    rules: d.kind === 'HEARTBEAT' ? null : rulesInputOf(d.rules),
  };
  if (d.kind === 'EMAIL') {
    input.email = {
      host: d.host.trim(),
      port: d.port.trim() ? Number(d.port) : null,
      security: d.security,
      username: d.username.trim() || null,
      password: secret,
      from: d.from.trim(),
      to: d.to
        .split(/[,;\s]+/)
        .map((a) => a.trim())
        .filter(Boolean),
      caCertificate,
    };
  } else {
    input.caCertificate = caCertificate;
  }
  if (d.kind === 'WEBHOOK') {
    input.url = d.url.trim();
    if (secret) input.signingSecret = secret;
  }
  if ((d.kind === 'SLACK' || d.kind === 'HEARTBEAT') && secret) input.secretUrl = secret;
  return input;
}

export function ChannelForm({
  channel,
  organizations,
  onSaved,
  onCancel,
}: {
  /** null: a new channel. */
  channel: NotificationChannelFieldsFragment | null;
  organizations: { id: string; fullPath: string }[];
  onSaved: (saved: NotificationChannelFieldsFragment) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(channel));
  const [created, create] = useMutation(CreateNotificationChannelDocument);
  const [updated, update] = useMutation(UpdateNotificationChannelDocument);
  const result = channel ? updated : created;
  const problem = problemOf(result.error);
  const f = problem.fields;
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const keeps = channel ? ' Leave it empty to keep the one saved.' : '';

  async function submit(event: FormEvent) {
    event.preventDefault();
    const input = inputOf(draft);
    const saved = channel
      ? (await update({ id: channel.id, input })).data?.updateNotificationChannel
      : (await create({ input })).data?.createNotificationChannel;
    if (saved) onSaved(saved);
  }

  return (
    <form onSubmit={submit} noValidate className="channel-form">
      <ErrorNotice message={problem.message} />
      {channel ? null : (
        <fieldset>
          <legend>Kind</legend>
          {CHANNEL_KINDS.map((k) => (
            <label key={k.value} className="radio">
              <input
                type="radio"
                name="channel-kind"
                value={k.value}
                checked={draft.kind === k.value}
                onChange={() => set({ kind: k.value, secret: '' })}
              />{' '}
              {k.label} <span className="muted">— {k.hint}</span>
            </label>
          ))}
        </fieldset>
      )}
      <Field label="Name" hint="How alerts and this list call it, e.g. “On-call e-mail”." error={f.name}>
        <input value={draft.name} onChange={(e) => set({ name: e.target.value })} autoComplete="off" />
      </Field>
      <Field label="Organizations" error={f.organizationId}>
        <select value={draft.organizationId} onChange={(e) => set({ organizationId: e.target.value })}>
          <option value="">Every organization</option>
          {organizations.map((o) => (
            <option key={o.id} value={o.id}>
              Only {o.fullPath}
            </option>
          ))}
        </select>
      </Field>

      {draft.kind === 'EMAIL' ? (
        <fieldset>
          <legend>Mail server and recipients</legend>
          <Field label="SMTP host" error={f['email.host']}>
            <input value={draft.host} onChange={(e) => set({ host: e.target.value })} autoComplete="off" />
          </Field>
          <Field label="Security" error={f['email.security']}>
            <select value={draft.security} onChange={(e) => set({ security: e.target.value as EmailSecurity })}>
              <option value="STARTTLS">STARTTLS (usually port 587)</option>
              <option value="TLS">TLS (usually port 465)</option>
              <option value="NONE">None (port 25, only inside a trusted network)</option>
            </select>
          </Field>
          <Field label="Port" hint="Leave empty for the usual port of the security chosen." error={f['email.port']}>
            <input inputMode="numeric" value={draft.port} onChange={(e) => set({ port: e.target.value })} />
          </Field>
          <Field label="SMTP username" error={f['email.username']}>
            <input value={draft.username} onChange={(e) => set({ username: e.target.value })} autoComplete="off" />
          </Field>
          <Field
            label="SMTP password"
            hint={`Saved in the Password Manager, never shown again.${keeps}`}
            error={f['email.password']}
          >
            <input
              type="password"
              value={draft.secret}
              onChange={(e) => set({ secret: e.target.value })}
              autoComplete="new-password"
            />
          </Field>
          <Field label="From" error={f['email.from']}>
            <input type="email" value={draft.from} onChange={(e) => set({ from: e.target.value })} />
          </Field>
          <Field label="To" hint="One or more addresses, separated by commas." error={f['email.to']}>
            <input value={draft.to} onChange={(e) => set({ to: e.target.value })} />
          </Field>
          <CaCertificateField
            value={draft.caCertificate}
            onChange={(caCertificate) => set({ caCertificate })}
            of="mail server"
            error={f['email.caCertificate']}
          />
        </fieldset>
      ) : null}

      {draft.kind === 'WEBHOOK' ? (
        <fieldset>
          <legend>Receiver</legend>
          <Field label="Receiver address" hint="An http or https address that accepts a JSON message." error={f.url}>
            <input type="url" value={draft.url} onChange={(e) => set({ url: e.target.value })} autoComplete="off" />
          </Field>
          <Field
            label="Signing secret"
            hint={`At least 16 characters; the receiver uses it to check each message came from Labkeeper.${keeps}`}
            error={f.signingSecret}
          >
            <input
              type="password"
              value={draft.secret}
              onChange={(e) => set({ secret: e.target.value })}
              autoComplete="new-password"
            />
          </Field>
        </fieldset>
      ) : null}

      {draft.kind === 'SLACK' || draft.kind === 'HEARTBEAT' ? (
        <Field
          label={draft.kind === 'SLACK' ? 'Incoming webhook address' : 'Ping address'}
          hint={
            (draft.kind === 'SLACK'
              ? 'Anyone with this address can post to the channel, so it is kept as a secret.'
              : 'Pinged after every successful run, and at its fail address after a failed one. Kept as a secret.') +
            keeps
          }
          error={f.secretUrl}
        >
          <input
            type="password"
            value={draft.secret}
            onChange={(e) => set({ secret: e.target.value })}
            autoComplete="off"
          />
        </Field>
      ) : null}

      {draft.kind === 'EMAIL' ? null : (
        <CaCertificateField
          value={draft.caCertificate}
          onChange={(caCertificate) => set({ caCertificate })}
          of="receiver's HTTPS address"
          error={f.caCertificate}
        />
      )}

      {draft.kind === 'HEARTBEAT' ? (
        <p className="muted">A heartbeat hears of every finished run; it has no rules to choose.</p>
      ) : (
        <RulesFieldset rules={draft.rules} onChange={(rules) => set({ rules })} errors={f} />
      )}

      <label className="field field-checkbox">
        <input type="checkbox" checked={draft.isEnabled} onChange={(e) => set({ isEnabled: e.target.checked })} /> Send
        alerts to this channel
      </label>
      <div className="row">
        <button type="submit" className="button-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : channel ? 'Save changes' : 'Add channel'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The certificate of a private certificate authority to trust besides the public ones. */
function CaCertificateField({
  value,
  onChange,
  of,
  error,
}: {
  value: string;
  onChange: (value: string) => void;
  of: string;
  error?: string | null;
}) {
  return (
    <Field
      label="CA certificate (optional)"
      hint={`Only when the ${of} has a certificate from your own certificate authority: that authority's certificate, in PEM (-----BEGIN CERTIFICATE-----…). Not a secret. Leave it empty for the public authorities.`}
      error={error}
    >
      <textarea
        rows={4}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        spellCheck={false}
        autoComplete="off"
        className="pem"
      />
    </Field>
  );
}
